/*
 * nothreads: a single-threaded target that waits in pause() inside
 * nothreads_wait (kind "signal").  Prints "expect PID signal nothreads_wait"
 * and "ready".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "testdata.h"

NOINLINE void nothreads_wait(void)
{
	for (;;) {
		pause();
		BARRIER();
	}
}

int main(void)
{
	alarm(600);
	printf("expect %d signal nothreads_wait\n", (int)getpid());
	printf("ready\n");
	fflush(stdout);
	nothreads_wait();
	return 0;
}
