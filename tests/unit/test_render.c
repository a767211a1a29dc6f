/*
 * Unit tests for src/views/render.c's grouped text of goroutines: a group whose
 * members wait on different objects gets a line per object (at most 8,
 * at most 16 ids each, the rest counted), objects told apart by their
 * words, not their fields; its header says the range of minutes waited.
 * The expected text is what render.c wrote before it was made one pass
 * (issue 27), byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "views/render.h"

static char *dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	assert_true(!s || d);
	return d;
}

/* A goroutine of main.lockShard's stack, parked in sync.Mutex.Lock. */
static struct thread *add_goroutine(struct snapshot *snap, int64_t goid, double minutes)
{
	struct thread *t = snapshot_add_thread(snap);
	static const char *fns[] = { "runtime.gopark", "sync.(*Mutex).Lock", "main.lockShard" };

	assert_non_null(t);
	t->goid = goid;
	t->state = 'S';
	t->go_wait = dup("sync.Mutex.Lock");
	t->go_minutes = minutes;
	t->wait.kind = WAIT_MUTEX;
	t->wait.blocked_sec = minutes * 60;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		struct frame *f = thread_add_frame(t);
		assert_non_null(f);
		f->pc = 0x401000 + i * 0x10;
		f->module = dup("/srv/app");
		f->function = dup(fns[i]);
		f->file = dup("main.go");
		f->line = 10 + (int)i;
	}
	return t;
}

/* An empty snapshot of a Go program, "app" (pid 100). */
static struct snapshot *new_snapshot(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	assert_non_null(snap);
	snap->version = SNAPSHOT_VERSION;
	snap->pid = 100;
	snap->comm = dup("app");
	snap->exe = dup("/srv/app");
	snap->unwinder = dup("test");
	snap->runtime = dup("go1.26");
	snap->capture_ms = 1;
	return snap;
}

static char *render(const struct snapshot *snap)
{
	struct render_options opt = { false, false };
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	assert_int_equal(render_snapshot(fp, snap, &opt), 0);
	fclose(fp);
	return text;
}

static const char expected[] =
	"app (pid 100): go1.26, 60 goroutines (0 of the runtime's own), 0 threads\n"
	"captured in 1.0 ms with test; no thread stopped\n"
	"\n"
	"60 goroutines  sync.Mutex.Lock  (on different objects)  2 … 5 minutes\n"
	"  goroutine ids: 1 2 3 4 5 6 7 8 9 10 11 12 …\n"
	"  mutex 0x10: 1 3 5 7 9 11 13 15 17 19 21 23 25 27 29 31 ...\n"
	"  fd 7: 2 4\n"
	"  0x20: 6 8\n"
	"  mutex 0x30: 10\n"
	"  mutex 0x31: 12\n"
	"  mutex 0x32: 14\n"
	"  mutex 0x33: 16\n"
	"  mutex 0x34: 18\n"
	"  ... 21 more\n"
	"    runtime.gopark                     main.go:10               \n"
	"    sync.(*Mutex).Lock                 main.go:11               \n"
	"    main.lockShard                     main.go:12               \n"
	"\n"
	"── the runtime's own goroutines ──\n"
	"\n"
	"── threads ──\n"
	"\n";

/*
 * 60 goroutines of one stack: the odd ones on one mutex (its words in a
 * string of each one's own: equal words, different fields), 2 and 4 on
 * "fd 7" said two ways (an fd, and an object string), 6 and 8 on an
 * address, the other even ones each on a mutex of its own: 5 of those
 * make lines, the 21 after them are counted.
 */
static void test_objects_lines(void **state)
{
	struct snapshot *snap = new_snapshot();

	(void)state;
	/* in reverse: the group lists them by goid */
	for (int64_t id = 60; id >= 1; id--) {
		struct thread *t = add_goroutine(snap, id, 2 + (double)(id % 4));
		char obj[32];
		if (id % 2) {
			t->wait.object = dup("mutex 0x10");
		} else if (id == 2) {
			t->wait.fd = 7;
		} else if (id == 4) {
			t->wait.object = dup("fd 7");
		} else if (id == 6 || id == 8) {
			t->wait.address = 0x20;
		} else {
			snprintf(obj, sizeof(obj), "mutex 0x%x", 0x30 + (int)(id - 10) / 2);
			t->wait.object = dup(obj);
		}
		snap->ngoroutines++;
	}
	char *text = render(snap);
	if (strcmp(text, expected) != 0)
		print_message("got:\n%s", text);
	assert_string_equal(text, expected);
	free(text);
	snapshot_free(snap);
}

/* All on one object: no lines, the object in the header. */
static void test_one_object(void **state)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	(void)state;
	assert_non_null(snap);
	snap->version = SNAPSHOT_VERSION;
	snap->comm = dup("app");
	snap->runtime = dup("go1.26");
	for (int64_t id = 1; id <= 3; id++) {
		struct thread *t = add_goroutine(snap, id, -1);
		t->wait.object = dup("mutex 0x10");	/* each its own string */
		snap->ngoroutines++;
	}
	char *text = render(snap);
	assert_non_null(strstr(text, "\n3 goroutines  sync.Mutex.Lock  mutex 0x10\n"
				     "  goroutine ids: 1 2 3\n    runtime.gopark"));
	free(text);
	snapshot_free(snap);
}

static const char expected_parts[] =
	"app (pid 100): go1.26, 50 goroutines (0 of the runtime's own), 0 threads\n"
	"captured in 1.0 ms with test; no thread stopped\n"
	"\n"
	"40 goroutines  sync.Mutex.Lock  (on different objects)  1 … 5 minutes\n"
	"  goroutine ids: 1 2 3 4 5 6 7 8 9 10 11 12 …\n"
	"  mutex 0x10: 1 3 5 7 9 11 13 15 17 19 21 23 25 27 29 31 ...\n"
	"  mutex 0x20: 2 4 6 8 10 12 14 16 18 20 22 24 26 28 30 32 ...\n"
	"    runtime.gopark                     main.go:10               \n"
	"    sync.(*Mutex).Lock                 main.go:11               \n"
	"    main.lockShard                     main.go:12               \n"
	"  created by (the first of them; others elsewhere):\n"
	"    main.main                          main.go:30               \n"
	"    in goroutine 1\n"
	"\n"
	"10 goroutines  sync.Mutex.Lock  chan 0x99  1 … 5 minutes\n"
	"  goroutine ids: 41 42 43 44 45 46 47 48 49 50\n"
	"    runtime.gopark                     main.go:10               \n"
	"    sync.(*Mutex).Lock                 main.go:11               \n"
	"    main.XockShard                     main.go:12               \n"
	"  created by:\n"
	"    main.main                          main.go:30               \n"
	"    in goroutines 2 1 2 1 2 1 2 1 2 1\n"
	"\n"
	"── the runtime's own goroutines ──\n"
	"\n"
	"── threads ──\n"
	"\n";

/*
 * Goroutines whose stacks are the pool's, as a capture makes them: two
 * frame arrays of one signature (pcs differ, lines do not: one group),
 * so what the group says of its members is put together from two parts.
 * Group 1 (ids 1-40, the first array for ids divisible by 3): different
 * objects, one created elsewhere (main.other), all by goroutine 1.  Group
 * 2 (ids 41-50): one object, two parents.
 */
static void test_pooled_parts(void **state)
{
	struct snapshot *snap = new_snapshot();

	(void)state;
	for (int64_t id = 50; id >= 1; id--) {
		struct thread *t = add_goroutine(snap, id, id % 7 == 0 ? -1 : 1 + (double)(id % 5));
		if (id % 3 == 0)
			t->frames[0].pc += 0x1000;	/* another array, the same words */
		if (id > 40)
			t->frames[2].function[5] = 'X';	/* "main.XockShard" */
		struct frame *c = calloc(1, sizeof(*c));
		assert_non_null(c);
		c->pc = 0x402000;
		c->module = dup("/srv/app");
		c->function = dup(id == 37 ? "main.other" : "main.main");
		c->file = dup("main.go");
		c->line = 30;
		t->created = c;
		t->ncreated = 1;
		t->go_parent = id > 40 ? 1 + id % 2 : 1;
		t->wait.object = dup(id > 40 ? "chan 0x99" : id % 2 ? "mutex 0x10" : "mutex 0x20");
		assert_int_equal(snapshot_pool_thread(snap, t), 0);
		snap->ngoroutines++;
	}
	char *text = render(snap);
	if (strcmp(text, expected_parts) != 0)
		print_message("got:\n%s", text);
	assert_string_equal(text, expected_parts);
	free(text);
	snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects_lines),
		cmocka_unit_test(test_one_object),
		cmocka_unit_test(test_pooled_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
