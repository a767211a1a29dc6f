/*
 * Unit tests for src/model/group.c: stack signatures and grouping of threads by
 * (wait kind, signature), its order, blocked-time bounds, and scale.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/group.h"

static struct snapshot *new_snapshot(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	assert_non_null(snap);
	snap->version = SNAPSHOT_VERSION;
	snap->pid = 100;
	return snap;
}

static struct thread *add_thread(struct snapshot *snap, int tid,
				 enum wait_kind kind, double blocked)
{
	struct thread *t = snapshot_add_thread(snap);

	assert_non_null(t);
	t->tid = tid;
	t->state = 'S';
	t->wait.kind = kind;
	t->wait.blocked_sec = blocked;
	return t;
}

static char *dup_or_null(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

static void add_frame(struct thread *t, uint64_t pc, const char *module,
		      const char *function, uint64_t offset, bool inlined)
{
	struct frame *f = thread_add_frame(t);

	assert_non_null(f);
	f->pc = pc;
	f->module = dup_or_null(module);
	f->function = dup_or_null(function);
	f->offset = offset;
	f->inlined = inlined;
}

/*
 * The worker stack of a program loaded at base (its libc at base2): the
 * same code, so the same offsets, at different addresses.
 */
static void worker_stack(struct thread *t, uint64_t base, uint64_t base2,
			 const char *exe)
{
	add_frame(t, base2 + 0x8abcd, "/usr/lib/x86_64-linux-gnu/libc.so.6",
		  "__futex_abstimed_wait_common", 0x8abcd, false);
	add_frame(t, base2 + 0x8b000, "/usr/lib/x86_64-linux-gnu/libc.so.6",
		  "pthread_mutex_lock", 0x8b000, false);
	add_frame(t, base + 0x1234, exe, "worker", 0x1234, false);
	add_frame(t, base2 + 0x94000, "/lib/x86_64-linux-gnu/libc.so.6",
		  "start_thread", 0x94000, false);
}

static char *signature_of(struct thread *t)
{
	char *sig = stack_signature(t);

	assert_non_null(sig);
	return sig;
}

static void test_signature_format(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct thread *t = add_thread(snap, 1, WAIT_MUTEX, -1);
	char *sig;

	(void)state;
	worker_stack(t, 0x555500000000ULL, 0x7f0000000000ULL,
		     "/home/me/waits.c.bin");
	sig = signature_of(t);
	assert_string_equal(sig,
			    "libc.so.6!__futex_abstimed_wait_common;"
			    "libc.so.6!pthread_mutex_lock;"
			    "waits.c.bin!worker;libc.so.6!start_thread");
	free(sig);

	/* no function: module+offset; nothing: "?"; no module: "?!fn" */
	t = add_thread(snap, 2, WAIT_OTHER, -1);
	add_frame(t, 0x7f00deadbeefULL, "/opt/lib/libfoo.so.1", NULL,
		  0xbeef, false);
	add_frame(t, 0x1234, NULL, NULL, 0, false);
	add_frame(t, 0x5678, NULL, "jit_thing", 0, false);
	add_frame(t, 0x9abc, "relative.so", "", 0x10, false);
	sig = signature_of(t);
	assert_string_equal(sig, "libfoo.so.1+0xbeef;?;?!jit_thing;"
			    "relative.so+0x10");
	free(sig);

	/* no frames at all: the empty signature */
	t = add_thread(snap, 3, WAIT_UNKNOWN, -1);
	sig = signature_of(t);
	assert_string_equal(sig, "");
	free(sig);
	snapshot_free(snap);
}

/* A goroutine waiting in fn at line, as the Go reader makes one. */
static struct thread *add_goroutine(struct snapshot *snap, int64_t goid, const char *wait,
				    const char *fn, int line)
{
	struct thread *t = add_thread(snap, 0, WAIT_OTHER, -1);
	struct frame *f;

	t->goid = goid;
	t->go_wait = dup_or_null(wait);
	add_frame(t, 0x401000 + (uint64_t)line, "/srv/app", fn, 0x1000, false);
	add_frame(t, 0x402000, "/srv/app", "main.main", 0x2000, false);
	f = &t->frames[0];
	f->line = line;
	t->frames[1].line = 40;
	return t;
}

/* pprof groups goroutines by pc: one function waiting at two lines is two
 * groups; a running goroutine's innermost line moves, and threads' lines
 * never split a group (their signature is the same across builds). */
static void test_goroutine_lines(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct grouping g;
	char *sig;

	(void)state;
	sig = signature_of(add_goroutine(snap, 1, "chan receive", "main.wait", 10));
	assert_string_equal(sig, "go:chan receive|app!main.wait:10;app!main.main:40");
	free(sig);
	add_goroutine(snap, 2, "chan receive", "main.wait", 10);
	add_goroutine(snap, 3, "chan receive", "main.wait", 12);
	add_goroutine(snap, 4, "running", "main.spin", 20);
	add_goroutine(snap, 5, "running", "main.spin", 21);
	sig = signature_of(&snap->threads[4]);
	assert_string_equal(sig, "go:running|app!main.spin;app!main.main:40");
	free(sig);
	struct thread *t = add_thread(snap, 7, WAIT_SLEEP, -1);
	add_frame(t, 0x1000, "/srv/c", "sleeper", 0x10, false);
	t->frames[0].line = 5;
	t = add_thread(snap, 8, WAIT_SLEEP, -1);
	add_frame(t, 0x1000, "/srv/c", "sleeper", 0x10, false);
	t->frames[0].line = 6;
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 4);	/* wait:10 x2, wait:12, spin x2, sleeper x2 */
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_inline_frame_changes_signature(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct thread *a = add_thread(snap, 1, WAIT_MUTEX, -1);
	struct thread *b = add_thread(snap, 2, WAIT_MUTEX, -1);
	struct grouping g;
	char *sa, *sb;

	(void)state;
	add_frame(a, 0x1000, "/bin/p", "outer", 0x1000, false);
	add_frame(b, 0x1000, "/bin/p", "helper", 0x1000, true);
	add_frame(b, 0x1000, "/bin/p", "outer", 0x1000, false);
	sa = signature_of(a);
	sb = signature_of(b);
	assert_string_equal(sa, "p!outer");
	assert_string_equal(sb, "p!helper;p!outer");
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 2);
	free(sa);
	free(sb);
	grouping_free(&g);
	snapshot_free(snap);
}

/* Same code at other load addresses and module paths groups together. */
static void test_aslr_groups_together(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct grouping g;

	(void)state;
	worker_stack(add_thread(snap, 30, WAIT_MUTEX, -1),
		     0x555500000000ULL, 0x7f0000000000ULL, "/srv/a/waits.c.bin");
	worker_stack(add_thread(snap, 10, WAIT_MUTEX, -1),
		     0x561200000000ULL, 0x7fab12340000ULL, "/srv/b/waits.c.bin");
	worker_stack(add_thread(snap, 20, WAIT_MUTEX, -1),
		     0x400000ULL, 0x7ff000000000ULL, "waits.c.bin");
	/* a frame without a function stays equal across load addresses */
	for (size_t i = 0; i < snap->nthreads; i++)
		add_frame(&snap->threads[i], 0x1000 * (i + 1),
			  "/usr/lib/libstripped.so", NULL, 0x4242, false);

	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 1);
	assert_int_equal(g.groups[0].count, 3);
	assert_int_equal(g.groups[0].kind, WAIT_MUTEX);
	assert_string_equal(g.groups[0].signature,
			    "libc.so.6!__futex_abstimed_wait_common;"
			    "libc.so.6!pthread_mutex_lock;"
			    "waits.c.bin!worker;libc.so.6!start_thread;"
			    "libstripped.so+0x4242");
	/* members in tid order, pointing into the snapshot */
	assert_int_equal(g.groups[0].threads[0]->tid, 10);
	assert_int_equal(g.groups[0].threads[1]->tid, 20);
	assert_int_equal(g.groups[0].threads[2]->tid, 30);
	assert_ptr_equal(g.groups[0].threads[0], &snap->threads[1]);
	grouping_free(&g);
	assert_null(g.groups);
	assert_int_equal(g.ngroups, 0);
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_different_offsets_split(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct grouping g;

	(void)state;
	add_frame(add_thread(snap, 1, WAIT_READ, -1), 0x7f0000001000ULL,
		  "/lib/libx.so", NULL, 0x1000, false);
	add_frame(add_thread(snap, 2, WAIT_READ, -1), 0x7f0000001000ULL,
		  "/lib/libx.so", NULL, 0x2000, false);
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 2);
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_kinds_split(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct grouping g;

	(void)state;
	worker_stack(add_thread(snap, 1, WAIT_MUTEX, -1), 0x1000, 0x2000, "p");
	worker_stack(add_thread(snap, 2, WAIT_CONDVAR, -1), 0x1000, 0x2000,
		     "p");
	worker_stack(add_thread(snap, 3, WAIT_MUTEX, -1), 0x1000, 0x2000, "p");
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 2);
	assert_int_equal(g.groups[0].kind, WAIT_MUTEX);
	assert_int_equal(g.groups[0].count, 2);
	assert_int_equal(g.groups[1].kind, WAIT_CONDVAR);
	assert_int_equal(g.groups[1].count, 1);
	assert_string_equal(g.groups[0].signature, g.groups[1].signature);
	assert_ptr_not_equal(g.groups[0].signature, g.groups[1].signature);
	grouping_free(&g);
	snapshot_free(snap);
}

/* Largest first, then kind in enum order, then signature. */
static void test_sort_order(void **state)
{
	static const struct {
		int tid;
		enum wait_kind kind;
		const char *fn;
	} threads[] = {
		{ 1, WAIT_SLEEP, "z" },  { 2, WAIT_READ, "b" },
		{ 3, WAIT_READ, "a" },   { 4, WAIT_SLEEP, "z" },
		{ 5, WAIT_MUTEX, "m" },  { 6, WAIT_READ, "b" },
		{ 7, WAIT_RUNNING, "q" }, { 8, WAIT_SLEEP, "z" },
		{ 9, WAIT_READ, "c" },   { 10, WAIT_RUNNING, "q" },
	};
	static const struct {
		size_t count;
		enum wait_kind kind;
		const char *sig;
	} want[] = {
		{ 3, WAIT_SLEEP, "p!z" },
		{ 2, WAIT_RUNNING, "p!q" },
		{ 2, WAIT_READ, "p!b" },
		{ 1, WAIT_MUTEX, "p!m" },
		{ 1, WAIT_READ, "p!a" },
		{ 1, WAIT_READ, "p!c" },
	};
	struct snapshot *snap = new_snapshot();
	struct grouping g;

	(void)state;
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
		add_frame(add_thread(snap, threads[i].tid, threads[i].kind, -1),
			  0x1000 + i, "/bin/p", threads[i].fn, 0x1000, false);
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < g.ngroups; i++) {
		assert_int_equal(g.groups[i].count, want[i].count);
		assert_int_equal(g.groups[i].kind, want[i].kind);
		assert_string_equal(g.groups[i].signature, want[i].sig);
	}
	assert_int_equal(g.groups[0].threads[0]->tid, 1);
	assert_int_equal(g.groups[0].threads[1]->tid, 4);
	assert_int_equal(g.groups[0].threads[2]->tid, 8);
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_blocked_bounds(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct grouping g;

	(void)state;
	/* group of 4 (mutex): unknown, 3.5, 0, 12 */
	worker_stack(add_thread(snap, 1, WAIT_MUTEX, -1), 0, 0, "p");
	worker_stack(add_thread(snap, 2, WAIT_MUTEX, 3.5), 0, 0, "p");
	worker_stack(add_thread(snap, 3, WAIT_MUTEX, 0), 0, 0, "p");
	worker_stack(add_thread(snap, 4, WAIT_MUTEX, 12), 0, 0, "p");
	/* group of 2 (sleep): all unknown */
	worker_stack(add_thread(snap, 5, WAIT_SLEEP, -1), 0, 0, "p");
	worker_stack(add_thread(snap, 6, WAIT_SLEEP, -1), 0, 0, "p");
	/* group of 1 (read): one value */
	worker_stack(add_thread(snap, 7, WAIT_READ, 7.25), 0, 0, "p");

	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 3);
	assert_int_equal(g.groups[0].kind, WAIT_MUTEX);
	assert_true(g.groups[0].min_blocked_sec == 0);
	assert_true(g.groups[0].max_blocked_sec == 12);
	assert_int_equal(g.groups[1].kind, WAIT_SLEEP);
	assert_true(g.groups[1].min_blocked_sec < 0);
	assert_true(g.groups[1].max_blocked_sec < 0);
	assert_int_equal(g.groups[2].kind, WAIT_READ);
	assert_true(g.groups[2].min_blocked_sec == 7.25);
	assert_true(g.groups[2].max_blocked_sec == 7.25);
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_empty_snapshot(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct grouping g = { (struct group *)&g, 99 };

	(void)state;
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_null(g.groups);
	assert_int_equal(g.ngroups, 0);
	grouping_free(&g);
	grouping_free(NULL);
	assert_int_equal(group_snapshot(NULL, &g), -EINVAL);
	assert_int_equal(group_snapshot(snap, NULL), -EINVAL);
	snapshot_free(snap);
}

/*
 * 10,000 threads in 50 shapes, each shape with its own count, in shuffled
 * tid order: every thread lands in exactly one group of the right size,
 * members ascend, groups are ordered.
 */
static void test_ten_thousand(void **state)
{
	enum { NTHREADS = 10000, NSHAPES = 50 };
	struct snapshot *snap = new_snapshot();
	size_t per_shape[NSHAPES] = { 0 }, seen = 0, nonempty = 0;
	unsigned int seed = 12345;
	struct grouping g;
	char fn[32];
	int *tids;

	(void)state;
	tids = malloc(NTHREADS * sizeof(*tids));
	assert_non_null(tids);
	for (int i = 0; i < NTHREADS; i++)
		tids[i] = 1000 + i;
	for (int i = NTHREADS - 1; i > 0; i--) {
		int j, tmp;

		seed = seed * 1103515245 + 12345;
		j = (int)((seed >> 8) % (unsigned int)(i + 1));
		tmp = tids[i];
		tids[i] = tids[j];
		tids[j] = tmp;
	}
	for (int i = 0; i < NTHREADS; i++) {
		/* shape s gets a share growing with s: 0,1,2,... weights */
		int s = (int)(((long)i * i / NTHREADS) * NSHAPES / NTHREADS);
		struct thread *t = add_thread(snap, tids[i],
					      (enum wait_kind)(s % WAIT__COUNT),
					      (double)(i % 600));

		per_shape[s]++;
		worker_stack(t, 0x555500000000ULL + (uint64_t)i * 0x1000,
			     0x7f0000000000ULL, "/usr/bin/server");
		snprintf(fn, sizeof(fn), "handler_%02d", s);
		add_frame(t, 0x1000, "/usr/bin/server", fn, 0x1000, false);
	}
	/* speed is measured by `make bench`, not asserted here */
	assert_int_equal(group_snapshot(snap, &g), 0);
	for (int s = 0; s < NSHAPES; s++)
		nonempty += per_shape[s] != 0;
	assert_int_equal(g.ngroups, nonempty);
	for (size_t i = 0; i < g.ngroups; i++) {
		const struct group *grp = &g.groups[i];
		int s;

		assert_non_null(strstr(grp->signature, "server!handler_"));
		s = atoi(strstr(grp->signature, "handler_") + 8);
		assert_int_equal(grp->count, per_shape[s]);
		assert_int_equal(grp->kind, s % WAIT__COUNT);
		if (i)
			assert_true(g.groups[i - 1].count >= grp->count);
		for (size_t m = 0; m < grp->count; m++) {
			assert_int_equal(grp->threads[m]->wait.kind, grp->kind);
			if (m)
				assert_true(grp->threads[m - 1]->tid <
					    grp->threads[m]->tid);
		}
		assert_true(grp->min_blocked_sec >= 0);
		assert_true(grp->max_blocked_sec <= 599);
		seen += grp->count;
	}
	assert_int_equal(seen, NTHREADS);
	grouping_free(&g);
	free(tids);
	snapshot_free(snap);
}

/*
 * Many signatures (more than a quarter of the threads: the sort goes by
 * kind, then by signature): 4000 threads in shuffled tid order, function
 * i % 1500, kind 0, 1, 0 for each 1500 of them: 3000 groups, each of its
 * function and kind, in tid order.
 */
static void test_many_signatures(void **state)
{
	enum { NTHREADS = 4000, NFUNCS = 1500 };
	struct snapshot *snap = new_snapshot();
	unsigned int seed = 777;
	struct grouping g;
	size_t seen = 0;
	int tids[NTHREADS];
	char fn[32];

	(void)state;
	for (int i = 0; i < NTHREADS; i++)
		tids[i] = 100 + i;
	for (int i = NTHREADS - 1; i > 0; i--) {
		seed = seed * 1103515245 + 12345;
		int j = (int)((seed >> 8) % (unsigned int)(i + 1)), tmp = tids[i];
		tids[i] = tids[j];
		tids[j] = tmp;
	}
	for (int i = 0; i < NTHREADS; i++) {
		struct thread *t = add_thread(snap, tids[i], i / NFUNCS == 1 ? WAIT_SLEEP : WAIT_FUTEX, 1);
		snprintf(fn, sizeof(fn), "f%04d", i % NFUNCS);
		add_frame(t, 0x1000, "/usr/bin/server", fn, 0x1000, false);
	}
	assert_int_equal(group_snapshot(snap, &g), 0);
	assert_int_equal(g.ngroups, 2 * NFUNCS);
	for (size_t i = 0; i < g.ngroups; i++) {
		const struct group *grp = &g.groups[i];
		int f = atoi(strstr(grp->signature, "!f") + 2);
		size_t want = grp->kind == WAIT_SLEEP ? 1 : f < NTHREADS - 2 * NFUNCS ? 2 : 1;
		assert_int_equal(grp->count, want);
		for (size_t m = 0; m < grp->count; m++) {
			assert_int_equal(grp->threads[m]->wait.kind, grp->kind);
			assert_string_equal(grp->threads[m]->frames[0].function,
					    strstr(grp->signature, "!") + 1);
			if (m)
				assert_true(grp->threads[m - 1]->tid < grp->threads[m]->tid);
		}
		seen += grp->count;
	}
	assert_int_equal(seen, NTHREADS);
	grouping_free(&g);
	snapshot_free(snap);
}

static void test_function_is(void **state)
{
	(void)state;
	/* the same, and what compilers and demanglers add around a name */
	assert_true(function_is("worker", "worker"));
	assert_true(function_is("worker.constprop.0", "worker"));
	assert_true(function_is("app::Worker::run(int) [clone .isra.0]", "app::Worker::run"));
	assert_true(function_is("app::Worker::run(int) [clone .isra.0]",
				"app::Worker::run(int) [clone .isra.0]"));
	assert_true(function_is("void std::condition_variable::wait<F>(std::unique_lock<std::mutex>&, F)",
				"std::condition_variable::wait"));
	assert_true(function_is("app::Queue<int>::pop()", "app::Queue<int>::pop"));
	/* not a part of another name, nor an unqualified member */
	assert_false(function_is("worker_main", "worker"));
	assert_false(function_is("my_worker", "worker"));
	assert_false(function_is("app::Worker::run()", "run"));
	assert_false(function_is("app::Worker::run()", "Worker::run"));
	assert_false(function_is("f(worker)", "worker"));
	assert_false(function_is(NULL, "worker"));
	assert_false(function_is("worker", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_format),
		cmocka_unit_test(test_inline_frame_changes_signature),
		cmocka_unit_test(test_goroutine_lines),
		cmocka_unit_test(test_aslr_groups_together),
		cmocka_unit_test(test_different_offsets_split),
		cmocka_unit_test(test_kinds_split),
		cmocka_unit_test(test_sort_order),
		cmocka_unit_test(test_blocked_bounds),
		cmocka_unit_test(test_empty_snapshot),
		cmocka_unit_test(test_ten_thousand),
		cmocka_unit_test(test_many_signatures),
		cmocka_unit_test(test_function_is),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
