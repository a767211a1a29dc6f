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
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: threadleak export -f FORMAT [-o FILE] SNAPSHOT\n"
		"\n"
		"  -f, --format FORMAT   pprof (gzipped profile.proto for 'go tool pprof'),\n"
		"                        folded (stacks for flamegraph.pl, speedscope),\n"
		"                        text, json (every entry whole) or snapshot\n"
		"                        (the file snapshot -o writes)\n"
		"  -o, --output FILE     write FILE (whole or not at all) instead of stdout\n"
		"  -t, --threads         text: one entry per thread instead of groups\n"
		"      --color WHEN      text: auto (default), always or never\n"
		"  -h, --help            this help\n");
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", no_argument, NULL, 't' },
		{ "color", required_argument, NULL, 'C' },
		{ "colour", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *output = NULL, *color = NULL;
	bool have_format = false, per_thread = false;
	enum format format = FORMAT_TEXT;
	char err[512];
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:o:th", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (!format_from_name(optarg, &format)) {
				errorf("unknown format '%s': use " FORMAT_NAMES, optarg);
				return EXIT_USAGE;
			}
			have_format = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 't':
			per_thread = true;
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
			return option_error(opt, argv, "export");
		}
	}
	if (!have_format) {
		errorf("export needs a format: -f pprof, folded, text or json");
		return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		errorf(optind == argc ? "export needs a snapshot file; try 'threadleak export --help'" :
		       "export takes one snapshot file; try 'threadleak export --help'");
		return EXIT_USAGE;
	}
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
	int rc = format_write(snap, format, of.fp, &ropt, !output);
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
