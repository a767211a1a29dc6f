/*
 * Unit tests for src/snapshot.c: wait kind names, array growth, the JSON
 * round trip, the exact text layout, and strict reading of bad input.
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
#include <unistd.h>

#include <jansson.h>

#include "snapshot.h"

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
		assert_null(t->name);
		assert_null(t->frames);
		assert_int_equal(t->nframes, 0);
		assert_int_equal(t->wait.fd, -1);
		assert_int_equal(t->wait.syscall, -1);
		assert_true(t->wait.blocked_sec < 0);
		t->tid = i + 1;
		t->name = strdup("w");
		assert_non_null(t->name);
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
	snap->version = SNAPSHOT_VERSION;
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
	t->name = xstrdup("worker");
	t->state = 'S';
	t->utime = 17;
	t->stime = 4;
	t->start_time = 123456789012ULL;
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
	t->name = xstrdup("tab\there\n\x01");
	t->state = 'R';
	t->wait.kind = WAIT_RUNNING;

	/* 3: partial, read on a pipe, blocked 0s, unknown state */
	t = snapshot_add_thread(snap);
	assert_non_null(t);
	t->tid = 2147483647;
	t->name = NULL;
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
		assert_str_same(x->name, y->name);
		assert_int_equal(x->state, y->state);
		assert_true(x->utime == y->utime);
		assert_true(x->stime == y->stime);
		assert_true(x->start_time == y->start_time);
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
		t->name = xstrdup(str);
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
	t->utime = UINT64_MAX;
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
	  "snapshot version 99 is newer than this threadleak understands (1)"
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
};

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
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_lenient_where_allowed),
		cmocka_unit_test(test_mangled_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
