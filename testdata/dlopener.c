/*
 * dlopener: a process that maps code after it started.  It prints
 *
 *	ready
 *
 * once its main thread waits; on SIGUSR1 it dlopen()s the library named
 * by its argument (testdata/libtlplugin.so), calls plugin_start(), which
 * starts a thread blocked in plugin_wait(), and prints
 *
 *	loaded
 *
 * A tool that read the process's modules once, at the start, knows nothing
 * of that library: it can neither unwind nor name the new thread's stack.
 *
 * With "now": a first thread is created and joined (a tool that follows
 * thread creation has read the modules by then), the library is loaded at
 * once, and main returns with the plugin's thread still blocked: a leak
 * whose creator's stack runs through the library (plugin_start).
 *	usage: dlopener LIBRARY [now]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdata.h"

NOINLINE static void load(const char *path)
{
	void *lib = dlopen(path, RTLD_NOW);
	int (*start)(void) = lib ? (int (*)(void))dlsym(lib, "plugin_start") : NULL;

	if (!start || start() != 0) {
		fprintf(stderr, "dlopener: %s: %s\n", path, lib ? "no plugin_start" : dlerror());
		exit(1);
	}
	printf("loaded\n");
	fflush(stdout);
}

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	sigset_t set;
	pthread_t t;
	int sig;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "now") != 0)) {
		fprintf(stderr, "usage: dlopener LIBRARY [now]\n");
		return 2;
	}
	if (argc == 3) {
		if (pthread_create(&t, NULL, nothing, NULL) != 0 ||
		    pthread_join(t, NULL) != 0)
			return 1;
		load(argv[1]);
		return 0;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	alarm(600);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (sigwait(&set, &sig) == 0)
			load(argv[1]);
		BARRIER();
	}
}
