/*
 * ptrace: the only module that calls ptrace(2).
 *
 * Threads are always attached with PTRACE_SEIZE (never PTRACE_ATTACH) so
 * the kernel resumes them if threadleak dies, and stopped with
 * PTRACE_INTERRUPT.  Waits are per tid (waitpid(tid, __WALL)), never
 * waitpid(-1), and bounded by a deadline.  A signal that arrives for the
 * target while it is attached is remembered and given back on detach, so
 * the target loses nothing.
 */
#ifndef THREADLEAK_PTRACE_H
#define THREADLEAK_PTRACE_H

#include <stdbool.h>
#include "target/regs.h"

enum pt_stop {
	PT_STOPPED,		/* in a ptrace stop: registers can be read */
	PT_EXITED,		/* the thread is gone */
	PT_TIMEOUT,		/* did not stop before the deadline (D state) */
	PT_INTERRUPTED,		/* our own process got SIGINT/SIGTERM */
};

/* Seizes and interrupts tid.  0 or -errno (EPERM, ESRCH). */
int pt_seize_interrupt(int tid);
/*
 * Waits until tid stops, exits, or the monotonic deadline (now_sec() clock)
 * passes.  *pending_sig receives a signal that was on its way to the
 * thread (0 if none): pass it to pt_detach.
 */
enum pt_stop pt_wait_stop(int tid, double deadline, int *pending_sig);
/* Reads all registers of a stopped thread.  0 or -errno. */
int pt_get_regs(int tid, struct cpu_regs *regs);
/* Detaches a stopped tracee, delivering sig (0 for none).  0 or -errno. */
int pt_detach(int tid, int sig);

/*
 * A thread seized and interrupted that has not stopped yet (a D-state
 * thread past its deadline, or a wait we abandoned): remember it, so that
 * pt_release_pending() can detach it once it stops.  Otherwise it would
 * sit in its ptrace stop until threadleak exits.
 */
void pt_forget(int tid);
/* Waits up to `seconds` for forgotten threads to stop and detaches them;
 * returns how many are still pending (the kernel detaches them at exit). */
int pt_release_pending(double seconds);

/*
 * Installs handlers so SIGINT, SIGTERM, SIGHUP and SIGALRM interrupt our
 * waits instead of killing us mid-capture; pt_interrupted() then tells
 * which signal asked us to stop (0 if none).  Idempotent.
 */
void pt_install_signal_guard(void);
/* Nothing is held any more: SIGINT, SIGTERM and SIGHUP take their default
 * action again (one caught meanwhile is raised now). */
void pt_remove_signal_guard(void);
int pt_interrupted(void);

#endif
