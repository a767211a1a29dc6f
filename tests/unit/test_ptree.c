/*
 * Unit tests for the process tree read from /proc (src/check/ptree.c), in
 * a PID namespace of their own with its own /proc, so that what it holds
 * is known: the test's process (pid 1 there) and what it forks.  Nothing
 * below pid 1 is an empty list, not an error (qsort was handed the NULL
 * array then, which UBSan stops: scan-build found it); a child and its
 * child are listed parent first, the except one and its subtree left out.
 * Needs root (a PID and a mount namespace): cmocka skips them without.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/ptree.h"

/* fn run as pid 1 of a new PID namespace with its own /proc: it returns
 * 0, or the test is skipped when the namespace cannot be made. */
static void in_namespace(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			_exit(77);
		pid_t inner = fork();
		if (inner < 0)
			_exit(3);
		if (inner == 0) {
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount("proc", "/proc", "proc", 0, NULL) < 0)
				_exit(77);
			_exit(fn());
		}
		if (waitpid(inner, &status, 0) < 0)
			_exit(3);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
	}
	assert_true(waitpid(pid, &status, 0) == pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int alone(void)
{
	int *pids = (int *)1;
	size_t n = 99;

	if (getpid() != 1)
		return 10;
	if (ptree_list(1, 0, true, &pids, &n) != 0)
		return 11;
	return pids == NULL && n == 0 ? 0 : 12;
}

static void test_nothing_below(void **state)
{
	(void)state;
	in_namespace(alone);
}

/* A child that forks a grandchild, both waiting; a second child: except. */
static int family(void)
{
	int p[2], *pids = NULL, rc = 0;
	size_t n = 0;
	char c;

	if (pipe(p) < 0)
		return 20;
	pid_t child = fork();
	if (child == 0) {
		close(p[1]);
		if (fork() == 0) {
			(void)!read(p[0], &c, 1);
			_exit(0);
		}
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	pid_t other = fork();
	if (other == 0) {
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	/* the grandchild: pid 2 is the child, 3 its child or the other */
	for (int tries = 0; tries < 100000 && n != 2; tries++) {
		free(pids);
		pids = NULL;
		if (ptree_list(1, other, false, &pids, &n) != 0) {
			rc = 21;
			break;
		}
	}
	if (!rc && (n != 2 || pids[0] != child || pids[1] == other))
		rc = 22;
	free(pids);
	close(p[1]);	/* all three read EOF and end */
	while (wait(NULL) > 0)
		;
	return rc;
}

static void test_parents_first_except_left_out(void **state)
{
	(void)state;
	in_namespace(family);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_below),
		cmocka_unit_test(test_parents_first_except_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
