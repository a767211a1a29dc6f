/*
 * manylibs: a process with as many shared libraries as its descriptor
 * limit allows files open, as a plugin host or a big C++ program has:
 * it dlopen()s every path given (one a line) in the file named by its
 * argument, each its own inode, then has each thread block in a function
 * of its own and prints
 *
 *	loaded N
 *	ready
 *
 * and blocks in manylibs_wait() (pause).  No descriptor stays open: the
 * loader closes each library once it is mapped, so any ulimit -n holds
 * the mappings.  A tool that keeps a descriptor per module does not.
 *	usage: manylibs LIST
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdata.h"

NOINLINE static void manylibs_wait(void)
{
	for (;;) {
		pause();
		BARRIER();
	}
}

NOINLINE static int load_all(const char *list)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(list, "re");

	if (!f) {
		perror(list);
		exit(3);
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (!dlopen(line, RTLD_NOW | RTLD_LOCAL)) {
			fprintf(stderr, "manylibs: %s\n", dlerror());
			exit(3);
		}
		n++;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: manylibs LIST\n");
		return 2;
	}
	alarm(600);
	printf("loaded %d\n", load_all(argv[1]));
	printf("ready\n");
	fflush(stdout);
	manylibs_wait();
	return 0;
}
