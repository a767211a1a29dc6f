/*
 * fuzz_jval: jval's own parser against jansson, the reader it stands in
 * for.  Whatever jv_parse() takes, jansson (with the snapshot reader's
 * flags) must take too, and give the same values: the same types,
 * integers, reals, strings byte for byte, arrays in order and objects
 * with the same members.  jv_parse() may leave to jansson what jansson
 * takes (it is allowed to be stricter); it may never take what jansson
 * refuses, nor read a value differently.  Any difference aborts.
 *
 * Build and run: FUZZ_TARGET=jval tests/fuzz/run.sh.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const char *what)
{
	fprintf(stderr, "fuzz_jval: %s\n", what);
	abort();
}

static void same(const struct jv *a, const struct jv *b)
{
	if (a->type != b->type)
		differ("types differ");
	switch (a->type) {
	case JV_INT:
		if (a->i != b->i)
			differ("integers differ");
		break;
	case JV_REAL:
		if (memcmp(&a->d, &b->d, sizeof(a->d)) != 0)
			differ("reals differ");
		break;
	case JV_STRING:
		if (a->n != b->n || memcmp(a->s, b->s, a->n) != 0 || a->s[a->n] != '\0')
			differ("strings differ");
		break;
	case JV_ARRAY:
		if (a->n != b->n)
			differ("array sizes differ");
		for (uint32_t i = 0; i < a->n; i++)
			same(&a->items[i], &b->items[i]);
		break;
	case JV_OBJECT:
		if (a->n != b->n)
			differ("object sizes differ");
		for (uint32_t i = 0; i < a->n; i++) {
			const struct jv *v = jv_get(b, a->items[2 * i].s);
			if (!v)
				differ("a member is missing");
			same(&a->items[2 * i + 1], v);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jv_arena a = { 0 }, b = { 0 };
	struct jv *ours;
	json_error_t err;

	if (jv_parse(&a, (const char *)data, size, &ours) == 0) {
		json_t *j = json_loadb((const char *)data, size,
				       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
		if (!j)
			differ("jv_parse took what jansson refuses");
		struct jv *theirs = jv_from_json(&b, j);
		if (!theirs)
			abort();
		same(ours, theirs);
		json_decref(j);
	}
	jv_arena_free(&a);
	jv_arena_free(&b);
	return 0;
}
