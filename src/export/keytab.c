/*
 * keytab: open addressing with linear probing, FNV-1a hashes kept in the
 * slots so that a probe compares a key's bytes only on a hash match.  The
 * table doubles at half full.
 */
#include "export/keytab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct keytab_slot {
	uint64_t hash;
	int64_t id;		/* 0: empty */
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int grow(struct keytab *t)
{
	size_t cap = t->cap ? 2 * t->cap : 256;
	struct keytab_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].id)
			continue;
		size_t j = t->slots[i].hash & (cap - 1);
		while (slots[j].id)
			j = (j + 1) & (cap - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int64_t keytab_id(struct keytab *t, const void *key, size_t len, int *added)
{
	uint64_t h = hash_bytes(key, len);
	size_t j;

	if (added)
		*added = 0;
	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return -ENOMEM;
	for (j = h & (t->cap - 1); t->slots[j].id; j = (j + 1) & (t->cap - 1)) {
		int64_t id = t->slots[j].id;
		if (t->slots[j].hash == h && t->lens[id - 1] == len &&
		    memcmp(t->keys[id - 1], key, len) == 0)
			return id;
	}
	if (t->n == t->keycap) {
		size_t cap = t->keycap ? 2 * t->keycap : 256;
		char **keys = realloc(t->keys, cap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		t->keys = keys;
		size_t *lens = realloc(t->lens, cap * sizeof(*lens));
		if (!lens)
			return -ENOMEM;
		t->lens = lens;
		t->keycap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, len);
	copy[len] = '\0';
	t->keys[t->n] = copy;
	t->lens[t->n] = len;
	t->n++;
	t->slots[j].hash = h;
	t->slots[j].id = (int64_t)t->n;
	if (added)
		*added = 1;
	return (int64_t)t->n;
}

const char *keytab_key(const struct keytab *t, int64_t id)
{
	return t->keys[id - 1];
}

void keytab_free(struct keytab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
