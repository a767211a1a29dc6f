/*
 * tracer: a command and all it starts, under ptrace; see tracer.h.
 *
 * Start: the child stops itself, we PTRACE_SEIZE it with the options that
 * make the kernel attach every new thread and process to us (TRACECLONE,
 * TRACEFORK, TRACEVFORK) and report execs and seccomp traps, send it
 * SIGCONT, and it installs the exit_group filter and execs the command.
 * A failed exec is reported back through a close-on-exec pipe.
 *
 * The loop waits for any tracee (waitpid(-1, __WALL)).  Every stop is
 * answered at once: event stops and a new tracee's first stop are resumed
 * without a signal; a signal-delivery stop is resumed with its signal; a
 * group stop (SIGSTOP and the like) is left in place with PTRACE_LISTEN,
 * as job control means it.  The one stop that is kept is an exit_group of
 * a process that still has other threads: see tracer.h.  While exits are
 * held the loop polls (WNOHANG, every 2 ms) so that it can see the grace
 * period end; otherwise it blocks in waitpid.
 *
 * Signals to threadleak itself: SIGTERM and SIGHUP are passed on to the
 * command; SIGINT is not, as a terminal sends it to the command too.
 */
#include "tracer.h"
#include "proc.h"
#include "ptrace.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPTIONS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
		 PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP)
#define EVENT(status) ((unsigned)(status) >> 16)

struct held {
	int pid, tid;
	double deadline;
};

struct tracer {
	const struct tracer_options *opt;
	const struct tracer_ops *ops;
	int child;
	int child_status;
	bool child_done;
	bool initial_stop;	/* the child's own SIGSTOP, before its exec */
	struct held *held;
	size_t nheld, heldcap;
};

static volatile sig_atomic_t forward_sig;

static void on_signal(int sig)
{
	if (sig != SIGINT)
		forward_sig = sig;
}

/* Only exit_group traps; everything else, and other ABIs, are allowed. */
static int install_exit_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	/* Without CAP_SYS_ADMIN a filter needs no_new_privs (which would
	 * stop setuid programs from gaining privileges: only then). */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/* In the child: wait to be seized, filter, exec; errors go up the pipe. */
static void run_child(char *const argv[], int errfd)
{
	int err;

	raise(SIGSTOP);
	err = install_exit_filter();
	if (err == 0) {
		execvp(argv[0], argv);
		err = -errno;
	} else {
		err = -10000 + err;	/* the filter, not the exec */
	}
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

static int start(struct tracer *tr, char *const argv[], char *err, size_t errlen)
{
	int pfd[2], status;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	tr->child = fork();
	if (tr->child < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (tr->child == 0) {
		close(pfd[0]);
		run_child(argv, pfd[1]);
	}
	close(pfd[1]);
	if (waitpid(tr->child, &status, WUNTRACED) < 0 || !WIFSTOPPED(status)) {
		close(pfd[0]);
		snprintf(err, errlen, "the command's process ended before it could be traced");
		return -ECHILD;
	}
	if (ptrace(PTRACE_SEIZE, tr->child, 0, OPTIONS) < 0) {
		int e = errno;
		kill(tr->child, SIGKILL);
		waitpid(tr->child, &status, 0);
		close(pfd[0]);
		snprintf(err, errlen,
			 "cannot trace the command: %s (needs ptrace: kernel.yama.ptrace_scope 2 or less, no seccomp rule against it)",
			 strerror(e));
		return -e;
	}
	tr->initial_stop = true;
	kill(tr->child, SIGCONT);
	/* The pipe says whether the exec worked; it reads EOF on success.
	 * The loop has to run meanwhile, so look at it after the first
	 * stops: the child cannot exec before we resume it. */
	tr->child_status = -1;
	return pfd[0];
}

/* Tgid of a task, from /proc/TID/status; tid itself when unknown. */
static int tgid_of(int tid)
{
	char path[64], buf[1024];
	long len;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	len = read_file_buf(path, buf, sizeof(buf));
	if (len > 0) {
		char *p = strstr(buf, "\nTgid:");
		if (p)
			return atoi(p + 6);
	}
	return tid;
}

/* Threads of pid that have not ended: a thread that has exited can stay
 * a zombie, still counted, until the process is gone. */
static long live_threads(int pid)
{
	struct proc_stat st;
	int *tids;
	size_t n;
	long live = 0;

	if (proc_read_stat(pid, 0, &st) < 0)
		return 0;
	if (st.num_threads <= 1 || proc_list_tasks(pid, &tids, &n) < 0)
		return st.num_threads;
	for (size_t i = 0; i < n; i++)
		if (proc_read_stat(pid, tids[i], &st) == 0 &&
		    st.state != 'Z' && st.state != 'X')
			live++;
	free(tids);
	return live;
}

static void hold(struct tracer *tr, int pid, int tid)
{
	if (grow_array(&tr->held, &tr->heldcap, tr->nheld + 1, sizeof(*tr->held)) < 0) {
		ptrace(PTRACE_CONT, tid, 0, 0);	/* cannot hold: let it go */
		return;
	}
	tr->held[tr->nheld++] = (struct held){ pid, tid, now_sec() + tr->opt->grace };
}

/* Releases the held exits whose process is down to the exiting thread or
 * whose grace period has passed, reporting those still with threads. */
static void check_held(struct tracer *tr)
{
	double now = now_sec();
	size_t kept = 0;

	for (size_t i = 0; i < tr->nheld; i++) {
		struct held *h = &tr->held[i];
		long n = live_threads(h->pid);
		if (n > 1 && now < h->deadline) {
			tr->held[kept++] = *h;
			continue;
		}
		if (n > 1 && tr->ops->exit_held)
			tr->ops->exit_held(tr->ops->arg, h->pid, h->tid);
		ptrace(PTRACE_CONT, h->tid, 0, 0);
	}
	tr->nheld = kept;
}

static void on_event(struct tracer *tr, int tid, int status)
{
	unsigned long msg = 0;
	int sig = WSTOPSIG(status);

	switch (EVENT(status)) {
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 &&
		    EVENT(status) == PTRACE_EVENT_CLONE) {
			int pid = tgid_of(tid), child = (int)msg;
			if (tgid_of(child) == pid && tr->ops->thread_created)
				tr->ops->thread_created(tr->ops->arg, pid, tid, child);
		}
		ptrace(PTRACE_CONT, tid, 0, 0);
		return;
	case PTRACE_EVENT_EXEC:
		if (tr->ops->exec)
			tr->ops->exec(tr->ops->arg, tid);
		ptrace(PTRACE_CONT, tid, 0, 0);
		return;
	case PTRACE_EVENT_SECCOMP: {
		int pid = tgid_of(tid);
		if (live_threads(pid) > 1)
			hold(tr, pid, tid);
		else
			ptrace(PTRACE_CONT, tid, 0, 0);
		return;
	}
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			if (tid == tr->child && tr->initial_stop) {
				tr->initial_stop = false;
				ptrace(PTRACE_CONT, tid, 0, 0);
			} else {
				ptrace(PTRACE_LISTEN, tid, 0, 0);	/* a group stop */
			}
		} else {
			ptrace(PTRACE_CONT, tid, 0, 0);	/* a new tracee's first stop */
		}
		return;
	default:
		ptrace(PTRACE_CONT, tid, 0, 0);
		return;
	}
}

static void on_stop(struct tracer *tr, int tid, int status)
{
	int sig = WSTOPSIG(status);

	if (EVENT(status)) {
		on_event(tr, tid, status);
		return;
	}
	ptrace(PTRACE_CONT, tid, 0, sig);	/* a signal on its way: deliver it */
}

int tracer_run(char *const argv[], const struct tracer_options *opt,
	       const struct tracer_ops *ops, int *status, char *err,
	       size_t errlen)
{
	struct tracer tr = { .opt = opt, .ops = ops };
	struct sigaction sa = { .sa_handler = on_signal };
	int errfd, st, child_err = 0;
	bool exec_checked = false;

	/* capture.c installs its own handlers once; have that done now, so
	 * that ours, set next, stay. */
	pt_install_signal_guard();
	errfd = start(&tr, argv, err, errlen);
	if (errfd < 0)
		return errfd;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	for (;;) {
		int flags = __WALL | (tr.nheld ? WNOHANG : 0);
		int tid = waitpid(-1, &st, flags);

		if (forward_sig) {
			if (!tr.child_done)
				kill(tr.child, forward_sig);
			forward_sig = 0;
		}
		if (!exec_checked && (tid < 0 || tid == tr.child)) {
			/* After the child's first stops, the pipe tells whether
			 * the exec failed: read only when it is closed or
			 * written (non-blocking). */
			int fl = fcntl(errfd, F_GETFL);
			fcntl(errfd, F_SETFL, fl | O_NONBLOCK);
			ssize_t n = read(errfd, &child_err, sizeof(child_err));
			if (n == 0 || n == (ssize_t)sizeof(child_err))
				exec_checked = true;
			if (n != (ssize_t)sizeof(child_err))
				child_err = 0;
		}
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				snprintf(err, errlen, "waitpid: %s", strerror(errno));
			break;	/* ECHILD: every tracee has ended */
		}
		if (tid == 0) {
			check_held(&tr);
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (WIFSTOPPED(st)) {
			on_stop(&tr, tid, st);
		} else if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (tid == tr.child) {
				tr.child_status = st;
				tr.child_done = true;
			}
			if (ops->thread_gone)
				ops->thread_gone(ops->arg, 0, tid);
		}
		if (tr.nheld)
			check_held(&tr);
	}
	close(errfd);
	free(tr.held);
	if (child_err) {
		if (child_err <= -10000)
			snprintf(err, errlen, "cannot install the exit_group filter: %s",
				 strerror(-(child_err + 10000)));
		else
			snprintf(err, errlen, "cannot run %s: %s", argv[0],
				 strerror(-child_err));
		return child_err <= -10000 ? -(child_err + 10000) : child_err;
	}
	*status = tr.child_status;
	return 0;
}
