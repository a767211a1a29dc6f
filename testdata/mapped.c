/*
 * mapped: a program whose files are replaced on disk while it runs, as a
 * package upgrade replaces them.  Built twice, like its library
 * (testdata/plugin/tlmapped.c): testdata/mapped and, with -DRENAMED,
 * testdata/mapped-swap, the same code at the same offsets with other
 * names.  Its main thread blocks for good in
 *
 *	pause <- tlmapped_lib_orig <- tlmapped_block <- mapped_exe_orig <- main
 *
 * (_swap for the other build) after printing "ready".  A tool that names
 * frames from the file now at the path, once the other build was renamed
 * over it, shows the _swap names.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "testdata.h"

#ifdef RENAMED
#define V(x) x##_swap
#else
#define V(x) x##_orig
#endif

void tlmapped_block(void);

NOINLINE static void V(mapped_exe)(void)
{
	printf("ready\n");
	fflush(stdout);
	tlmapped_block();
	BARRIER();
}

int main(void)
{
	alarm(600);
	V(mapped_exe)();
	return 0;
}
