/*
 * capture: a live pid -> a snapshot.
 *
 * This is the one place that decides how each thread is captured.  Today
 * every thread is stopped (PTRACE_SEIZE + PTRACE_INTERRUPT), its
 * registers read and its stack unwound, and all are released together:
 * a consistent cut.  What the kernel says about a thread's wait (wchan,
 * last run time) is read before it is stopped, because stopping changes
 * both.  Symbolization and classification happen after every thread runs
 * again.  The caller owns the returned snapshot.
 */
#ifndef THREADLEAK_CAPTURE_H
#define THREADLEAK_CAPTURE_H

#include "snapshot.h"
#include "unwind.h"

struct capture_options {
	const struct unwind_ops *unwinder;	/* NULL: unwind_default() */
	double stop_timeout;			/* seconds to wait for a stop */
};

/*
 * Returns 0 and a snapshot (whose `partial` says whether it is complete),
 * or -errno and a one-line reason in err:
 *   -ESRCH  no such process, or it exited during the capture
 *   -EPERM  no permission to trace it (err says what grants it)
 *   -EINVAL not a process we can capture (kernel thread, zombie, ourself)
 *   -EINTR  interrupted by a signal (pt_interrupted() says which); every
 *           thread was released first
 */
int capture_snapshot(int pid, const struct capture_options *opt,
		     struct snapshot **out, char *err, size_t errlen);

#endif
