/*
 * capture: a live pid -> a snapshot.
 *
 * This is the one place that decides how each thread is captured.
 *
 * By default nothing blocked is stopped: a blocked thread's registers that
 * matter for unwinding (sp, pc and the syscall arguments) come from
 * /proc/TID/syscall, its stack memory from process_vm_readv, and the
 * capture is validated afterwards (the syscall line and the schedstat run
 * count unchanged mean the thread never ran, so its stack never moved).
 * Only running threads, and blocked ones whose stack cannot be unwound or
 * validated that way, are stopped, one at a time, briefly, with
 * PTRACE_SEIZE + PTRACE_INTERRUPT; never a thread in a call that a stop
 * would break with EINTR (it is reported partial instead).
 *
 * A Go program's threads are not stopped for their own stacks (its
 * goroutines are read from memory), but for a running goroutine's: the
 * thread running it is stopped alone, as briefly, while the goroutine is
 * read (go/goroutines.h: go_stopper), and its entry made from that stop;
 * never with no_stop.  The snapshot says how many threads were stopped
 * and how long they were held (threads_stopped, stop_ms_total/max).
 *
 * With all_stop, every thread is stopped and all are released together:
 * a consistent cut, at the cost of a stall and of EINTR in epoll_wait and
 * the like.  Either way, what the kernel says of a thread's wait is read
 * before anything could disturb it, and symbolization and classification
 * happen after every thread runs again.  The caller owns the snapshot.
 */
#ifndef THREADLEAK_CAPTURE_H
#define THREADLEAK_CAPTURE_H

#include <stdbool.h>

#include "model/snapshot.h"
#include "stacks/unwind.h"

struct capture_options {
	const struct unwind_ops *unwinder;	/* NULL: unwind_default() */
	double stop_timeout;			/* seconds to wait for a stop */
	bool all_stop;				/* --stop: stop every thread */
	int jobs;				/* /proc readers; 0: one per CPU */
	bool no_stop;				/* stop nothing: what needs a stop
						   is partial (check: the threads
						   are our own tracees) */
	bool lazy_blocked;			/* read last-run times only where
						   they decide a group's oldest
						   wait (see capture-wait.c) */
	bool no_goroutines;			/* a Go program's threads only
						   (check, for now) */
	bool no_python;				/* a CPython program's C frames
						   only (--no-python) */
	bool modules;				/* list the mapped files and their
						   build ids (snapshot->modules) */
};

/*
 * Returns 0 and a snapshot (whose `partial` says whether it is complete),
 * or -errno and a one-line reason in err:
 *   -ESRCH  no such process, or it exited during the capture
 *   -EPERM  no permission to trace it (err says what grants it)
 *   -EINVAL not a process we can capture (kernel thread, zombie, ourself)
 *   -EBUSY  already traced by another tracer
 *   -EINTR  interrupted by a signal (pt_interrupted() says which); every
 *           thread was released first
 */
int capture_snapshot(int pid, const struct capture_options *opt,
		     struct snapshot **out, char *err, size_t errlen);

/*
 * What /proc shows of pid's threads, without stacks, for when a capture
 * failed (another tracer holds them, a signal ended it): a partial
 * snapshot whose every thread has error `why`; its note says it too.
 * NULL when the process is gone or out of memory.  The caller owns it.
 */
struct snapshot *capture_listed_only(int pid, const char *why);

/*
 * A session follows one process over many captures (top).  It keeps the
 * target's modules, unwinder and what it learnt of each thread, and a
 * refresh captures again only the threads that changed: new ones, and
 * those whose schedstat run count moved (they ran, so their stack may
 * have).  A thread that did not run keeps its stack and wait from the last
 * refresh and is not touched beyond one pread of its run count through a
 * descriptor the session keeps open (the open-file limit is raised to its
 * hard limit for that, keeping room for everything else).
 *
 * capture_session_open() checks the pid like capture_snapshot() and opens
 * the target; refresh returns the same errors, and -ESRCH with "process N
 * exited" once it has.  *snap belongs to the session: valid until the next
 * refresh or close.  An exec of another program ends the session
 * (-ESTALE): its modules are no longer what the session knows.
 *
 * Before any of that, a refresh reads the process's CPU clock: when it has
 * not moved since the last refresh began, no thread ran at all, and if
 * the thread count is the same the last snapshot stands as it was (the
 * same object, each wait longer by the interval) without a read per
 * thread; capture_session_unchanged() then says so.
 */
struct capture_session;

int capture_session_open(int pid, const struct capture_options *opt,
			 struct capture_session **out, char *err, size_t errlen);
int capture_session_refresh(struct capture_session *s,
			    const struct snapshot **snap, char *err,
			    size_t errlen);
/* lazy_blocked: reads every missing blocked time of the last snapshot
 * (before saving it, or for a view of each thread); true if any was. */
bool capture_session_complete(struct capture_session *s);
/* Threads the last refresh captured (again): new or changed ones. */
size_t capture_session_recaptured(const struct capture_session *s);
/* The last refresh returned the snapshot before it, aged (see above). */
bool capture_session_unchanged(const struct capture_session *s);
void capture_session_close(struct capture_session *s);

#endif
