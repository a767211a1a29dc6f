/*
 * supervise: a command under a seccomp notification filter; see
 * supervise.h.
 *
 * Start: the child installs the filter with SECCOMP_FILTER_FLAG_NEW_
 * LISTENER, hands the listener descriptor to us over a socketpair
 * (SCM_RIGHTS), and execs; an exec failure comes back over the same
 * socket (the socket is close-on-exec, so success reads as end of file).
 *
 * Loop: poll the listener (with a short timeout while exits are held, to
 * see grace periods end), answer each notification, and reap children
 * (we are a subreaper: orphaned descendants are ours) until none is left
 * but the guardian (guardian.h), which is stopped then.
 * Every notification is answered with CONTINUE, at once or, for a held
 * exit, later.  An exit_group notified again (a signal restarted the
 * held call: Go's preemption does that every 10 ms) is the same exit:
 * held once, captured once.  At a deadline (check --timeout) the tree
 * is listed from /proc (ptree.h: our descendants, the guardian left
 * out), handed to the caller, then ended with signals while a loop of
 * its own answers every call at once and reaps, until no child is left.  SIGINT, SIGTERM and SIGHUP to threadleak end
 * it at once: the guardian takes the command over, which runs on
 * unchecked.
 */
#include "check/supervise.h"
#include "base/escape.h"
#include "base/fdlimit.h"
#include "check/guardian.h"
#include "target/proc.h"
#include "check/ptree.h"
#include "target/syscall-abi.h"
#include "target/syscall-i386.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Linux 6.6: wake the waiting thread on the supervisor's CPU, skipping a
 * round of scheduling per notification (optional; older kernels refuse). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

struct held {
	int pid, tid;
	uint64_t id;		/* the notification to answer */
	double deadline;
	double next_look;	/* when to ask exit_held again; 0: not */
	double gap;		/* and the time after that, doubling */
};
#define FIRST_LOOK_GAP 0.01	/* seconds */

/* A process whose exit was let go on while its call had already been
 * restarted (a signal came first): the call comes again, and goes on at
 * once.  Forgotten after a while: the pid may be reused. */
struct gone {
	int pid;
	double until;
};
#define GONE_KEEP 10.0	/* seconds */
#define EXEC_NAME_MAX 200	/* bytes of a command name shown when it fails */

struct sup {
	const struct supervise_options *opt;
	const struct supervise_ops *ops;
	int listener;
	int sock;		/* from the child until its exec: -1 after */
	int exec_err;		/* why the exec failed, or 0 */
	int child, child_status;
	struct held *held;
	size_t nheld, heldcap;
	struct gone *gone;
	size_t ngone, gonecap;
	struct guardian guard;	/* answers for us if we die */
	struct supervise_deadline *dl;	/* or NULL */
	double deadline_at;	/* now_sec() of the deadline; 0: none */
};

static volatile sig_atomic_t interrupted, child_ended = 1;
/* The guardian that takes over when a signal ends us, once it runs. */
static struct guardian *volatile handover;

static void on_sigchld(int sig)
{
	(void)sig;
	child_ended = 1;
}

static void say(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));
	(void)n;
}

/*
 * SIGINT, SIGTERM, SIGHUP: we end now, whatever we are doing (a capture
 * can take a while), and the command runs on unchecked: the guardian
 * answers every call we held and every later one, as when we are killed.
 * Only async-signal-safe calls.  Without a guardian the loop ends the run.
 */
static void on_signal(int sig)
{
	struct guardian *g = handover;

	interrupted = sig;
	if (!g)
		return;
	say(sig == SIGINT ? "threadleak: interrupted (SIGINT): the command runs on, unchecked\n" :
	    sig == SIGTERM ? "threadleak: terminated (SIGTERM): the command runs on, unchecked\n" :
	    "threadleak: hung up (SIGHUP): the command runs on, unchecked\n");
	guardian_hand_over(g);
	_exit(128 + sig);
}

/* Without CAP_SYS_ADMIN a filter needs no_new_privs (setuid programs
 * then gain no privileges: only then).  The listener, or -errno. */
static int try_filter(unsigned long flags, struct sock_fprog *prog)
{
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);

	if (fd < 0 && errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
	return fd < 0 ? -errno : fd;
}

/* x32 calls are x86_64 ones with this bit set in their number. */
#define X32_SYSCALL_BIT 0x40000000

/*
 * One ABI's part of the filter, FILTER_BLOCK instructions, entered with
 * its call's number to load; every path returns.  nr: exit_group, clone3,
 * execve, execveat, seccomp, clone, prctl in that ABI.
 */
#define FILTER_BLOCK 19
static void filter_block(struct sock_filter *f, const unsigned nr[7])
{
	struct sock_filter b[FILTER_BLOCK] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)X32_SYSCALL_BIT),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[0], 7, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[1], 6, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[2], 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[3], 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[4], 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[5], 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[6], 6, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		/* clone: the low word of its flags, the first argument */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* prctl: only PR_SET_SECCOMP (prctl is frequent: PR_SET_NAME) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	memcpy(f, b, sizeof(b));
}

/* A notified call's number as an x86_64 one: an i386 call's twin, an x32
 * call without its bit. */
static long notified_nr(const struct seccomp_notif *req)
{
	if (req->data.arch == AUDIT_ARCH_I386)
		return syscall_i386_twin(req->data.nr);
	return req->data.nr & ~X32_SYSCALL_BIT;
}

/*
 * Notify on exit_group, clone3 (its flags are in memory, out of the
 * filter's reach), clone with CLONE_THREAD, execve/execveat (what was
 * known of the process goes stale), and the command's own seccomp calls
 * (seccomp, prctl PR_SET_SECCOMP), which the kernel may refuse under this
 * filter: we say why.  In both ABIs a process may call in: x86_64 (and
 * x32, its numbers with a bit set) and i386 (a 32-bit program, or int
 * 0x80 in a 64-bit one: the kernel tells them by arch).  A leak must not
 * pass for the ABI it exits in.  Allow everything else.
 */
static int install_filter(void)
{
	static const unsigned x86_64[7] = { __NR_exit_group, __NR_clone3, __NR_execve,
					    __NR_execveat, __NR_seccomp, __NR_clone,
					    __NR_prctl };
	static const unsigned i386[7] = { NR32_exit_group, NR32_clone3, NR32_execve,
					  NR32_execveat, NR32_seccomp, NR32_clone,
					  NR32_prctl };
	struct sock_filter code[4 + 2 * FILTER_BLOCK] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, FILTER_BLOCK),
	};
	filter_block(&code[2], x86_64);
	code[2 + FILTER_BLOCK] = (struct sock_filter)
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, FILTER_BLOCK);
	filter_block(&code[3 + FILTER_BLOCK], i386);
	code[3 + 2 * FILTER_BLOCK] = (struct sock_filter)
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };
	/*
	 * Linux 5.19: once we have received a notification, only a fatal
	 * signal ends the caller's wait.  Without it a signal (Go's
	 * preemption, a timer) restarts the call, which is notified again
	 * under a new id (on_notification takes it as the same call).
	 * THREADLEAK_NO_KILLABLE_RECV=1 leaves it out, to test that path.
	 */
	const char *nk = getenv("THREADLEAK_NO_KILLABLE_RECV");
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	int fd = -1;

	if (!(nk && strcmp(nk, "1") == 0)) {
		fd = try_filter(flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
		if (fd != -EINVAL)
			return fd;
	}
	return try_filter(flags, &prog);
}

static int send_fd(int sock, int fd, int err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, 0) < 0 ? -errno : 0;
}

/* Returns the error sent (0, or -errno), the descriptor in *fd if any;
 * -EPIPE at end of file. */
static int recv_fd(int sock, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int err = 0;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (n <= 0)
		return n == 0 ? -EPIPE : -errno;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return err;
}

/* In the child: filter, hand the listener over, exec; errors go back up. */
static void run_child(char *const argv[], int sock)
{
	int fd = install_filter();

	/* Ends with exit, not exit_group: under the filter, exit_group would
	 * wait for an answer that the parent, reading the error, never
	 * gives. */
	if (fd < 0) {
		send_fd(sock, -1, -10000 + fd);	/* the filter, not the exec */
		syscall(SYS_exit, 127);
	}
	if (send_fd(sock, fd, 0) < 0)
		syscall(SYS_exit, 127);
	close(fd);
	/* The command runs with the limit it would have without us. */
	fdlimit_restore();
	execvp(argv[0], argv);
	send_fd(sock, -1, -errno);
	syscall(SYS_exit, 127);
}

static int start(struct sup *s, char *const argv[], char *err, size_t errlen)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "cannot make a socket pair: %s", strerror(errno));
		return -errno;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(NULL);
	s->child = fork();
	if (s->child < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (s->child == 0) {
		close(sv[0]);
		run_child(argv, sv[1]);
	}
	close(sv[1]);
	rc = recv_fd(sv[0], &s->listener);
	if (rc == 0 && s->listener >= 0) {
		/* The exec itself is a notified call: the loop answers it,
		 * and then reads the outcome from the socket. */
		s->sock = sv[0];
		return 0;
	}
	close(sv[0]);
	if (s->listener >= 0)
		close(s->listener);
	waitpid(s->child, &s->child_status, 0);
	if (rc <= -10000) {
		rc += 10000;
		if (rc == -EBUSY)
			snprintf(err, errlen,
				 "cannot install the seccomp filter that check needs: this process is already under a seccomp listener (another threadleak check, or a sandbox or container supervisor), and the kernel allows one; run check outside it");
		else
			snprintf(err, errlen,
				 "cannot install the seccomp filter that check needs: %s (a kernel with seccomp user notification, 5.5 or later, not in seccomp strict mode)",
				 strerror(-rc));
		return rc;
	}
	snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(rc < 0 ? -rc : EIO));
	return rc < 0 ? rc : -EIO;
}

/* The child's word on its exec: end of file when it worked. */
static void exec_outcome(struct sup *s)
{
	int fd;
	int rc = recv_fd(s->sock, &fd);

	if (fd >= 0)
		close(fd);
	if (rc != -EPIPE)
		s->exec_err = rc < 0 ? rc : -EIO;
	close(s->sock);
	s->sock = -1;
}

/*
 * Thread id -> process id, remembered for the few threads that create
 * threads again and again (a direct-mapped cache, cleared for a process
 * when it exits or execs, so a reused id is not taken for its old self).
 */
#define TGID_CACHE 256
static struct { int tid, tgid; } tgid_cache[TGID_CACHE];

static void tgid_forget(int tgid)
{
	for (int i = 0; i < TGID_CACHE; i++)
		if (tgid_cache[i].tgid == tgid)
			tgid_cache[i].tid = 0;
}

static int tgid_of(int tid)
{
	int *slot = &tgid_cache[(unsigned)tid % TGID_CACHE].tid;

	if (*slot == tid)
		return tgid_cache[(unsigned)tid % TGID_CACHE].tgid;
	long tgid = tid;
	proc_read_status_field(tid, "Tgid:", &tgid);
	*slot = tid;
	tgid_cache[(unsigned)tid % TGID_CACHE].tgid = (int)tgid;
	return (int)tgid;
}

/* Threads of pid that have not ended (zombies excluded). */
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

/* 0, or -ENOENT when the call is no longer waiting: its caller was
 * killed, or a signal restarted it (it will be notified again). */
static int answer(struct sup *s, uint64_t id)
{
	struct seccomp_notif_resp resp = {
		.id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE,
	};
	int rc = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;

	guardian_answered(&s->guard, id);	/* after: never uncovered */
	return rc;
}

static bool gone_has(struct sup *s, int pid)
{
	double now = now_sec();
	size_t kept = 0;
	bool found = false;

	for (size_t i = 0; i < s->ngone; i++) {
		if (s->gone[i].until < now)
			continue;
		found |= s->gone[i].pid == pid;
		s->gone[kept++] = s->gone[i];
	}
	s->ngone = kept;
	return found;
}

static void release(struct sup *s, const struct held *h)
{
	if (s->ops->exiting)
		s->ops->exiting(s->ops->arg, h->pid);
	if (answer(s, h->id) == -ENOENT && !gone_has(s, h->pid) &&
	    grow_array(&s->gone, &s->gonecap, s->ngone + 1, sizeof(*s->gone)) == 0)
		s->gone[s->ngone++] = (struct gone){ h->pid, now_sec() + GONE_KEEP };
}

/* Lets go every held exit whose process is down to the exiting thread,
 * or whose grace period is over (its threads are captured first), or
 * all of them (at the end, or on a signal: without a capture). */
static void check_held(struct sup *s, bool all)
{
	double now = now_sec();
	size_t kept = 0;

	for (size_t i = 0; i < s->nheld; i++) {
		struct held *h = &s->held[i];
		long n = all ? 0 : live_threads(h->pid);
		if (!all && n > 1 && now < h->deadline) {
			if (h->next_look && now >= h->next_look) {
				enum exit_verdict v = s->ops->exit_held(s->ops->arg, h->pid,
									h->tid, false);
				if (v == EXIT_GO_ON) {
					release(s, h);
					continue;
				}
				h->next_look = v == EXIT_LOOK_AGAIN ? now + h->gap : 0;
				h->gap *= 2;
			}
			s->held[kept++] = *h;
			continue;
		}
		if (n > 1 && s->ops->exit_held)
			s->ops->exit_held(s->ops->arg, h->pid, h->tid, true);
		release(s, h);
	}
	s->nheld = kept;
}

static struct held *held_by_tid(struct sup *s, int tid)
{
	for (size_t i = 0; i < s->nheld; i++)
		if (s->held[i].tid == tid)
			return &s->held[i];
	return NULL;
}

/* An exit_group: held while other threads of the process live. */
static void on_exit_group(struct sup *s, int tid, uint64_t id)
{
	struct held *h = held_by_tid(s, tid);
	int pid;

	if (h) {
		/* The same call again, restarted by a signal (a thread is
		 * in one call at a time): the old id is dead, keep the
		 * deadline, report nothing twice. */
		h->id = id;
		return;
	}
	pid = tgid_of(tid);
	tgid_forget(pid);
	if (!gone_has(s, pid) && live_threads(pid) > 1 &&
	    grow_array(&s->held, &s->heldcap, s->nheld + 1, sizeof(*s->held)) == 0) {
		double now = now_sec();
		struct held nh = { pid, tid, id, now + s->opt->grace, 0, FIRST_LOOK_GAP };
		/* A first look: nothing to wait for when every thread left
		 * is one the checker would not report. */
		enum exit_verdict v = s->ops->exit_held ?
			s->ops->exit_held(s->ops->arg, pid, tid, false) : EXIT_HOLD;
		if (v == EXIT_GO_ON) {
			release(s, &nh);
			return;
		}
		if (v == EXIT_LOOK_AGAIN)
			nh.next_look = now + nh.gap;
		s->held[s->nheld++] = nh;
		return;
	}
	if (s->ops->exiting)
		s->ops->exiting(s->ops->arg, pid);
	answer(s, id);
}

/* The flags and parent-tid pointer of a clone3 call, from its memory. */
static int clone3_args(int tid, uint64_t addr, uint64_t size, uint64_t *flags,
		       uint64_t *settid)
{
	struct clone_args ca = { 0 };
	struct iovec local = { &ca, size < sizeof(ca) ? size : sizeof(ca) };
	struct iovec remote = { (void *)(uintptr_t)addr, local.iov_len };

	if (local.iov_len < offsetof(struct clone_args, exit_signal) ||
	    process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t)local.iov_len)
		return -EFAULT;
	*flags = ca.flags;
	*settid = ca.flags & CLONE_PARENT_SETTID ? ca.parent_tid : 0;
	return 0;
}

/* seccomp(op, flags, ...) or prctl(PR_SET_SECCOMP, mode, ...): what the
 * kernel refuses under our filter, in words, or NULL. */
static const char *seccomp_refusal(const struct seccomp_notif *req)
{
	uint64_t op = req->data.args[0], flags = req->data.args[1];

	if (notified_nr(req) == __NR_prctl) {
		op = req->data.args[1];	/* SECCOMP_MODE_STRICT 1, _FILTER 2 */
		if (op == SECCOMP_MODE_STRICT)
			return "seccomp strict mode, which the kernel refuses (EINVAL) to a process under check's seccomp filter";
		return NULL;
	}
	if (op == SECCOMP_SET_MODE_STRICT)
		return "seccomp strict mode, which the kernel refuses (EINVAL) to a process under check's seccomp filter";
	if (op == SECCOMP_SET_MODE_FILTER && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return "a seccomp listener of its own, which the kernel refuses (EBUSY) under check's: one listener per process";
	return NULL;
}

static void on_notification(struct sup *s, const struct seccomp_notif *req)
{
	int tid = (int)req->pid, pid, rc;
	uint64_t flags = 0, settid = 0;
	const char *why;

	/* (i386's clone has tls and child_tid swapped: parent_tid is the
	 * third argument in both) */
	switch (notified_nr(req)) {
	case __NR_clone3:
		if (clone3_args(tid, req->data.args[0], req->data.args[1], &flags,
				&settid) < 0 || !(flags & CLONE_THREAD))
			break;
		goto thread;
	case __NR_clone:
		flags = req->data.args[0];
		settid = flags & CLONE_PARENT_SETTID ? req->data.args[2] : 0;
	thread:
		if (s->ops->thread_creating)
			s->ops->thread_creating(s->ops->arg, tgid_of(tid), tid, settid);
		rc = answer(s, req->id);
		/* -ENOENT: restarted by a signal before our answer; the same
		 * call comes again, and counts then. */
		if (s->ops->thread_created)
			s->ops->thread_created(s->ops->arg, rc == 0);
		return;
	case __NR_execve:
	case __NR_execveat:
		pid = tgid_of(tid);
		tgid_forget(pid);
		if (s->ops->exiting)
			s->ops->exiting(s->ops->arg, pid);	/* its image goes */
		break;
	case __NR_exit_group:
		on_exit_group(s, tid, req->id);
		return;
	case __NR_seccomp:
	case __NR_prctl:
		why = seccomp_refusal(req);
		if (why && s->ops->refused)
			s->ops->refused(s->ops->arg, tgid_of(tid), why);
		break;
	}
	answer(s, req->id);
}

/* Reaps what has ended; false once no child is left but the guardian.
 * (Since Linux 5.8 the listener's POLLHUP says as much.) */
static bool reap(struct sup *s)
{
	for (;;) {
		int st, pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0)
			return errno != ECHILD;
		if (pid == 0)
			return !guardian_alone(&s->guard);
		if (guardian_reaped(&s->guard, pid))
			continue;
		if (pid == s->child)
			s->child_status = st;
	}
}

/* ---- the deadline (supervise.h) ---- */

/* Sends sig to every live process of the tree (SIGTERM: and SIGCONT, so
 * that a stopped one gets it now, as timeout(1) does). */
static void signal_tree(const struct sup *s, int sig)
{
	int *pids;
	size_t n;

	if (ptree_list(getpid(), s->guard.pid, false, &pids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		kill(pids[i], sig);
		if (sig == SIGTERM)
			kill(pids[i], SIGCONT);
	}
	free(pids);
}

/* While the tree is ended: every call goes on at once (what is known of
 * a process that exits or execs is dropped, as in on_notification). */
static void answer_ending(struct sup *s, const struct seccomp_notif *req)
{
	long nr = notified_nr(req);
	int pid;

	if (nr == __NR_exit_group || nr == __NR_execve || nr == __NR_execveat) {
		pid = tgid_of((int)req->pid);
		tgid_forget(pid);
		if (s->ops->exiting)
			s->ops->exiting(s->ops->arg, pid);
	}
	answer(s, req->id);
}

/*
 * Ends the command's tree: SIGTERM (and SIGCONT) to each process, then
 * SIGKILL, every round, to whatever is left after the grace, answering
 * calls and reaping meanwhile; until no child of ours is left but the
 * guardian (orphans come to us: no child, no descendant), or the kill
 * wait is over (a process in state D: counted in left).
 */
static void end_tree(struct sup *s, struct seccomp_notif *req, size_t reqsize)
{
	struct supervise_deadline *dl = s->dl;
	double until = now_sec() + SUPERVISE_TERM_GRACE;

	check_held(s, true);	/* held exits go on: nothing more is reported */
	dl->ended_by = SIGTERM;
	signal_tree(s, SIGTERM);
	while (reap(s)) {
		struct pollfd pfd = { s->listener, POLLIN, 0 };
		int n = poll(&pfd, 1, 10);	/* ms */

		if (n > 0 && (pfd.revents & POLLIN)) {
			memset(req, 0, reqsize);
			if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
				guardian_hold(&s->guard, req->id);
				answer_ending(s, req);
			}
		} else if (n > 0) {
			usleep(10000);	/* POLLHUP: no task uses the filter */
		}
		double now = now_sec();
		if (now >= until && dl->ended_by == SIGKILL) {
			int *pids;
			if (ptree_list(getpid(), s->guard.pid, true, &pids, &dl->left) == 0)
				free(pids);
			return;
		}
		if (now >= until) {
			dl->ended_by = SIGKILL;
			until = now + SUPERVISE_KILL_WAIT;
		}
		/* every round: what was forked since is killed too */
		if (dl->ended_by == SIGKILL)
			signal_tree(s, SIGKILL);
	}
}

/* The deadline passed with the tree alive: the caller sees it, then it
 * is ended.  A signal from now on is only noted (no hand-over to the
 * guardian: the command is being ended, not left to run on). */
static void at_deadline(struct sup *s, struct seccomp_notif *req, size_t reqsize)
{
	struct supervise_deadline *dl = s->dl;
	int *pids;
	size_t n;

	dl->passed = true;
	handover = NULL;
	if (ptree_list(getpid(), s->guard.pid, false, &pids, &n) == 0) {
		if (dl->reached)
			dl->reached(dl->arg, pids, n);
		free(pids);
	}
	end_tree(s, req, reqsize);
}

static bool deadline_passed(const struct sup *s)
{
	return s->deadline_at && now_sec() >= s->deadline_at;
}

/* "cannot run NAME: REASON", whole in errlen: the name escaped (it is the
 * caller's, but may hold anything), and a long one shortened to its start
 * and its length, so that the reason is never cut. */
static void exec_error(const char *name, int rc, char *err, size_t errlen)
{
	const char *why = strerror(-rc);
	size_t len = strlen(name), n = len < EXEC_NAME_MAX ? len : EXEC_NAME_MAX;
	size_t room = errlen > strlen(why) + 48 ? errlen - strlen(why) - 48 : 0;
	char part[EXEC_NAME_MAX + 1];
	const char *e;

	for (;;) {
		while (n > 0 && n < len && (name[n] & 0xc0) == 0x80)
			n--;	/* not inside a UTF-8 character */
		memcpy(part, name, n);
		part[n] = '\0';
		e = esc(part);
		if (strlen(e) <= room || n == 0)
			break;
		n /= 2;
	}
	if (n == len)
		snprintf(err, errlen, "cannot run %s: %s", e, why);
	else
		snprintf(err, errlen, "cannot run %s... (%zu bytes): %s", e, len, why);
}

int supervise_run(char *const argv[], const struct supervise_options *opt,
		  const struct supervise_ops *ops, int *status, char *err,
		  size_t errlen)
{
	struct sup s = { .opt = opt, .ops = ops, .listener = -1, .sock = -1,
			 .child_status = -1, .dl = opt->deadline };
	struct sigaction sa = { .sa_handler = on_signal };
	struct seccomp_notif_sizes sizes;
	int rc;

	/* Signals first: one that comes before the guardian runs ends the
	 * run through the loop. */
	interrupted = 0;
	if (s.dl) {
		s.dl->passed = false;
		s.dl->ended_by = 0;
		s.dl->left = 0;
		s.dl->signal = 0;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	/* Before the command starts: out of memory, nothing is left
	 * running (nor the guardian in handover, on our stack). */
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		sizes.seccomp_notif = sizeof(struct seccomp_notif);
	struct seccomp_notif *req = calloc(1, sizes.seccomp_notif > sizeof(*req) ?
					   sizes.seccomp_notif : sizeof(*req));
	if (!req) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = start(&s, argv, err, errlen);
	if (rc < 0) {
		free(req);
		return rc;
	}
	if (s.dl && s.dl->after > 0)
		s.deadline_at = now_sec() + s.dl->after;
	/* Before the first answer (the command's exec waits for one).
	 * Without a guardian (no fork), all works but a killed check. */
	if (guardian_start(&s.guard, s.listener) == 0)
		handover = &s.guard;
	ioctl(s.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);

	for (;;) {
		struct pollfd pfds[2] = { { s.listener, POLLIN, 0 }, { s.sock, POLLIN, 0 } };
		struct pollfd pfd;
		int n = poll(pfds, s.sock >= 0 ? 2 : 1, s.nheld ? 2 : 20);	/* ms */

		pfd = pfds[0];
		if (interrupted)
			break;	/* no guardian to hand over to */
		if (deadline_passed(&s)) {
			at_deadline(&s, req, sizes.seccomp_notif);
			break;
		}
		if (s.sock >= 0 && pfds[1].revents)
			exec_outcome(&s);
		if (n > 0 && (pfd.revents & POLLIN)) {
			memset(req, 0, sizes.seccomp_notif);
			if (ioctl(s.listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
				guardian_hold(&s.guard, req->id);
				on_notification(&s, req);
			}
		}
		if (s.nheld)
			check_held(&s, false);
		if (child_ended) {
			child_ended = 0;
			if (!reap(&s) && !s.nheld)
				break;	/* every descendant has ended */
		}
		if (n > 0 && (pfd.revents & (POLLHUP | POLLERR)) && !s.nheld) {
			/* No task uses the filter any more: wait for the rest. */
			handover = NULL;
			guardian_stop(&s.guard);
			while (reap(&s) && !interrupted) {
				if (deadline_passed(&s)) {
					at_deadline(&s, req, sizes.seccomp_notif);
					break;
				}
				usleep(10000);
			}
			break;
		}
	}
	check_held(&s, true);
	handover = NULL;
	guardian_stop(&s.guard);
	free(req);
	free(s.held);
	free(s.gone);
	close(s.listener);
	if (s.sock >= 0)
		exec_outcome(&s);
	*status = s.child_status;
	if (s.dl && s.dl->passed) {
		s.dl->signal = interrupted;
		interrupted = 0;
	}
	if (interrupted) {
		snprintf(err, errlen, "interrupted by signal %d", (int)interrupted);
		return -EINTR;
	}
	if (s.exec_err) {
		exec_error(argv[0], s.exec_err, err, errlen);
		return s.exec_err;
	}
	return 0;
}
