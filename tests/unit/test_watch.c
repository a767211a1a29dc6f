/*
 * Unit tests for src/views/watch.c: groups followed over samples, and
 * watch_again(), the sample of a snapshot that stands unchanged (a capture
 * that found no thread had run): counts kept, waits read again from the
 * threads, no CPU, and a later share measured from the last time the CPU
 * times were known to hold, not from when they were read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "views/watch.h"

/* A snapshot of n threads (tids 1..n) on one stack: waiting on a condvar
 * for `blocked` seconds, CPU time read at `at`. */
static struct snapshot *snapshot_of(int n, double blocked, double at)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	assert_non_null(snap);
	snap->version = SNAPSHOT_VERSION;
	snap->pid = 100;
	for (int i = 1; i <= n; i++) {
		struct thread *t = snapshot_add_thread(snap);
		assert_non_null(t);
		t->tid = i;
		t->state = 'S';
		thread_os(t)->start_time = 1000;
		thread_os(t)->cpu_ns = 5000000;
		thread_os(t)->cpu_at = at;
		t->wait.kind = WAIT_CONDVAR;
		t->wait.blocked_sec = blocked;
		struct frame *f = thread_add_frame(t);
		assert_non_null(f);
		f->module = strdup("/bin/p");
		f->function = strdup("worker");
		assert_non_null(f->module);
		assert_non_null(f->function);
	}
	return snap;
}

static const struct watch_group *only_group(const struct watch *w)
{
	assert_int_equal(w->ngroups, 1);
	return &w->groups[0];
}

static void test_again_keeps_counts_and_ages_waits(void **state)
{
	struct watch *w = watch_new();
	struct snapshot *snap = snapshot_of(3, 10.0, 100.0);

	(void)state;
	assert_non_null(w);
	assert_int_equal(watch_again(w, 100.0), -EINVAL);	/* no sample yet */
	assert_int_equal(watch_update(w, snap, 100.0), 0);
	assert_true(only_group(w)->max_blocked_sec == 10.0);

	/* The capture aged its snapshot in place by the interval. */
	for (size_t i = 0; i < snap->nthreads; i++)
		snap->threads[i].wait.blocked_sec += 1.5;
	assert_int_equal(watch_again(w, 101.5), 0);
	const struct watch_group *g = only_group(w);
	assert_int_equal(g->count, 3);
	assert_int_equal(g->nhistory, 2);
	assert_int_equal(g->history[0], 3);
	assert_int_equal(g->history[1], 3);
	assert_true(g->max_blocked_sec == 11.5);
	assert_true(g->cpu == 0 && w->cpu == 0);
	assert_int_equal(w->samples, 2);
	assert_int_equal(w->kinds[WAIT_CONDVAR], 3);
	assert_true(w->interval == 1.5);
	watch_free(w);
	snapshot_free(snap);
}

static void test_share_counts_from_last_unchanged(void **state)
{
	struct watch *w = watch_new();
	struct snapshot *a = snapshot_of(2, 1.0, 100.0);

	(void)state;
	assert_int_equal(watch_update(w, a, 100.0), 0);
	/* Nothing ran at 101, 102 and 103. */
	assert_int_equal(watch_again(w, 101.0), 0);
	assert_int_equal(watch_again(w, 102.0), 0);
	assert_int_equal(watch_again(w, 103.0), 0);
	/* Then thread 2 ran for 0.5 s of CPU, read at 104: it used half a
	 * core since 103, not an eighth since 100. */
	struct snapshot *b = snapshot_of(2, 1.0, 104.0);
	thread_os(&b->threads[0])->cpu_at = 100.0;	/* thread 1 carried over, not read */
	thread_os(&b->threads[1])->cpu_ns += 500000000;
	assert_int_equal(watch_update(w, b, 104.0), 0);
	assert_true(w->cpu > 0.49 && w->cpu < 0.51);
	/* And once it is measured, the unchanged stretch no longer counts. */
	struct snapshot *c = snapshot_of(2, 1.0, 106.0);
	thread_os(&c->threads[0])->cpu_at = 100.0;
	thread_os(&c->threads[1])->cpu_ns = thread_cpu_ns(&b->threads[1]) + 500000000;
	assert_int_equal(watch_update(w, c, 106.0), 0);
	assert_true(w->cpu > 0.24 && w->cpu < 0.26);
	watch_free(w);
	snapshot_free(a);
	snapshot_free(b);
	snapshot_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_again_keeps_counts_and_ages_waits),
		cmocka_unit_test(test_share_counts_from_last_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
