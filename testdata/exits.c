/*
 * exits: starts NTHREADS sleeping threads (default 8), prints "ready", and
 * exits DELAY_MS milliseconds later, threads and all (exit_group).  Used to
 * exit while threadleak is capturing it.
 *
 *	usage: exits DELAY_MS [NTHREADS]
 *	       exits leader [NTHREADS]
 *
 * "leader": the main thread calls pthread_exit after "ready", as some
 * daemons do; the threads run on, the leader a zombie (until alarm()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testdata.h"

NOINLINE void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { .tv_sec = 1000, .tv_nsec = 0 };

		nanosleep(&ts, NULL);
		BARRIER();
	}
	return NULL;
}

NOINLINE void exit_after(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	exit(0);
}

int main(int argc, char **argv)
{
	long delay, n, i;
	char *end;

	alarm(600);
	if (argc < 2) {
		fprintf(stderr, "usage: exits DELAY_MS [NTHREADS]\n");
		return 64;
	}
	bool leader = strcmp(argv[1], "leader") == 0;
	delay = leader ? 0 : strtol(argv[1], &end, 10);
	if (!leader && (*end || delay < 0)) {
		fprintf(stderr, "exits: bad delay: %s\n", argv[1]);
		return 64;
	}
	n = argc > 2 ? strtol(argv[2], &end, 10) : 8;
	if (argc > 2 && (*end || n < 0 || n > 100000)) {
		fprintf(stderr, "exits: bad thread count: %s\n", argv[2]);
		return 64;
	}
	for (i = 0; i < n; i++) {
		pthread_attr_t attr;
		pthread_t t;
		int err;

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		err = pthread_create(&t, &attr, sleeper, NULL);
		pthread_attr_destroy(&attr);
		if (err) {
			fprintf(stderr, "exits: pthread_create: %s\n", strerror(err));
			return 3;
		}
	}
	printf("ready\n");
	fflush(stdout);
	if (leader)
		pthread_exit(NULL);
	exit_after(delay);
	return 0;
}
