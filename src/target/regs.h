/*
 * regs: a thread's user registers in DWARF numbering (x86_64), with a mask
 * of which ones are known.  A full ptrace stop knows all of them; a capture
 * from /proc/TID/syscall knows only sp and pc (and the registers that hold
 * the call's arguments).  Both unwinders take this.
 *
 * A 32-bit (i386) thread's registers are kept in the same slots, as a
 * 64-bit tracer sees them: eax in r[REG_DW_RAX], esp in r[REG_DW_RSP],
 * eip in r[REG_DW_RIP] (zero-extended); r8-r15 are never valid.  The
 * unwinder maps them to i386 DWARF numbers.
 */
#ifndef THREADLEAK_REGS_H
#define THREADLEAK_REGS_H

#include <stdint.h>

enum {
	REG_DW_RAX = 0, REG_DW_RDX, REG_DW_RCX, REG_DW_RBX, REG_DW_RSI,
	REG_DW_RDI, REG_DW_RBP, REG_DW_RSP, REG_DW_R8, REG_DW_R9, REG_DW_R10,
	REG_DW_R11, REG_DW_R12, REG_DW_R13, REG_DW_R14, REG_DW_R15,
	REG_DW_RIP, REG_DW_COUNT
};

/* The instruction set of a thread's code, and the ABI of a system call. */
enum arch {
	ARCH_X86_64 = 0,
	ARCH_I386,		/* 32-bit code (CS 0x23), or an int 0x80 call */
};

/* Bytes of a pointer (a return address, a saved frame pointer). */
static inline unsigned arch_word(enum arch a)
{
	return a == ARCH_I386 ? 4 : 8;
}

struct cpu_regs {
	uint64_t r[REG_DW_COUNT];
	uint32_t valid;			/* bit n set: r[n] is known */
	/* System call state at the stop, from the kernel's view. */
	long orig_rax;			/* syscall number, or <0 */
	uint64_t rax;			/* its return value so far */
	uint64_t args[6];
	uint64_t fs_base;		/* thread pointer (a stop's only), 0 */
	enum arch arch;			/* the code's: the process's, or in a
					   stop its code segment's */
};

#define REGS_ALL_VALID ((1u << REG_DW_COUNT) - 1)

/* The slots of the six registers that pass a system call's arguments in
 * ABI abi (int 0x80 from 64-bit code is the i386 ABI). */
static inline const int *regs_arg_slots(enum arch abi)
{
	static const int x86_64[6] = { REG_DW_RDI, REG_DW_RSI, REG_DW_RDX,
				       REG_DW_R10, REG_DW_R8, REG_DW_R9 };
	static const int i386[6] = { REG_DW_RBX, REG_DW_RCX, REG_DW_RDX,
				     REG_DW_RSI, REG_DW_RDI, REG_DW_RBP };

	return abi == ARCH_I386 ? i386 : x86_64;
}

/* A stop's system call arguments, from its registers, as ABI abi passes
 * them. */
static inline void regs_syscall_args(struct cpu_regs *r, enum arch abi)
{
	const int *slot = regs_arg_slots(abi);

	for (int k = 0; k < 6; k++)
		r->args[k] = r->r[slot[k]];
}

#endif
