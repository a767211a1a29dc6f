/*
 * outfile: a file written whole or not at all (`-o FILE`).
 *
 * The text goes to an unnamed file (O_TMPFILE) in the same directory,
 * which is flushed, synced and linked in as FILE at the end (by a rename
 * when FILE exists): a full disk, a signal, SIGKILL or a crash leaves FILE
 * as it was, never a truncated copy, and no temporary file behind.  Where
 * the file system has no O_TMPFILE, a named ".FILE.XXXXXX" is written and
 * renamed (then SIGKILL can leave it behind).  What
 * can be known before any work is checked at open (a directory, a
 * read-only file system, no permission), so that a long run does not end
 * in "cannot write".  A FILE that exists and is not a regular file (a
 * terminal, a pipe, /dev/null) is written in place.
 */
#ifndef THREADLEAK_OUTFILE_H
#define THREADLEAK_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct out_file {
	FILE *fp;		/* write here */
	char *path;		/* FILE */
	char *tmp;		/* the named temporary file, NULL: none */
	bool unnamed;		/* fp is an O_TMPFILE file, linked at commit */
};

/* 0, or -errno and "cannot write FILE: reason" in err. */
int out_file_open(struct out_file *of, const char *path, char *err, size_t errlen);
/* Everything written: puts FILE in place.  0, or -errno with err (FILE
 * untouched, the temporary file removed). */
int out_file_commit(struct out_file *of, char *err, size_t errlen);
/* Drops what was written; FILE untouched. */
void out_file_abort(struct out_file *of);

#endif
