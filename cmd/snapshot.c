/*
 * snapshot: `threadleak snapshot [options] PID` — capture, then print
 * grouped text, per-thread text or JSON, and/or save a snapshot file.
 * --format says what -o writes (the JSON snapshot by default), or, with
 * no -o, what goes to stdout (text by default).
 */
#include "cmd.h"
#include "capture/capture.h"
#include "base/outfile.h"
#include "target/ptrace.h"
#include "views/render.h"
#include "base/escape.h"
#include "model/snapshot.h"
#include "export/format.h"

#include <unistd.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: threadleak snapshot [OPTIONS] PID\n"
		"\n"
		"  -o, --output FILE     save the snapshot to FILE for 'threadleak diff'\n"
		"  -f, --format FORMAT   what -o writes, or without -o what is printed:\n"
		"                        text, json (the snapshot, every entry whole),\n"
		"                        pprof (gzipped profile.proto for 'go tool\n"
		"                        pprof'), folded (stacks for flamegraph.pl and\n"
		"                        speedscope) or snapshot (the file -o writes:\n"
		"                        JSON, each stack once)\n"
		"  -j, --json            print the snapshot as JSON instead of text\n"
		"  -t, --threads         one entry per thread instead of groups\n"
		"  -q, --quiet           print nothing (with -o)\n"
		"  -u, --unwinder NAME   libdw (default) or libunwind\n"
		"  -s, --stop            stop every thread for a consistent cut (default:\n"
		"                        blocked threads are captured without a stop)\n"
		"      --timeout SEC     how long to wait for a thread to stop (default 1)\n"
		"      --color WHEN      auto (default), always or never\n"
		"  -h, --help            this help\n");
}


int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "threads", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "unwinder", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "stop", no_argument, NULL, 's' },
		{ "color", required_argument, NULL, 'C' },
		{ "colour", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct capture_options copt = { .unwinder = NULL, .stop_timeout = 1.0, .modules = true };
	const char *output = NULL, *color = NULL;
	bool json = false, per_thread = false, quiet = false, have_format = false;
	enum format format = FORMAT_TEXT;
	int opt, pid;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:f:jtqsu:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			output = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'f':
			if (!format_from_name(optarg, &format)) {
				errorf("unknown format '%s': use " FORMAT_NAMES, optarg);
				return EXIT_USAGE;
			}
			have_format = true;
			break;
		case 't':
			per_thread = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 's':
			copt.all_stop = true;
			break;
		case 'u':
			copt.unwinder = unwind_find(optarg);
			if (!copt.unwinder) {
				errorf("unknown unwinder '%s': use libdw or libunwind", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (!parse_seconds(optarg, 0.001, 3600, &copt.stop_timeout)) {
				errorf("--timeout wants seconds, e.g. 0.5, not '%s'", optarg);
				return EXIT_USAGE;
			}
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
			return option_error(opt, argv, "snapshot");
		}
	}
	if (optind != argc - 1) {
		errorf(optind == argc ? "snapshot needs a PID; try 'threadleak snapshot --help'" :
		       "snapshot takes one PID; try 'threadleak snapshot --help'");
		return EXIT_USAGE;
	}
	if (!parse_pid(argv[optind], &pid)) {
		errorf("'%s' is not a process id", argv[optind]);
		return EXIT_USAGE;
	}

	if (!output && have_format && json) {
		errorf("--json and --format both say what to print; give one");
		return EXIT_USAGE;
	}
	if (!output && !quiet && format_is_binary(format) && isatty(STDOUT_FILENO)) {
		errorf("the %s format is binary: give -o FILE or redirect the output", "pprof");
		return EXIT_USAGE;
	}
	if (output && !have_format)	/* a snapshot file: version 2 */
		format = FORMAT_SNAPSHOT;

	struct snapshot *snap;
	struct out_file of;
	char err[512];
	/* A file that cannot be written is known before the capture. */
	if (output && out_file_open(&of, output, err, sizeof(err)) < 0) {
		errorf("%s", err);
		return EXIT_ERROR;
	}
	int rc = capture_snapshot(pid, &copt, &snap, err, sizeof(err));
	if (rc < 0) {
		errorf("%s", err);
		if (output)
			out_file_abort(&of);
		if (rc == -EINTR) {
			int sig = pt_interrupted();
			return 128 + (sig ? sig : SIGINT);
		}
		return EXIT_ERROR;
	}
	/* Every thread is released: a signal from now on ends us as it
	 * would any program (128+N), leaving no half-written file. */
	pt_remove_signal_guard();
	struct render_options ropt = { want_color(color), per_thread };
	if (output) {
		struct render_options fopt = { false, per_thread };
		rc = format_write(snap, format, of.fp, &fopt, false);
		if (rc < 0) {
			out_file_abort(&of);
			errorf("cannot write %s: %s", output, strerror(-rc));
			snapshot_free(snap);
			return EXIT_ERROR;
		}
		if (out_file_commit(&of, err, sizeof(err)) < 0) {
			errorf("%s", err);
			snapshot_free(snap);
			return EXIT_ERROR;
		}
	}
	if (json && !quiet)
		snapshot_write(snap, stdout, true);
	else if (!output && !quiet)
		format_write(snap, format, stdout, &ropt, true);
	else if (!quiet)
		render_snapshot(stdout, snap, &ropt);
	rc = snap->partial ? EXIT_FOUND : EXIT_OK;
	if (snap->runtime_note)	/* a Go program whose goroutines are not read */
		errorf("snapshot of %d: %s; its threads are shown", snap->pid,
		       esc(snap->runtime_note));
	else if (snap->partial)
		errorf("snapshot of %d is partial: %s", snap->pid,
		       snap->note ? snap->note : "some stacks are incomplete");
	snapshot_free(snap);
	return rc;
}
