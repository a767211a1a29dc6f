/*
 * otherwait: threads blocked in system calls that no wait kind of
 * threadleak covers (kind "other", shown with the call's name).
 *
 *	otherwait FIFO
 *
 *	aiowait		io_getevents() on an AIO context with nothing submitted
 *	fifowait	open() of FIFO for reading, which nobody opens for
 *			writing (the C library's open is the openat call)
 *
 * Once each is surely blocked (its /proc/self/task/TID/syscall shows that
 * call's number and its state is S, on three looks in a row), the main
 * thread prints, line-buffered, one line per thread:
 *
 *	expect TID SYSCALL_NAME SYSCALL_NR FUNCTION
 *	ready
 *
 * and blocks in pause().  Should a blocking call return (EINTR: a tracer
 * disturbed it, which threadleak must not), the thread prints
 * "eintr TID FUNCTION" and blocks again.  Setup errors: a line on stderr,
 * exit 3 (AIO not in this kernel: exit 4).  alarm(600) ends it in any case.
 */
#define _GNU_SOURCE
#include <linux/aio_abi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <pthread.h>

#include "testdata.h"

static const char *fifo;
static volatile pid_t aio_tid, fifo_tid;
static aio_context_t ctx;

static void die(int status, const char *what)
{
	fprintf(stderr, "otherwait: %s: %s\n", what, strerror(errno));
	exit(status);
}

static void report_eintr(const char *function)
{
	printf("eintr %d %s\n", (int)tl_gettid(), function);
}

NOINLINE static void blocked_in_io_getevents(void)
{
	struct io_event ev;

	aio_tid = tl_gettid();
	for (;;) {
		long n = syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, NULL);
		BARRIER();
		if (n < 0 && errno != EINTR)
			die(3, "io_getevents");
		report_eintr(__func__);
	}
}

NOINLINE static void blocked_in_fifo_open(void)
{
	fifo_tid = tl_gettid();
	for (;;) {
		int fd = open(fifo, O_RDONLY | O_CLOEXEC);
		BARRIER();
		if (fd < 0 && errno != EINTR)
			die(3, "open");
		if (fd >= 0)
			close(fd);
		report_eintr(__func__);
	}
}

static void *aiowait(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "aiowait");
	blocked_in_io_getevents();
	return NULL;
}

static void *fifowait(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "fifowait");
	blocked_in_fifo_open();
	return NULL;
}

static long syscall_nr(pid_t tid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (tl_read_text(path, buf, sizeof(buf)) < 0)
		return -2;
	return strtol(buf, NULL, 10);
}

/* TID is in call NR, asleep (S), on three looks in a row. */
static void wait_blocked_in(volatile pid_t *tid, long nr, const char *what)
{
	long deadline = tl_now_ms() + 60000;
	int good = 0;

	while (good < 3) {
		if (*tid && tl_thread_state(*tid) == 'S' && syscall_nr(*tid) == nr)
			good++;
		else
			good = 0;
		if (tl_now_ms() > deadline) {
			errno = ETIMEDOUT;
			die(3, what);
		}
		tl_sleep_ms(5);
	}
}

int main(int argc, char **argv)
{
	pthread_t th;

	if (argc != 2) {
		fprintf(stderr, "usage: otherwait FIFO\n");
		return 2;
	}
	fifo = argv[1];
	alarm(600);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (syscall(SYS_io_setup, 4, &ctx) < 0)
		die(errno == ENOSYS ? 4 : 3, "io_setup");
	if ((errno = pthread_create(&th, NULL, aiowait, NULL)) ||
	    (errno = pthread_create(&th, NULL, fifowait, NULL)))
		die(3, "pthread_create");
	wait_blocked_in(&aio_tid, SYS_io_getevents, "aiowait never blocked in io_getevents");
	wait_blocked_in(&fifo_tid, SYS_openat, "fifowait never blocked in openat");
	printf("expect %d io_getevents %d blocked_in_io_getevents\n", (int)aio_tid,
	       SYS_io_getevents);
	printf("expect %d openat %d blocked_in_fifo_open\n", (int)fifo_tid, SYS_openat);
	printf("ready\n");
	for (;;)
		pause();
}
