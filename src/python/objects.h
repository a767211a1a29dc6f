/*
 * python/objects: CPython objects read from the target's memory: str,
 * int, dicts and instance attributes, as the release's layout (rt->l,
 * rt->o) says they are laid out.
 *
 * Everything read is untrusted: sizes and counts are bounded (a dict is
 * scanned for at most PY_MAX_ENTRIES entries, a str read for at most the
 * caller's buffer), a pointer is only followed through memory.h, and a
 * str key is compared by its contents (a pointer already known to be
 * the interned key is tried first).  Reads go through memory.h's page
 * cache: one reading of a snapshot (memory_reset() between two).
 */
#ifndef THREADLEAK_PYTHON_OBJECTS_H
#define THREADLEAK_PYTHON_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/runtime.h"

#define PY_MAX_ENTRIES 65536	/* entries of a dict scanned */
#define PY_ATTR_TYPES 8		/* types a py_attr_cache remembers */

/* A str object's text into out (size bytes, NUL-terminated) as UTF-8,
 * cut at a NUL, at a code point that is not one or where out is full: a
 * compact str of any kind (1, 2 or 4 bytes a character).  0; -EFAULT
 * unreadable, -EINVAL not a compact str (out is "" on either). */
int py_str_read(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		char *out, size_t size);

/* Whether obj is a compact ASCII str equal to s (at most 64 bytes). */
bool py_str_equals(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		   const char *s);

/* A non-negative int object of up to 64 bits into *v.  0, -EFAULT, or
 * -ERANGE (negative, or too large). */
int py_long_read(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		 uint64_t *v);

/* A dict: its keys object's entries and, for a split table, the values
 * array beside them (values[i] is entry i's value). */
struct py_dict {
	uint64_t keys;		/* the PyDictKeysObject */
	uint64_t entries;	/* its first entry */
	int64_t n;		/* entries used or deleted, at most PY_MAX_ENTRIES */
	int esize, key_off, value_off;
	uint64_t values;	/* a split table's values[0], else 0 */
};

/* The dict at obj.  0, -EFAULT, -EINVAL (a layout it does not read). */
int py_dict_open(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		 struct py_dict *d);
/* Entry i's key and value (0 for a deleted entry or an unset value). */
int py_dict_entry(const struct py_runtime *rt, struct memory *mem,
		  const struct py_dict *d, int64_t i, uint64_t *key, uint64_t *value);
/* The index of the entry whose key is the str name, or -ENOENT; *hint
 * (may be NULL) is a key object to try first by address, set to the key
 * found. */
int64_t py_dict_find(const struct py_runtime *rt, struct memory *mem,
		     const struct py_dict *d, const char *name, uint64_t *hint);
/* The value of the dict at obj for the str key name into *value.  0,
 * -ENOENT, -EFAULT, -EINVAL. */
int py_dict_get(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		const char *name, uint64_t *value);

/* What py_attr_get learns of types as it reads instances, so that
 * instances of one class cost a few reads each; zeroed by the caller,
 * one per attribute name. */
struct py_attr_cache {
	uint64_t key;		/* the name's interned str, once found */
	int ntypes;
	struct py_attr_type {
		uint64_t type, flags, cached_keys;
		int64_t basicsize, dictoffset;
		uint64_t keys;	/* the shared keys where name was found, */
		int64_t ix;	/* at this entry */
	} t[PY_ATTR_TYPES];
};

/* Attribute name of the instance at obj, from its instance dict or
 * values (3.8-3.10 the dict at tp_dictoffset; 3.11 managed dict or
 * values before the object; 3.12 the same, tagged; 3.13 inline values
 * after it), into *value.  0, -ENOENT (no such attribute, or no dict
 * where it could be), -EFAULT, -EINVAL. */
int py_attr_get(const struct py_runtime *rt, struct memory *mem, struct py_attr_cache *c,
		uint64_t obj, const char *name, uint64_t *value);

#endif
