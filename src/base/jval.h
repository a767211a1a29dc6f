/*
 * jval: JSON values as the snapshot reader reads them: a compact tree in
 * an arena, made by a parser of its own for the common case and from
 * jansson's tree for the rest.
 *
 * A snapshot file is mostly threads, each a small document of a few
 * dozen strings and numbers.  jansson builds a hash table per object and
 * a heap block per value; jv_parse() builds the same values into one
 * arena that is reset for the next thread, and reads a 10,000-thread file
 * several times faster.  It takes only what it can read exactly as
 * jansson does (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES): anything else
 * (a syntax error, a duplicate key, an escape for NUL, a number out of
 * range, a string that is not UTF-8) it leaves to jansson, whose tree (or
 * message) the reader then uses, through jv_from_json().  So one
 * reader, on jv values, serves both, and its messages stay jansson's.
 *
 * Objects keep their members in order, keys unique; jv_get() finds one by
 * a linear scan (threads' objects have a few keys).  Strings are
 * NUL-terminated copies in the arena (a string with \u0000 is never
 * taken: jansson refuses it too).
 */
#ifndef THREADLEAK_JVAL_H
#define THREADLEAK_JVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jv_type { JV_NULL, JV_FALSE, JV_TRUE, JV_INT, JV_REAL, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv {
	enum jv_type type;
	uint32_t n;		/* string: bytes; array: values; object: members */
	union {
		int64_t i;
		double d;
		const char *s;
		struct jv *items;	/* array: n values; object: 2n, key then value */
	};
};

struct jv_arena {
	struct jv_chunk *chunks;	/* the newest first */
	struct jv *stack;		/* values of the containers being read */
	size_t nstack, stackcap;
};

/* Parses text[0..len) (one value, whitespace around it); 0 and *out, 1
 * when it leaves the text to jansson, -ENOMEM. */
int jv_parse(struct jv_arena *a, const char *text, size_t len, struct jv **out);
/* jansson's value as a jv in the arena; NULL when out of memory. */
struct jv *jv_from_json(struct jv_arena *a, json_t *v);
/* Forgets every value made (keeps the memory for the next ones). */
void jv_arena_reset(struct jv_arena *a);
void jv_arena_free(struct jv_arena *a);

/* The member key of an object, NULL when absent (or v not an object). */
const struct jv *jv_get(const struct jv *obj, const char *key);

static inline bool jv_is(const struct jv *v, enum jv_type t)
{
	return v && v->type == t;
}

static inline bool jv_is_null(const struct jv *v)
{
	return jv_is(v, JV_NULL);
}

static inline bool jv_is_string(const struct jv *v)
{
	return jv_is(v, JV_STRING);
}

static inline bool jv_is_object(const struct jv *v)
{
	return jv_is(v, JV_OBJECT);
}

static inline bool jv_is_array(const struct jv *v)
{
	return jv_is(v, JV_ARRAY);
}

static inline bool jv_is_integer(const struct jv *v)
{
	return jv_is(v, JV_INT);
}

static inline bool jv_is_number(const struct jv *v)
{
	return v && (v->type == JV_INT || v->type == JV_REAL);
}

static inline bool jv_is_bool(const struct jv *v)
{
	return v && (v->type == JV_TRUE || v->type == JV_FALSE);
}

static inline double jv_number(const struct jv *v)
{
	return v->type == JV_INT ? (double)v->i : v->d;
}

#endif
