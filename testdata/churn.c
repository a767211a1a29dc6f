/*
 * churn: NCREATORS threads (default 2) create and join short-lived threads
 * as fast as they can, forever; the main thread waits in pause.  Prints
 * "ready" once every creator has gone round 100 times.  threadleak must
 * cope with threads appearing and vanishing while it captures, and must
 * leave this process running.
 *
 *	usage: churn [NCREATORS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdata.h"

#define MAX_CREATORS 64

static volatile unsigned long rounds[MAX_CREATORS];
static volatile unsigned long work;

NOINLINE void *short_lived(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&work, 1, __ATOMIC_RELAXED);
	return NULL;
}

NOINLINE void *churn_loop(void *arg)
{
	volatile unsigned long *count = arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		pthread_t t;

		if (pthread_create(&t, &attr, short_lived, NULL) == 0)
			pthread_join(t, NULL);
		(*count)++;
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

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	int i, tries;

	alarm(600);
	if (n < 1 || n > MAX_CREATORS) {
		fprintf(stderr, "churn: bad creator count\n");
		return 64;
	}
	for (i = 0; i < n; i++) {
		pthread_t t;
		int err = pthread_create(&t, NULL, churn_loop, (void *)&rounds[i]);

		if (err) {
			fprintf(stderr, "churn: pthread_create: %s\n", strerror(err));
			return 3;
		}
	}
	for (i = 0; i < n; i++) {
		for (tries = 0; rounds[i] < 100 && tries < 10000; tries++)
			usleep(1000);
		if (rounds[i] < 100) {
			fprintf(stderr, "churn: creator %d is not churning\n", i);
			return 3;
		}
	}
	printf("ready\n");
	fflush(stdout);
	main_wait();
	return 0;
}
