/*
 * fuzz_ignore: a libFuzzer harness for check's rules (src/check/ignore.c): the
 * suppressions text parser and the matcher.
 *
 * Every input goes through ignore_parse(), which must accept it or refuse
 * it with a message naming a line; what it accepts is matched against a
 * few threads (a C worker, a Go M, a JVM thread, one without frames), and
 * parsing again must give the same rules.  The input's first line is
 * also used as a '*' pattern against its second (ignore_pattern_match must
 * end, and agree with a slow reference when the pattern has few stars).  Broken promises abort();
 * AddressSanitizer, UBSan and LeakSanitizer report the rest.
 *
 * Build and run: FUZZ_TARGET=ignore tests/fuzz/run.sh.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn))
static void broken(const char *what)
{
	fprintf(stderr, "fuzz_ignore: %s\n", what);
	abort();
}

/* The reference: '*' any run, by recursion (inputs are short). */
static int slow_match(const char *p, const char *t, int depth)
{
	if (depth > 64)
		return -1;	/* too deep to say */
	if (!*p)
		return !*t;
	if (*p == '*') {
		for (const char *u = t;; u++) {
			int r = slow_match(p + 1, u, depth + 1);
			if (r != 0)
				return r;
			if (!*u)
				return 0;
		}
	}
	return *t && *p == *t ? slow_match(p + 1, t + 1, depth + 1) : 0;
}

static void add(struct thread *t, const char *module, const char *fn)
{
	struct frame *f = thread_add_frame(t);

	if (!f)
		broken("out of memory");
	f->module = module ? strdup(module) : NULL;
	f->function = fn ? strdup(fn) : NULL;
}

static struct snapshot *threads(void)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct thread *t;

	if (!snap)
		broken("out of memory");
	t = snapshot_add_thread(snap);
	thread_os(t)->name = strdup("worker");
	add(t, "/lib/libc.so.6", "pthread_cond_wait");
	add(t, "/bin/app", "worker_wait");
	add(t, "/bin/app", "app::Worker::run(int) [clone .isra.0]");
	t = snapshot_add_thread(snap);
	thread_os(t)->name = strdup("server");
	add(t, "/srv/server", "runtime.futex");
	add(t, "/srv/server", "runtime.schedule");
	add(t, NULL, NULL);
	t = snapshot_add_thread(snap);
	thread_os(t)->name = strdup("VM Thread");
	add(t, "/jdk/lib/server/libjvm.so", "VMThread::loop()");
	snapshot_add_thread(snap);	/* no name, no frames */
	return snap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ignore_set a = { 0 }, b = { 0 };
	char err[256];
	const char *text = (const char *)data;

	err[0] = '\0';
	int rc = ignore_parse(&a, text, size, "f.supp", false, err, sizeof(err));
	if (rc < 0 && rc != -EINVAL && rc != -ENOMEM)
		broken("an error that is neither EINVAL nor ENOMEM");
	if (rc == -EINVAL && strncmp(err, "f.supp", 6) != 0)
		broken("a refusal that does not name the file");
	if (rc == 0) {
		if (ignore_parse(&b, text, size, "f.supp", false, err, sizeof(err)) != 0 ||
		    a.nrules != b.nrules)
			broken("the same text parsed twice gives other rules");
		struct snapshot *snap = threads();
		for (size_t i = 0; i < snap->nthreads; i++) {
			const struct thread *t = &snap->threads[i];
			if (!!ignore_match(&a, t, NULL) != !!ignore_match(&b, t, NULL))
				broken("the same rules match differently");
		}
		snapshot_free(snap);
	}
	ignore_free(&a);
	ignore_free(&b);

	/* pattern \n text, short enough for the reference */
	if (size < 256 && !memchr(data, '\0', size)) {
		char buf[256];
		memcpy(buf, data, size);
		buf[size] = '\0';
		char *nl = strchr(buf, '\n');
		int stars = 0;
		for (char *c = buf; nl && c < nl; c++)
			stars += *c == '*';
		/* the reference is exponential in the stars */
		if (nl && stars <= 4) {
			*nl = '\0';
			int want = slow_match(buf, nl + 1, 0);
			if (want >= 0 && want != ignore_pattern_match(buf, nl + 1))
				broken("ignore_pattern_match disagrees with the reference");
		}
	}
	return 0;
}
