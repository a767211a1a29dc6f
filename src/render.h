/*
 * render: snapshots as text for people.
 *
 * Grouped (the default, like pprof debug=1): a summary line, then one
 * block per group, largest first: count, wait kind, what is waited on and
 * for how long, thread names, and the stack.  Per thread (--threads, like
 * pprof debug=2): one block per thread.  The program's own frames stand
 * out; library frames are quiet.  Colour is the caller's decision.
 */
#ifndef THREADLEAK_RENDER_H
#define THREADLEAK_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "snapshot.h"

struct render_options {
	bool color;
	bool per_thread;
};

/* Returns 0 or -errno (allocation). */
int render_snapshot(FILE *fp, const struct snapshot *snap,
		    const struct render_options *opt);
/* "0.2s", "12s", "4m12s", "2h03m" into buf. */
void render_duration(double sec, char *buf, size_t size);

#endif
