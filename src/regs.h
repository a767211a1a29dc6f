/*
 * regs: a thread's user registers in DWARF numbering (x86_64), with a mask
 * of which ones are known.  A full ptrace stop knows all of them; a capture
 * from /proc/TID/syscall knows only sp and pc.  Both unwinders take this.
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

struct cpu_regs {
	uint64_t r[REG_DW_COUNT];
	uint32_t valid;			/* bit n set: r[n] is known */
	/* System call state at the stop, from the kernel's view. */
	long orig_rax;			/* syscall number, or <0 */
	uint64_t rax;			/* its return value so far */
	uint64_t args[6];
	uint64_t fs_base;		/* thread pointer (a stop's only), 0 */
};

#define REGS_ALL_VALID ((1u << REG_DW_COUNT) - 1)

#endif
