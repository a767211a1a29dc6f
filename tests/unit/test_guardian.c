/*
 * Unit tests for the guardian's table of calls not yet answered
 * (src/check/guardian.c): after any sequence of holds and answers, the page
 * holds exactly the ids held and not answered, even at a load where most
 * sit in long probe runs (answers shift the rest of a run back), a full page
 * drops what does not fit without harm.  The guardian process itself is
 * tested by tests/integration/check-killed.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "check/guardian.h"

static struct guardian fake(void)
{
	/* A table without a process: the calls only touch the page. */
	struct guardian g = { .pid = 1, .sock = -1 };

	g.ids = calloc(GUARDIAN_IDS, sizeof(*g.ids));
	assert_non_null(g.ids);
	return g;
}

static int count(const struct guardian *g, uint64_t id)
{
	int n = 0;

	for (int i = 0; i < GUARDIAN_IDS; i++)
		n += g->ids[i] == id;
	return n;
}

static int used(const struct guardian *g)
{
	return GUARDIAN_IDS - count(g, 0);
}

/* 400 ids in 512 slots: at that load most ids sit away from their home
 * slot in long probe runs, so answers shift many others back. */
static int some_ids(uint64_t *out, int want)
{
	for (int i = 0; i < want; i++)
		out[i] = 0x1000 + (uint64_t)i * 7919;
	return want;
}

static void test_hold_and_answer_in_any_order(void **state)
{
	struct guardian g = fake();
	uint64_t ids[400];
	int n = some_ids(ids, 400);

	(void)state;
	assert_int_equal(n, 400);
	for (int i = 0; i < n; i++)
		guardian_hold(&g, ids[i]);
	assert_int_equal(used(&g), n);
	/* Answer every third, then every other of the rest, checking the
	 * rest are all still there once each. */
	for (int i = 0; i < n; i += 3)
		guardian_answered(&g, ids[i]);
	for (int i = 0; i < n; i++)
		assert_int_equal(count(&g, ids[i]), i % 3 ? 1 : 0);
	for (int i = 1; i < n; i += 3)
		guardian_answered(&g, ids[i]);
	for (int i = 0; i < n; i++)
		assert_int_equal(count(&g, ids[i]), i % 3 == 2 ? 1 : 0);
	/* Answering an id not held, or twice, changes nothing. */
	guardian_answered(&g, 999999999);
	guardian_answered(&g, ids[0]);
	assert_int_equal(used(&g), n / 3);
	for (int i = 2; i < n; i += 3)
		guardian_answered(&g, ids[i]);
	assert_int_equal(used(&g), 0);
	free(g.ids);
}

static void test_full_page(void **state)
{
	struct guardian g = fake();

	(void)state;
	for (uint64_t id = 1; id <= GUARDIAN_IDS + 10; id++)
		guardian_hold(&g, id);
	assert_int_equal(used(&g), GUARDIAN_IDS);
	/* An answer to one that did not fit is harmless; one that did
	 * fit frees its slot. */
	guardian_answered(&g, GUARDIAN_IDS + 5);
	assert_int_equal(used(&g), GUARDIAN_IDS);
	guardian_answered(&g, 7);
	assert_int_equal(used(&g), GUARDIAN_IDS - 1);
	assert_int_equal(count(&g, 7), 0);
	free(g.ids);
}

static void test_no_guardian_no_table(void **state)
{
	struct guardian g = { 0 };

	(void)state;
	guardian_hold(&g, 5);	/* no page: must not touch it */
	guardian_answered(&g, 5);
	assert_false(guardian_reaped(&g, 5));
	assert_false(guardian_alone(&g));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_and_answer_in_any_order),
		cmocka_unit_test(test_full_page),
		cmocka_unit_test(test_no_guardian_no_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
