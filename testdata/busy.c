/*
 * busy: NSPIN threads spinning in pure user code (spin_worker) and NSLEEP
 * threads asleep in nanosleep (sleep_worker); the main thread waits in
 * pause (main_wait).  Prints "ready" once every sleeper is asleep.
 *
 *	usage: busy [NSPIN [NSLEEP]]	defaults: 2 spinners, 1 sleeper
 *
 * The tests use it for unwinder agreement (few threads) and for killing
 * threadleak mid-capture (thousands of sleepers).  alarm(600) ends it.
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
#include <sys/syscall.h>

#include "testdata.h"

struct worker {
	volatile pid_t tid;
	pthread_t thread;
};

static volatile unsigned long spins;

NOINLINE void *spin_worker(void *arg)
{
	struct worker *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	for (;;)
		spins++;
	return NULL;
}

NOINLINE void *sleep_worker(void *arg)
{
	struct worker *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	for (;;) {
		struct timespec ts = { .tv_sec = 100000, .tv_nsec = 0 };

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

static long parse_count(const char *s, const char *what)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < 0 || n > 100000) {
		fprintf(stderr, "busy: bad %s count: %s\n", what, s);
		exit(64);
	}
	return n;
}

int main(int argc, char **argv)
{
	long nspin = argc > 1 ? parse_count(argv[1], "spinner") : 2;
	long nsleep = argc > 2 ? parse_count(argv[2], "sleeper") : 1;
	struct worker *w = calloc((size_t)(nspin + nsleep) + 1, sizeof(*w));
	pthread_attr_t attr;
	long i, tries;

	alarm(600);
	if (!w) {
		fprintf(stderr, "busy: out of memory\n");
		return 3;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (i = 0; i < nspin + nsleep; i++) {
		int err = pthread_create(&w[i].thread, &attr,
					 i < nspin ? spin_worker : sleep_worker, &w[i]);

		if (err) {
			fprintf(stderr, "busy: pthread_create: %s\n", strerror(err));
			return 3;
		}
	}
	/* every sleeper asleep (10 s at most), every spinner started */
	for (i = 0; i < nspin + nsleep; i++) {
		for (tries = 0; tries < 10000; tries++) {
			pid_t tid = __atomic_load_n(&w[i].tid, __ATOMIC_SEQ_CST);

			if (tid && (i < nspin || tl_thread_state(tid) == 'S'))
				break;
			usleep(1000);
		}
		if (tries == 10000) {
			fprintf(stderr, "busy: thread %ld did not start\n", i);
			return 3;
		}
	}
	printf("ready\n");
	fflush(stdout);
	main_wait();
	return 0;
}
