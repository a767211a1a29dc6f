/*
 * Unit tests of src/python/ (runtime.c, threads.c) against CPython's own
 * view: testdata/python/waits.py, run by each Python this machine has
 * under pyenv, prints its waiting threads' frames (sys._current_frames())
 * once they block; the reader's frames for the same native thread ids
 * must be the same, function, line and file, innermost first; and the
 * same in testdata/python/embed, a C program that loads a libpython
 * copied under a name that tells nothing (libembedded.so: 3.13's
 * version from Py_Version, 3.9's and 3.10's from their DWARF).  Run from
 * the repository root (tests/run.sh does).  A version not installed is
 * skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "python/threads.h"

#define MAX_ORACLE 64

struct oracle_thread {
	long tid;
	int n;
	struct py_frame f[32];
};

/* Starts prog on waits.py (after lib, unless NULL; with home as
 * PYTHONHOME, unless NULL); its oracle into o, the count into *n. */
static pid_t start(const char *prog, const char *lib, const char *home,
		   struct oracle_thread *o, int *n)
{
	int fds[2];
	char line[1024];

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (home)
			setenv("PYTHONHOME", home, 1);
		if (lib)
			execl(prog, prog, lib, "testdata/python/waits.py", (char *)NULL);
		else
			execl(prog, prog, "testdata/python/waits.py", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	*n = 0;
	while (fgets(line, sizeof(line), in) && strcmp(line, "end\n") != 0) {
		line[strcspn(line, "\n")] = 0;
		struct oracle_thread *t = *n ? &o[*n - 1] : NULL;
		if (strncmp(line, "thread ", 7) == 0 && *n < MAX_ORACLE) {
			t = &o[(*n)++];
			t->tid = strtol(line + 7, NULL, 10);
			t->n = 0;
		} else if (strncmp(line, "frame ", 6) == 0 && t && t->n < 32) {
			struct py_frame *f = &t->f[t->n++];
			assert_int_equal(sscanf(line + 6, "%255s %d %255[^\n]", f->func,
						&f->line, f->file), 3);
		}
	}
	fclose(in);
	return pid;
}

/* o's frames against got's.  Entries, as the threads' native stacks
 * show them (threadleak snapshot: the _PyEval_EvalFrameDefault frames of
 * each waiting thread): before 3.11 every frame is one; 3.11 evaluates a
 * Python call from Python in the same C call but for Thread.run's
 * self._target(*args, **kwargs) (CALL_FUNCTION_EX, through C): the
 * target and Thread._bootstrap; 3.12 and 3.13 inline that one too:
 * Thread._bootstrap alone.  The target is the 4th frame from the end. */
static void compare(const struct oracle_thread *o, int n, const struct py_threads *got,
		    int minor)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		const struct py_thread *t = NULL;
		for (int j = 0; j < got->n; j++)
			if (got->t[j].tid == o[i].tid)
				t = &got->t[j];
		if (!t) {
			print_error("thread %ld: not found\n", o[i].tid);
			bad++;
			continue;
		}
		if (t->nframes != o[i].n) {
			print_error("thread %ld: %d frames, want %d\n", o[i].tid, t->nframes, o[i].n);
			bad++;
		}
		for (int k = 0; k < o[i].n && k < t->nframes; k++) {
			const struct py_frame *a = &t->frames[k], *b = &o[i].f[k];
			if (strcmp(a->func, b->func) || strcmp(a->file, b->file) ||
			    a->line != b->line) {
				print_error("thread %ld frame %d: %s %d %s, want %s %d %s\n",
					    o[i].tid, k, a->func, a->line, a->file,
					    b->func, b->line, b->file);
				bad++;
			}
			bool entry = minor < 11 || k == t->nframes - 1 ||
				     (minor == 11 && k == t->nframes - 4);
			if (a->entry != entry) {
				print_error("thread %ld frame %d (%s): entry %d, want %d\n",
					    o[i].tid, k, a->func, a->entry, entry);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* Runs prog (waits.py in Python 3.minor) and compares; removes lib
 * and its directory (a copy) first. */
static void run(const char *prog, const char *lib, const char *home, int minor)
{
	char err[256];
	static struct oracle_thread o[MAX_ORACLE];
	struct py_runtime rt;
	struct py_threads got = { 0 };
	int n, ret;

	if (access(prog, X_OK) != 0)
		skip();
	pid_t pid = start(prog, lib, home, o, &n);
	struct symbolizer *sym = symbols_open(pid, err, sizeof(err));
	struct memory *mem = memory_open(pid);
	ret = sym && mem ? py_runtime_find(sym, mem, &rt) : -1;
	if (ret == 0)
		ret = py_threads_read(&rt, mem, &got);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (sym)
		symbols_close(sym);
	if (mem)
		memory_close(mem);
	if (lib) {	/* the copy test_embedded made, in a directory of its own */
		char dir[600];
		snprintf(dir, sizeof(dir), "%s", lib);
		unlink(lib);
		if (strrchr(dir, '/'))
			*strrchr(dir, '/') = 0;
		rmdir(dir);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(n, 5);
	assert_int_equal(rt.minor, minor);
	if (lib)	/* named libembedded.so: no version in the name */
		assert_true(rt.minor_inferred == (minor < 11));
	compare(o, n, &got, minor);
	py_threads_free(&got);
}

static const char *pyenv(void)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "%s/.pyenv/versions", getenv("HOME") ? getenv("HOME") : "/root");
	return dir;
}

static void test_version(void **state)
{
	const char *version = *state;
	char python[512];

	snprintf(python, sizeof(python), "%s/%s/bin/python%.*s", pyenv(), version,
		 (int)(strrchr(version, '.') - version), version);
	run(python, NULL, NULL, atoi(version + 2));
}

/* testdata/python/embed on a copy of version's libpython named
 * libembedded.so. */
static void test_embedded(void **state)
{
	const char *version = *state;
	char home[512], lib[600], dir[] = "/tmp/tl-python-XXXXXX", copy[64], cmd[1400];

	snprintf(home, sizeof(home), "%s/%s", pyenv(), version);
	snprintf(lib, sizeof(lib), "%s/lib/libpython%.*s.so.1.0", home,
		 (int)(strrchr(version, '.') - version), version);
	if (access(lib, R_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(copy, sizeof(copy), "%s/libembedded.so", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", lib, copy);
	assert_int_equal(system(cmd), 0);
	run("testdata/python/embed", copy, home, atoi(version + 2));
}

/* A process gone between finding the interpreter and reading it: an
 * error, nothing read, no crash. */
static void test_exited(void **state)
{
	char python[512], err[256];
	static struct oracle_thread o[MAX_ORACLE];
	struct py_runtime rt;
	struct py_threads got = { 0 };
	int n;

	(void)state;
	snprintf(python, sizeof(python), "%s/3.13.0/bin/python3.13", pyenv());
	if (access(python, X_OK) != 0)
		skip();
	pid_t pid = start(python, NULL, NULL, o, &n);
	struct symbolizer *sym = symbols_open(pid, err, sizeof(err));
	struct memory *mem = memory_open(pid);
	int ret = sym && mem ? py_runtime_find(sym, mem, &rt) : -1;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ret == 0) {
		memory_reset(mem);
		ret = py_threads_read(&rt, mem, &got);
		assert_int_equal(ret, -EFAULT);
		assert_int_equal(got.n, 0);
		py_threads_free(&got);
	}
	if (sym)
		symbols_close(sym);
	if (mem)
		memory_close(mem);
	assert_int_equal(ret, -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_version, "3.13.0"),
		cmocka_unit_test_prestate(test_version, "3.12.1"),
		cmocka_unit_test_prestate(test_version, "3.11.7"),
		cmocka_unit_test_prestate(test_version, "3.10.13"),
		cmocka_unit_test_prestate(test_version, "3.9.18"),
		cmocka_unit_test_prestate(test_version, "3.8.18"),
		cmocka_unit_test_prestate(test_embedded, "3.13.0"),
		cmocka_unit_test_prestate(test_embedded, "3.10.13"),
		cmocka_unit_test_prestate(test_embedded, "3.9.18"),
		cmocka_unit_test(test_exited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
