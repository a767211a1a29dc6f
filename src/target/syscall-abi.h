/*
 * syscall-abi: a system call as a thread made it, in its own ABI (x86_64,
 * or i386 for a 32-bit process or an int 0x80), turned into the x86_64
 * call of the same meaning, which classify's tables are keyed by.
 *
 * i386 numbers map by name (scripts/gen-syscall-names.sh: read is 3 there,
 * futex_time64 is futex); its two multiplexers are opened: socketcall
 * (102: recv, accept, connect... whose arguments are an array of 32-bit
 * words in the caller's memory, which the caller reads) and ipc (117:
 * semop, msgrcv...).  Names are strace's: socketcall(SYS_RECV) is "recv".
 * Pure: no /proc, no memory reads.
 */
#ifndef THREADLEAK_SYSCALL_ABI_H
#define THREADLEAK_SYSCALL_ABI_H

#include <stdint.h>

#include "target/regs.h"

/* The x86_64 "number" of a call that has no x86_64 twin: no rule of
 * classify matches it, and it is not "no call" (-1). */
#define SYSCALL_NO_TWIN (1L << 20)

struct syscall_call {
	enum arch abi;		/* the ABI the thread called in */
	long nr;		/* its number in that ABI; -1: no call */
	long x86_64;		/* the x86_64 call of the same meaning; -1: no
				   call; SYSCALL_NO_TWIN */
	uint64_t args[6];	/* its arguments, as that x86_64 call takes them */
	const char *name;	/* "recv", "futex"; NULL when unknown */
	uint64_t mem_args;	/* socketcall: where its arguments are; 0 */
	int nmem_args;		/* how many 32-bit words there (at most 6) */
};

/* Decodes call nr of ABI abi with its six register arguments (NULL: none
 * known).  A socketcall's arguments are in memory: the caller reads
 * nmem_args words at mem_args and hands them to syscall_decode_mem(). */
void syscall_decode(enum arch abi, long nr, const uint64_t *args,
		    struct syscall_call *out);
void syscall_decode_mem(struct syscall_call *c, const uint32_t *words);

/* Names and twins (syscall-names.c, generated): NULL or -1 when none. */
const char *syscall_name(long nr);		/* x86_64 */
const char *syscall_name_i386(long nr);
long syscall_i386_twin(long nr);

#endif
