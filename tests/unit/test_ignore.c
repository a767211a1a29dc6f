/*
 * Unit tests for src/check/ignore.c: '*' patterns, the suppressions text format
 * (quotes, several conditions a line, errors naming the line), matching a
 * thread by top frame, any frame, creating stack, name and module, and
 * the default list built into the binary (it parses, and ignores what it
 * says it ignores: Go's Ms, the JVM's named threads, glibc's helpers, and
 * nothing of a plain program's).
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

#include "check/ignore.h"

static struct snapshot *new_snapshot(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));

	assert_non_null(snap);
	return snap;
}

static struct thread *new_thread(struct snapshot *snap, const char *name)
{
	struct thread *t = snapshot_add_thread(snap);

	assert_non_null(t);
	t->tid = 100 + (int)snap->nthreads;
	thread_os(t)->name = name ? strdup(name) : NULL;
	return t;
}

/* frames: "module!function", innermost first, NULL-terminated */
static void set_frames(struct thread *t, const char *const *frames)
{
	for (; *frames; frames++) {
		struct frame *f = thread_add_frame(t);
		const char *bang = strchr(*frames, '!');
		assert_non_null(f);
		assert_non_null(bang);
		if (bang != *frames)
			f->module = strndup(*frames, (size_t)(bang - *frames));
		f->function = strdup(bang + 1);
	}
}

static void test_pattern(void **state)
{
	(void)state;
	assert_true(ignore_pattern_match("runtime.*", "runtime.futex"));
	assert_false(ignore_pattern_match("runtime.*", "internal/runtime/syscall.Syscall6"));
	assert_true(ignore_pattern_match("*", ""));
	assert_true(ignore_pattern_match("a*b*c", "aXbYbZc"));
	assert_false(ignore_pattern_match("a*b*c", "aXbYbZ"));
	assert_true(ignore_pattern_match("GC Thread#*", "GC Thread#12"));
	assert_false(ignore_pattern_match("GC Thread#*", "GC Thread"));
	/* only '*' is special: C++ names keep their brackets and '?' */
	assert_true(ignore_pattern_match("f[abi:cxx11]", "f[abi:cxx11]"));
	assert_false(ignore_pattern_match("f[ab]", "fa"));
	assert_false(ignore_pattern_match("a?c", "abc"));
	assert_true(ignore_pattern_match("**x", "yyx"));
	assert_false(ignore_pattern_match("", "x"));
}

static int parse(struct ignore_set *s, const char *text, char *err, size_t len)
{
	return ignore_parse(s, text, strlen(text), "t.supp", false, err, len);
}

static void test_parse(void **state)
{
	struct ignore_set s = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse(&s, "# c\n\n  \t\nignore-top a\r\n"
			       "ignore-name \"VM Thread\"  ignore-module libjvm.so\n"
			       "ignore-name \"q\\\"uote\\\\\"\n", err, sizeof(err)), 0);
	assert_int_equal(s.nrules, 3);
	assert_int_equal(s.rules[0].nconds, 1);
	assert_int_equal(s.rules[0].conds[0].kind, IGNORE_TOP);
	assert_string_equal(s.rules[0].conds[0].pattern, "a");
	assert_int_equal(s.rules[1].nconds, 2);
	assert_string_equal(s.rules[1].conds[0].pattern, "VM Thread");
	assert_int_equal(s.rules[1].conds[1].kind, IGNORE_MODULE);
	assert_string_equal(s.rules[2].conds[0].pattern, "q\"uote\\");
	ignore_free(&s);

	static const struct { const char *text, *err; } bad[] = {
		{ "ignore-top a\nskip everything\n", "t.supp:2: expected 'ignore-top FUNC'" },
		{ "ignore-top\n", "t.supp:1: a condition without its pattern" },
		{ "ignore-name \"x\n", "t.supp:1: a quote is not closed" },
		{ "ignore-name \"\"\n", "t.supp:1: a condition without its pattern" },
		{ "ignore a ignore\n", "t.supp:1: a condition without its pattern" },
		{ "ignore a\0b\n", "t.supp: not a text file (it holds a NUL byte)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i].text) + (strstr(bad[i].err, "NUL") ? 4 : 0);
		assert_int_equal(ignore_parse(&s, bad[i].text, len, "t.supp", false,
					      err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].err));
		ignore_free(&s);
	}
	/* a pattern of 1024 bytes is too long, of 1023 not */
	char line[2048];
	for (int n = 1023; n <= 1024; n++) {
		int k = snprintf(line, sizeof(line), "ignore ");
		memset(line + k, 'x', (size_t)n);
		line[k + n] = '\0';
		assert_int_equal(parse(&s, line, err, sizeof(err)), n == 1023 ? 0 : -EINVAL);
		ignore_free(&s);
	}
}

static void test_match(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct ignore_set s = { 0 };
	char err[256];

	(void)state;
	struct thread *w = new_thread(snap, "worker");
	set_frames(w, (const char *const[]){ "/lib/libc.so.6!pthread_cond_wait",
					     "/bin/app!worker_wait", "/bin/app!leaked_worker",
					     "/lib/libc.so.6!start_thread", NULL });
	struct thread *cb = new_thread(snap, NULL);
	set_frames(cb, (const char *const[]){ "/bin/app!start_workers", "/bin/app!main", NULL });

	assert_null(ignore_match(&s, w, cb));
	assert_int_equal(parse(&s, "ignore-top leaked_worker\n", err, sizeof(err)), 0);
	assert_null(ignore_match(&s, w, cb));	/* not the top outside libc */
	ignore_free(&s);
	static const char *const hits[] = {
		"ignore-top worker_wait", "ignore-top worker_*", "ignore leaked_worker",
		"ignore-created-by start_workers", "ignore-name work*",
		"ignore-module app", "ignore-name worker ignore-module app",
		"ignore app!leaked_worker", "ignore-top a*!worker_wait",
		"ignore libc.so*!pthread_cond_wait",
	};
	for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
		assert_int_equal(parse(&s, hits[i], err, sizeof(err)), 0);
		assert_non_null(ignore_match(&s, w, cb));
		ignore_free(&s);
	}
	static const char *const misses[] = {
		"ignore-name worker ignore-module libjvm.so", "ignore-name work",
		"ignore-created-by main.main", "ignore-module ap",
		"ignore libc.so*!leaked_worker", "ignore-top libc.so*!pthread_cond_wait",
	};
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		assert_int_equal(parse(&s, misses[i], err, sizeof(err)), 0);
		assert_null(ignore_match(&s, w, cb));
		ignore_free(&s);
	}
	/* a thread with no stack and no name matches no frame rule */
	struct thread *bare = new_thread(snap, NULL);
	assert_int_equal(parse(&s, "ignore-top *\nignore *\nignore-name *\n", err, sizeof(err)), 0);
	assert_null(ignore_match(&s, bare, NULL));
	ignore_free(&s);
	snapshot_free(snap);
}

static void test_defaults(void **state)
{
	struct snapshot *snap = new_snapshot();
	struct ignore_set s = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(ignore_parse(&s, ignore_defaults, strlen(ignore_defaults),
				      "runtimes.supp", true, err, sizeof(err)), 0);
	assert_true(s.nrules > 20);
	for (size_t i = 0; i < s.nrules; i++)
		assert_true(s.rules[i].by_default);

	struct thread *m = new_thread(snap, "server");	/* Go names no thread */
	set_frames(m, (const char *const[]){ "/srv/server!runtime.futex",
		"/srv/server!runtime.futexsleep", "/srv/server!runtime.stopm",
		"/srv/server!runtime.findRunnable", "/srv/server!runtime.schedule",
		"/srv/server!runtime.park_m", "/srv/server!runtime.mcall", NULL });
	struct thread *np = new_thread(snap, "server");
	set_frames(np, (const char *const[]){ "/srv/server!internal/runtime/syscall/linux.Syscall6",
		"/srv/server!runtime.netpoll", "/srv/server!runtime.findRunnable",
		"/srv/server!runtime.schedule", "/srv/server!runtime.mcall", NULL });
	struct thread *gsys = new_thread(snap, "server");	/* a goroutine in read(2) */
	set_frames(gsys, (const char *const[]){ "/srv/server!syscall.Syscall",
		"/srv/server!syscall.read", "/srv/server!main.serve",
		"/srv/server!runtime.goexit", NULL });
	struct thread *vm = new_thread(snap, "VM Thread");
	set_frames(vm, (const char *const[]){ "/lib/libc.so.6!pthread_cond_wait",
		"/jdk/lib/server/libjvm.so!Monitor::wait", NULL });
	struct thread *jt = new_thread(snap, "Thread-0");
	set_frames(jt, (const char *const[]){ "/lib/libc.so.6!pthread_cond_timedwait",
		"/jdk/lib/server/libjvm.so!JVM_Sleep", NULL });
	struct thread *fake = new_thread(snap, "VM Thread");	/* a C program's */
	set_frames(fake, (const char *const[]){ "/bin/app!loop", NULL });
	struct thread *timer = new_thread(snap, "app");
	set_frames(timer, (const char *const[]){ "/lib/x86_64-linux-gnu/libc.so.6!__sigtimedwait",
		"/lib/x86_64-linux-gnu/libc.so.6!timer_helper_thread",
		"/lib/x86_64-linux-gnu/libc.so.6!start_thread", NULL });
	struct thread *cw = new_thread(snap, "app");	/* helper_thread, but the app's own */
	set_frames(cw, (const char *const[]){ "/lib/libc.so.6!pause", "/bin/app!helper_thread", NULL });

	assert_non_null(ignore_match(&s, m, NULL));
	assert_non_null(ignore_match(&s, np, NULL));
	assert_null(ignore_match(&s, gsys, NULL));
	assert_non_null(ignore_match(&s, vm, NULL));
	assert_null(ignore_match(&s, jt, NULL));
	assert_null(ignore_match(&s, fake, NULL));
	assert_non_null(ignore_match(&s, timer, NULL));
	assert_null(ignore_match(&s, cw, NULL));
	ignore_free(&s);
	snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
