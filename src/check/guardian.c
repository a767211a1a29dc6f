/*
 * guardian: a forked process, a socket pair and a shared page; see
 * guardian.h.
 *
 * The page is an open-addressing table of call ids (0: empty), written
 * only by threadleak and read by the guardian only once threadleak is
 * dead, so it needs no locking.  The guardian may be forked from a process
 * that has threads: from the fork on it calls only async-signal-safe
 * functions, and its buffer is allocated before.  The word that ends it
 * goes over a socket with MSG_NOSIGNAL: a guardian already dead must not
 * take threadleak with it (SIGPIPE).
 */
#include "check/guardian.h"
#include "target/proc.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDS GUARDIAN_IDS

static size_t home(uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 55) & (IDS - 1);
}

void guardian_hold(struct guardian *g, uint64_t id)
{
	if (!g->pid || !id)
		return;
	for (size_t n = 0, i = home(id); n < IDS; n++, i = (i + 1) & (IDS - 1)) {
		if (!g->ids[i]) {
			g->ids[i] = id;
			return;
		}
	}
	/* Full: 512 calls held at once; this one is not covered. */
}

void guardian_answered(struct guardian *g, uint64_t id)
{
	if (!g->pid || !id)
		return;
	for (size_t n = 0, i = home(id); n < IDS && g->ids[i]; n++, i = (i + 1) & (IDS - 1)) {
		if (g->ids[i] == id) {
			/* Keep the probe run whole (util.h). */
			g->ids[i] = 0;
			for (size_t j = (i + 1) & (IDS - 1); g->ids[j]; j = (j + 1) & (IDS - 1)) {
				if (probe_stays(i, j, home(g->ids[j])))
					continue;
				g->ids[i] = g->ids[j];
				g->ids[j] = 0;
				i = j;
			}
			return;
		}
	}
}

static void let_go(int listener, uint64_t id)
{
	struct seccomp_notif_resp resp = {
		.id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE,
	};

	/* ENOENT: answered already, or its caller is gone. */
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void say(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));
	(void)n;
}

/* Closes every descriptor from 3 on but a and b (close_range: Linux 5.9;
 * before, one by one up to a bound). */
static void close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (syscall(SYS_close_range, (unsigned)hi + 1, ~0u, 0u) < 0)
		for (int fd = hi + 1; fd < 65536; fd++)
			close(fd);
	for (int fd = 3; fd < hi; fd++)
		if (fd != lo)
			close(fd);
}

static void guard(int listener, int rd, const uint64_t *ids, void *req, size_t reqsize)
{
	char c;
	ssize_t n;

	prctl(PR_SET_NAME, "tl-guardian", 0, 0, 0);
	/* Out of 0-2 first (threadleak may have started with them closed),
	 * then standard input and output to /dev/null; standard error stays:
	 * the one line says what happened. */
	listener = fcntl(listener, F_DUPFD, 3);
	rd = fcntl(rd, F_DUPFD, 3);
	if (listener < 0 || rd < 0)
		_exit(1);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	close_others(listener, rd);
	/* A terminal's ^C or ^\, a hang-up or a SIGTERM to the group:
	 * threadleak handles those, and the guardian must outlive it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	do
		n = read(rd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'q')
		_exit(0);
	/* 'h': handed over by a signal to threadleak, which said so. */
	if (n != 1)
		say("threadleak: check ended before its command: the command runs on, unchecked\n");
	for (size_t i = 0; i < IDS; i++)
		if (ids[i])
			let_go(listener, ids[i]);
	for (;;) {
		struct pollfd p = { listener, POLLIN, 0 };
		if (poll(&p, 1, -1) < 0)
			continue;
		if (p.revents & POLLIN) {
			memset(req, 0, reqsize);
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				let_go(listener, ((struct seccomp_notif *)req)->id);
		} else if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			_exit(0);	/* no task uses the filter any more */
		}
	}
}

int guardian_start(struct guardian *g, int listener)
{
	struct seccomp_notif_sizes sizes;
	int fds[2];

	memset(g, 0, sizeof(*g));
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		sizes.seccomp_notif = sizeof(struct seccomp_notif);
	size_t reqsize = sizes.seccomp_notif > sizeof(struct seccomp_notif) ?
			 sizes.seccomp_notif : sizeof(struct seccomp_notif);
	void *req = calloc(1, reqsize);
	uint64_t *ids = mmap(NULL, IDS * sizeof(*ids), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!req || ids == MAP_FAILED ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
		int err = errno ? errno : ENOMEM;
		free(req);
		if (ids != MAP_FAILED)
			munmap(ids, IDS * sizeof(*ids));
		return -err;
	}
	int pid = fork();
	if (pid == 0) {
		close(fds[1]);
		guard(listener, fds[0], ids, req, reqsize);
	}
	int err = errno;
	free(req);
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		munmap(ids, IDS * sizeof(*ids));
		return -err;
	}
	g->pid = pid;
	g->sock = fds[1];
	g->ids = ids;
	return 0;
}

void guardian_hand_over(const struct guardian *g)
{
	if (!g->pid)
		return;
	ssize_t n = send(g->sock, "h", 1, MSG_NOSIGNAL);
	(void)n;
}

/* Our side of a guardian that has ended (reaped). */
static void forget(struct guardian *g)
{
	close(g->sock);
	munmap(g->ids, IDS * sizeof(*g->ids));
	memset(g, 0, sizeof(*g));
}

void guardian_stop(struct guardian *g)
{
	if (!g->pid)
		return;
	ssize_t n = send(g->sock, "q", 1, MSG_NOSIGNAL);
	(void)n;
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	forget(g);
}

bool guardian_alone(const struct guardian *g)
{
	char path[64], buf[64];
	int *tids;
	size_t n;
	bool alone;

	if (!g->pid || proc_list_tasks(getpid(), &tids, &n) < 0)
		return false;
	/* Each thread lists the children it is the parent of (orphans
	 * come to one of ours).  Without the file, say no. */
	alone = true;
	for (size_t i = 0; i < n && alone; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", tids[i]);
		if (read_file_buf(path, buf, sizeof(buf)) < 0) {
			alone = false;
			break;
		}
		char *p = buf, *end;
		for (long pid; alone && (pid = strtol(p, &end, 10), end != p); p = end)
			alone = pid == g->pid;
	}
	free(tids);
	return alone;
}

bool guardian_reaped(struct guardian *g, int pid)
{
	if (!g->pid || pid != g->pid)
		return false;
	forget(g);
	return true;
}
