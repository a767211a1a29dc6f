/*
 * tlmapped: the library testdata/mapped is linked with.  Built twice:
 * as is (libtlmapped.so) and with -DRENAMED (libtlmapped-swap.so), the
 * same code at the same offsets with other names (each as long as its
 * counterpart), both with the soname libtlmapped.so, so that either can
 * be renamed over the other while a process has one mapped.
 * tlmapped_block() blocks for good in tlmapped_lib_orig (or _swap).
 */
#include <unistd.h>

#include "../testdata.h"

#ifdef RENAMED
#define V(x) x##_swap
#else
#define V(x) x##_orig
#endif

NOINLINE void V(tlmapped_lib)(void)
{
	for (;;) {
		pause();
		BARRIER();
	}
}

NOINLINE void tlmapped_block(void)
{
	V(tlmapped_lib)();
	BARRIER();
}
