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

#include "model/snapshot.h"

struct render_options {
	bool color;
	bool per_thread;
};

/* Returns 0 or -errno (allocation). */
int render_snapshot(FILE *fp, const struct snapshot *snap,
		    const struct render_options *opt);
struct diff;

/*
 * The groups of a diff that changed by at least min_delta, largest growth
 * first, each with its counts and stack; names say where each side came
 * from (a file, or "pid N").  Returns 0 or -errno.
 */
int render_diff(FILE *fp, const struct diff *d, const struct snapshot *a,
		const struct snapshot *b, const char *name_a, const char *name_b,
		long min_delta, const struct render_options *opt);

struct group;
/* One group's block of the grouped report (count, kind, object, wait,
 * names, stack), and a stack alone, as that block prints them. */
void render_group(FILE *fp, const struct snapshot *snap, const struct group *g,
		  const struct render_options *opt);
void render_stack(FILE *fp, const struct snapshot *snap, const struct thread *t,
		  const struct render_options *opt);

struct check;
/* The leak report of `check`: per process, its leaked groups, each with
 * where its threads were created; then one summary line. */
int render_check(FILE *fp, const struct check *c, const struct render_options *opt);
struct check_timeout;
/* check --timeout's report (check/check-timeout.h): check's own report of
 * processes that exited earlier (leaks), then the header and each
 * process's snapshot, then how the tree ended.  0 or -errno. */
int render_check_timeout(FILE *fp, const struct check_timeout *t,
			 const struct render_options *opt);

/* "52 condvar, 3 read, 1 running": threads per wait kind, most first. */
void render_kind_counts(const size_t counts[WAIT__COUNT], char *buf, size_t size);

/* Where a snapshot's process runs, for its header: "docker
 * 3f2a9c1b7e6d" (the short id), then ", pod UID"; else its unit
 * ("nginx.service"), else "pod UID"; "" when nothing is known. */
void render_where(const struct snapshot *s, char *buf, size_t size);
/* ", 1 in its namespace": its pid in its own PID namespace when that is
 * not the host's; "" else. */
void render_nspid(const struct snapshot *s, char *buf, size_t size);

struct watch;
/*
 * One frame of `top -b`: a header line starting "threadleak top:", the
 * thread total's trend, totals per kind, then the table of groups with
 * suspects marked.  recaptured: threads the refresh captured again;
 * own_ms: CPU time top itself spent on the refresh.
 */
int render_watch(FILE *fp, const struct watch *w, size_t recaptured,
		 double own_ms, const struct render_options *opt);

/* "0.2s", "12s", "4m12s", "2h03m" into buf. */
void render_duration(double sec, char *buf, size_t size);

#endif
