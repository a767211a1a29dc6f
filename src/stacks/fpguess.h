/*
 * fpguess: unwinding code built with frame pointers from sp and pc alone.
 *
 * A blocked thread is unwound without a stop from what /proc/TID/syscall
 * gives: sp and pc.  CFI finds every frame from those, except in a
 * function built with frame pointers (-fno-omit-frame-pointer: Rust's
 * standard library, and whole distributions since 2023), whose frame is
 * found from rbp, which no /proc file shows.  Without a guess such a
 * thread must be stopped.
 *
 * Where the unwind stops at such a function G, rbp is G's frame base F:
 * where G pushed its caller's rbp, with G's return address above it.  So F
 * is a stack slot above G's stack pointer whose next slot holds a code
 * address that follows a call of G.  The lowest few such slots are tried
 * as rbp, and the first whose unwind ends where threads begin
 * (symbols_is_stack_end) is taken.  Where no guess is safe the thread
 * is stopped, as before.
 */
#ifndef THREADLEAK_FPGUESS_H
#define THREADLEAK_FPGUESS_H

#include "target/memory.h"
#include "stacks/symbols.h"
#include "stacks/unwind.h"

/*
 * After an unwind from regs (without rbp) gave buf[0..n) and did not end
 * at a thread's entry: tries rbp guesses.  When one gives a whole stack,
 * it is in buf, *complete is true, rbp is set in regs, and its length is
 * returned; else buf, n and *complete are left as they were.
 */
int fpguess_unwind(const struct unwind_ops *uw, void *state, int tid,
		   struct cpu_regs *regs, struct raw_frame *buf, int max, int n,
		   bool *complete, struct memory *mem, struct symbolizer *sym);

#endif
