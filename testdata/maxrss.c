/*
 * maxrss: run a command and write its peak resident memory, as
 * /usr/bin/time -f %M does, for tests that bound a program's memory on a
 * machine without GNU time.
 *
 *	usage: maxrss FILE COMMAND [ARG...]
 *
 * Runs COMMAND (stdin, stdout and stderr inherited), waits for it with
 * wait4(2) and writes to FILE one line: the largest resident set size, in
 * KB, of COMMAND and of every descendant it waited for (the kernel's
 * ru_maxrss; a `timeout` in between passes on its child's).  The count
 * starts from this small program's own memory at the fork (the kernel
 * carries it over the exec), a few hundred KB, not a Python's or a
 * shell's.  Exits with COMMAND's status, 128+N when signal N ended it,
 * 127 when it could not be run, 125 on its own errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *fp;

	if (argc < 3) {
		fprintf(stderr, "usage: maxrss FILE COMMAND [ARG...]\n");
		return 125;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "maxrss: fork: %s\n", strerror(errno));
		return 125;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "maxrss: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "maxrss: wait4: %s\n", strerror(errno));
			return 125;
		}
	}
	fp = fopen(argv[1], "w");
	if (!fp || fprintf(fp, "%ld\n", ru.ru_maxrss) < 0 || fclose(fp) != 0) {
		fprintf(stderr, "maxrss: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
