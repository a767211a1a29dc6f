/*
 * fpstale: frame-pointer code whose locals hold a stale frame, for
 * src/fpguess.c.  Built with -fno-omit-frame-pointer (Makefile).
 *
 * Thread "stale" runs outer(), which first calls deep() (deep -> deeper ->
 * deepest leave their frames, saved rbp and return addresses, on the stack)
 * and then blocked_read(), whose 512-byte buffer lies over those dead
 * frames and which blocks in read() on a pipe nobody writes.  Its stack is
 * read, blocked_read, outer, start_thread, clone3; a frame-base guess that
 * took the dead frame of deep() for blocked_read's would show deep() too.
 * Prints "ready" once the thread is blocked.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "testdata.h"

static int fds[2];
static volatile pid_t stale_tid;

NOINLINE void deepest(volatile char *p)
{
	p[1] = 2;
	BARRIER();
}

NOINLINE void deeper(volatile char *p)
{
	p[0] = 1;
	deepest(p);
	BARRIER();
}

NOINLINE void deep(void)
{
	volatile char b[32];

	deeper(b);
	BARRIER();
}

NOINLINE void blocked_read(void)
{
	char buf[512];

	if (read(fds[0], buf, sizeof(buf)) > 0)
		puts(buf);
	BARRIER();
}

NOINLINE void *outer(void *arg)
{
	stale_tid = tl_gettid();
	deep();
	blocked_read();
	BARRIER();
	return arg;
}

int main(void)
{
	pthread_t t;

	if (pipe(fds) < 0 || pthread_create(&t, NULL, outer, NULL) != 0) {
		perror("fpstale");
		return 2;
	}
	pthread_setname_np(t, "stale");
	while (!stale_tid || tl_thread_state(stale_tid) != 'S')
		tl_sleep_ms(1);
	printf("ready\n");
	fflush(stdout);
	pthread_join(t, NULL);
	return 0;
}
