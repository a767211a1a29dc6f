/*
 * sigstack: threads blocked inside signal handlers, the stack switches a
 * snapshot must follow through the kernel's signal frame:
 *
 *	alt	a handler running on an alternate signal stack (sigaltstack),
 *		blocked in read() on a pipe from in_alt_handler; below the
 *		signal frame, the interrupted code (interrupted_alt, blocked
 *		in a read of its own) on the thread's ordinary stack;
 *	plain	the same on the ordinary stack (no SA_ONSTACK):
 *		in_plain_handler over interrupted_plain.
 *
 * Each thread blocks in a read, then its signal arrives: the read is
 * interrupted (SA_RESTART would restart it after the handler) and the
 * handler blocks in a read of its own.  Once both handlers are blocked,
 * prints "expect TID HANDLER_FN INTERRUPTED_FN" a thread and "ready", and
 * the main thread pauses (alarm(300) ends it in any case).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "testdata.h"

static int pipe_alt[2], pipe_plain[2], pipe_block[2];
static volatile pid_t tid_alt, tid_plain, in_handler_alt, in_handler_plain;

NOINLINE static void in_alt_handler(void)
{
	char c;

	in_handler_alt = tl_gettid();
	if (read(pipe_alt[0], &c, 1) < 0)
		BARRIER();
	BARRIER();
}

NOINLINE static void in_plain_handler(void)
{
	char c;

	in_handler_plain = tl_gettid();
	if (read(pipe_plain[0], &c, 1) < 0)
		BARRIER();
	BARRIER();
}

NOINLINE static void on_usr1(int sig)
{
	(void)sig;
	in_alt_handler();
	BARRIER();
}

NOINLINE static void on_usr2(int sig)
{
	(void)sig;
	in_plain_handler();
	BARRIER();
}

NOINLINE static void interrupted_alt(void)
{
	char c;

	if (read(pipe_block[0], &c, 1) < 0)
		BARRIER();
	BARRIER();
}

NOINLINE static void interrupted_plain(void)
{
	char c;

	if (read(pipe_block[0], &c, 1) < 0)
		BARRIER();
	BARRIER();
}

static void *run_alt(void *arg)
{
	stack_t ss = { .ss_size = 64 * 1024 };

	(void)arg;
	ss.ss_sp = malloc(ss.ss_size);
	if (!ss.ss_sp || sigaltstack(&ss, NULL) < 0) {
		perror("sigaltstack");
		exit(3);
	}
	tid_alt = tl_gettid();
	interrupted_alt();
	return NULL;
}

static void *run_plain(void *arg)
{
	(void)arg;
	tid_plain = tl_gettid();
	interrupted_plain();
	return NULL;
}

int main(void)
{
	struct sigaction sa = { 0 };
	pthread_t a, b;

	alarm(300);
	if (pipe(pipe_alt) < 0 || pipe(pipe_plain) < 0 || pipe(pipe_block) < 0) {
		perror("pipe");
		return 3;
	}
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&a, NULL, run_alt, NULL);
	pthread_create(&b, NULL, run_plain, NULL);
	while (!tid_alt || !tid_plain || tl_thread_state(tid_alt) != 'S' ||
	       tl_thread_state(tid_plain) != 'S')
		tl_sleep_ms(1);
	tl_sleep_ms(50);	/* surely in read() */
	pthread_kill(a, SIGUSR1);
	pthread_kill(b, SIGUSR2);
	while (!in_handler_alt || !in_handler_plain ||
	       tl_thread_state(tid_alt) != 'S' || tl_thread_state(tid_plain) != 'S')
		tl_sleep_ms(1);
	tl_sleep_ms(50);
	printf("expect %d in_alt_handler interrupted_alt\n", (int)tid_alt);
	printf("expect %d in_plain_handler interrupted_plain\n", (int)tid_plain);
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}
