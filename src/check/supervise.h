/*
 * supervise: runs a command and everything it starts under a seccomp
 * user-notification filter, for `threadleak check`: without ptrace, and
 * without stopping anything but the calls it asks about.
 *
 * The filter, installed in the command before its exec and inherited by
 * every process and thread it starts (fork, vfork, clone, exec keep it),
 * turns a few system calls into notifications that we answer: clone3 and
 * clone of a thread (CLONE_THREAD), exit_group, and execve (what we know
 * of the process goes stale).  The calling thread
 * waits in the call until we let it go on (SECCOMP_USER_NOTIF_FLAG_
 * CONTINUE); while it waits it is blocked in a system call, so its stack
 * can be read and unwound from /proc and process_vm_readv like any blocked
 * thread's, without a ptrace stop.  Nothing else is slowed down.
 *
 * When a process calls exit_group while other threads of it are alive, the
 * call is held: once the process is down to the exiting thread, or the
 * grace period has passed, exit_held() is called and then the exit goes
 * on.  We are a child subreaper, so descendants orphaned by their parents
 * come to us, and the run ends when every descendant has ended, like
 * `strace -f`.  If threadleak itself dies, the filter's calls would fail
 * with ENOSYS (glibc's _exit then ends the calling thread only, and the
 * process hangs): a guardian process answers them then (guardian.h).
 */
#ifndef THREADLEAK_SUPERVISE_H
#define THREADLEAK_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum exit_verdict {
	EXIT_GO_ON,		/* let the exit go on now */
	EXIT_HOLD,		/* hold it for the grace period */
	EXIT_LOOK_AGAIN,	/* hold it, and ask again soon */
};

struct supervise_ops {
	void *arg;
	/*
	 * Thread tid of process pid is creating a thread and waits in the
	 * call; settid is where the kernel will write the new thread's id
	 * (glibc's pthread descriptor: CLONE_PARENT_SETTID), 0 if nowhere.
	 */
	void (*thread_creating)(void *arg, int pid, int tid, uint64_t settid);
	/* Called once that thread has been let go on (went_on), or when
	 * its call was restarted by a signal first (it is notified again,
	 * as the same creation): work that need not keep it waiting. */
	void (*thread_created)(void *arg, bool went_on);
	/*
	 * Process pid, whose thread tid called exit_group, still has other
	 * threads.  First at once, and maybe again (final false): the
	 * verdict lets the exit go on now (nothing left that would be
	 * reported), holds it for the grace period, or asks for another
	 * look soon (what is left may be busy for a moment).  Then, if
	 * threads are still left after the grace period (final true): they
	 * can be captured now; the exit goes on when this returns (its
	 * verdict is not used).  Called once with final true at most per
	 * exit, whatever signals restart the held call.
	 */
	enum exit_verdict (*exit_held)(void *arg, int pid, int tid, bool final);
	/* Process pid is exiting (its exit_group goes on now), or is about
	 * to run another program (execve): what is known of it is stale. */
	void (*exiting)(void *arg, int pid);
	/* Process pid asks for something the kernel refuses it under our
	 * filter (its own seccomp listener, strict mode): why, in words.
	 * The call goes on, and fails. */
	void (*refused)(void *arg, int pid, const char *what);
};

struct supervise_deadline;

struct supervise_options {
	double grace;	/* seconds an exit is held for threads to end */
	struct supervise_deadline *deadline;	/* or NULL (see below) */
};

/*
 * A deadline (check --timeout).  When the command's tree is still alive
 * `after` seconds after the command started, reached() is called with
 * every process of the tree alive then (parents first; not zombies), free
 * to capture them: they run on, the supervisor waits.  Then the tree is
 * ended: SIGTERM and SIGCONT to each of its processes, SIGKILL to what is
 * left SUPERVISE_TERM_GRACE seconds later (and to whatever it forks
 * meanwhile) until nothing is left; meanwhile every call is answered at
 * once and no exit is held (nothing more is captured or reported).  The
 * run then returns 0 and the command's wait status as when it ends by
 * itself; the fields below say what happened.  A signal (SIGINT, SIGTERM,
 * SIGHUP) after the deadline does not stop that: it is noted in signal.
 */
#define SUPERVISE_TERM_GRACE 2.0	/* seconds from SIGTERM to SIGKILL */
#define SUPERVISE_KILL_WAIT 10.0	/* seconds SIGKILL's end is waited for */

struct supervise_deadline {
	double after;			/* seconds; 0: none */
	void (*reached)(void *arg, const int *pids, size_t npids);
	void *arg;
	/* filled by the run */
	bool passed;			/* the deadline came first */
	int ended_by;			/* SIGTERM, or SIGKILL when it took that */
	size_t left;			/* processes still there after
					   SUPERVISE_KILL_WAIT (state D) */
	int signal;			/* one that came after the deadline, or 0 */
};

/*
 * Runs argv (argv[0] looked up in PATH) until it and all its descendants
 * have ended.  0 and the command's wait status in *status, or -errno and a
 * one-line reason in err (not found, not executable, no seccomp; -EINTR:
 * SIGINT, SIGTERM or SIGHUP ended the run when there was no guardian to
 * hand over to; with one, such a signal ends this process at once, with
 * 128+N, the command running on unchecked).
 */
int supervise_run(char *const argv[], const struct supervise_options *opt,
		  const struct supervise_ops *ops, int *status, char *err,
		  size_t errlen);

#endif
