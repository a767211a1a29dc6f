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
 * normal in Go.  Each is blamed on the test that started it
 * (go/testblame.h): the command runs with GODEBUG=tracebackancestors=N
 * added (the user's own setting of it kept), so that every goroutine
 * carries the stacks of the chain of goroutines that started it.  Not
 * leaks: goroutines runnable at the held exit but still parked where
 * they were woken (the exiting thread keeps its P: they cannot run), and
 * the thread blocked in a leaked goroutine's system call (the goroutine
 * is the one reported, "on thread N").
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

#include "check/ignore.h"
#include "model/snapshot.h"

/* The test of a Go test binary that started a leaked goroutine. */
struct check_blame {
	char *test;			/* "TestPoolLeaks"; NULL: none */
	char *sub;			/* the subtest's function, or NULL */
	bool by_creator;		/* no ancestry: by the creating function */
};

/* The threads of one process still alive when it exited. */
struct check_report {
	struct snapshot *snap;		/* the leaked threads only */
	struct thread *created_by;	/* per thread of snap: where it was
					   created (frames only; none when
					   not seen: created before us) */
	size_t ignored;			/* threads the rules dropped */
	size_t woken;			/* goroutines woken just before the
					   exit, that could not run: not
					   leaks, not counted */
	struct check_blame *blame;	/* per thread of snap, or NULL: not a
					   Go test binary */
	char *package;			/* a Go test binary's package, NULL */
	bool ancestry;			/* blame from the goroutines'
					   ancestors (tracebackancestors) */
};

struct supervise_deadline;

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
	size_t woken;			/* goroutines woken just before an
					   exit that left nothing else */
	struct supervise_deadline *deadline;	/* --timeout (check-timeout.h),
						   or NULL */
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
