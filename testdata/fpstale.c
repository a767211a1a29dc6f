/*
 * fpstale: frame-pointer code whose locals hold a stale frame, for
 * src/stacks/fpguess.c.  Built with -fno-omit-frame-pointer (Makefile).
 *
 * Thread "stale" runs outer(), which first calls deep() (deep -> deeper ->
 * deepest leave their frames, saved rbp and return addresses, on the stack)
 * and then blocked_read(), whose 512-byte buffer lies over those dead
 * frames and which blocks in read() on a pipe nobody writes.  Its stack is
 * read, blocked_read, outer, start_thread, clone3; a frame-base guess that
 * took the dead frame of deep() for blocked_read's would show deep() too.
 * Thread "stale-ind" does the same, but deep() calls deeper() through a
 * pointer: a call whose target the code does not say.
 * Prints "ready" once both threads are blocked.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "testdata.h"

static int fds[2];
static volatile pid_t tids[2];

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

NOINLINE void deep(int indirect)
{
	volatile char b[32];
	void (*volatile call)(volatile char *) = deeper;

	if (indirect)
		call(b);
	else
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
	int indirect = arg != NULL;

	tids[indirect] = tl_gettid();
	deep(indirect);
	blocked_read();
	BARRIER();
	return arg;
}

int main(void)
{
	static const char *const names[2] = { "stale", "stale-ind" };
	pthread_t t[2];

	if (pipe(fds) < 0) {
		perror("fpstale: pipe");
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		if (pthread_create(&t[i], NULL, outer, i ? (void *)1 : NULL) != 0) {
			perror("fpstale: pthread_create");
			return 2;
		}
		pthread_setname_np(t[i], names[i]);
	}
	for (int i = 0; i < 2; i++)
		while (!tids[i] || tl_thread_state(tids[i]) != 'S')
			tl_sleep_ms(1);
	printf("ready\n");
	fflush(stdout);
	pthread_join(t[0], NULL);
	return 0;
}
