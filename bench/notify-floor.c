/*
 * bench/notify-floor: the cheapest supervisor a seccomp notification
 * design allows, as an anchor for `threadleak check` in bench/check.sh.
 *
 *	notify-floor CMD [ARGS...]
 *
 * Runs CMD under a filter that turns every clone3 and clone call into a
 * notification, as threadleak check's does (supervise.c), and answers each
 * at once with CONTINUE from a blocking receive, with the same synchronous
 * wake-ups, recording nothing.  What CMD loses under it is the kernel's
 * round trip alone; what it loses under check beyond that is check's work.
 * Exits with CMD's status (128+N for a signal).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static int pass_fd(int sock, int fd)
{
	char byte = 0, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec io = { &byte, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int take_fd(int sock)
{
	char byte, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec io = { &byte, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	int fd;

	if (recvmsg(sock, &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(fd));
	return fd;
}

int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	int sv[2], status;

	if (argc < 2) {
		fprintf(stderr, "usage: notify-floor CMD [ARGS...]\n");
		return 64;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return perror("socketpair"), 1;
	pid_t pid = fork();
	if (pid == 0) {
		int fd;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    (fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)) < 0 ||
		    pass_fd(sv[1], fd) < 0) {
			perror("notify-floor: seccomp");
			_exit(1);
		}
		close(fd);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	close(sv[1]);
	int fd = take_fd(sv[0]);
	if (fd < 0) {
		waitpid(pid, &status, 0);
		return 1;
	}
	ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL);	/* SYNC_WAKE_UP */
	for (;;) {
		struct seccomp_notif req;
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR)
				continue;
			break;	/* ENOENT and the like: no task uses the filter */
		}
		struct seccomp_notif_resp resp = {
			.id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE,
		};
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
