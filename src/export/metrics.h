/*
 * metrics: what `threadleak serve` tells Prometheus, in its text
 * exposition format (version 0.0.4), made once per refresh from the
 * targets' last snapshots; a scrape is then a copy of these bytes.
 *
 * Per process, labelled pid and comm (and where it runs: its container's
 * runtime and short id, its Kubernetes pod, else its systemd unit, each
 * label only when known): whether its last capture worked,
 * its threads, its goroutines (a Go program), how long the capture took,
 * and per group the entries that wait the same way in the same place:
 * labelled kind (the wait kind), function (the group's own innermost
 * frame: the program's, not the C library's or the Go runtime's; never an
 * address) and entry (thread or goroutine).  Groups with equal labels are
 * one series.  Only the largest max_groups series of a process are
 * written; the rest add up in one series labelled kind="other",
 * function="other", so that the series a process makes stay bounded
 * whatever it does.  The Go runtime's own entries are left out of the
 * groups (group.h thread_go_runtime), not of the counts.
 *
 * A goroutine group with pprof labels (pprof.Do, SetGoroutineLabels) is
 * also labelled pprof_labels, their text as pprof's debug=1 prints it
 * ({"handler":"leak", "route":"/leak"}), for the METRICS_LABEL_SETS sets
 * that have the most goroutines in the process; the other sets' groups
 * are summed as pprof_labels="other".  So one label set per request
 * makes at most METRICS_LABEL_SETS + 1 values, whatever the requests: the
 * series a process makes stay bounded, and a dashboard can sum by
 * handler or route as a goroutine profile would.
 */
#define METRICS_LABEL_SETS 8
#ifndef THREADLEAK_METRICS_H
#define THREADLEAK_METRICS_H

#include <stddef.h>

#include "model/snapshot.h"

struct metrics_target {
	int pid;
	const char *comm;		/* its name, from /proc */
	const struct snapshot *snap;	/* the last capture; NULL: it failed */
	double capture_sec;		/* how long that capture took */
	const struct cgroup_info *where;	/* where it runs (cgroup.h):
						   labels container_runtime,
						   container_id (12 digits),
						   pod_uid, unit, each only
						   when known; NULL: none */
};

/* The whole exposition for n targets, in *text (malloc'd, caller frees)
 * and *len, with refreshes (how many times the targets were captured, this
 * time included: a scrape that sees it unchanged got the same bytes).  0
 * or -ENOMEM. */
int metrics_render(const struct metrics_target *targets, size_t n, size_t max_groups,
		   unsigned long refreshes, char **text, size_t *len);

#endif
