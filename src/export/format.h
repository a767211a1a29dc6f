/*
 * format: the output formats of a snapshot by name, and the one function
 * that writes any of them (snapshot -o/--format, export).
 */
#ifndef THREADLEAK_FORMAT_H
#define THREADLEAK_FORMAT_H

#include <stdbool.h>
#include <stdio.h>

#include "views/render.h"
#include "model/snapshot.h"

enum format {
	FORMAT_TEXT,		/* grouped text for people (render.h) */
	FORMAT_JSON,		/* the snapshot document (snapshot.h) */
	FORMAT_PPROF,		/* gzipped profile.proto (pprof.h) */
	FORMAT_FOLDED,		/* folded stacks (folded.h) */
	FORMAT_SNAPSHOT,	/* a snapshot file: version 2, each stack
				   once (snapshot_write_file) */
};

#define FORMAT_NAMES "text, json, pprof, folded or snapshot"

/* The format called name; false when there is none. */
bool format_from_name(const char *name, enum format *out);
/* Whether it is bytes no terminal should get (pprof). */
bool format_is_binary(enum format f);
/* Writes snap to fp as f (ropt for text, pretty for json); 0 or -errno. */
int format_write(const struct snapshot *snap, enum format f, FILE *fp,
		 const struct render_options *ropt, bool pretty);

#endif
