/*
 * Unit tests of diff.c: matching groups across load addresses, churn by
 * (tid, start time), appeared/vanished, ordering, filters, thresholds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model/diff.h"
#include "views/render.h"

/* Adds a thread blocked in fn <- caller, with libc on top, at a base
 * address (different bases stand for different runs). */
static void add(struct snapshot *s, int tid, uint64_t start, enum wait_kind kind,
		const char *fn, uint64_t base)
{
	struct thread *t = snapshot_add_thread(s);
	struct frame *f;

	t->tid = tid;
	thread_os(t)->start_time = start;
	t->state = 'S';
	t->wait.kind = kind;
	f = thread_add_frame(t);
	f->pc = base + 0x100;
	f->module = strdup("/usr/lib/x86_64-linux-gnu/libc.so.6");
	f->function = strdup("__futex_abstimed_wait_common");
	f = thread_add_frame(t);
	f->pc = base + 0x2000;
	f->module = strdup("/srv/app");
	f->function = strdup(fn);
	f = thread_add_frame(t);
	f->pc = base + 0x3000;
	f->module = strdup("/srv/app");
	f->function = strdup("main_loop");
}

static struct snapshot *snap(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	s->version = SNAPSHOT_VERSION;
	s->pid = 100;
	return s;
}

static const struct diff_group *find(const struct diff *d, const char *fn)
{
	for (size_t i = 0; i < d->ngroups; i++)
		if (diff_has_function(&d->groups[i], fn))
			return &d->groups[i];
	return NULL;
}

static void test_growth_and_matching(void **state)
{
	struct snapshot *a = snap(), *b = snap();
	struct diff d;
	const struct diff_group *g;

	(void)state;
	/* before: 2 idle, 1 reader; after (another run, other addresses):
	 * 2 idle (same tids), 1 reader (replaced), 3 leaked */
	add(a, 10, 1, WAIT_CONDVAR, "idle", 0x1000000);
	add(a, 11, 1, WAIT_CONDVAR, "idle", 0x1000000);
	add(a, 12, 1, WAIT_READ, "reader", 0x1000000);
	add(a, 13, 1, WAIT_MUTEX, "old_lock", 0x1000000);
	add(b, 10, 1, WAIT_CONDVAR, "idle", 0x7f0000000);
	add(b, 11, 1, WAIT_CONDVAR, "idle", 0x7f0000000);
	add(b, 12, 9, WAIT_READ, "reader", 0x7f0000000);	/* tid reused */
	for (int i = 0; i < 3; i++)
		add(b, 20 + i, 5, WAIT_CONDVAR, "leak", 0x7f0000000);
	assert_int_equal(diff_snapshots(a, b, &d), 0);
	assert_int_equal(d.total_before, 4);
	assert_int_equal(d.total_after, 6);
	assert_int_equal(d.ngroups, 4);

	g = &d.groups[0];	/* largest growth first */
	assert_true(diff_has_function(g, "leak"));
	assert_int_equal(g->delta, 3);
	assert_string_equal(diff_status(g), "appeared");
	assert_int_equal(g->born, 3);

	g = find(&d, "idle");
	assert_int_equal(g->before, 2);
	assert_int_equal(g->after, 2);
	assert_int_equal(g->born, 0);
	assert_string_equal(diff_status(g), "same");
	assert_false(diff_shown(g, 1));

	g = find(&d, "reader");
	assert_int_equal(g->delta, 0);
	assert_int_equal(g->born, 1);
	assert_int_equal(g->died, 1);
	assert_string_equal(diff_status(g), "churn");
	assert_true(diff_shown(g, 1));
	assert_false(diff_shown(g, 2));

	g = find(&d, "old_lock");
	assert_int_equal(g->delta, -1);
	assert_string_equal(diff_status(g), "vanished");
	assert_ptr_equal(d.groups[d.ngroups - 1].a, g->a);	/* shrinkage last */

	assert_int_equal(diff_grown(&d, 1), 1);
	assert_int_equal(diff_grown(&d, 3), 1);
	assert_int_equal(diff_grown(&d, 4), 0);
	diff_free(&d);
	snapshot_free(a);
	snapshot_free(b);
}

static void test_kind_splits(void **state)
{
	struct snapshot *a = snap(), *b = snap();
	struct diff d;

	(void)state;
	add(a, 10, 1, WAIT_CONDVAR, "work", 0x1000);
	add(b, 10, 1, WAIT_MUTEX, "work", 0x1000);	/* same stack, other wait */
	assert_int_equal(diff_snapshots(a, b, &d), 0);
	assert_int_equal(d.ngroups, 2);
	assert_int_equal(diff_grown(&d, 1), 1);
	diff_free(&d);
	snapshot_free(a);
	snapshot_free(b);
}

static void test_filters(void **state)
{
	struct snapshot *a = snap(), *b = snap();
	struct diff d;
	const char *ign[] = { "main_loop" }, *top[] = { "leak" }, *top2[] = { "main_loop" };
	struct diff_filter f = { .min_delta = 1 };

	(void)state;
	add(b, 20, 5, WAIT_CONDVAR, "leak", 0x1000);
	assert_int_equal(diff_snapshots(a, b, &d), 0);
	assert_int_equal(diff_grown(&d, 1), 1);

	f.ignore = ign;
	f.nignore = 1;
	diff_filter(&d, &f);
	assert_int_equal(diff_grown(&d, 1), 0);

	f.nignore = 0;
	f.ignore_top = top;	/* the top is the first frame outside libc */
	f.nignore_top = 1;
	diff_filter(&d, &f);
	assert_int_equal(diff_grown(&d, 1), 0);

	f.ignore_top = top2;	/* main_loop is not the top */
	diff_filter(&d, &f);
	assert_int_equal(diff_grown(&d, 1), 1);
	diff_free(&d);
	snapshot_free(a);
	snapshot_free(b);
}

static void test_empty(void **state)
{
	struct snapshot *a = snap(), *b = snap();
	struct diff d;

	(void)state;
	assert_int_equal(diff_snapshots(a, b, &d), 0);
	assert_int_equal(d.ngroups, 0);
	assert_int_equal(diff_grown(&d, 1), 0);
	diff_free(&d);
	snapshot_free(a);
	snapshot_free(b);
}

/* Adds goroutine goid blocked in fn, started in main.spawn by parent. */
static void add_go(struct snapshot *s, int64_t goid, const char *fn, int64_t parent)
{
	struct thread *t = snapshot_add_thread(s);
	struct frame *f;

	t->goid = goid;
	t->go_parent = parent;
	t->go_wait = strdup("chan receive");
	t->wait.kind = WAIT_OTHER;
	f = thread_add_frame(t);
	f->module = strdup("/srv/app");
	f->function = strdup(fn);
	t->created = calloc(1, sizeof(*t->created));
	t->created->module = strdup("/srv/app");
	t->created->function = strdup("main.spawn");
	t->ncreated = 1;
	s->ngoroutines++;
}

/* A Go program's before side: a goroutine group of 40 (ids 1-40, one
 * parent), one of 30 that vanishes (parents differ past its 16th), two
 * threads; after: ids 5-50 of the first. */
static struct snapshot *go_side(bool after)
{
	struct snapshot *s = snap();

	s->runtime = strdup("go1.22.0");
	s->exe = strdup("/srv/app");
	for (int64_t id = after ? 5 : 1; id <= (after ? 50 : 40); id++)
		add_go(s, id, "main.wait", 1);
	for (int64_t id = 0; id < 30 && !after; id++)
		add_go(s, 100 + id, "main.gone", id < 20 ? 1 : id);
	add(s, 10, 1, WAIT_CONDVAR, "idle", 0x1000000);
	add(s, 11, 1, WAIT_CONDVAR, "idle", 0x1000000);
	return s;
}

static char *rendered(const struct diff *d, const struct snapshot *a,
		      const struct snapshot *b, bool json)
{
	struct render_options ropt = { false, false };
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	if (json)
		assert_int_equal(diff_write_json(d, a, b, 1, fp), 0);
	else
		assert_int_equal(render_diff(fp, d, a, b, "a", "b", 1, &ropt), 0);
	fclose(fp);
	return text;
}

/* Dropping the before side's entries (diff_drop_before) changes nothing
 * the diff says: counts, births and deaths, text and JSON. */
static void test_drop_before(void **state)
{
	struct snapshot *a1 = go_side(false), *a2 = go_side(false), *b = go_side(true);
	struct diff d1, d2;

	(void)state;
	assert_int_equal(diff_snapshots(a1, b, &d1), 0);
	assert_int_equal(diff_begin(a2, &d2), 0);
	assert_int_equal(diff_drop_before(&d2, a2), 0);
	/* the first 16 of each goroutine group, and the threads */
	assert_int_equal(a2->nthreads, 16 + 16 + 2);
	assert_int_equal(diff_end(&d2, a2, b), 0);
	assert_int_equal(d1.ngroups, d2.ngroups);
	for (size_t i = 0; i < d1.ngroups; i++) {
		assert_string_equal(d1.groups[i].signature, d2.groups[i].signature);
		assert_int_equal(d1.groups[i].before, d2.groups[i].before);
		assert_int_equal(d1.groups[i].born, d2.groups[i].born);
		assert_int_equal(d1.groups[i].died, d2.groups[i].died);
	}
	assert_int_equal(find(&d2, "main.wait")->born, 10);
	assert_int_equal(find(&d2, "main.wait")->died, 4);
	for (int json = 0; json < 2; json++) {
		char *t1 = rendered(&d1, a1, b, json), *t2 = rendered(&d2, a2, b, json);
		assert_string_equal(t1, t2);
		if (!json) {	/* the vanished group's ids, its parents */
			assert_non_null(strstr(t2, "goroutine ids: 100 101"));
			assert_non_null(strstr(t2, "in goroutines 1 1"));
		}
		free(t1);
		free(t2);
	}
	diff_free(&d1);
	diff_free(&d2);
	snapshot_free(a1);
	snapshot_free(a2);
	snapshot_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth_and_matching),
		cmocka_unit_test(test_kind_splits),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_drop_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
