/*
 * check-timeout: `threadleak check --timeout DURATION`, as `go test
 * -timeout` is for a test binary: a command still running at its deadline
 * is reported whole (every thread and goroutine alive in every process of
 * its tree, and where each waits), then ended (supervise.h ends the
 * tree: SIGTERM, then SIGKILL).
 *
 * At the deadline each live process of the tree, parents first, is
 * captured as `threadleak snapshot` captures it (capture.h: running
 * threads are stopped briefly for their stacks; blocked ones are read
 * without a stop), with its goroutines when it is a Go program (unless
 * check has --no-goroutines).  A process that cannot be captured is still
 * listed, with its threads from /proc and why they have no stack.  The
 * report is rendered as `snapshot` renders, after a header saying the
 * deadline passed; JSON adds a "timeout" object to check's document.
 *
 * Memory: the snapshots belong to the struct; check_timeout_free().
 */
#ifndef THREADLEAK_CHECK_TIMEOUT_H
#define THREADLEAK_CHECK_TIMEOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "check/check.h"
#include "model/snapshot.h"
#include "check/supervise.h"

struct check_timeout {
	double after;			/* the deadline, seconds; 0: none */
	const char *spelled;		/* as the user wrote it ("2m") */
	const struct check *c;
	struct supervise_deadline dl;	/* what happened (passed, ended_by) */
	struct snapshot **snaps;	/* one per live process, tree order */
	size_t nsnaps, scap;
	size_t gone;			/* processes that ended while listed */
};

/* Sets the deadline of c's next run (check_run).  after 0: none. */
void check_timeout_arm(struct check_timeout *t, struct check *c,
		       double after, const char *spelled);
void check_timeout_free(struct check_timeout *t);

/* check_write_json's document with "timeout": {...}.  0 or -errno. */
int check_timeout_write_json(const struct check_timeout *t, FILE *fp, int status);

#endif
