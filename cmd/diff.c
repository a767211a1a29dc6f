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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_IGNORES 64

static const char head[] =
	"usage: threadleak diff [OPTIONS] BEFORE AFTER\n"
	"\n"
	"BEFORE and AFTER are snapshot files (threadleak snapshot -o) or live PIDs.\n"
	"\n";
static const char tail[] =
	"\n"
	"exit status: 0 nothing grew, 1 a group grew by N or more, 2 error, 64 usage\n";

/* The filter and the arrays behind its --ignore and --ignore-top. */
struct diff_args {
	struct diff_filter filter;
	const char *ignore[MAX_IGNORES], *ignore_top[MAX_IGNORES];
};

/* --ignore (.value 0) and --ignore-top (1): MAX_IGNORES of both. */
static int add_ignore(const struct opt *o, const char *arg)
{
	struct diff_args *a = o->dest;
	struct diff_filter *f = &a->filter;

	if (f->nignore + f->nignore_top >= MAX_IGNORES) {
		errorf("at most %d --ignore/--ignore-top options", MAX_IGNORES);
		return EXIT_USAGE;
	}
	if (o->value)
		a->ignore_top[f->nignore_top++] = arg;
	else
		a->ignore[f->nignore++] = arg;
	return OPTS_GO_ON;
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
	struct diff_args args = { .filter = { .min_delta = 1 } };
	struct diff_filter *filter = &args.filter;
	const char *color = NULL;
	bool json = false;
	const struct opt opts[] = {
		{ "json", 'j', OPT_TRUE, &json, NULL, "print the diff as JSON" },
		{ "min-delta", 'm', OPT_LONG, &filter->min_delta, "N", "hide changes smaller than N; growth of N or more\n"
		  "makes the exit status 1 (default 1)", "--min-delta wants a count of 1 or more, not '%s'", 1, LONG_MAX },
		{ "ignore", 0, OPT_CALL, &args, "FUNC", "drop groups with FUNC anywhere in the stack",
		  .value = 0, .call = add_ignore },
		{ "ignore-top", 0, OPT_CALL, &args, "FUNC", "drop groups whose top frame (outside libc) is FUNC",
		  .value = 1, .call = add_ignore },
		{ "color", 0, OPT_COLOR, &color, "WHEN", "auto (default), always or never", .alias = "colour" },
		{ "help", 'h', OPT_HELP, NULL, NULL, "this help" },
		{ 0 }
	};
	const struct opts_command cmd = { "diff", head, tail, 26, false, opts };
	int rc = opts_parse(&cmd, argc, argv);

	if (rc != OPTS_GO_ON)
		return rc;
	filter->ignore = args.ignore;
	filter->ignore_top = args.ignore_top;
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
	rc = load_side(argv[optind], &a, name_a, sizeof(name_a));
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
	diff_filter(&d, filter);
	if (json) {
		diff_write_json(&d, a, b, filter->min_delta, stdout);
	} else {
		struct render_options ropt = { want_color(color), false };
		render_diff(stdout, &d, a, b, name_a, name_b, filter->min_delta, &ropt);
	}
	rc = diff_grown(&d, filter->min_delta) ? EXIT_FOUND : EXIT_OK;
	diff_free(&d);
out:
	snapshot_free(a);
	snapshot_free(b);
	return rc;
}
