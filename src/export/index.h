/*
 * index: serve's page at / (and /debug/pprof/, where a Go program has
 * its own): the processes watched, each with its counts and the links to
 * its goroutine profile in each of pprof's shapes, as HTML.
 *
 * Names come from the target: escaped for a terminal (base/escape.h),
 * then for HTML.  The page is made once a refresh, like the metrics.
 */
#ifndef THREADLEAK_INDEX_H
#define THREADLEAK_INDEX_H

#include <stddef.h>

#include "export/metrics.h"

/* The page for n targets, refreshed every interval seconds, into a
 * malloc'd *text of *len bytes; 0 or -ENOMEM. */
int index_render(const struct metrics_target *targets, size_t n, double interval,
		 char **text, size_t *len);

#endif
