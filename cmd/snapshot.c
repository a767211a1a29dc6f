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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char head[] = "usage: threadleak snapshot [OPTIONS] PID\n\n";

int cmd_snapshot(int argc, char **argv)
{
	struct capture_options copt = { .unwinder = NULL, .stop_timeout = 1.0, .modules = true };
	const char *output = NULL, *color = NULL;
	bool json = false, per_thread = false, quiet = false, have_format = false;
	enum format format = FORMAT_TEXT;
	int pid;
	const struct opt opts[] = {
		{ "output", 'o', OPT_STRING, &output, "FILE", "save the snapshot to FILE for 'threadleak diff'" },
		{ "format", 'f', OPT_FORMAT, &format, "FORMAT", "what -o writes, or without -o what is printed:\n"
		  "text, json (the snapshot, every entry whole),\n"
		  "pprof (gzipped profile.proto for 'go tool\n"
		  "pprof'), folded (stacks for flamegraph.pl and\n"
		  "speedscope) or snapshot (the file -o writes:\n"
		  "JSON, each stack once)", .given = &have_format },
		{ "json", 'j', OPT_TRUE, &json, NULL, "print the snapshot as JSON instead of text" },
		{ "threads", 't', OPT_TRUE, &per_thread, NULL, "one entry per thread instead of groups" },
		{ "quiet", 'q', OPT_TRUE, &quiet, NULL, "print nothing (with -o)" },
		{ "unwinder", 'u', OPT_UNWINDER, &copt.unwinder, "NAME", "libdw (default) or libunwind" },
		{ "stop", 's', OPT_TRUE, &copt.all_stop, NULL, "stop every thread for a consistent cut (default:\n"
		  "blocked threads are captured without a stop)" },
		{ "timeout", 0, OPT_SECONDS, &copt.stop_timeout, "SEC", "how long to wait for a thread to stop (default 1)",
		  "--timeout wants seconds, e.g. 0.5, not '%s'", 0.001, 3600 },
		{ "no-python", 0, OPT_TRUE, &copt.no_python, NULL, "a Python program's C frames as they are, without\n"
		  "its Python frames in place of the interpreter's" },
		{ "color", 0, OPT_COLOR, &color, "WHEN", "auto (default), always or never", .alias = "colour" },
		{ "help", 'h', OPT_HELP, NULL, NULL, "this help" },
		{ 0 }
	};
	const struct opts_command cmd = { "snapshot", head, NULL, 24, false, opts };
	int rc = opts_parse(&cmd, argc, argv);

	if (rc == OPTS_GO_ON)
		rc = opts_one_pid(&cmd, argc, argv, &pid);
	if (rc != OPTS_GO_ON)
		return rc;
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
	rc = capture_snapshot(pid, &copt, &snap, err, sizeof(err));
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
