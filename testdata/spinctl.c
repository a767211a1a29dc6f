/*
 * spinctl: a thread that spins only when told to, for testing the CPU
 * figures of `threadleak top` against the kernel's.  Threads:
 *
 *	main		main_wait(): sigwait for SIGUSR1 / SIGUSR2
 *	spinner		spin_idle(): blocked in read() on a pipe; told to,
 *			spin_worker(): spins in pure user code (no call,
 *			so its stack is one and the same while it spins)
 *	sleeper		sleep_worker(): in a 100000 s nanosleep, never runs
 *
 * It prints, line-buffered:
 *
 *	spinner TID
 *	sleeper TID
 *	nice -20	(or "nice failed: WHY": spinctl starts a session of
 *			 its own and asks for nice -20 for the session's
 *			 autogroup and for the spinner, which needs root
 *			 or CAP_SYS_NICE)
 *	ready		once the spinner and the sleeper are blocked
 *
 * SIGUSR1: the spinner starts spinning (and spins until told to stop).
 * SIGUSR2: the spinner stops; once it is blocked again (state S), main
 * prints "stopped".  The spinner at nice -20 gets most of a CPU however
 * many nice-0 programs (and sessions: with autogroups, the kernel shares
 * the CPUs between sessions first) run beside it, so that a tool watching it can see
 * a thread that keeps a CPU busy, on a loaded machine too.  A test reads
 * the CPU the spinner used from /proc (its schedstat) itself.
 *
 * alarm(600) ends it in any case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "testdata.h"

static int control[2];			/* main -> spinner */
static volatile int spinning;
static volatile unsigned long spins;
static volatile pid_t spinner_tid, sleeper_tid;
static volatile int nice_errno = -1;	/* -1: not tried yet */

/* A session of our own, its autogroup at nice -20: 0 or an errno.  No
 * autogroups in this kernel (no file): nothing to do. */
static int own_autogroup(void)
{
	FILE *f;

	if (setsid() < 0 && getsid(0) != getpid())
		return errno;
	f = fopen("/proc/self/autogroup", "w");
	if (!f)
		return errno == ENOENT ? 0 : errno;
	if (fprintf(f, "-20\n") < 0 || fclose(f) != 0)
		return errno ? errno : EIO;
	return 0;
}

NOINLINE void spin_worker(void)
{
	while (__atomic_load_n(&spinning, __ATOMIC_RELAXED))
		spins++;
	BARRIER();
}

NOINLINE int spin_idle(void)
{
	char c;
	ssize_t n = read(control[0], &c, 1);

	BARRIER();
	return (int)n;
}

static void *spinner_main(void *arg)
{
	(void)arg;
	nice_errno = setpriority(PRIO_PROCESS, (id_t)tl_gettid(), -20) == 0 ? 0 : errno;
	__atomic_store_n(&spinner_tid, tl_gettid(), __ATOMIC_SEQ_CST);
	for (;;) {
		if (spin_idle() <= 0)
			tl_sleep_ms(10);	/* not expected */
		spin_worker();
	}
	return NULL;
}

NOINLINE void *sleep_worker(void *arg)
{
	(void)arg;
	__atomic_store_n(&sleeper_tid, tl_gettid(), __ATOMIC_SEQ_CST);
	for (;;) {
		struct timespec ts = { .tv_sec = 100000, .tv_nsec = 0 };

		nanosleep(&ts, NULL);
		BARRIER();
	}
	return NULL;
}

/* Waits (60 s at most) until thread tid is blocked (state S). */
static int wait_sleeping(pid_t tid)
{
	for (int i = 0; i < 60000; i++) {
		if (tid && tl_thread_state(tid) == 'S')
			return 0;
		tl_sleep_ms(1);
	}
	return -1;
}

NOINLINE void main_wait(const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			__atomic_store_n(&spinning, 1, __ATOMIC_SEQ_CST);
			if (write(control[1], "s", 1) != 1)
				perror("spinctl: write");
		} else if (sig == SIGUSR2) {
			__atomic_store_n(&spinning, 0, __ATOMIC_SEQ_CST);
			if (wait_sleeping(spinner_tid) < 0) {
				fprintf(stderr, "spinctl: the spinner did not stop\n");
				exit(3);
			}
			printf("stopped\n");
			fflush(stdout);
		}
		BARRIER();
	}
}

int main(void)
{
	pthread_t t;
	sigset_t set;
	int group_errno;

	alarm(600);
	group_errno = own_autogroup();
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	/* Blocked before any thread starts: every thread inherits it, so
	 * only main's sigwait takes them. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe(control) < 0) {
		perror("spinctl: pipe");
		return 3;
	}
	if (pthread_create(&t, NULL, spinner_main, NULL) != 0 ||
	    pthread_create(&t, NULL, sleep_worker, NULL) != 0) {
		fprintf(stderr, "spinctl: pthread_create failed\n");
		return 3;
	}
	for (int i = 0; i < 60000 && !(spinner_tid && sleeper_tid); i++)
		tl_sleep_ms(1);
	if (wait_sleeping(spinner_tid) < 0 || wait_sleeping(sleeper_tid) < 0) {
		fprintf(stderr, "spinctl: threads did not block\n");
		return 3;
	}
	printf("spinner %d\nsleeper %d\n", (int)spinner_tid, (int)sleeper_tid);
	if (group_errno)
		printf("nice failed: autogroup: %s\n", strerror(group_errno));
	else if (nice_errno)
		printf("nice failed: %s\n", strerror(nice_errno));
	else
		printf("nice -20\n");
	printf("ready\n");
	main_wait(&set);
	return 0;
}
