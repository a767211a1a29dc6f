/*
 * Unit tests for src/snapshot*.c: wait kind names, array growth, the JSON
 * round trip, the exact text layout, strict reading of bad input, and the
 * streaming reader: refusals at the first byte, text that arrives in
 * pieces, verdicts and error places as jansson gives them for the whole
 * text, and the pooled strings of what it reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "model/snapshot.h"

static const char *const expected_names[] = {
	"unknown", "running", "mutex", "condvar", "futex", "join", "read",
	"write", "poll", "epoll", "accept", "connect", "sleep", "wait",
	"signal", "other",
};

static void test_wait_kind_names(void **state)
{
	(void)state;
	assert_int_equal(sizeof(expected_names) / sizeof(expected_names[0]),
			 WAIT__COUNT);
	for (int k = 0; k < WAIT__COUNT; k++) {
		assert_string_equal(wait_kind_name((enum wait_kind)k),
				    expected_names[k]);
		assert_int_equal(wait_kind_from_name(expected_names[k]), k);
	}
	assert_int_equal(wait_kind_from_name("bogus"), WAIT_UNKNOWN);
	assert_int_equal(wait_kind_from_name("Mutex"), WAIT_UNKNOWN);
	assert_int_equal(wait_kind_from_name(""), WAIT_UNKNOWN);
	assert_int_equal(wait_kind_from_name(NULL), WAIT_UNKNOWN);
	assert_string_equal(wait_kind_name(WAIT__COUNT), "unknown");
	assert_string_equal(wait_kind_name((enum wait_kind)-1), "unknown");
}

static void test_wait_info_init(void **state)
{
	struct wait_info w;

	(void)state;
	memset(&w, 0x5a, sizeof(w));
	wait_info_init(&w);
	assert_int_equal(w.kind, WAIT_UNKNOWN);
	assert_int_equal(w.syscall, -1);
	assert_null(w.syscall_name);
	assert_int_equal(w.fd, -1);
	assert_null(w.object);
	assert_true(w.address == 0);
	assert_int_equal(w.owner, 0);
	assert_true(w.blocked_sec < 0);
}

static void test_add_grows_and_zeroes(void **state)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	(void)state;
	assert_non_null(snap);
	for (int i = 0; i < 1000; i++) {
		struct thread *t = snapshot_add_thread(snap);

		assert_non_null(t);
		assert_int_equal(snap->nthreads, (size_t)i + 1);
		assert_ptr_equal(t, &snap->threads[i]);
		assert_int_equal(t->tid, 0);
		assert_null(thread_name(t));
		assert_null(t->frames);
		assert_int_equal(t->nframes, 0);
		assert_int_equal(t->wait.fd, -1);
		assert_int_equal(t->wait.syscall, -1);
		assert_true(t->wait.blocked_sec < 0);
		t->tid = i + 1;
		thread_os(t)->name = strdup("w");
		assert_non_null(thread_name(t));
		for (int j = 0; j < i % 40; j++) {
			struct frame *f = thread_add_frame(t);

			assert_non_null(f);
			assert_true(f->pc == 0 && !f->module && !f->function &&
				    !f->file && f->line == 0 && !f->inlined);
			f->pc = (uint64_t)j;
			f->function = strdup("fn");
		}
		assert_int_equal(t->nframes, (size_t)(i % 40));
	}
	/* earlier entries survived every realloc */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(snap->threads[i].tid, i + 1);
		for (size_t j = 0; j < snap->threads[i].nframes; j++)
			assert_true(snap->threads[i].frames[j].pc == j);
	}
	snapshot_free(snap);
	snapshot_free(NULL);
}

/* ---- a snapshot with everything in it ------------------------------- */

static char *xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s)
		assert_non_null(d);
	return d;
}

static void add_frame(struct thread *t, uint64_t pc, const char *module,
		      const char *function, const char *file, int line,
		      uint64_t offset, bool inlined)
{
	struct frame *f = thread_add_frame(t);

	assert_non_null(f);
	f->pc = pc;
	f->module = xstrdup(module);
	f->function = xstrdup(function);
	f->file = xstrdup(file);
	f->line = line;
	f->offset = offset;
	f->inlined = inlined;
}

static struct snapshot *sample(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct thread *t;

	assert_non_null(snap);
	snap->version = SNAPSHOT_VERSION_FLAT;
	snap->pid = 123;
	snap->comm = xstrdup("waits \"x\"\\");
	snap->exe = NULL;
	snap->unwinder = xstrdup("libdw");
	snap->taken_at = 1700000000;
	snap->capture_ms = 3.2;
	snap->threads_stopped = 1;
	snap->partial = true;
	snap->note = xstrdup("thread 126 vanished");

	/* 1: a mutex waiter with everything known, inline frames */
	t = snapshot_add_thread(snap);
	assert_non_null(t);
	t->tid = 124;
	thread_os(t)->name = xstrdup("worker");
	t->state = 'S';
	thread_os(t)->utime = 17;
	thread_os(t)->stime = 4;
	thread_os(t)->start_time = 123456789012ULL;
	t->stopped = true;
	t->wait.kind = WAIT_MUTEX;
	t->wait.syscall = 202;
	t->wait.syscall_name = xstrdup("futex");
	t->wait.address = 0x7f0000001000ULL;
	t->wait.owner = 1234;
	t->wait.blocked_sec = 1.5;
	add_frame(t, 0xffffffffffffff00ULL,
		  "/usr/lib/x86_64-linux-gnu/libc.so.6",
		  "__futex_abstimed_wait_common", "./nptl/futex-internal.c",
		  57, 0x8abcd, false);
	add_frame(t, 0x55550000123fULL, "/tmp/waits.bin", "lock_inner",
		  "waits.c", 12, 0x123f, true);
	add_frame(t, 0x55550000123fULL, "/tmp/waits.bin", "worker",
		  "waits.c", 30, 0x123f, false);
	add_frame(t, 0x7f0000aaaaaaULL, NULL, NULL, NULL, 0, 0, false);

	/* 2: running, nothing known, no frames, odd bytes in the name */
	t = snapshot_add_thread(snap);
	assert_non_null(t);
	t->tid = 125;
	thread_os(t)->name = xstrdup("tab\there\n\x01");
	t->state = 'R';
	t->wait.kind = WAIT_RUNNING;

	/* 3: partial, read on a pipe, blocked 0s, unknown state */
	t = snapshot_add_thread(snap);
	assert_non_null(t);
	t->tid = 2147483647;
	thread_os(t)->name = NULL;
	t->state = '\0';
	t->partial = true;
	t->error = xstrdup("thread exited during capture");
	t->wait.kind = WAIT_READ;
	t->wait.syscall = 0;
	t->wait.syscall_name = NULL;
	t->wait.fd = 0;
	t->wait.object = xstrdup("pipe:[4242] \xc3\xa9t\xc3\xa9");
	t->wait.blocked_sec = 0;
	add_frame(t, 0, "", "", NULL, 0, 0, false);
	add_frame(t, 0x1000, "/lib/ld.so", "_start", "start.S", 120,
		  0xffffffffffffffffULL, true);
	return snap;
}

static void assert_str_same(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_same_snapshot(const struct snapshot *a,
				 const struct snapshot *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->pid, b->pid);
	assert_str_same(a->comm, b->comm);
	assert_str_same(a->exe, b->exe);
	assert_str_same(a->unwinder, b->unwinder);
	assert_true(a->taken_at == b->taken_at);
	assert_true(a->capture_ms == b->capture_ms);
	assert_int_equal(a->threads_stopped, b->threads_stopped);
	assert_int_equal(a->partial, b->partial);
	assert_str_same(a->note, b->note);
	assert_int_equal(a->nthreads, b->nthreads);
	for (size_t i = 0; i < a->nthreads; i++) {
		const struct thread *x = &a->threads[i], *y = &b->threads[i];

		assert_int_equal(x->tid, y->tid);
		assert_str_same(thread_name(x), thread_name(y));
		assert_int_equal(x->state, y->state);
		assert_true(thread_utime(x) == thread_utime(y));
		assert_true(thread_stime(x) == thread_stime(y));
		assert_true(thread_start_time(x) == thread_start_time(y));
		assert_int_equal(x->partial, y->partial);
		assert_str_same(x->error, y->error);
		assert_int_equal(x->stopped, y->stopped);
		assert_int_equal(x->wait.kind, y->wait.kind);
		assert_int_equal(x->wait.syscall, y->wait.syscall);
		assert_str_same(x->wait.syscall_name, y->wait.syscall_name);
		assert_int_equal(x->wait.fd, y->wait.fd);
		assert_str_same(x->wait.object, y->wait.object);
		assert_true(x->wait.address == y->wait.address);
		assert_int_equal(x->wait.owner, y->wait.owner);
		assert_true(x->wait.blocked_sec == y->wait.blocked_sec);
		assert_int_equal(x->nframes, y->nframes);
		for (size_t j = 0; j < x->nframes; j++) {
			const struct frame *f = &x->frames[j];
			const struct frame *g = &y->frames[j];

			assert_true(f->pc == g->pc);
			assert_str_same(f->module, g->module);
			assert_str_same(f->function, g->function);
			assert_str_same(f->file, g->file);
			assert_int_equal(f->line, g->line);
			assert_true(f->offset == g->offset);
			assert_int_equal(f->inlined, g->inlined);
		}
		assert_true(x->goid == y->goid);
		assert_str_same(x->go_wait, y->go_wait);
		assert_true(x->go_parent == y->go_parent);
		assert_int_equal(x->go_tid, y->go_tid);
		assert_true(x->go_minutes == y->go_minutes);
		assert_int_equal(x->go_system, y->go_system);
		assert_int_equal(x->ncreated, y->ncreated);
		for (size_t j = 0; j < x->ncreated; j++) {
			assert_true(x->created[j].pc == y->created[j].pc);
			assert_str_same(x->created[j].function, y->created[j].function);
			assert_int_equal(x->created[j].line, y->created[j].line);
		}
		assert_int_equal(x->labelled, y->labelled);
		assert_int_equal(x->nlabels, y->nlabels);
		for (size_t j = 0; j < x->nlabels; j++) {
			assert_str_same(x->labels[j].key, y->labels[j].key);
			assert_str_same(x->labels[j].value, y->labels[j].value);
		}
	}
}

static struct snapshot *reparse(const char *text)
{
	char err[256] = "untouched";
	struct snapshot *snap = snapshot_from_json(text, strlen(text), err,
						   sizeof(err));

	if (!snap)
		fail_msg("reparse failed: %s", err);
	return snap;
}

static void test_round_trip(void **state)
{
	struct snapshot *a = sample();

	(void)state;
	/* the empty strings of thread 3's first frame read back as "" */
	for (int pretty = 0; pretty <= 1; pretty++) {
		char *text = snapshot_to_json(a, pretty);
		struct snapshot *b;
		char *again;

		assert_non_null(text);
		assert_int_equal(text[strlen(text) - 1], '\n');
		b = reparse(text);
		assert_same_snapshot(a, b);
		/* and the text of the copy is the same text */
		again = snapshot_to_json(b, pretty);
		assert_non_null(again);
		assert_string_equal(text, again);
		free(again);
		free(text);
		snapshot_free(b);
	}
	snapshot_free(a);
}

static void test_reals_exact_and_short(void **state)
{
	static const double values[] = {
		0, 0.1 + 0.2, 1e-300, 123456.789, 4.9e-324, 1e300,
		1.7976931348623157e308, 2.0 / 3.0, 86400.5,
	};
	struct snapshot *a = sample(), *b;
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		a->capture_ms = values[i];
		a->threads[0].wait.blocked_sec = values[i];
		text = snapshot_to_json(a, i % 2);
		assert_non_null(text);
		b = reparse(text);
		assert_true(b->capture_ms == values[i]);
		assert_true(b->threads[0].wait.blocked_sec == values[i]);
		free(text);
		snapshot_free(b);
	}
	snapshot_free(a);
}

/* capture_ms as written for v, e.g. "3.2" (a static buffer). */
static const char *real_text(double v)
{
	static char out[64];
	struct snapshot *a = calloc(1, sizeof(*a));
	const char *p, *q;
	char *text;

	assert_non_null(a);
	a->pid = 1;
	a->capture_ms = v;
	text = snapshot_to_json(a, false);
	assert_non_null(text);
	p = strstr(text, "\"capture_ms\":");
	assert_non_null(p);
	p += strlen("\"capture_ms\":");
	q = strchr(p, ',');
	assert_non_null(q);
	assert_true((size_t)(q - p) < sizeof(out));
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	free(text);
	snapshot_free(a);
	return out;
}

static void test_real_spelling(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 3.2, "3.2" }, { 0.1, "0.1" }, { 0, "0.0" }, { 100, "100.0" },
		{ 1.5, "1.5" }, { 86400.5, "86400.5" }, { 1e300, "1e300" },
		{ 1e-300, "1e-300" }, { 1e20, "1e20" }, { 0.0001, "0.0001" },
		{ 0.00001, "1e-5" }, { 123456789012.25, "123456789012.25" },
		{ -1, "null" }, { 1.0 / 0.0, "null" },
		/* whole numbers (a goroutine's minutes), each side of 1e15 */
		{ 6, "6.0" }, { 999999999999999.0, "999999999999999.0" },
		{ 1e15, "1000000000000000.0" }, { 4294967296.0, "4294967296.0" },
	};
	static const double others[] = { 2.0 / 3.0, 0.1 + 0.2, 4.9e-324,
					 1.7976931348623157e308, 1e16, 12.0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(real_text(cases[i].v), cases[i].text);
	/* every spelling is one jansson itself prints for some precision */
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const char *mine = real_text(others[i]);
		json_t *r = json_real(others[i]);
		bool found = false;

		assert_non_null(r);
		for (int p = 1; p <= 17 && !found; p++) {
			char *d = json_dumps(r, JSON_ENCODE_ANY |
					     JSON_REAL_PRECISION(p));

			assert_non_null(d);
			found = strcmp(d, mine) == 0;
			free(d);
		}
		if (!found)
			fail_msg("%.17g spelt %s", others[i], mine);
		json_decref(r);
	}
}

/*
 * Random byte strings in every string field: the text is valid JSON that
 * jansson redumps identically, and valid UTF-8 reads back unchanged.
 */
static void test_strings_vs_jansson(void **state)
{
	unsigned int seed = 4242;
	char str[48];

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct snapshot *a = calloc(1, sizeof(*a)), *b;
		struct thread *t;
		struct frame *f;
		json_t *root, *check;
		char *text, *dump;
		size_t n;

		assert_non_null(a);
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % (sizeof(str) - 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			/* mostly ASCII and controls, some high bytes */
			str[i] = (char)((seed >> 16) % 4 ? 1 + (seed >> 20) % 127 :
					128 + (seed >> 20) % 128);
		}
		str[n] = '\0';
		a->pid = 1;
		a->comm = xstrdup(str);
		t = snapshot_add_thread(a);
		assert_non_null(t);
		t->tid = 2;
		t->state = (char)(0x21 + round % 94);
		thread_os(t)->name = xstrdup(str);
		t->error = xstrdup(str);
		t->wait.object = xstrdup(str);
		f = thread_add_frame(t);
		assert_non_null(f);
		f->function = xstrdup(str);

		text = snapshot_to_json(a, round % 2);
		assert_non_null(text);
		root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(root);
		dump = json_dumps(root, JSON_PRESERVE_ORDER |
				  (round % 2 ? JSON_INDENT(1) : JSON_COMPACT));
		assert_non_null(dump);
		assert_int_equal(strlen(text), strlen(dump) + 1);
		assert_memory_equal(text, dump, strlen(dump));
		b = reparse(text);
		assert_int_equal(b->threads[0].state, t->state);
		check = json_string(str);
		if (check) {
			/* jansson's validator agrees it is UTF-8 */
			assert_string_equal(b->comm, str);
			assert_string_equal(b->threads[0].frames[0].function,
					    str);
			json_decref(check);
		} else {
			assert_string_not_equal(b->comm, str);
			assert_non_null(strstr(b->comm, "\xef\xbf\xbd"));
		}
		free(dump);
		json_decref(root);
		free(text);
		snapshot_free(a);
		snapshot_free(b);
	}
}

static void test_round_trip_file(void **state)
{
	char path[] = "/tmp/test_snapshot.XXXXXX";
	struct snapshot *a = sample(), *b;
	char err[256];
	int fd = mkstemp(path);
	FILE *fp;

	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_int_equal(snapshot_write(a, fp, true), 0);
	assert_int_equal(fclose(fp), 0);
	b = snapshot_read(path, err, sizeof(err));
	if (!b)
		fail_msg("read failed: %s", err);
	assert_same_snapshot(a, b);
	snapshot_free(b);
	unlink(path);

	b = snapshot_read(path, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "No such file"));
	assert_null(strstr(err, path));
	snapshot_free(a);
}

static void test_write_error_is_reported(void **state)
{
	FILE *fp = fopen("/dev/full", "w");
	struct snapshot *a;

	(void)state;
	if (!fp)
		skip();
	a = sample();
	assert_int_equal(snapshot_write(a, fp, true), -ENOSPC);
	fclose(fp);
	assert_int_equal(snapshot_write(NULL, stdout, true), -EINVAL);
	snapshot_free(a);
}

/* Nulls, hex strings and key order as DESIGN.md and snapshot.h say. */
static void test_json_text(void **state)
{
	struct snapshot *a = sample();
	char *text = snapshot_to_json(a, false);
	const char *keys[] = {
		"\"format\":\"threadleak-snapshot\"", "\"version\":1",
		"\"pid\":123", "\"comm\":", "\"exe\":null",
		"\"unwinder\":\"libdw\"", "\"taken_at\":1700000000",
		"\"capture_ms\":3.2", "\"threads_stopped\":1",
		"\"partial\":true", "\"note\":", "\"threads\":[",
		"\"tid\":124", "\"name\":\"worker\"", "\"state\":\"S\"",
		"\"utime\":17", "\"stime\":4",
		"\"start_time\":123456789012", "\"partial\":false",
		"\"error\":null", "\"stopped\":true",
		"\"wait\":{\"kind\":\"mutex\"", "\"syscall\":\"futex\"",
		"\"syscall_nr\":202", "\"fd\":null", "\"object\":null",
		"\"address\":\"0x7f0000001000\"", "\"owner\":1234",
		"\"blocked_sec\":1.5}",
		"\"frames\":[{\"pc\":\"0xffffffffffffff00\"",
		"\"module\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\"",
		"\"function\":\"__futex_abstimed_wait_common\"",
		"\"file\":\"./nptl/futex-internal.c\"", "\"line\":57",
		"\"offset\":\"0x8abcd\"", "\"inlined\":false}",
	};
	const char *p;

	(void)state;
	assert_non_null(text);
	p = text;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *q = strstr(p, keys[i]);

		if (!q)
			fail_msg("%s missing or out of order", keys[i]);
		p = q + strlen(keys[i]);
	}
	/* thread 2: running, no syscall, no frames; thread 3: fd 0 */
	assert_non_null(strstr(text, "\"syscall\":null,\"syscall_nr\":null"));
	assert_non_null(strstr(text, "\"frames\":[]"));
	assert_non_null(strstr(text, "\"state\":null"));
	assert_non_null(strstr(text, "\"fd\":0,"));
	assert_non_null(strstr(text, "\"blocked_sec\":0.0}"));
	assert_non_null(strstr(text, "\"line\":null"));
	assert_non_null(strstr(text, "\"offset\":\"0xffffffffffffffff\""));
	assert_non_null(strstr(text, "\"name\":\"tab\\there\\n\\u0001\""));
	/* compact is one line plus the newline */
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
	free(text);
	snapshot_free(a);
}

/*
 * The streamed text must be what jansson prints for the whole tree: parse
 * it and dump it again with the same flags.
 */
static void test_layout_is_janssons(void **state)
{
	struct snapshot *a = sample(), *empty = calloc(1, sizeof(*empty));
	struct snapshot *snaps[2] = { a, empty };

	(void)state;
	assert_non_null(empty);
	empty->pid = 1;
	/* jansson's default "%.17g" prints 3.2 as 3.2000000000000002 */
	a->capture_ms = 3.25;
	for (int s = 0; s < 2; s++) {
		for (int pretty = 0; pretty <= 1; pretty++) {
			size_t flags = JSON_PRESERVE_ORDER |
				       (pretty ? JSON_INDENT(1) : JSON_COMPACT);
			char *text = snapshot_to_json(snaps[s], pretty);
			json_error_t jerr;
			json_t *root;
			char *dump;

			assert_non_null(text);
			root = json_loads(text, 0, &jerr);
			if (!root)
				fail_msg("invalid JSON: %s", jerr.text);
			dump = json_dumps(root, flags);
			assert_non_null(dump);
			assert_int_equal(strlen(text), strlen(dump) + 1);
			assert_memory_equal(text, dump, strlen(dump));
			free(dump);
			json_decref(root);
			free(text);
		}
	}
	snapshot_free(a);
	snapshot_free(empty);
}

static void test_invalid_utf8_is_replaced(void **state)
{
	struct snapshot *a = calloc(1, sizeof(*a)), *b;
	struct thread *t;
	char *text;

	(void)state;
	assert_non_null(a);
	a->pid = 9;
	a->comm = xstrdup("bad\xff\xc0\x80\xed\xa0\x80ok\xe2\x82");
	t = snapshot_add_thread(a);
	assert_non_null(t);
	t->tid = 9;
	text = snapshot_to_json(a, false);
	assert_non_null(text);
	b = reparse(text);
	assert_string_equal(b->comm, "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdok"
			    "\xef\xbf\xbd\xef\xbf\xbd");
	free(text);
	snapshot_free(a);
	snapshot_free(b);
}

static void test_u64_overflow_is_refused(void **state)
{
	struct snapshot *a = calloc(1, sizeof(*a));
	struct thread *t;

	(void)state;
	assert_non_null(a);
	a->pid = 9;
	t = snapshot_add_thread(a);
	assert_non_null(t);
	t->tid = 9;
	thread_os(t)->utime = UINT64_MAX;
	errno = 0;
	assert_null(snapshot_to_json(a, true));
	assert_int_equal(errno, EOVERFLOW);
	snapshot_free(a);
}

/* ---- strict reading ------------------------------------------------- */

#define HEAD "{\"format\":\"threadleak-snapshot\",\"version\":1,\"pid\":5,"
#define T0 "{\"tid\":6,\"state\":\"S\",\"frames\":[{\"pc\":\"0x10\"}]}"

static const struct {
	const char *text;
	const char *fragment;
} bad_inputs[] = {
	{ "", "not a threadleak snapshot" },
	{ "  \n", "not a threadleak snapshot" },
	{ HEAD "\"threads\":[" T0, "not a threadleak snapshot: invalid JSON" },
	{ "{\"format\":\"threadleak-snap", "not a threadleak snapshot" },
	{ "hello", "not a threadleak snapshot" },
	{ "[]", "not a threadleak snapshot" },
	{ "42", "not a threadleak snapshot" },
	{ "{}", "not a threadleak snapshot" },
	{ "{\"format\":\"other\"}", "not a threadleak snapshot" },
	{ "{\"format\":7}", "not a threadleak snapshot" },
	{ HEAD "\"threads\":[]} trailing", "invalid JSON" },
	{ "{\"format\":\"threadleak-snapshot\",\"version\":99,\"pid\":5}",
	  "snapshot version 99 is newer than this threadleak understands (2)"
	  "; upgrade threadleak" },
	{ "{\"format\":\"threadleak-snapshot\",\"pid\":5,\"threads\":[]}",
	  "version: missing" },
	{ "{\"format\":\"threadleak-snapshot\",\"version\":0,\"pid\":5,"
	  "\"threads\":[]}", "version: expected a positive integer" },
	{ "{\"format\":\"threadleak-snapshot\",\"version\":1,\"threads\":[]}",
	  "pid: missing" },
	{ "{\"format\":\"threadleak-snapshot\",\"version\":1,\"pid\":\"5\","
	  "\"threads\":[]}", "pid: expected a positive integer" },
	{ "{\"format\":\"threadleak-snapshot\",\"version\":1,\"pid\":5.0,"
	  "\"threads\":[]}", "pid: expected a positive integer" },
	{ "{\"format\":\"threadleak-snapshot\",\"version\":1,"
	  "\"pid\":2147483648,\"threads\":[]}",
	  "pid: expected a positive integer" },
	{ HEAD "\"threads\":{}}", "threads: expected an array" },
	{ HEAD "\"threads\":null}", "threads: expected an array" },
	{ HEAD "\"comm\":5,\"threads\":[]}", "comm: expected a string or null" },
	{ HEAD "\"partial\":\"yes\",\"threads\":[]}",
	  "partial: expected true or false" },
	{ HEAD "\"capture_ms\":-1,\"threads\":[]}",
	  "capture_ms: expected a non-negative number or null" },
	{ HEAD "\"threads\":[" T0 ",5]}", "threads[1]: expected an object" },
	{ HEAD "\"threads\":[" T0 ",{\"tid\":-3}]}",
	  "threads[1].tid: expected a positive integer" },
	{ HEAD "\"threads\":[" T0 ",{\"tid\":0}]}",
	  "threads[1].tid: expected a positive integer" },
	{ HEAD "\"threads\":[{\"name\":\"x\"}]}", "threads[0].tid: missing" },
	{ HEAD "\"threads\":[{\"tid\":6,\"state\":\"SS\"}]}",
	  "threads[0].state: expected a one-character string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"state\":\"\"}]}",
	  "threads[0].state: expected a one-character string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"state\":83}]}",
	  "threads[0].state: expected a one-character string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"state\":\"\xc3\xa9\"}]}",
	  "threads[0].state: expected a one-character string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"utime\":-1}]}",
	  "threads[0].utime: expected a non-negative integer" },
	{ HEAD "\"threads\":[{\"tid\":6,\"wait\":[]}]}",
	  "threads[0].wait: expected an object or null" },
	{ HEAD "\"threads\":[{\"tid\":6,\"wait\":{\"kind\":3}}]}",
	  "threads[0].wait.kind: expected a string or null" },
	{ HEAD "\"threads\":[{\"tid\":6,\"wait\":{\"fd\":-1}}]}",
	  "threads[0].wait.fd: expected a non-negative integer or null" },
	{ HEAD "\"threads\":[{\"tid\":6,\"wait\":{\"address\":4096}}]}",
	  "threads[0].wait.address: expected a hex string or null" },
	{ HEAD "\"threads\":[{\"tid\":6,\"wait\":{\"owner\":0}}]}",
	  "threads[0].wait.owner: expected a positive integer or null" },
	{ HEAD "\"threads\":[{\"tid\":6,\"wait\":{\"blocked_sec\":\"1\"}}]}",
	  "threads[0].wait.blocked_sec: expected a non-negative number" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":{}}]}",
	  "threads[0].frames: expected an array" },
	{ HEAD "\"threads\":[" T0 "," T0 "," T0 ",{\"tid\":7,\"frames\":"
	  "[{\"pc\":4096}]}]}",
	  "threads[3].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":null}]}]}",
	  "threads[0].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"module\":\"m\"}]}]}",
	  "threads[0].frames[0].pc: missing" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x10\"},"
	  "{\"pc\":\"10\"}]}]}", "threads[0].frames[1].pc: expected a hex" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x\"}]}]}",
	  "threads[0].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x 10\"}]}]}",
	  "threads[0].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x-10\"}]}]}",
	  "threads[0].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x10g\"}]}]}",
	  "threads[0].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":"
	  "\"0x10000000000000000\"}]}]}",
	  "threads[0].frames[0].pc: expected a hex string" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x1\","
	  "\"line\":-2}]}]}",
	  "threads[0].frames[0].line: expected a non-negative integer" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[{\"pc\":\"0x1\","
	  "\"inlined\":1}]}]}",
	  "threads[0].frames[0].inlined: expected true or false" },
	{ HEAD "\"threads\":[{\"tid\":6,\"frames\":[7]}]}",
	  "threads[0].frames[0]: expected an object" },
	{ HEAD "\"pid\":6,\"threads\":[]}", "duplicate object key" },
	/* where it runs: what /proc/PID/cgroup can say, nothing else */
	{ HEAD "\"nspid\":0,\"threads\":[]}", "nspid: expected a positive integer" },
	{ HEAD "\"cgroup\":\"/a\\u001b[2J\",\"threads\":[]}",
	  "cgroup: not what /proc/PID/cgroup can say" },
	{ HEAD "\"unit\":\"a b.service\",\"threads\":[]}",
	  "unit: not what /proc/PID/cgroup can say" },
	{ HEAD "\"pod_uid\":\"x\",\"threads\":[]}", "pod_uid: not what /proc/PID/cgroup can say" },
	{ HEAD "\"container\":\"docker\",\"threads\":[]}",
	  "container: expected an object or null" },
	{ HEAD "\"container\":{\"runtime\":\"docker\",\"id\":\"3f2a9c1b7e6d\"},\"threads\":[]}",
	  "container.id: not what /proc/PID/cgroup can say" },
	{ HEAD "\"container\":{\"runtime\":\"lxc\"},\"threads\":[]}",
	  "container.runtime: not what /proc/PID/cgroup can say" },
	{ HEAD "\"container\":{\"runtime\":\"docker\"},\"threads\":[]}", "container.id: missing" },
};

/* Where it runs is written, read back, and absent from older files. */
static void test_where_round_trip(void **state)
{
	struct snapshot *a = sample(), *b;
	char *text, err[256];
	(void)state;

	a->nspid = 1;
	assert_int_equal(cgroup_parse_path("/kubepods/besteffort/pod8a6c1d2e-3f40-4b5c-9d6e-"
					   "7f8091a2b3c4/crio-3f2a9c1b7e6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f"
					   "1e0d9c8b7a6f5e4d3c2b1a09", &a->where), 0);
	for (int v2 = 0; v2 <= 1; v2++) {
		if (v2) {
			size_t len;
			FILE *fp = open_memstream(&text, &len);
			assert_int_equal(snapshot_write_file(a, fp), 0);
			fclose(fp);
		} else {
			text = snapshot_to_json(a, true);
		}
		assert_non_null(strstr(text, "\"cri-o\""));
		b = reparse(text);
		assert_int_equal(b->nspid, 1);
		assert_memory_equal(&a->where, &b->where, sizeof(a->where));
		free(text);
		snapshot_free(b);
	}
	snapshot_free(a);
	/* an older file: none of it */
	b = snapshot_from_json(HEAD "\"threads\":[]}", strlen(HEAD "\"threads\":[]}"), err,
			       sizeof(err));
	assert_non_null(b);
	assert_int_equal(b->nspid, 0);
	assert_string_equal(b->where.path, "");
	assert_string_equal(b->where.runtime, "");
	snapshot_free(b);
}

static void assert_one_line_message(const char *err)
{
	size_t len = strlen(err);

	assert_true(len > 0);
	assert_null(strchr(err, '\n'));
	assert_true(err[len - 1] != '.');
	assert_true(err[0] < 'A' || err[0] > 'Z');
}

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]);
	     i++) {
		const char *text = bad_inputs[i].text;
		char err[512] = "";
		struct snapshot *snap;

		snap = snapshot_from_json(text, strlen(text), err, sizeof(err));
		if (snap)
			fail_msg("accepted bad input %zu: %s", i, text);
		if (!strstr(err, bad_inputs[i].fragment))
			fail_msg("input %zu: got \"%s\", want \"%s\"", i, err,
				 bad_inputs[i].fragment);
		assert_one_line_message(err);
	}
}

static void test_bad_files(void **state)
{
	char path[] = "/tmp/test_snapshot.XXXXXX";
	char err[256];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_null(snapshot_read(path, err, sizeof(err)));
	assert_string_equal(err, "not a threadleak snapshot: the file is empty");
	assert_int_equal(write(fd, "{\"format\":", 10), 10);
	assert_null(snapshot_read(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a threadleak snapshot: invalid JSON"));
	assert_null(strstr(err, path));
	close(fd);
	unlink(path);

	assert_null(snapshot_read("/", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read"));

	/* refused before reading a byte */
	assert_null(snapshot_from_json("{}", ((size_t)1 << 30) + 1, err,
				       sizeof(err)));
	assert_non_null(strstr(err, "over 1 GiB"));
}

static void test_lenient_where_allowed(void **state)
{
	const char *text =
		"{\"format\":\"threadleak-snapshot\",\"version\":1,\"pid\":5,"
		"\"future\":{\"x\":[1,2]},\"threads\":[{\"tid\":6,"
		"\"new\":true,\"wait\":{\"kind\":\"teleport\",\"fd\":null},"
		"\"frames\":[{\"pc\":\"0XABCdef\",\"extra\":null}]}]}";
	char err[256];
	struct snapshot *snap = snapshot_from_json(text, strlen(text), err,
						   sizeof(err));

	(void)state;
	if (!snap)
		fail_msg("%s", err);
	assert_int_equal(snap->pid, 5);
	assert_null(snap->comm);
	assert_int_equal(snap->nthreads, 1);
	assert_int_equal(snap->threads[0].tid, 6);
	assert_int_equal(snap->threads[0].state, '\0');
	assert_int_equal(snap->threads[0].wait.kind, WAIT_UNKNOWN);
	assert_int_equal(snap->threads[0].wait.fd, -1);
	assert_int_equal(snap->threads[0].wait.syscall, -1);
	assert_true(snap->threads[0].wait.blocked_sec < 0);
	assert_int_equal(snap->threads[0].nframes, 1);
	assert_true(snap->threads[0].frames[0].pc == 0xabcdefULL);
	snapshot_free(snap);
}

/* Every truncation and byte flip of a valid document: no crash, no leak. */
static void test_mangled_never_crash(void **state)
{
	struct snapshot *a = sample();
	char *text = snapshot_to_json(a, false);
	size_t len;
	char err[64];

	(void)state;
	assert_non_null(text);
	len = strlen(text);
	for (size_t cut = 0; cut < len - 1; cut++) {
		struct snapshot *s = snapshot_from_json(text, cut, err,
							sizeof(err));

		/* only whole-document cuts (just the newline) can parse */
		assert_null(s);
		assert_true(strlen(err) > 0 && strlen(err) < sizeof(err));
	}
	for (size_t i = 0; i < len; i++) {
		static const char subst[] = "\"9";

		for (const char *c = subst; *c; c++) {
			char saved = text[i];

			text[i] = *c;
			snapshot_free(snapshot_from_json(text, len, err,
							 sizeof(err)));
			text[i] = saved;
		}
	}
	/* tiny and absent error buffers are fine */
	assert_null(snapshot_from_json("[]", 2, err, 1));
	assert_int_equal(err[0], '\0');
	assert_null(snapshot_from_json("[]", 2, NULL, 0));
	free(text);
	snapshot_free(a);
}


/* ---- the streaming reader ------------------------------------------- */

static void test_refused_at_first_byte(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		const char *want;
	} cases[] = {
		{ "\0\0\0\0", 4, "not a threadleak snapshot: invalid JSON at "
		  "line 1 column 1: '{' expected near byte 0x00" },
		{ "\xef\xbb\xbf{}", 5, "not a threadleak snapshot: invalid JSON "
		  "at line 1 column 1: '{' expected near a UTF-8 byte order "
		  "mark" },
		{ "  [1, 2]", 8, "not a threadleak snapshot: a JSON array, not "
		  "an object" },
		{ "\n\n  hello {", 11, "not a threadleak snapshot: invalid JSON "
		  "at line 3 column 7: '{' expected near 'hello'" },
		{ "\xb9\x20\xc6-", 4, "not a threadleak snapshot: invalid JSON "
		  "at line 1 column 0: unable to decode byte 0xb9" },
		{ "\xc3\xa9t\xc3\xa9", 6, "not a threadleak snapshot: invalid "
		  "JSON at line 1 column 1: '{' expected near '\xc3\xa9'" },
		{ "\"{}\"", 4, "not a threadleak snapshot: invalid JSON at "
		  "line 1 column 4: '{' expected near '\"{}\"'" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(snapshot_from_json(cases[i].text, cases[i].len,
					       err, sizeof(err)));
		assert_string_equal(err, cases[i].want);
	}
}

/*
 * A pipe whose first byte is a NUL, its writer still open and silent: the
 * reader must judge from that byte and not wait for more (the alarm kills
 * the test if it does).
 */
static void test_first_byte_needs_no_more(void **state)
{
	char path[64], err[256];
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "\0", 1), 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	alarm(20);
	assert_null(snapshot_read(path, err, sizeof(err)));
	alarm(0);
	assert_non_null(strstr(err, "'{' expected near byte 0x00"));
	close(fds[0]);
	close(fds[1]);
}

/* The writer of read_in_pieces(): one piece at a time, each once the
 * reader has taken the one before, so that every read returns exactly
 * one piece. */
struct pieces {
	const char *text;
	size_t len;
	size_t step;		/* piece sizes 1, 2, ..., step, 1, ... */
	int rfd, wfd;
	atomic_bool done;	/* the reader has returned */
};

static void *write_pieces(void *arg)
{
	struct pieces *pc = arg;
	size_t off = 0, n = 1;

	while (off < pc->len && !atomic_load(&pc->done)) {
		size_t len = pc->len - off < n ? pc->len - off : n;
		int queued = 1;

		if (write(pc->wfd, pc->text + off, len) != (ssize_t)len)
			break;
		off += len;
		n = n % pc->step + 1;
		while (queued > 0 && !atomic_load(&pc->done)) {
			if (ioctl(pc->rfd, FIONREAD, &queued))
				break;
			if (queued > 0)
				usleep(20);
		}
	}
	close(pc->wfd);
	return NULL;
}

/* snapshot_read() of text that arrives through a pipe in pieces. */
static struct snapshot *read_in_pieces(const char *text, size_t len,
				       size_t step, char *err, size_t errlen)
{
	struct pieces pc = { .text = text, .len = len, .step = step };
	struct snapshot *snap;
	char path[64];
	pthread_t writer;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	pc.rfd = fds[0];
	pc.wfd = fds[1];
	assert_int_equal(pthread_create(&writer, NULL, write_pieces, &pc), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	snap = snapshot_read(path, err, errlen);
	atomic_store(&pc.done, true);
	/* a reader that stopped early leaves the writer nobody to read */
	{
		char sink[4096];

		while (read(fds[0], sink, sizeof(sink)) > 0)
			;
	}
	pthread_join(writer, NULL);
	close(fds[0]);
	return snap;
}

/* The sample as jq -S would write it: keys sorted, "threads" before
 * "version" and "threads_stopped". */
static char *sorted_text(const struct snapshot *a)
{
	char *text = snapshot_to_json(a, false), *sorted;
	json_t *root;

	assert_non_null(text);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	sorted = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(3));
	assert_non_null(sorted);
	json_decref(root);
	free(text);
	return sorted;
}

static void test_text_in_pieces(void **state)
{
	struct snapshot *a = sample(), *b;
	char *texts[3], err[256];

	(void)state;
	texts[0] = snapshot_to_json(a, false);
	texts[1] = snapshot_to_json(a, true);
	texts[2] = sorted_text(a);
	for (int i = 0; i < 3; i++) {
		assert_non_null(texts[i]);
		for (size_t step = 1; step <= 13; step += 6) {
			b = read_in_pieces(texts[i], strlen(texts[i]), step,
					   err, sizeof(err));
			if (!b)
				fail_msg("text %d in pieces of 1..%zu: %s", i,
					 step, err);
			assert_same_snapshot(a, b);
			snapshot_free(b);
		}
	}
	for (int i = 0; i < 3; i++)
		free(texts[i]);
	snapshot_free(a);
}

/* A broken text gives the same message, in pieces or in memory. */
static void test_errors_in_pieces(void **state)
{
	struct snapshot *a = sample();
	char *text = snapshot_to_json(a, true);
	size_t len;

	(void)state;
	assert_non_null(text);
	len = strlen(text);
	for (size_t i = 0; i < len; i += 37) {
		static const char subst[] = "\"}9";

		for (const char *c = subst; *c; c++) {
			char saved = text[i], e1[256], e2[256];
			struct snapshot *s1, *s2;

			text[i] = *c;
			s1 = snapshot_from_json(text, len, e1, sizeof(e1));
			s2 = read_in_pieces(text, len, 5, e2, sizeof(e2));
			assert_true(!s1 == !s2);
			if (!s1)
				assert_string_equal(e1, e2);
			snapshot_free(s1);
			snapshot_free(s2);
			text[i] = saved;
		}
	}
	free(text);
	snapshot_free(a);
}

/*
 * Every byte of the text replaced by each of a few: the reader refuses
 * exactly what jansson refuses reading the whole text, at the same line
 * and column, and reads the rest.
 */
static void test_errors_as_jansson_says(void **state)
{
	struct snapshot *a = sample();
	static const char subst[] = "\"9}],: [{a\\x\n";
	char *texts[2];

	(void)state;
	texts[0] = snapshot_to_json(a, false);
	texts[1] = snapshot_to_json(a, true);
	for (int t = 0; t < 2; t++) {
		char *text = texts[t];
		size_t len = strlen(text);

		assert_non_null(text);
		for (size_t i = 1; i < len; i++) {
			for (const char *c = subst; *c; c++) {
				char saved = text[i], err[512], where[64];
				struct snapshot *s;
				json_error_t jerr;
				json_t *root;

				text[i] = *c;
				root = json_loadb(text, len,
						  JSON_REJECT_DUPLICATES, &jerr);
				s = snapshot_from_json(text, len, err,
						       sizeof(err));
				if (root) {
					if (!s && strstr(err, "invalid JSON"))
						fail_msg("byte %zu '%c': jansson "
							 "reads it, not the "
							 "reader: %s", i, *c,
							 err);
				} else {
					snprintf(where, sizeof(where), "invalid "
						 "JSON at line %d column %d: ",
						 jerr.line, jerr.column);
					if (s || !strstr(err, where))
						fail_msg("byte %zu '%c': jansson "
							 "says %s%s, the reader "
							 "%s", i, *c, where,
							 jerr.text,
							 s ? "accepts" : err);
				}
				json_decref(root);
				snapshot_free(s);
				text[i] = saved;
			}
		}
		free(text);
	}
	snapshot_free(a);
}

/* head, then depth '[', inner, depth ']', then tail. */
static char *nested(const char *head, int depth, const char *inner,
		    const char *tail)
{
	size_t hl = strlen(head), il = strlen(inner), tl = strlen(tail);
	char *s = malloc(hl + 2 * (size_t)depth + il + tl + 1), *p = s;

	assert_non_null(s);
	memcpy(p, head, hl);
	p += hl;
	memset(p, '[', (size_t)depth);
	p += depth;
	memcpy(p, inner, il);
	p += il;
	memset(p, ']', (size_t)depth);
	p += depth;
	memcpy(p, tail, tl + 1);
	return s;
}

/* Nesting is bounded where jansson bounds it for the whole text, in a
 * member the reader skips, in one it keeps and inside a thread. */
static void test_nesting_as_jansson(void **state)
{
	static const char *const heads[][2] = {
		{ HEAD "\"x\":", ",\"threads\":[]}" },
		{ HEAD "\"note\":", ",\"threads\":[]}" },
		{ HEAD "\"threads\":[{\"tid\":6,\"x\":", "}]}" },
	};
	static const char *const inners[] = { "", "1", "{}", "\"s\"",
					      "{\"k\":[]}" };

	(void)state;
	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		for (int depth = 2043; depth <= 2049; depth++) {
			for (size_t i = 0; i < sizeof(inners) /
			     sizeof(inners[0]); i++) {
				char *text = nested(heads[h][0], depth,
						    inners[i], heads[h][1]);
				char err[512], where[64];
				struct snapshot *s;
				json_error_t jerr;
				json_t *root;

				root = json_loads(text, JSON_REJECT_DUPLICATES,
						  &jerr);
				s = snapshot_from_json(text, strlen(text), err,
						       sizeof(err));
				if (root) {
					assert_true(s || !strstr(err, "depth"));
				} else {
					snprintf(where, sizeof(where), "line %d "
						 "column %d: maximum parsing "
						 "depth", jerr.line,
						 jerr.column);
					assert_non_null(strstr(jerr.text,
							       "depth"));
					assert_null(s);
					if (!strstr(err, where))
						fail_msg("head %zu depth %d inner "
							 "%s: jansson %s, the "
							 "reader %s", h, depth,
							 inners[i], where, err);
				}
				json_decref(root);
				snapshot_free(s);
				free(text);
			}
		}
	}
}

/* The top level refuses a second key as jansson does, whatever its
 * spelling; and the verdict on a thread waits for the whole text. */
static void test_order_of_verdicts(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ HEAD "\"threads\":[],\"threads\":[]}",
		  "duplicate object key near '\"threads\"'" },
		{ HEAD "\"thr\\u0065ads\":[],\"threads\":[]}",
		  "duplicate object key near '\"threads\"'" },
		{ HEAD "\"x\":1,\"threads\":[],\"x\":{}}",
		  "duplicate object key near '\"x\"'" },
		{ HEAD "\"x\":{\"a\":1,\"a\":2},\"threads\":[]}",
		  "duplicate object key near '\"a\"'" },
		/* format after a bad thread: not a snapshot, first */
		{ "{\"threads\":[{\"tid\":0}],\"format\":\"other\"}",
		  "not a threadleak snapshot" },
		{ "{\"threads\":[{\"tid\":0}],\"format\":\"threadleak-snapshot\","
		  "\"version\":99,\"pid\":5}",
		  "snapshot version 99 is newer than this threadleak "
		  "understands (2); upgrade threadleak" },
		{ "{\"threads\":[{\"tid\":0}],\"format\":\"threadleak-snapshot\","
		  "\"version\":1}", "pid: missing" },
		{ "{\"threads\":[{\"tid\":0}],\"format\":\"threadleak-snapshot\","
		  "\"version\":1,\"pid\":5}",
		  "threads[0].tid: expected a positive integer" },
		/* a syntax error after a bad thread comes first */
		{ HEAD "\"threads\":[{\"tid\":0},{\"tid\":6}],\"x\":tru}",
		  "not a threadleak snapshot: invalid JSON at line 1 column "
		  "91: invalid token near 'tru'" },
		{ HEAD "\"threads\":[5,{\"tid\":6}" "\n ,\n@]}",
		  "not a threadleak snapshot: invalid JSON at line 3 column 1: "
		  "invalid token near '@'" },
		{ HEAD "\"threads\":[{\"tid\":6},", "']' expected near end of "
		  "file" },
		{ HEAD "\"threads\":[", "']' expected near end of file" },
		{ HEAD "\"threads\":7}", "threads: expected an array" },
		{ HEAD "\"threads\":{\"a\":[1,2,{}]}}",
		  "threads: expected an array" },
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot *s = snapshot_from_json(cases[i].text,
							strlen(cases[i].text),
							err, sizeof(err));

		if (s)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
				 cases[i].want);
		assert_one_line_message(err);
	}
}

/* Keys in any order, as jq -S writes them. */
static void test_sorted_keys(void **state)
{
	struct snapshot *a = sample();
	char *text = sorted_text(a);

	(void)state;
	assert_true(strstr(text, "\"threads\"") < strstr(text, "\"version\""));
	snapshot_free(reparse(text));
	free(text);
	snapshot_free(a);
}

/*
 * What the reader returns keeps each distinct string once, in the
 * snapshot's pool; dropping threads (snapshot_filter) and freeing the
 * snapshot free it exactly once (AddressSanitizer and LeakSanitizer
 * watch).
 */
static bool keep_odd(struct thread *t, void *arg)
{
	(void)arg;
	return t->tid % 2;
}

static void test_pooled_strings(void **state)
{
	struct snapshot *a = sample(), *b;
	char *text;

	(void)state;
	/* thread 1 again, as threads 4 and 5 */
	for (int n = 0; n < 2; n++) {
		struct thread *t = snapshot_add_thread(a), *t0 = &a->threads[0];

		assert_non_null(t);
		t->tid = 400 + n + 1;
		thread_os(t)->name = xstrdup(thread_name(t0));
		for (size_t i = 0; i < t0->nframes; i++) {
			struct frame *f = &t0->frames[i];

			add_frame(&a->threads[a->nthreads - 1], f->pc, f->module,
				  f->function, f->file, f->line, f->offset,
				  f->inlined);
		}
	}
	assert_null(a->pool);
	assert_false(a->threads[0].pooled);
	text = snapshot_to_json(a, false);
	assert_non_null(text);
	b = reparse(text);
	assert_same_snapshot(a, b);
	assert_non_null(b->pool);
	for (size_t i = 0; i < b->nthreads; i++)
		assert_true(b->threads[i].pooled);
	/* the same text, the same pointer */
	assert_ptr_equal(thread_name(&b->threads[3]), thread_name(&b->threads[0]));
	assert_ptr_equal(b->threads[4].frames[2].function,
			 b->threads[0].frames[2].function);
	assert_ptr_equal(b->threads[0].frames[1].module,
			 b->threads[0].frames[2].module);
	assert_ptr_equal(b->threads[0].frames[1].file,
			 b->threads[0].frames[2].file);
	/* the top level is not pooled */
	assert_ptr_not_equal(b->comm, a->comm);
	/* 124 and 2147483647 and 401 stay */
	assert_int_equal(snapshot_filter(b, keep_odd, NULL), 3);
	assert_int_equal(b->threads[2].tid, 401);
	assert_string_equal(b->threads[2].frames[0].function,
			    "__futex_abstimed_wait_common");
	thread_release(&b->threads[1]);
	assert_false(b->threads[1].pooled);
	snapshot_free(b);
	free(text);
	snapshot_free(a);
}

/* Many threads, more text than one read of the file: pretty and
 * compact, each thread read back. */
static void test_large_file(void **state)
{
	char path[] = "/tmp/test_snapshot.XXXXXX";
	struct snapshot *a = sample(), *b;
	char err[256];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (int n = 0; n < 3000; n++) {
		struct thread *t = snapshot_add_thread(a);
		char name[32];

		assert_non_null(t);
		t->tid = 1000 + n;
		snprintf(name, sizeof(name), "worker-%d", n % 7);
		thread_os(t)->name = xstrdup(name);
		t->wait.kind = (enum wait_kind)(n % WAIT__COUNT);
		for (int i = 0; i < n % 20; i++)
			add_frame(t, 0x1000 + (uint64_t)i, "/lib/libx.so",
				  i % 2 ? "f\xc3\xa9" : "g\\\"", "x.c", i, i,
				  i % 3 == 0);
	}
	for (int pretty = 0; pretty <= 1; pretty++) {
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		assert_int_equal(snapshot_write(a, fp, pretty), 0);
		assert_int_equal(fclose(fp), 0);
		b = snapshot_read(path, err, sizeof(err));
		if (!b)
			fail_msg("%s", err);
		assert_same_snapshot(a, b);
		snapshot_free(b);
	}
	unlink(path);
	snapshot_free(a);
}

/* sample()'s threads, then goroutines of every kind a version 2 row
 * or template holds: many alike, one whose blocked_sec is not its
 * go_minutes', one on an fd, one on a mutex, labelled, partial. */
static struct snapshot *sample_go(void)
{
	struct snapshot *snap = sample();
	struct thread *t;

	snap->version = SNAPSHOT_VERSION;
	for (int i = 0; i < 300; i++) {
		t = snapshot_add_thread(snap);
		assert_non_null(t);
		t->goid = 1000 + i;
		t->state = 'S';
		t->go_wait = xstrdup(i % 3 ? "chan receive" : "select");
		t->go_parent = 1;
		t->wait.kind = WAIT_OTHER;
		t->go_minutes = i % 2 ? -1 : i * 0.1 / 7;
		t->wait.blocked_sec = t->go_minutes >= 0 ? t->go_minutes * 60 : -1;
		add_frame(t, 0x401000, "/tmp/g", "runtime.gopark", "proc.go", 462, 0x1000, false);
		add_frame(t, 0x402000 + (i % 3) * 16, "/tmp/g", "main.wait", "main.go", 10 + i % 3, 0x2000, false);
		t->created = calloc(1, sizeof(*t->created));
		assert_non_null(t->created);
		t->ncreated = 1;
		t->created[0] = (struct frame){ 0x403000, xstrdup("/tmp/g"), xstrdup("main.main"),
						xstrdup("main.go"), 40, 0x3000, false };
	}
	t = &snap->threads[snap->nthreads - 1];
	t->wait.blocked_sec = 7.25;		/* not go_minutes * 60 */
	t->go_minutes = 0.5;
	t = &snap->threads[snap->nthreads - 2];
	t->wait.blocked_sec = -1;		/* not known, go_minutes known */
	t->go_minutes = 2;
	t = &snap->threads[snap->nthreads - 3];
	t->wait.kind = WAIT_READ;
	t->wait.fd = 7;
	t->wait.object = xstrdup("tcp 127.0.0.1:1 -> 127.0.0.1:2 \xc3\xa9");
	t = &snap->threads[snap->nthreads - 4];
	t->wait.kind = WAIT_MUTEX;
	t->wait.address = 0xc000123456ULL;
	t->wait.owner = 77;
	t->go_tid = 125;
	t->go_system = true;
	t = &snap->threads[snap->nthreads - 5];
	t->labelled = true;
	t->nlabels = 2;
	t->labels = calloc(2, sizeof(*t->labels));
	assert_non_null(t->labels);
	t->labels[0] = (struct label){ xstrdup("handler"), xstrdup("leak") };
	t->labels[1] = (struct label){ xstrdup("route"), xstrdup("/x \"y\"") };
	t = &snap->threads[snap->nthreads - 6];
	t->labelled = true;			/* an empty set */
	t = &snap->threads[snap->nthreads - 7];
	t->partial = true;
	t->error = xstrdup("stack moved while read");
	for (size_t i = 0; i < t->nframes; i++)
		frame_release(&t->frames[i]);
	t->nframes = 0;
	for (size_t i = 0; i < snap->nthreads; i++)
		snap->ngoroutines += snap->threads[i].goid != 0;
	return snap;
}

static char *file_text(FILE *fp)
{
	long n;
	char *text;

	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	return text;
}

/* The version 2 file of snap, as text. */
static char *v2_text(const struct snapshot *snap)
{
	FILE *fp = tmpfile();
	char *text;

	assert_non_null(fp);
	assert_int_equal(snapshot_write_file(snap, fp), 0);
	text = file_text(fp);
	fclose(fp);
	return text;
}

/* Version 2: what is written reads back the same, each stack once, and
 * the text of the copy is the same text. */
static void test_v2_round_trip(void **state)
{
	struct snapshot *a = sample_go(), *b;
	char *text = v2_text(a), *again;

	(void)state;
	assert_non_null(strstr(text, "\"version\":2,"));
	/* main.wait's three lines, a partial one's empty stack, created */
	assert_non_null(strstr(text, "\"stacks\":[["));
	assert_null(strstr(strstr(text, "\"goroutines\""), "runtime.gopark"));
	b = reparse(text);
	assert_same_snapshot(a, b);
	assert_int_equal(b->ngoroutines, 300);
	/* equal stacks are one array */
	assert_ptr_equal(b->threads[5].frames, b->threads[8].frames);
	assert_ptr_equal(b->threads[5].created, b->threads[300].created);
	again = v2_text(b);
	assert_string_equal(text, again);
	free(again);
	/* the version 1 text of the copy is the original's */
	again = snapshot_to_json(b, false);
	a->version = SNAPSHOT_VERSION_FLAT;
	char *flat = snapshot_to_json(a, false);
	assert_string_equal(flat, again);
	free(flat);
	free(again);
	free(text);
	snapshot_free(b);
	snapshot_free(a);
}

/* A goroutine's minutes, spelled by the fast path of the rows (17 digits
 * from a long double product) or past it, read back exactly: a quotient
 * of nanoseconds, each end of the fast range, a last digit that carries
 * into an 18th. */
static void test_v2_minutes_exact(void **state)
{
	static const double minutes[] = {
		(double)123456789012345 / 60e9, 45.516564419216664, 0.001, 0.0009999999999999998,
		9.999999999999998, 10.0, 999999999.9999999, 1e9, 2.0 / 3.0, 0.0015, 6.0,
		(double)1 / 60e9, 3.0000000000000004,
	};
	struct snapshot *a = sample_go(), *b;
	size_t k = 0;
	char *text;

	(void)state;
	for (size_t i = 0; i < a->nthreads && k < sizeof(minutes) / sizeof(minutes[0]); i++) {
		struct thread *t = &a->threads[i];
		if (!t->goid || t->go_minutes < 0)
			continue;
		t->go_minutes = minutes[k++];
		t->wait.blocked_sec = t->go_minutes * 60;
	}
	assert_int_equal(k, sizeof(minutes) / sizeof(minutes[0]));
	text = v2_text(a);
	assert_non_null(strstr(text, ",45.516564419216664]"));
	assert_non_null(strstr(text, ",6.0]"));
	b = reparse(text);
	assert_same_snapshot(a, b);
	free(text);
	snapshot_free(b);
	snapshot_free(a);
}

/* Members in any order (jq -S: goroutines, stacks, templates, threads):
 * the rows wait for their templates, the templates for their stacks. */
static void test_v2_any_order(void **state)
{
	static const char text[] =
		"{\"format\":\"threadleak-snapshot\",\"goroutines\":[[5,1,0.5],[6,0],[7,1,null,-1,3,\"pipe:[1]\",null,null]],"
		"\"pid\":9,\"templates\":["
		"{\"tid\":0,\"frames\":1,\"created\":0,\"go_wait\":\"select\",\"wait\":{\"kind\":\"other\"}},"
		"{\"tid\":0,\"frames\":0,\"created\":0,\"go_wait\":\"chan receive\"}],"
		"\"stacks\":[[{\"pc\":\"0x10\",\"function\":\"f\"}],[{\"pc\":\"0x20\"},{\"pc\":\"0x30\"}]],"
		"\"threads\":[{\"tid\":9,\"name\":\"main\"}],\"version\":2}";
	struct snapshot *b = reparse(text);

	(void)state;
	assert_int_equal(b->nthreads, 4);
	assert_int_equal(b->ngoroutines, 3);
	assert_int_equal(b->threads[0].tid, 9);
	assert_true(b->threads[1].goid == 5);
	assert_string_equal(b->threads[1].go_wait, "chan receive");
	assert_true(b->threads[1].go_minutes == 0.5);
	assert_true(b->threads[1].wait.blocked_sec == 30);
	assert_int_equal(b->threads[1].nframes, 1);
	assert_string_equal(b->threads[1].frames[0].function, "f");
	assert_int_equal(b->threads[2].nframes, 2);
	assert_true(b->threads[2].go_minutes == -1);
	assert_true(b->threads[2].wait.blocked_sec == -1);
	assert_int_equal(b->threads[2].wait.kind, WAIT_OTHER);
	assert_int_equal(b->threads[3].wait.fd, 3);
	assert_string_equal(b->threads[3].wait.object, "pipe:[1]");
	assert_true(b->threads[3].wait.blocked_sec == -1);
	assert_int_equal(b->threads[3].ncreated, 1);
	snapshot_free(b);
}

/* A template that names an OS thread's fields (a name, CPU times: no
 * goroutine has them) gives its rows none: they shared one, each freeing
 * it (a double free from a file), and a document failing after such a
 * template leaked it. */
static void test_v2_template_os(void **state)
{
	static const char good[] =
		"{\"format\":\"threadleak-snapshot\",\"version\":2,\"pid\":9,"
		"\"stacks\":[[]],\"templates\":[{\"tid\":0,\"name\":\"x\",\"utime\":5,"
		"\"start_time\":7,\"frames\":0,\"go_wait\":\"select\"}],"
		"\"goroutines\":[[1,0],[2,0],[3,0]],\"threads\":[]}";
	static const char bad[] =
		"{\"format\":\"threadleak-snapshot\",\"version\":2,\"pid\":9,"
		"\"stacks\":[[]],\"templates\":[{\"tid\":0,\"name\":\"x\",\"utime\":5,"
		"\"frames\":0,\"created\":-1}],\"threads\":[]}";
	char err[256];
	struct snapshot *b = reparse(good);

	(void)state;
	assert_int_equal(b->ngoroutines, 3);
	for (size_t i = 0; i < b->nthreads; i++) {
		assert_null(b->threads[i].os);
		assert_null(thread_name(&b->threads[i]));
	}
	snapshot_free(b);
	assert_null(snapshot_from_json(bad, strlen(bad), err, sizeof(err)));
	assert_non_null(strstr(err, "templates[0].created"));
}

/* What a version 2 document may not say, each with its message. */
static void test_v2_bad(void **state)
{
	static const struct {
		const char *tables, *want;
	} cases[] = {
		{ "\"stacks\":[],\"templates\":[{\"tid\":0,\"frames\":0}]",
		  "templates[0].frames: stack 0, of 0" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":[]}]",
		  "templates[0].frames: expected the index of a stack" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":0}],\"goroutines\":[[1,1]]",
		  "goroutines[0]: template 1, of 1" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":0}],\"goroutines\":[[0,0]]",
		  "goroutines[0][0]: expected a goroutine id" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":0}],\"goroutines\":[[1]]",
		  "goroutines[0]: expected [goid, template, ...]" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":0}],\"goroutines\":[[1,0,-2]]",
		  "goroutines[0][2]: expected minutes, 0 or more, or null" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":0}],\"goroutines\":[[1,0,1,2,-3]]",
		  "goroutines[0][4]: expected a file descriptor or null" },
		{ "\"stacks\":[[]],\"templates\":[{\"tid\":0,\"frames\":0}],\"goroutines\":[[1,0,null,null,null,null,\"12\"]]",
		  "goroutines[0][6]: expected a hex string or null" },
		{ "\"stacks\":[[1]]", "stacks[0][0]: expected an object" },
		{ "\"stacks\":{}", "stacks: expected an array" },
		{ "\"stacks\":[[{\"pc\":1}]]", "stacks[0][0].pc: expected a hex string" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024], err[256] = "";
		snprintf(text, sizeof(text), "{\"format\":\"threadleak-snapshot\",\"version\":2,"
			 "\"pid\":1,%s,\"threads\":[]}", cases[i].tables);
		struct snapshot *b = snapshot_from_json(text, strlen(text), err, sizeof(err));
		if (b || strcmp(err, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, b ? "(read)" : err, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_kind_names),
		cmocka_unit_test(test_wait_info_init),
		cmocka_unit_test(test_add_grows_and_zeroes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reals_exact_and_short),
		cmocka_unit_test(test_real_spelling),
		cmocka_unit_test(test_strings_vs_jansson),
		cmocka_unit_test(test_round_trip_file),
		cmocka_unit_test(test_write_error_is_reported),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_layout_is_janssons),
		cmocka_unit_test(test_invalid_utf8_is_replaced),
		cmocka_unit_test(test_u64_overflow_is_refused),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_where_round_trip),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_lenient_where_allowed),
		cmocka_unit_test(test_mangled_never_crash),
		cmocka_unit_test(test_refused_at_first_byte),
		cmocka_unit_test(test_first_byte_needs_no_more),
		cmocka_unit_test(test_text_in_pieces),
		cmocka_unit_test(test_errors_in_pieces),
		cmocka_unit_test(test_errors_as_jansson_says),
		cmocka_unit_test(test_nesting_as_jansson),
		cmocka_unit_test(test_order_of_verdicts),
		cmocka_unit_test(test_sorted_keys),
		cmocka_unit_test(test_pooled_strings),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_v2_round_trip),
		cmocka_unit_test(test_v2_minutes_exact),
		cmocka_unit_test(test_v2_any_order),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_v2_template_os),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
