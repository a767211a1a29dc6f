/*
 * Unit tests for src/base/jval.c: what its parser takes and how it reads it,
 * and what it leaves to jansson (returns 1): duplicate keys, NUL escapes,
 * lone surrogates, numbers out of range, bad UTF-8, trailing text.
 * (tests/fuzz/fuzz_jval.c checks it against jansson at large.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/jval.h"

static int parse(struct jv_arena *a, const char *text, struct jv **v)
{
	jv_arena_reset(a);
	return jv_parse(a, text, strlen(text), v);
}

static void test_values(void **state)
{
	struct jv_arena a = { 0 };
	struct jv *v;
	(void)state;

	assert_int_equal(parse(&a, " { \"a\": [1, -2, 3.5, true, false, null], \"b\": \"x\\u00e9\\ud83d\\ude00\\n\" } ", &v), 0);
	assert_int_equal(v->type, JV_OBJECT);
	assert_int_equal(v->n, 2);
	const struct jv *arr = jv_get(v, "a");
	assert_non_null(arr);
	assert_int_equal(arr->type, JV_ARRAY);
	assert_int_equal(arr->n, 6);
	assert_int_equal(arr->items[0].i, 1);
	assert_int_equal(arr->items[1].i, -2);
	assert_true(arr->items[2].type == JV_REAL && arr->items[2].d == 3.5);
	assert_int_equal(arr->items[3].type, JV_TRUE);
	assert_int_equal(arr->items[4].type, JV_FALSE);
	assert_int_equal(arr->items[5].type, JV_NULL);
	const struct jv *b = jv_get(v, "b");
	assert_string_equal(b->s, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_int_equal(b->n, 8);
	assert_null(jv_get(v, "c"));
	assert_int_equal(parse(&a, "-9223372036854775808", &v), 0);
	assert_true(v->i == INT64_MIN);
	assert_int_equal(parse(&a, "[]", &v), 0);
	assert_int_equal(v->n, 0);
	jv_arena_free(&a);
}

static void test_left_to_jansson(void **state)
{
	static const char *const inputs[] = {
		"{\"a\": 1, \"a\": 2}",		/* duplicate key */
		"\"a\\u0000b\"",		/* NUL */
		"\"\\ud800\"",			/* lone surrogate */
		"\"\\udc00\"",
		"9223372036854775808",		/* too big */
		"1e999",			/* real overflow */
		"01",				/* leading zero */
		"\"\xc3\"",			/* cut UTF-8 */
		"\"\xed\xa0\x80\"",		/* an encoded surrogate */
		"\"\xc0\xaf\"",			/* overlong */
		"\"a\tb\"",			/* raw control byte */
		"[1,]",
		"{\"a\" 1}",
		"truex",
		"1 2",
		"\"\\x\"",
		"",
	};
	struct jv_arena a = { 0 };
	struct jv *v;
	(void)state;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		jv_arena_reset(&a);
		assert_int_equal(jv_parse(&a, inputs[i], strlen(inputs[i]), &v), 1);
	}
	jv_arena_free(&a);
}

static void test_from_jansson(void **state)
{
	struct jv_arena a = { 0 };
	json_error_t err;
	json_t *j = json_loads("{\"k\": [\"s\", 7, 2.5, null]}", 0, &err);
	(void)state;

	assert_non_null(j);
	struct jv *v = jv_from_json(&a, j);
	json_decref(j);
	assert_non_null(v);
	const struct jv *k = jv_get(v, "k");
	assert_int_equal(k->n, 4);
	assert_string_equal(k->items[0].s, "s");
	assert_int_equal(k->items[1].i, 7);
	assert_true(k->items[2].d == 2.5);
	assert_int_equal(k->items[3].type, JV_NULL);
	jv_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_left_to_jansson),
		cmocka_unit_test(test_from_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
