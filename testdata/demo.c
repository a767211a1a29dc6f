/*
 * demo: a small "leaky server" for `make demo`.
 *
 * Every 100 ms it takes a request and hands it to a new detached worker
 * thread, handle_request(), which waits in wait_for_reply() on a condition
 * variable that nobody ever signals: a thread leak, one thread per request,
 * up to a cap of 200.  Besides the leak it has what a server has: three
 * log_reader threads blocked reading pipes, an accept_loop on a TCP
 * loopback socket, and a stats_spinner busy in user code.  It prints
 * "ready" on stdout once about 20 workers have leaked, and keeps leaking.
 * alarm(600) ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "testdata.h"

#define LEAK_EVERY_MS 100
#define READY_AFTER 20
#define LEAK_CAP 200
#define LOG_READERS 3

struct request {
	int id;
	char path[32];
};

static pthread_mutex_t reply_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reply_ready = PTHREAD_COND_INITIALIZER;
static int replies;		/* nobody ever sends one: the bug */
static volatile unsigned long stats[64];

NOINLINE int wait_for_reply(struct request *req)
{
	pthread_mutex_lock(&reply_lock);
	while (replies <= req->id - req->id)	/* always true */
		pthread_cond_wait(&reply_ready, &reply_lock);
	BARRIER();
	pthread_mutex_unlock(&reply_lock);
	return 0;
}

NOINLINE void *handle_request(void *arg)
{
	struct request *req = arg;
	int r;

	pthread_setname_np(pthread_self(), "worker");
	r = wait_for_reply(req);
	BARRIER();
	free(req);
	return r ? NULL : arg;
}

NOINLINE void *log_reader(void *arg)
{
	int fd = (int)(long)arg;
	char buf[256];

	pthread_setname_np(pthread_self(), "log-reader");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		BARRIER();
	}
	return NULL;
}

NOINLINE void *accept_loop(void *arg)
{
	int lfd = (int)(long)arg;

	pthread_setname_np(pthread_self(), "acceptor");
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			break;
		BARRIER();
	}
	return NULL;
}

NOINLINE void *stats_spinner(void *arg)
{
	unsigned long i = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "stats");
	for (;;) {
		stats[i % 64] += i;
		i++;
	}
	return NULL;
}

static void start_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (err) {
		fprintf(stderr, "demo: pthread_create: %s\n", strerror(err));
		exit(3);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

NOINLINE void serve_forever(void)
{
	int id;

	for (id = 1;; id++) {
		if (id <= LEAK_CAP) {
			struct request *req = calloc(1, sizeof(*req));

			if (!req)
				exit(3);
			req->id = id;
			snprintf(req->path, sizeof(req->path), "/api/item/%d", id);
			start_thread(handle_request, req);
		}
		if (id == READY_AFTER) {
			printf("ready\n");
			fflush(stdout);
		}
		sleep_ms(LEAK_EVERY_MS);
		BARRIER();
	}
}

int main(void)
{
	static int log_pipes[LOG_READERS][2];
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int i, lfd;

	alarm(600);
	for (i = 0; i < LOG_READERS; i++) {
		if (pipe2(log_pipes[i], O_CLOEXEC) < 0) {
			perror("demo: pipe");
			return 3;
		}
		start_thread(log_reader, (void *)(long)log_pipes[i][0]);
	}

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0) {
		perror("demo: listening socket");
		return 3;
	}
	start_thread(accept_loop, (void *)(long)lfd);
	start_thread(stats_spinner, NULL);

	fprintf(stderr, "demo: leaky server, pid %d, listening on 127.0.0.1:%d, "
		"leaking a thread every %d ms\n", (int)getpid(),
		ntohs(sin.sin_port), LEAK_EVERY_MS);
	serve_forever();
	return 0;
}
