/*
 * diff: `threadleak diff [options] A B` — which groups of threads grew,
 * appeared or vanished between two snapshots.  A side is a snapshot file
 * (`snapshot -o`) or, when no such file exists and it is a number, a live
 * pid captured on the spot.
 */
#include "cmd.h"
#include "target/ptrace.h"
#include "capture/capture.h"
#include "model/diff.h"
#include "views/render.h"
#include "model/snapshot.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_IGNORES 64

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: threadleak diff [OPTIONS] BEFORE AFTER\n"
		"\n"
		"BEFORE and AFTER are snapshot files (threadleak snapshot -o) or live PIDs.\n"
		"\n"
		"  -j, --json              print the diff as JSON\n"
		"  -m, --min-delta N       hide changes smaller than N; growth of N or more\n"
		"                          makes the exit status 1 (default 1)\n"
		"      --ignore FUNC       drop groups with FUNC anywhere in the stack\n"
		"      --ignore-top FUNC   drop groups whose top frame (outside libc) is FUNC\n"
		"      --color WHEN        auto (default), always or never\n"
		"  -h, --help              this help\n"
		"\n"
		"exit status: 0 nothing grew, 1 a group grew by N or more, 2 error, 64 usage\n");
}

/* Reads a snapshot file, or captures a live pid.  Returns 0 or an exit code. */
static int load_side(const char *arg, struct snapshot **out, char *name,
		     size_t namelen)
{
	char err[512];
	int pid;

	if (access(arg, F_OK) != 0 && parse_pid(arg, &pid)) {
		struct capture_options copt = { .stop_timeout = 1.0 };
		if (capture_snapshot(pid, &copt, out, err, sizeof(err)) < 0) {
			errorf("%s", err);
			return EXIT_ERROR;
		}
		snprintf(name, namelen, "pid %d (live)", pid);
		return 0;
	}
	*out = snapshot_read(arg, err, sizeof(err));
	if (!*out) {
		errorf("%s: %s", arg, err);
		return EXIT_ERROR;
	}
	snprintf(name, namelen, "%s", arg);
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "min-delta", required_argument, NULL, 'm' },
		{ "ignore", required_argument, NULL, 'I' },
		{ "ignore-top", required_argument, NULL, 'T' },
		{ "color", required_argument, NULL, 'C' },
		{ "colour", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *ignore[MAX_IGNORES], *ignore_top[MAX_IGNORES];
	struct diff_filter filter = { .min_delta = 1, .ignore = ignore,
				      .ignore_top = ignore_top };
	const char *color = NULL;
	bool json = false;
	char *end;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jm:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'm':
			errno = 0;
			filter.min_delta = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || filter.min_delta < 1) {
				errorf("--min-delta wants a count of 1 or more, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'I':
		case 'T':
			if (filter.nignore + filter.nignore_top >= MAX_IGNORES) {
				errorf("at most %d --ignore/--ignore-top options", MAX_IGNORES);
				return EXIT_USAGE;
			}
			if (opt == 'I')
				ignore[filter.nignore++] = optarg;
			else
				ignore_top[filter.nignore_top++] = optarg;
			break;
		case 'C':
			if (!check_color(optarg))
				return EXIT_USAGE;
			color = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return option_error(opt, argv, "diff");
		}
	}
	if (argc - optind != 2) {
		errorf("diff needs two snapshots (files or PIDs); try 'threadleak diff --help'");
		return EXIT_USAGE;
	}

	/* BEFORE is grouped and cut to what the diff shows of it before
	 * AFTER is read: the two are never whole at once. */
	struct snapshot *a = NULL, *b = NULL;
	char name_a[4096], name_b[4096];
	struct diff d;
	bool begun = false;
	int rc = load_side(argv[optind], &a, name_a, sizeof(name_a));
	if (rc == 0) {
		begun = diff_begin(a, &d) == 0;
		if (!begun || diff_drop_before(&d, a) < 0) {
			/* after a live capture: its threads are released */
			pt_remove_signal_guard();
			errorf("out of memory");
			if (begun)
				diff_free(&d);
			rc = EXIT_ERROR;
			goto out;
		}
		rc = load_side(argv[optind + 1], &b, name_b, sizeof(name_b));
	}
	/* Every thread of a live side is released: a signal ends us now. */
	pt_remove_signal_guard();
	if (rc) {
		if (begun)
			diff_free(&d);
		goto out;
	}
	if (diff_end(&d, a, b) < 0) {
		errorf("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	diff_filter(&d, &filter);
	if (json) {
		diff_write_json(&d, a, b, filter.min_delta, stdout);
	} else {
		struct render_options ropt = { want_color(color), false };
		render_diff(stdout, &d, a, b, name_a, name_b, filter.min_delta, &ropt);
	}
	rc = diff_grown(&d, filter.min_delta) ? EXIT_FOUND : EXIT_OK;
	diff_free(&d);
out:
	snapshot_free(a);
	snapshot_free(b);
	return rc;
}
