/*
 * main: the one dispatch table of subcommands, and the final check that
 * stdout was written without error.
 */
#include "cmd.h"
#include "base/escape.h"
#include "base/fdlimit.h"
#include "target/ptrace.h"
#include "base/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADLEAK_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "snapshot", cmd_snapshot, "every thread's (and goroutine's) stack, classified and grouped" },
	{ "diff", cmd_diff, "which groups of threads or goroutines grew between two snapshots" },
	{ "top", cmd_top, "live thread or goroutine groups: growing, waiting, spinning" },
	{ "check", cmd_check, "run a command; fail if threads (Go tests: goroutines) outlive it" },
	{ "export", cmd_export, "a saved snapshot as a pprof profile, folded stacks, text or JSON" },
	{ "serve", cmd_serve, "/metrics for Prometheus: thread and goroutine groups over time" },
};

void errorf(const char *fmt, ...)
{
	va_list ap;

	char buf[4096];

	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Messages carry the target's names and paths (escape.h). */
	fprintf(stderr, "threadleak: %s\n", esc(buf));
}

bool parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	/* Digits only: no sign, no blanks (strtol would take " 42"). */
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 0x3fffffff)
		return false;
	*pid = (int)v;
	return true;
}

bool want_color_fd(const char *mode, int fd)
{
	if (mode && strcmp(mode, "always") == 0)
		return true;
	if (mode && strcmp(mode, "never") == 0)
		return false;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	return isatty(fd);
}

bool want_color(const char *mode)
{
	return want_color_fd(mode, STDOUT_FILENO);
}

bool cmd_sleep_until(double deadline)
{
	for (;;) {
		if (pt_interrupted())
			return false;
		double left = deadline - now_sec();
		if (left <= 0)
			return true;
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
		nanosleep(&ts, NULL);	/* a signal cuts it short */
	}
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: threadleak COMMAND [OPTIONS] ...\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\n'threadleak COMMAND --help' for a command's options; man threadleak for more.\n");
}

static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			errorf("cannot write output: %s", strerror(errno));
		return rc == EXIT_OK || rc == EXIT_FOUND ? EXIT_ERROR : rc;
	}
	return rc;
}

int main(int argc, char **argv)
{
	/* Before any thread: the soft descriptor limit up to the hard one
	 * (check's command gets the original back). */
	fdlimit_raise();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish(EXIT_OK);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("threadleak %s\n", THREADLEAK_VERSION);
		return finish(EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return finish(commands[i].fn(argc - 1, argv + 1));
	errorf("unknown command '%s'; try 'threadleak --help'", argv[1]);
	return EXIT_USAGE;
}
