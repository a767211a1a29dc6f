/*
 * check: the leak checker behind `threadleak check -- CMD`, like goleak
 * for native programs.
 *
 * It rides on the supervisor (supervise.h): when a thread is created it
 * unwinds the creating thread, which waits in its clone3 call, and keeps
 * the raw pcs ("created by", symbolized only if the thread leaks); when a
 * process exits with other threads still alive after the grace period, it
 * captures them without stopping any (capture.h, no_stop: they are
 * blocked, or running and then reported without a stack), drops the ones
 * the filters ignore, and keeps what is left as a leak report for that
 * process.  Nothing is traced with ptrace.
 *
 * A Go test binary's goroutines left at its exit (not the runtime's own)
 * are leaks too, as goleak.VerifyTestMain sees them; a Go program's that
 * is not a test only when asked: goroutines left when main returns are
 * normal in Go.
 *
 * What is not reported: the rules of ignore.h (--ignore-top, --ignore,
 * --ignore-created-by, --ignore-name, suppressions files, and by default
 * the threads language runtimes keep for themselves).  An exit whose
 * threads left are all ignored is let go on at once, without waiting for
 * the grace period.
 *
 * Memory: the checker owns its reports; check_free() releases everything.
 */
#ifndef THREADLEAK_CHECK_H
#define THREADLEAK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ignore.h"
#include "snapshot.h"

/* The threads of one process still alive when it exited. */
struct check_report {
	struct snapshot *snap;		/* the leaked threads only */
	struct thread *created_by;	/* per thread of snap: where it was
					   created (frames only; none when
					   not seen: created before us) */
	size_t ignored;			/* threads the rules dropped */
};

struct check {
	struct ignore_set ignores;
	enum {
		CHECK_GO_TESTS,		/* goroutines of Go test binaries
					   (default, as goleak.VerifyTestMain) */
		CHECK_GO_ALL,		/* of every Go program (--goroutines) */
		CHECK_GO_NONE,		/* threads only (--no-goroutines) */
	} goroutines;
	struct check_report *reports;
	size_t nreports, rcap;
	size_t leaked;			/* threads in all reports */
	size_t threads_seen;		/* threads created while traced */
	void *priv;			/* per-process and per-thread state */
};

int check_init(struct check *c);
void check_free(struct check *c);
/*
 * Runs argv under the supervisor with this checker attached.  0 and the
 * command's wait status, or -errno and err (see supervise_run).
 */
int check_run(struct check *c, char *const argv[], double grace, int *status,
	      char *err, size_t errlen);

/* The reports as JSON ("threadleak-check" v1): 0 or -errno. */
int check_write_json(const struct check *c, FILE *fp, int status);

#endif
