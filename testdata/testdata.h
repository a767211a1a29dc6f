/*
 * testdata.h: what every program that gets itself stuck needs: functions
 * that really appear on the stack (never inlined, cloned or tail-called),
 * and a compiler barrier after a blocking call.
 */
#ifndef THREADLEAK_TESTDATA_H
#define THREADLEAK_TESTDATA_H

/* noipa: no inlining, no cloning (.constprop/.isra), no identical-code
 * folding.  BARRIER keeps the call before it from being a tail call. */
#if defined(__clang__)
#define NOINLINE __attribute__((noinline, used))
#else
#define NOINLINE __attribute__((noipa, noinline, used))
#endif
#define BARRIER() __asm__ volatile("" ::: "memory")

#endif
