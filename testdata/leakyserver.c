/*
 * leakyserver: a TCP server on 127.0.0.1 that leaks one thread per request,
 * the target for testing `threadleak diff`.
 *
 * At start it has, besides the main thread:
 *
 *	acceptor	accept_loop(), blocked in accept()
 *	pool  x4	pool_worker() -> pool_wait(), on a condvar (never any work)
 *	ticker		ticker_loop(), in a one-hour nanosleep()
 *
 * It binds port 0 and prints, line-buffered, "port N" and then, once each
 * of those threads is surely blocked (state S in its expected system call,
 * stable over three looks), "ready".  The main thread then waits in
 * main_wait() (pause).
 *
 * Each accepted connection gets a detached thread named "handler" running
 * handle_request(): it reads one line, the request, and then waits in
 * wait_for_reply() on a condvar that nobody ever signals: the leak, one
 * thread per request.  The acceptor writes "ok\n" back and closes the
 * connection only after it has seen that handler blocked in futex with
 * state S, so a client that got N "ok"s can rely on N more threads, all
 * blocked in wait_for_reply().  A connection that closes, or sends no line
 * within 5 s, gets no "ok" and leaks nothing.  The request "quit" makes
 * the server exit(0).
 *
 * If setup fails, or a handler does not get stuck within 5 s, it says why on
 * stderr and exits with status 3.  alarm(600) ends it in any case.
 * Build: gcc -g -O2 -Wall -Wextra -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "testdata.h"

#define POOL_THREADS 4
#define START_THREADS (1 + POOL_THREADS + 1)	/* acceptor, pool, ticker */
#define TIMEOUT_MS 5000
#define STACK_SIZE (256 * 1024)

/* One request, shared by the acceptor and its handler under reply_lock. */
enum req_state { REQ_READING, REQ_WAITING, REQ_GONE };

struct request {
	int fd;			/* owned by the acceptor, which closes it */
	pid_t tid;		/* the handler's */
	enum req_state state;
};

/* A start thread, for the readiness check. */
struct stuck {
	pid_t tid;		/* 0 until the thread has started */
	const char *function;
	const long *syscalls;	/* expected, ended by -1 */
};

static pthread_mutex_t reply_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reply_ready = PTHREAD_COND_INITIALIZER;	/* never signalled */
static pthread_cond_t handoff = PTHREAD_COND_INITIALIZER;	/* handler -> acceptor */
static int replies;		/* nobody ever sends one: the bug */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static int pool_work;		/* never any */

static const long futex_calls[] = { SYS_futex, -1 };
static const long accept_calls[] = {
#ifdef SYS_accept
	SYS_accept,
#endif
#ifdef SYS_accept4
	SYS_accept4,
#endif
	-1
};
static const long sleep_calls[] = {
#ifdef SYS_nanosleep
	SYS_nanosleep,
#endif
#ifdef SYS_clock_nanosleep
	SYS_clock_nanosleep,
#endif
	-1
};

static struct stuck start_threads[START_THREADS];

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "leakyserver: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

/* Returns 1 when thread tid is in state S inside one of syscalls. */
static int is_blocked(pid_t tid, const long *syscalls, char *why, size_t whylen)
{
	char path[64], buf[200];
	const long *sc;
	long nr;
	char state;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (sscanf(buf, "%ld", &nr) != 1) {
		snprintf(why, whylen, "syscall is \"%s\"", buf);
		return 0;
	}
	for (sc = syscalls; *sc >= 0 && *sc != nr; sc++)
		;
	if (*sc < 0) {
		snprintf(why, whylen, "in syscall %ld, not the expected one", nr);
		return 0;
	}
	state = tl_thread_state(tid);
	if (state != 'S') {
		snprintf(why, whylen, "state %c, not S", state);
		return 0;
	}
	return 1;
}

/* Waits until tid is blocked, stable over three looks; 0 or -ETIMEDOUT. */
static int wait_until_blocked(pid_t tid, const long *syscalls, char *why, size_t whylen)
{
	long deadline = tl_now_ms() + TIMEOUT_MS;
	int good = 0;

	while (tl_now_ms() < deadline) {
		if (!is_blocked(tid, syscalls, why, whylen))
			good = 0;
		else if (++good >= 3)
			return 0;
		tl_sleep_ms(1);
	}
	return -ETIMEDOUT;
}

static void start_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	err = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (err)
		die("pthread_create: %s", strerror(err));
}

static void arm(struct stuck *s)
{
	__atomic_store_n(&s->tid, tl_gettid(), __ATOMIC_SEQ_CST);
}

/* Blocks forever: the leak.  Called with reply_lock held, returns without. */
NOINLINE int wait_for_reply(struct request *req)
{
	req->state = REQ_WAITING;
	pthread_cond_signal(&handoff);
	while (replies <= 0)
		pthread_cond_wait(&reply_ready, &reply_lock);
	BARRIER();
	pthread_mutex_unlock(&reply_lock);
	return 0;
}

/* Reads one line into buf; returns its length without the newline, or -1. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
		n++;
	}
	return -1;
}

NOINLINE void *handle_request(void *arg)
{
	struct request *req = arg;
	char line[256];
	int n;

	pthread_setname_np(pthread_self(), "handler");
	n = read_line(req->fd, line, sizeof(line));
	BARRIER();
	if (n >= 0 && strcmp(line, "quit") == 0)
		exit(0);
	pthread_mutex_lock(&reply_lock);
	req->tid = tl_gettid();
	if (n < 0) {		/* no complete request: no leak */
		req->state = REQ_GONE;
		pthread_cond_signal(&handoff);
		pthread_mutex_unlock(&reply_lock);
		return NULL;
	}
	wait_for_reply(req);
	BARRIER();
	return NULL;
}

/* Hands fd to a new handler; answers "ok" once that handler is stuck. */
NOINLINE void serve_connection(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };
	struct request *req;
	enum req_state state;
	char why[256];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	req = calloc(1, sizeof(*req));	/* the handler keeps it forever */
	if (!req)
		die("out of memory");
	req->fd = fd;
	req->state = REQ_READING;
	start_thread(handle_request, req);

	pthread_mutex_lock(&reply_lock);
	while (req->state == REQ_READING)
		pthread_cond_wait(&handoff, &reply_lock);
	state = req->state;
	pthread_mutex_unlock(&reply_lock);
	BARRIER();

	if (state == REQ_WAITING) {
		if (wait_until_blocked(req->tid, futex_calls, why, sizeof(why)) < 0)
			die("handler %d did not get stuck in wait_for_reply: %s",
			    (int)req->tid, why);
		send(fd, "ok\n", 3, MSG_NOSIGNAL);
	} else {
		free(req);	/* its handler has returned */
	}
	close(fd);
}

NOINLINE void *accept_loop(void *arg)
{
	int lfd = (int)(long)arg;

	pthread_setname_np(pthread_self(), "acceptor");
	arm(&start_threads[0]);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		BARRIER();
		if (fd >= 0)
			serve_connection(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			die("accept: %s", strerror(errno));
	}
	return NULL;
}

NOINLINE void pool_wait(void)
{
	pthread_mutex_lock(&pool_lock);
	while (pool_work <= 0)
		pthread_cond_wait(&pool_cond, &pool_lock);
	BARRIER();
	pthread_mutex_unlock(&pool_lock);
}

NOINLINE void *pool_worker(void *arg)
{
	pthread_setname_np(pthread_self(), "pool");
	arm(arg);
	for (;;) {
		pool_wait();
		BARRIER();
	}
	return NULL;
}

NOINLINE void *ticker_loop(void *arg)
{
	pthread_setname_np(pthread_self(), "ticker");
	arm(arg);
	for (;;) {
		struct timespec ts = { .tv_sec = 3600 };

		nanosleep(&ts, NULL);
		BARRIER();
	}
	return NULL;
}

NOINLINE void main_wait(void)
{
	for (;;) {
		pause();
		BARRIER();
	}
}

static void wait_until_ready(void)
{
	char why[256];
	int i;

	for (i = 0; i < START_THREADS; i++) {
		struct stuck *s = &start_threads[i];
		long deadline = tl_now_ms() + TIMEOUT_MS;
		pid_t tid;

		while ((tid = __atomic_load_n(&s->tid, __ATOMIC_SEQ_CST)) == 0) {
			if (tl_now_ms() >= deadline)
				die("%s thread did not start", s->function);
			tl_sleep_ms(1);
		}
		if (wait_until_blocked(tid, s->syscalls, why, sizeof(why)) < 0)
			die("thread %d (%s) did not get stuck: %s", (int)tid,
			    s->function, why);
	}
}

int main(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int i, lfd;

	alarm(600);
	setvbuf(stdout, NULL, _IOLBF, 0);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0)
		die("listening socket: %s", strerror(errno));
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);

	start_threads[0] = (struct stuck){ 0, "accept_loop", accept_calls };
	for (i = 1; i <= POOL_THREADS; i++)
		start_threads[i] = (struct stuck){ 0, "pool_wait", futex_calls };
	start_threads[START_THREADS - 1] = (struct stuck){ 0, "ticker_loop", sleep_calls };

	start_thread(accept_loop, (void *)(long)lfd);
	for (i = 1; i <= POOL_THREADS; i++)
		start_thread(pool_worker, &start_threads[i]);
	start_thread(ticker_loop, &start_threads[START_THREADS - 1]);

	wait_until_ready();
	printf("ready\n");
	fflush(stdout);
	main_wait();
	return 0;
}
