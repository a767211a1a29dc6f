/*
 * reaper: runs a command as a child subreaper and reaps every process
 * that comes to it, so that a test sees how orphans end without relying
 * on PID 1 to reap them (tests/integration/check-killed.sh).
 *
 *	reaper LOG CMD [ARG...]
 *
 * LOG gets "start PID" for the command, then "reaped PID exit N" or
 * "reaped PID signal N" for each process reaped; the reaper exits 0 once
 * it has no child left (2 on bad use).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: reaper LOG CMD [ARG...]\n");
		return 2;
	}
	FILE *log = fopen(argv[1], "w");
	if (!log || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("reaper");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("reaper: fork");
		return 2;
	}
	if (pid == 0) {
		fclose(log);
		execvp(argv[2], argv + 2);
		perror("reaper: exec");
		_exit(127);
	}
	fprintf(log, "start %d\n", (int)pid);
	fflush(log);
	for (;;) {
		int st;
		pid_t p = wait(&st);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;	/* ECHILD: nobody left */
		}
		if (WIFEXITED(st))
			fprintf(log, "reaped %d exit %d\n", (int)p, WEXITSTATUS(st));
		else
			fprintf(log, "reaped %d signal %d\n", (int)p, WTERMSIG(st));
		fflush(log);
	}
	return 0;
}
