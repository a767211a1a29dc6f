/*
 * tracer: runs a command under ptrace from its first instruction and
 * follows every process and thread it creates (fork, vfork, clone, exec),
 * like `strace -f`, for `threadleak check`.
 *
 * It stops the tracees as little as it can: no system-call stops at all.
 * A seccomp filter, installed in the command before its exec and inherited
 * by everything it starts, turns only exit_group into a ptrace stop; a new
 * thread costs one stop of its creator (to record where it was created)
 * and the new thread's own first stop.
 *
 * When a process calls exit_group while other threads of it are alive, its
 * exit is held: the tracer goes on serving every other tracee, and once the
 * process is down to the exiting thread, or the grace period has passed,
 * it calls exit_held() and then lets the exit go on.  Like strace -f, the
 * run ends when every tracee has ended, not only the command.
 *
 * This is the second user of ptrace(2) beside ptrace.c (the brief stops of
 * a capture): it owns its tracees for their whole life, and waits for any
 * of them (waitpid(-1)).
 */
#ifndef THREADLEAK_TRACER_H
#define THREADLEAK_TRACER_H

#include <stddef.h>

struct tracer_ops {
	void *arg;
	/* Thread tid of process pid was just created by thread parent,
	 * which is in a ptrace stop during the call (its registers and
	 * stack can be read). */
	void (*thread_created)(void *arg, int pid, int parent, int tid);
	/* Process pid ran a new program: what was known of it is stale. */
	void (*exec)(void *arg, int pid);
	/* Thread tid (of process pid, or 0 if unknown) has ended. */
	void (*thread_gone)(void *arg, int pid, int tid);
	/* Process pid, whose thread tid called exit_group, still has other
	 * threads after the grace period (or had them when it called and
	 * still does): they can be captured now; the process is released
	 * when this returns. */
	void (*exit_held)(void *arg, int pid, int tid);
};

struct tracer_options {
	double grace;	/* seconds an exit is held for threads to end */
};

/*
 * Runs argv (argv[0] looked up in PATH) and traces it and its
 * descendants until they have all ended.  Returns 0 with the command's
 * wait status in *status, or -errno and a one-line reason in err (it
 * could not be started: not found, not executable, ptrace refused).
 */
int tracer_run(char *const argv[], const struct tracer_options *opt,
	       const struct tracer_ops *ops, int *status, char *err,
	       size_t errlen);

#endif
