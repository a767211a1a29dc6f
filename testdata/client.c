/*
 * client: the load for leakyserver.  `client PORT N` connects N times, one
 * after another, to 127.0.0.1:PORT, sends "req\n", waits for "ok\n" and
 * closes.  It exits 0 when all N got "ok"; otherwise it says which request
 * failed and why on stderr and exits 1 (2 for bad arguments).  Connecting,
 * sending and receiving each time out after 5 s.
 * Build: gcc -g -O2 -Wall -Wextra -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "testdata.h"

#define TIMEOUT_MS 5000

/* Connects to 127.0.0.1:port within TIMEOUT_MS; returns the fd or -errno. */
static int connect_timeout(int port)
{
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };
	struct sockaddr_in sin;
	struct pollfd pfd;
	socklen_t len;
	int fd, err, r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto out_close;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			err = r == 0 ? -ETIMEDOUT : -errno;
			goto out_close;
		}
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
			err = -errno;
			goto out_close;
		}
		if (err) {
			err = -err;
			goto out_close;
		}
	}
	if (fcntl(fd, F_SETFL, 0) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return err;
}

/* One request; returns 0, or -1 with why filled in. */
static int do_request(int port, char *why, size_t whylen)
{
	char buf[64];
	size_t n = 0;
	int fd;

	fd = connect_timeout(port);
	if (fd < 0) {
		snprintf(why, whylen, "cannot connect to 127.0.0.1:%d: %s", port,
			 strerror(-fd));
		return -1;
	}
	if (send(fd, "req\n", 4, MSG_NOSIGNAL) != 4) {
		snprintf(why, whylen, "cannot send: %s", strerror(errno));
		goto out_close;
	}
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whylen, "no answer: %s",
				 errno == EAGAIN ? "timed out" : strerror(errno));
			goto out_close;
		}
		if (r == 0)
			break;
		n += r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	if (strcmp(buf, "ok\n") != 0) {
		snprintf(why, whylen, "answer was \"%.*s\", not \"ok\"",
			 (int)strcspn(buf, "\n"), buf);
		goto out_close;
	}
	close(fd);
	return 0;

out_close:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	char why[256], *end;
	long port, n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: client PORT N\n");
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end || port < 1 || port > 65535) {
		fprintf(stderr, "client: bad port %s\n", argv[1]);
		return 2;
	}
	n = strtol(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end || n < 0) {
		fprintf(stderr, "client: bad count %s\n", argv[2]);
		return 2;
	}
	for (i = 1; i <= n; i++) {
		if (do_request((int)port, why, sizeof(why)) < 0) {
			fprintf(stderr, "client: request %ld of %ld: %s\n", i, n, why);
			return 1;
		}
	}
	return 0;
}
