/*
 * export: `threadleak export -f FORMAT [-o FILE] SNAPSHOT` — a saved
 * snapshot (threadleak snapshot -o) written in another format: a pprof
 * profile, folded stacks, text or JSON (export/format.h), so that old
 * .snap files reach the same tools as a live capture.
 */
#include "cmd.h"
#include "base/outfile.h"
#include "model/snapshot.h"
#include "export/format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char head[] = "usage: threadleak export -f FORMAT [-o FILE] SNAPSHOT\n\n";

int cmd_export(int argc, char **argv)
{
	const char *output = NULL, *color = NULL;
	bool have_format = false, per_thread = false;
	enum format format = FORMAT_TEXT;
	char err[512];
	const struct opt opts[] = {
		{ "format", 'f', OPT_FORMAT, &format, "FORMAT", "pprof (gzipped profile.proto for 'go tool pprof'),\n"
		  "folded (stacks for flamegraph.pl, speedscope),\n"
		  "text, json (every entry whole) or snapshot\n"
		  "(the file snapshot -o writes)", .given = &have_format },
		{ "output", 'o', OPT_STRING, &output, "FILE", "write FILE (whole or not at all) instead of stdout" },
		{ "threads", 't', OPT_TRUE, &per_thread, NULL, "text: one entry per thread instead of groups" },
		{ "color", 0, OPT_COLOR, &color, "WHEN", "text: auto (default), always or never", .alias = "colour" },
		{ "help", 'h', OPT_HELP, NULL, NULL, "this help" },
		{ 0 }
	};
	const struct opts_command cmd = { "export", head, NULL, 24, false, opts };
	int rc = opts_parse(&cmd, argc, argv);

	if (rc != OPTS_GO_ON)
		return rc;
	if (!have_format) {
		errorf("export needs a format: -f pprof, folded, text or json");
		return EXIT_USAGE;
	}
	if (opts_one_operand(&cmd, argc, "snapshot file") != OPTS_GO_ON)
		return EXIT_USAGE;
	if (!output && format_is_binary(format) && isatty(STDOUT_FILENO)) {
		errorf("the pprof format is binary: give -o FILE or redirect the output");
		return EXIT_USAGE;
	}

	const char *path = argv[optind];
	struct snapshot *snap = snapshot_read(path, err, sizeof(err));
	if (!snap) {
		errorf("%s: %s", path, err);
		return EXIT_ERROR;
	}
	struct out_file of = { .fp = stdout };
	if (output && out_file_open(&of, output, err, sizeof(err)) < 0) {
		errorf("%s", err);
		snapshot_free(snap);
		return EXIT_ERROR;
	}
	struct render_options ropt = { !output && want_color(color), per_thread };
	rc = format_write(snap, format, of.fp, &ropt, !output);
	snapshot_free(snap);
	if (output) {
		if (rc < 0) {
			out_file_abort(&of);
			errorf("cannot write %s: %s", output, strerror(-rc));
			return EXIT_ERROR;
		}
		if (out_file_commit(&of, err, sizeof(err)) < 0) {
			errorf("%s", err);
			return EXIT_ERROR;
		}
	} else if (rc == -ENOMEM) {
		errorf("out of memory");
		return EXIT_ERROR;
	}
	return EXIT_OK;
}
