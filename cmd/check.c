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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: threadleak check [OPTIONS] -- CMD [ARGS...]\n"
		"\n"
		"  -g, --grace SEC            how long an exit is held for threads to end\n"
		"                             (default 0.5)\n"
		"  -t, --timeout DURATION     fail when the command still runs after DURATION\n"
		"                             (90s, 2m, 1m30s, 1.5 = seconds; 0: never, the\n"
		"                             default): report every thread and goroutine of\n"
		"                             its processes and where each waits, then end them\n"
		"      --ignore-top FUNC      ignore threads whose top frame (outside libc) is FUNC\n"
		"      --ignore FUNC          ignore threads with FUNC anywhere in their stack\n"
		"      --ignore-created-by FUNC  ignore threads created with FUNC in the\n"
		"                             creating stack\n"
		"      --ignore-name NAME     ignore threads named NAME ('*' matches any run)\n"
		"      --suppressions FILE    more of the above, one per line (man threadleak)\n"
		"      --no-default-ignores   report the threads language runtimes keep for\n"
		"                             themselves too (Go's Ms, the JVM's, glibc's helpers)\n"
		"      --print-default-ignores  print that list (a suppressions file) and exit\n"
		"      --goroutines           report the goroutines any Go program leaves (default:\n"
		"                             a Go test binary's only, as goleak does)\n"
		"      --no-goroutines        threads only, also for Go test binaries\n"
		"      --exit-code N          exit status when threads leaked or the timeout\n"
		"                             passed (default 1)\n"
		"  -j, --json                 the report as JSON\n"
		"  -o, --output FILE          the report to FILE instead of stderr\n"
		"      --color WHEN           auto (default), always or never\n"
		"  -h, --help                 this help\n");
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
	static const struct option longopts[] = {
		{ "grace", required_argument, NULL, 'g' },
		{ "timeout", required_argument, NULL, 't' },
		{ "ignore-top", required_argument, NULL, 'T' },
		{ "ignore", required_argument, NULL, 'I' },
		{ "ignore-created-by", required_argument, NULL, 'B' },
		{ "ignore-name", required_argument, NULL, 'N' },
		{ "suppressions", required_argument, NULL, 'S' },
		{ "no-default-ignores", no_argument, NULL, 'D' },
		{ "print-default-ignores", no_argument, NULL, 'P' },
		{ "goroutines", no_argument, NULL, 'G' },
		{ "no-goroutines", no_argument, NULL, 'n' },
		{ "exit-code", required_argument, NULL, 'E' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "color", required_argument, NULL, 'C' },
		{ "colour", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct check c;
	struct check_timeout to;
	double grace = 0.5, timeout = 0;
	const char *timeout_text = NULL;
	long exit_code = EXIT_FOUND;
	bool json = false, defaults = true;
	const char *output = NULL, *color = NULL;
	char err[512], *end;
	int opt, rc, status = 0;

	if (check_init(&c) < 0) {
		errorf("out of memory");
		return EXIT_ERROR;
	}
	optind = 1;
	opterr = 0;
	/* '+': options end at the command, with or without "--". */
	while ((opt = getopt_long(argc, argv, "+:g:t:jo:h", longopts, NULL)) != -1) {
		rc = 0;
		switch (opt) {
		case 'g':
			if (!parse_seconds(optarg, 0, 3600, &grace)) {
				errorf("--grace wants seconds, 0 to 3600, not '%s'", optarg);
				rc = EXIT_USAGE;
			}
			break;
		case 't':
			/* as go test -timeout and timeout(1): 0 is none */
			if (!parse_duration(optarg, 720 * 3600, &timeout)) {
				errorf("--timeout wants a duration such as 90s, 2m, 1m30s or 1.5 (seconds), 0 for none, up to 720h, not '%s'",
				       optarg);
				rc = EXIT_USAGE;
			}
			timeout_text = optarg;
			break;
		case 'T':
			rc = ignore_add(&c.ignores, IGNORE_TOP, optarg) ? EXIT_ERROR : 0;
			break;
		case 'I':
			rc = ignore_add(&c.ignores, IGNORE_FUNCTION, optarg) ? EXIT_ERROR : 0;
			break;
		case 'B':
			rc = ignore_add(&c.ignores, IGNORE_CREATED_BY, optarg) ? EXIT_ERROR : 0;
			break;
		case 'N':
			rc = ignore_add(&c.ignores, IGNORE_NAME, optarg) ? EXIT_ERROR : 0;
			break;
		case 'S':
			if (!*optarg) {
				errorf("--suppressions wants a file name");
				rc = EXIT_USAGE;
			} else if (ignore_load_file(&c.ignores, optarg, err, sizeof(err)) < 0) {
				errorf("%s", err);
				rc = EXIT_USAGE;
			}
			break;
		case 'D':
			defaults = false;
			break;
		case 'G':
			c.goroutines = CHECK_GO_ALL;
			break;
		case 'n':
			c.goroutines = CHECK_GO_NONE;
			break;
		case 'P':
			fputs(ignore_defaults, stdout);
			check_free(&c);
			return EXIT_OK;
		case 'E':
			errno = 0;
			exit_code = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || exit_code < 0 || exit_code > 255) {
				errorf("--exit-code wants 0 to 255, not '%s'", optarg);
				rc = EXIT_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'C':
			if (!check_color(optarg))
				rc = EXIT_USAGE;
			color = optarg;
			break;
		case 'h':
			usage(stdout);
			check_free(&c);
			return EXIT_OK;
		default:
			rc = option_error(opt, argv, "check");
			break;
		}
		if (rc) {
			check_free(&c);
			return rc;
		}
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
