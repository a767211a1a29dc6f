/*
 * cmd: the subcommands' shared conventions: exit codes (documented in
 * man/threadleak.1), the error printer and the option tables (options.h).
 */
#ifndef THREADLEAK_CMD_H
#define THREADLEAK_CMD_H

#include <stdbool.h>

#include "options.h"

enum {
	EXIT_OK = 0,
	EXIT_FOUND = 1,		/* partial snapshot; growth; leaks */
	EXIT_ERROR = 2,
	EXIT_USAGE = 64,
};

/* "threadleak: " + message + newline, on stderr. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a positive pid; false if it is not one. */
bool parse_pid(const char *s, int *pid);
/* Whether to colour stdout: --color=always|never|auto, NO_COLOR, a tty. */
bool want_color(const char *mode);
/* The same for another descriptor (check writes its report to stderr). */
bool want_color_fd(const char *mode, int fd);

/* Sleeps until the monotonic time deadline (util.h now_sec); false when
 * a signal asked us to stop first (pt_interrupted). */
bool cmd_sleep_until(double deadline);

int cmd_snapshot(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
