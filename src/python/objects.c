/*
 * python/objects: CPython objects read from outside; see objects.h.
 *
 * Dict keys objects: 3.8-3.10 keep dk_size and indices of 1, 2, 4 or 8
 * bytes by that size, then (hash, key, value) entries; 3.11+ keep the
 * log2 of the size and of the indices' bytes, and a kind: general
 * entries (hash, key, value) or str-keyed ones (key, value).  A split
 * table's values are an array beside the dict (3.8-3.10 ma_values; 3.11+
 * a PyDictValues, its array at dv_values).  No hash is computed: the
 * target's str hashes are salted; a find scans the entries, comparing
 * key addresses with the hint, then contents.
 */
#include "python/objects.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define STR_LENGTH 16		/* PyASCIIObject.length, every release */
#define OB_TYPE 8		/* PyObject.ob_type */
#define MAX_LOG2_SIZE 24	/* of a dict's keys object */
#define CHUNK 128		/* entries read at once */
#define MAX_KEY 64		/* bytes of a key compared */
#define MAX_DICTOFFSET 4096
#define TPFLAGS_INLINE_VALUES (1u << 2)	/* 3.13 */
#define TPFLAGS_MANAGED_DICT (1u << 4)	/* 3.11+ */
#define TPFLAGS_HEAPTYPE (1u << 9)
#define MANAGED_DICT (-24)	/* 3.11+: the dict (3.12: or tagged values) before the object */
#define MANAGED_VALUES (-32)	/* 3.11: the values */

static int read_u64(struct memory *mem, uint64_t addr, uint64_t *v)
{
	return memory_read(mem, addr, v, 8);
}

/* Code point c as UTF-8 at out[*o], if it fits before out[size - 1]. */
static bool put_utf8(char *out, size_t size, size_t *o, uint32_t c)
{
	size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;

	if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000) || *o + n > size - 1)
		return false;
	if (n == 1) {
		out[(*o)++] = c;
		return true;
	}
	out[(*o)++] = (n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | (c >> (6 * (n - 1)));
	for (size_t i = n - 1; i-- > 0;)
		out[(*o)++] = 0x80 | ((c >> (6 * i)) & 0x3f);
	return true;
}

/* The header of the str at obj: kind, whether compact ASCII, length,
 * and where its characters are.  0, -EFAULT, -EINVAL (not compact). */
static int str_header(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		      unsigned *kind, bool *ascii, uint64_t *len, uint64_t *data)
{
	const struct py_layout *l = &rt->l;
	uint32_t state;

	if (!obj || memory_read(mem, obj + l->str_state, &state, 4) != 0 ||
	    memory_read(mem, obj + STR_LENGTH, len, 8) != 0)
		return -EFAULT;
	*kind = (state >> 2) & 7;
	*ascii = (state >> 6) & 1;
	if (!((state >> 5) & 1) || (*kind != 1 && *kind != 2 && *kind != 4))
		return -EINVAL;
	*data = obj + l->str_ascii_size;
	if (!*ascii)	/* PyCompactUnicodeObject: utf8_length, utf8 (, wstr_length) */
		*data += rt->minor >= 12 ? 16 : 24;
	return 0;
}

int py_str_read(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		char *out, size_t size)
{
	uint8_t buf[4 * 256];
	unsigned kind;
	bool ascii;
	uint64_t len, data;
	size_t o = 0;
	int ret;

	if (!size)
		return -EINVAL;
	out[0] = 0;
	ret = str_header(rt, mem, obj, &kind, &ascii, &len, &data);
	if (ret)
		return ret;
	size_t n = len < size - 1 ? len : size - 1;
	if (n > sizeof(buf) / kind)
		n = sizeof(buf) / kind;
	if (memory_read(mem, data, buf, n * kind) != 0)
		return -EFAULT;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = kind == 1 ? buf[i] : kind == 2 ? (uint32_t)buf[2 * i] | buf[2 * i + 1] << 8 :
			     (uint32_t)buf[4 * i] | buf[4 * i + 1] << 8 | buf[4 * i + 2] << 16 |
			     (uint32_t)buf[4 * i + 3] << 24;
		if (!c || !put_utf8(out, size, &o, c))
			break;
	}
	out[o] = 0;
	return 0;
}

bool py_str_equals(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		   const char *s)
{
	size_t n = strlen(s);
	char buf[MAX_KEY];
	unsigned kind;
	bool ascii;
	uint64_t len, data;

	return n <= MAX_KEY && str_header(rt, mem, obj, &kind, &ascii, &len, &data) == 0 &&
	       ascii && len == n && memory_read(mem, data, buf, n) == 0 &&
	       memcmp(buf, s, n) == 0;
}

int py_long_read(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		 uint64_t *v)
{
	const struct py_obj_layout *o = &rt->o;
	uint64_t size;
	int64_t n;
	uint32_t d[3];

	if (o->long_size < 0 || o->long_digit < 0 || !obj ||
	    read_u64(mem, obj + o->long_size, &size) != 0)
		return -EFAULT;
	if (rt->minor >= 12) {	/* lv_tag: digits << 3 | sign (0 +, 1 zero, 2 -) */
		if ((size & 3) == 2)
			return -ERANGE;
		n = (size & 3) == 1 ? 0 : (int64_t)(size >> 3);
	} else {		/* ob_size: the digits, negative for a negative int */
		n = (int64_t)size;
	}
	if (n < 0 || n > 3)
		return -ERANGE;
	if (n && memory_read(mem, obj + o->long_digit, d, 4 * n) != 0)
		return -EFAULT;
	*v = 0;
	for (int64_t i = n; i-- > 0;) {
		if (d[i] >> 30 || (i == 2 && d[i] >> 4))
			return -ERANGE;
		*v = *v << 30 | d[i];
	}
	return 0;
}

/* The entries of the keys object at keys into d. */
static int keys_open(const struct py_runtime *rt, struct memory *mem, uint64_t keys,
		     struct py_dict *d)
{
	const struct py_obj_layout *o = &rt->o;
	uint64_t size, nentries, index_bytes;

	if (!keys || o->dk_size < 0 || o->dk_nentries < 0 || o->dk_indices < 0 ||
	    read_u64(mem, keys + o->dk_nentries, &nentries) != 0)
		return -EFAULT;
	d->keys = keys;
	d->esize = 24;		/* hash, key, value */
	d->key_off = 8;
	if (rt->minor < 11) {
		if (read_u64(mem, keys + o->dk_size, &size) != 0)
			return -EFAULT;
		if (size < 1 || size > (1u << MAX_LOG2_SIZE) || (size & (size - 1)))
			return -EINVAL;
		index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
	} else {
		uint8_t log2_size, log2_index, kind;
		if (o->dk_log2_index_bytes < 0 || o->dk_kind < 0 ||
		    memory_read(mem, keys + o->dk_size, &log2_size, 1) != 0 ||
		    memory_read(mem, keys + o->dk_log2_index_bytes, &log2_index, 1) != 0 ||
		    memory_read(mem, keys + o->dk_kind, &kind, 1) != 0)
			return -EFAULT;
		if (log2_size > MAX_LOG2_SIZE || log2_index < log2_size ||
		    log2_index > log2_size + 3 || kind > 2)
			return -EINVAL;
		size = (uint64_t)1 << log2_size;
		index_bytes = (uint64_t)1 << log2_index;
		if (kind != 0) {	/* str keys: key, value */
			d->esize = 16;
			d->key_off = 0;
		}
	}
	if ((int64_t)nentries < 0 || nentries > size)
		return -EINVAL;
	d->value_off = d->key_off + 8;
	d->entries = keys + o->dk_indices + index_bytes;
	d->n = nentries < PY_MAX_ENTRIES ? (int64_t)nentries : PY_MAX_ENTRIES;
	return 0;
}

int py_dict_open(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		 struct py_dict *d)
{
	const struct py_obj_layout *o = &rt->o;
	uint64_t keys, values;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!obj || o->ma_keys < 0 || o->ma_values < 0 ||
	    read_u64(mem, obj + o->ma_keys, &keys) != 0 ||
	    read_u64(mem, obj + o->ma_values, &values) != 0)
		return -EFAULT;
	ret = keys_open(rt, mem, keys, d);
	if (ret)
		return ret;
	if (values && rt->minor >= 11) {
		if (o->dv_values < 0)
			return -EINVAL;
		values += o->dv_values;
	}
	d->values = values;
	return 0;
}

int py_dict_entry(const struct py_runtime *rt, struct memory *mem,
		  const struct py_dict *d, int64_t i, uint64_t *key, uint64_t *value)
{
	uint64_t e[3];

	(void)rt;
	if (i < 0 || i >= d->n || memory_read(mem, d->entries + i * d->esize, e, d->esize) != 0)
		return -EFAULT;
	*key = e[d->key_off / 8];
	*value = e[d->value_off / 8];
	if (d->values && read_u64(mem, d->values + 8 * i, value) != 0)
		return -EFAULT;
	return 0;
}

int64_t py_dict_find(const struct py_runtime *rt, struct memory *mem,
		     const struct py_dict *d, const char *name, uint64_t *hint)
{
	uint64_t e[CHUNK * 3];
	int words = d->esize / 8, k = d->key_off / 8;

	for (int pass = hint && *hint ? 0 : 1; pass < 2; pass++) {
		for (int64_t i = 0; i < d->n; i += CHUNK) {
			int64_t m = d->n - i < CHUNK ? d->n - i : CHUNK;
			if (memory_read(mem, d->entries + i * d->esize, e, m * d->esize) != 0)
				return -EFAULT;
			for (int64_t j = 0; j < m; j++) {
				uint64_t key = e[j * words + k];
				if (!key || (pass == 0 ? key != *hint :
					     !py_str_equals(rt, mem, key, name)))
					continue;
				if (hint)
					*hint = key;
				return i + j;
			}
		}
	}
	return -ENOENT;
}

int py_dict_get(const struct py_runtime *rt, struct memory *mem, uint64_t obj,
		const char *name, uint64_t *value)
{
	struct py_dict d;
	uint64_t key;
	int64_t i;
	int ret = py_dict_open(rt, mem, obj, &d);

	if (ret)
		return ret;
	i = py_dict_find(rt, mem, &d, name, NULL);
	if (i < 0)
		return (int)i;
	ret = py_dict_entry(rt, mem, &d, i, &key, value);
	return ret ? ret : *value ? 0 : -ENOENT;
}

/* What c knows of the type at type, learnt now if need be (NULL when
 * unreadable). */
static struct py_attr_type *attr_type(const struct py_runtime *rt, struct memory *mem,
				      struct py_attr_cache *c, uint64_t type)
{
	const struct py_obj_layout *o = &rt->o;
	struct py_attr_type t = { .type = type, .ix = -1 };

	for (int i = 0; i < c->ntypes; i++)
		if (c->t[i].type == type)
			return &c->t[i];
	if (o->tp_flags < 0 || o->tp_basicsize < 0 || o->tp_dictoffset < 0 ||
	    read_u64(mem, type + o->tp_flags, &t.flags) != 0 ||
	    read_u64(mem, type + o->tp_basicsize, (uint64_t *)&t.basicsize) != 0 ||
	    read_u64(mem, type + o->tp_dictoffset, (uint64_t *)&t.dictoffset) != 0)
		return NULL;
	if ((t.flags & TPFLAGS_HEAPTYPE) && o->ht_cached_keys >= 0 &&
	    read_u64(mem, type + o->ht_cached_keys, &t.cached_keys) != 0)
		t.cached_keys = 0;
	if (t.basicsize < 16 || t.basicsize > MAX_DICTOFFSET)
		return NULL;
	if (c->ntypes == PY_ATTR_TYPES)	/* full: the last one learnt makes way */
		c->ntypes--;
	c->t[c->ntypes] = t;
	return &c->t[c->ntypes++];
}

/* The entry of the shared keys object d where t found name, found now
 * if need be (or the keys changed). */
static int64_t shared_index(const struct py_runtime *rt, struct memory *mem,
			    struct py_attr_cache *c, struct py_attr_type *t,
			    const struct py_dict *d, const char *name)
{
	uint64_t key, value;

	if (t->keys == d->keys && t->ix >= 0 &&
	    py_dict_entry(rt, mem, d, t->ix, &key, &value) == 0 && key && key == c->key)
		return t->ix;
	t->keys = d->keys;
	t->ix = py_dict_find(rt, mem, d, name, &c->key);
	return t->ix;
}

/* Where the instance at obj of type t keeps its attributes: a values
 * array beside the type's shared keys (*values), or a dict (*dict). */
static int instance_storage(const struct py_runtime *rt, struct memory *mem,
			    const struct py_attr_type *t, uint64_t obj, uint64_t *dict,
			    uint64_t *values, int64_t *capacity)
{
	const struct py_obj_layout *o = &rt->o;
	uint64_t v = 0;

	*dict = *values = 0;
	*capacity = PY_MAX_ENTRIES;
	if (rt->minor < 11 || !(t->flags & TPFLAGS_MANAGED_DICT)) {
		if (t->dictoffset <= 0 || t->dictoffset > MAX_DICTOFFSET)
			return -ENOENT;	/* none, or a variable-size object's */
		return read_u64(mem, obj + t->dictoffset, dict);
	}
	if (rt->minor == 11) {
		if (read_u64(mem, obj + MANAGED_VALUES, &v) != 0)
			return -EFAULT;
		*values = v ? v + o->dv_values : 0;
		return v ? 0 : read_u64(mem, obj + MANAGED_DICT, dict);
	}
	if (rt->minor == 12) {	/* values tagged: their address - 1 */
		if (read_u64(mem, obj + MANAGED_DICT, &v) != 0)
			return -EFAULT;
		if (v & 1)
			*values = v + 1 + o->dv_values;
		else
			*dict = v;
		return 0;
	}
	if (t->flags & TPFLAGS_INLINE_VALUES) {	/* 3.13: after the object */
		uint8_t head[4];	/* capacity, size, embedded, valid */
		if (memory_read(mem, obj + t->basicsize, head, 4) != 0)
			return -EFAULT;
		if (head[3]) {
			*values = obj + t->basicsize + o->dv_values;
			*capacity = head[0];
			return 0;
		}
	}
	return read_u64(mem, obj + MANAGED_DICT, dict);
}

int py_attr_get(const struct py_runtime *rt, struct memory *mem, struct py_attr_cache *c,
		uint64_t obj, const char *name, uint64_t *value)
{
	struct py_attr_type *t;
	struct py_dict d;
	uint64_t type, dict, values, key;
	int64_t capacity, ix;
	int ret;

	if (!obj || read_u64(mem, obj + OB_TYPE, &type) != 0 || !type)
		return -EFAULT;
	t = attr_type(rt, mem, c, type);
	if (!t)
		return -EFAULT;
	ret = instance_storage(rt, mem, t, obj, &dict, &values, &capacity);
	if (ret)
		return ret;
	if (values) {		/* beside the type's shared keys */
		ret = keys_open(rt, mem, t->cached_keys, &d);
		if (ret)
			return ret;
		d.values = values;
	} else {
		ret = py_dict_open(rt, mem, dict, &d);
		if (ret)
			return ret;
	}
	if (d.values)
		ix = shared_index(rt, mem, c, t, &d, name);
	else
		ix = py_dict_find(rt, mem, &d, name, &c->key);
	if (ix < 0)
		return (int)ix;
	if (ix >= capacity)
		return -ENOENT;
	ret = py_dict_entry(rt, mem, &d, ix, &key, value);
	return ret ? ret : *value ? 0 : -ENOENT;
}
