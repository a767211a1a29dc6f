/*
 * keytab: byte strings -> dense ids 1, 2, 3... in the order first seen.
 *
 * The exports number what they write (pprof's strings, functions,
 * locations, mappings) once per distinct key: an open-addressing table
 * over copies of the keys.  The table owns its copies; keytab_key() gives
 * one back by id.
 */
#ifndef THREADLEAK_KEYTAB_H
#define THREADLEAK_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

struct keytab {
	struct keytab_slot *slots;
	size_t cap;		/* a power of two, or 0 */
	char **keys;		/* keys[id - 1], NUL-terminated copies */
	size_t *lens;
	size_t n, keycap;
};

/* The id of key (len bytes), added when new: >= 1, or -ENOMEM.  *added
 * (when not NULL) says whether it was new. */
int64_t keytab_id(struct keytab *t, const void *key, size_t len, int *added);
/* The key of id (1..n), NUL-terminated. */
const char *keytab_key(const struct keytab *t, int64_t id);
void keytab_free(struct keytab *t);

#endif
