/*
 * check: `threadleak check [options] -- CMD [ARGS...]` — run a command
 * under the leak checker (check.h) and fail when a process it started
 * exits with threads still alive, like goleak for a Go test binary.
 *
 * Exit status: --exit-code (default 1) when the command was still
 * running at the --timeout deadline (it is reported whole, then ended:
 * check-timeout.h); else the command's own when it failed (a failing test
 * comes first; a signal gives 128+N); else --exit-code when threads
 * leaked; else 0.  The report goes to stderr (or -o FILE), leaving the
 * command's own output alone.
 */
#include "cmd.h"
#include "check/check.h"
#include "check/check-timeout.h"
#include "base/duration.h"
#include "target/ptrace.h"
#include "base/outfile.h"
#include "views/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char head[] = "usage: threadleak check [OPTIONS] -- CMD [ARGS...]\n\n";

/* --ignore-top, --ignore, --ignore-created-by, --ignore-name: one more
 * of kind .value in the ignore set at .dest. */
static int add_ignore(const struct opt *o, const char *arg)
{
	return ignore_add(o->dest, (enum ignore_kind)o->value, arg) ? EXIT_ERROR : OPTS_GO_ON;
}

static int load_suppressions(const struct opt *o, const char *arg)
{
	char err[512];

	if (!*arg) {
		errorf("--suppressions wants a file name");
		return EXIT_USAGE;
	}
	if (ignore_load_file(o->dest, arg, err, sizeof(err)) < 0) {
		errorf("%s", err);
		return EXIT_USAGE;
	}
	return OPTS_GO_ON;
}

static int print_default_ignores(const struct opt *o, const char *arg)
{
	(void)o, (void)arg;
	fputs(ignore_defaults, stdout);
	return EXIT_OK;
}

/* The exit status of a command that could not be run, as a shell gives
 * it: 127 not found, 126 for every other reason exec(2) gives about the
 * file (bash -c says the same); anything else is our error. */
static int shell_status(int rc)
{
	switch (-rc) {
	case ENOENT:
		return 127;
	case EACCES:
	case ENOEXEC:
	case ENAMETOOLONG:
	case ELOOP:
	case ENOTDIR:
	case EISDIR:
	case ETXTBSY:
	case E2BIG:
	case EPERM:
	case ELIBBAD:
		return 126;
	default:
		return EXIT_ERROR;
	}
}

int cmd_check(int argc, char **argv)
{
	struct check c;
	struct check_timeout to;
	double grace = 0.5, timeout = 0;
	const char *timeout_text = NULL;
	long exit_code = EXIT_FOUND;
	bool json = false, defaults = true;
	const char *output = NULL, *color = NULL;
	char err[512];
	int rc, status = 0;
	const struct opt opts[] = {
		{ "grace", 'g', OPT_SECONDS, &grace, "SEC", "how long an exit is held for threads to end\n"
		  "(default 0.5)",
		  "--grace wants seconds, 0 to 3600, not '%s'", 0, 3600 },
		/* as go test -timeout and timeout(1): 0 is none */
		{ "timeout", 't', OPT_DURATION, &timeout, "DURATION", "fail when the command still runs after DURATION\n"
		  "(90s, 2m, 1m30s, 1.5 = seconds; 0: never, the\n"
		  "default): report every thread and goroutine of\n"
		  "its processes and where each waits, then end them",
		  "--timeout wants a duration such as 90s, 2m, 1m30s or 1.5 (seconds), 0 for none, up to 720h, not '%s'",
		  .max = 720 * 3600, .text = &timeout_text },
		{ "ignore-top", 0, OPT_CALL, &c.ignores, "FUNC", "ignore threads whose top frame (outside libc) is FUNC",
		  .value = IGNORE_TOP, .call = add_ignore },
		{ "ignore", 0, OPT_CALL, &c.ignores, "FUNC", "ignore threads with FUNC anywhere in their stack",
		  .value = IGNORE_FUNCTION, .call = add_ignore },
		{ "ignore-created-by", 0, OPT_CALL, &c.ignores, "FUNC", "ignore threads created with FUNC in the\n"
		  "creating stack", .value = IGNORE_CREATED_BY, .call = add_ignore },
		{ "ignore-name", 0, OPT_CALL, &c.ignores, "NAME", "ignore threads named NAME ('*' matches any run)",
		  .value = IGNORE_NAME, .call = add_ignore },
		{ "suppressions", 0, OPT_CALL, &c.ignores, "FILE", "more of the above, one per line (man threadleak)",
		  .call = load_suppressions },
		{ "no-default-ignores", 0, OPT_FALSE, &defaults, NULL, "report the threads language runtimes keep for\n"
		  "themselves too (Go's Ms, the JVM's, glibc's helpers)" },
		{ "print-default-ignores", 0, OPT_CALL, NULL, NULL, "print that list (a suppressions file) and exit",
		  .call = print_default_ignores },
		{ "goroutines", 0, OPT_SET, &c.goroutines, NULL, "report the goroutines any Go program leaves (default:\n"
		  "a Go test binary's only, as goleak does)", .value = CHECK_GO_ALL },
		{ "no-goroutines", 0, OPT_SET, &c.goroutines, NULL, "threads only, also for Go test binaries",
		  .value = CHECK_GO_NONE },
		{ "exit-code", 0, OPT_LONG, &exit_code, "N", "exit status when threads leaked or the timeout\n"
		  "passed (default 1)", "--exit-code wants 0 to 255, not '%s'", 0, 255 },
		{ "json", 'j', OPT_TRUE, &json, NULL, "the report as JSON" },
		{ "output", 'o', OPT_STRING, &output, "FILE", "the report to FILE instead of stderr" },
		{ "color", 0, OPT_COLOR, &color, "WHEN", "auto (default), always or never", .alias = "colour" },
		{ "help", 'h', OPT_HELP, NULL, NULL, "this help" },
		{ 0 }
	};
	/* in order: options end at the command, with or without "--" */
	const struct opts_command cmd = { "check", head, NULL, 29, true, opts };

	if (check_init(&c) < 0) {
		errorf("out of memory");
		return EXIT_ERROR;
	}
	rc = opts_parse(&cmd, argc, argv);
	if (rc != OPTS_GO_ON) {
		check_free(&c);
		return rc;
	}
	if (optind >= argc) {
		errorf("check needs a command: threadleak check [OPTIONS] -- CMD [ARGS...]");
		check_free(&c);
		return EXIT_USAGE;
	}

	if (defaults && ignore_parse(&c.ignores, ignore_defaults, strlen(ignore_defaults),
				     "runtimes.supp", true, err, sizeof(err)) < 0) {
		errorf("%s", err);	/* a bug of ours: the list is tested */
		check_free(&c);
		return EXIT_ERROR;
	}
	/* The report file is made before the run: a report that could not
	 * be written must not be learnt of after a long test.  Written to a
	 * temporary file beside it, renamed at the end: whole or absent. */
	struct out_file of;
	FILE *fp = stderr;
	if (output && out_file_open(&of, output, err, sizeof(err)) < 0) {
		errorf("%s", err);
		check_free(&c);
		return EXIT_ERROR;
	}
	if (output)
		fp = of.fp;

	check_timeout_arm(&to, &c, timeout, timeout_text);
	rc = check_run(&c, argv + optind, grace, &status, err, sizeof(err));
	if (rc < 0) {
		check_timeout_free(&to);
		errorf("%s", err);
		if (output)
			out_file_abort(&of);
		check_free(&c);
		return rc == -EINTR ? 130 : shell_status(rc);
	}

	struct render_options ropt = { .color = fp == stderr &&
						want_color_fd(color, STDERR_FILENO) };
	bool timed_out = to.dl.passed;
	if (json && timed_out)
		check_timeout_write_json(&to, fp, status);
	else if (json)
		check_write_json(&c, fp, status);
	else if (timed_out)
		render_check_timeout(fp, &to, &ropt);
	else
		render_check(fp, &c, &ropt);
	/* A signal after the deadline did not stop the tree's end; it
	 * still ends us as it would have (128+N), after the report. */
	int sig = to.dl.signal ? to.dl.signal : timed_out ? pt_interrupted() : 0;
	check_timeout_free(&to);
	bool write_failed = false;
	if (output && out_file_commit(&of, err, sizeof(err)) < 0) {
		errorf("%s", err);
		write_failed = true;
	}

	if (sig)
		rc = 128 + sig;
	else if (timed_out)
		rc = write_failed ? EXIT_ERROR : (int)exit_code;
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else if (write_failed)
		rc = EXIT_ERROR;
	else if (c.leaked)
		rc = (int)exit_code;
	else
		rc = EXIT_OK;
	check_free(&c);
	return rc;
}
