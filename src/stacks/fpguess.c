/*
 * fpguess: frame-base guesses for frame-pointer code; see fpguess.h.
 *
 * The scan starts above the slot that holds the return address into G
 * (the last frame found): G's frame begins there.  A candidate F needs
 * [F + 8] to be a return address: inside a module we know, right after a
 * call (e8 rel32, or ff /2 in its 2-, 3-, 4-, 6- and 7-byte forms, with or
 * without a REX prefix).  A direct call must call G itself (or a PLT
 * entry): G's locals often hold stale frames of calls made before G, and
 * one of those, taken for G's, unwinds through a function that is not on
 * the stack and still ends where threads begin.  An indirect call cannot
 * be checked so, but the frames the guess adds can: each direct call
 * found must be of the frame below it.  The guessed walk must also find
 * again the frames found without the guess.  The stack pages are in the memory cache already
 * (the first unwind read them); code bytes cost one page each, cached.
 */
#include "stacks/fpguess.h"

#include <string.h>

#define SCAN_WORDS 2048		/* 16 KiB above G's stack pointer */
#define TRIES 4			/* candidates tried, lowest first */
#define CHECKED 4		/* frames past the guess whose calls are checked */

enum call { NO_CALL, DIRECT_CALL, INDIRECT_CALL };

/* Whether the bytes before ra end with a call instruction; a direct one's
 * target in *target. */
static enum call call_before(struct memory *mem, uint64_t ra, uint64_t *target)
{
	unsigned char b[8];

	if (ra < sizeof(b) || memory_read(mem, ra - sizeof(b), b, sizeof(b)) < 0)
		return NO_CALL;
	/* b[8 - k] is the byte k before ra. */
	if (b[3] == 0xe8) {	/* call rel32 */
		int32_t rel;
		memcpy(&rel, &b[4], sizeof(rel));
		*target = ra + (uint64_t)(int64_t)rel;
		return DIRECT_CALL;
	}
	/* call r/m64: ff /2, with after ff a ModRM alone (register or
	 * [reg]: 2 bytes in all), + disp8 or SIB (3), + SIB and disp8 (4),
	 * + disp32 (6), + SIB and disp32 (7). */
	static const int len[] = { 2, 3, 4, 6, 7 };
	for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		int k = len[i];
		unsigned char modrm = b[8 - k + 1];
		if (b[8 - k] == 0xff && ((modrm >> 3) & 7) == 2)
			return INDIRECT_CALL;
	}
	return NO_CALL;
}

/* What the call before return address ra says of a call of the function
 * holding callee: 1 it may be one (a direct call of it or of a PLT entry,
 * or an indirect call), 0 it is a call of another function, -1 there is no
 * call before ra. */
static int call_of(struct memory *mem, struct symbolizer *sym, uint64_t ra,
		   uint64_t callee)
{
	uint64_t target = 0;

	switch (call_before(mem, ra, &target)) {
	case DIRECT_CALL:
		return symbols_may_call(sym, target, callee);
	case INDIRECT_CALL:
		return 1;
	default:
		return -1;
	}
}

/* The frames the guess added, up to a few: where a frame's return
 * address follows a direct call, that call is of the frame below.  (A
 * dead frame behind an indirect call passes the first check, but the
 * live caller's own call, above it, is of G, not of the dead callee.) */
static bool calls_agree(struct memory *mem, struct symbolizer *sym,
			const struct raw_frame *buf, int n, int m)
{
	for (int k = n; k < m && k < n + CHECKED; k++) {
		uint64_t callee = buf[k - 1].pc - (buf[k - 1].return_address ? 1 : 0);
		if (buf[k].return_address && call_of(mem, sym, buf[k].pc, callee) == 0)
			return false;
	}
	return true;
}

/* The guessed walk begins with the frames found without the guess. */
static bool same_start(const struct raw_frame *a, const struct raw_frame *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].pc != b[i].pc)
			return false;
	return true;
}

int fpguess_unwind(const struct unwind_ops *uw, void *state, int tid,
		   struct cpu_regs *regs, struct raw_frame *buf, int max, int n,
		   bool *complete, struct memory *mem, struct symbolizer *sym)
{
	uint64_t sp = regs->r[REG_DW_RSP], ra = buf[n - 1].pc, v, from = 0;

	/* G must be code with CFI to use rbp: not JIT code, in no module.
	 * x86_64 code only (8-byte words, its call encodings): a 32-bit
	 * thread's blocked call went through __kernel_vsyscall, whose CFI
	 * saves ebp, and its syscall line gives ebp too. */
	if (regs->arch != ARCH_X86_64 || n < 2 || !buf[n - 1].return_address || (regs->valid & 1u << REG_DW_RBP) ||
	    !dwfl_addrmodule(symbols_dwfl(sym), ra - 1))
		return n;
	/* G's stack pointer: just above the slot holding the return
	 * address into G. */
	for (int i = 0; i < SCAN_WORDS && !from; i++)
		if (memory_read(mem, sp + 8u * (unsigned)i, &v, sizeof(v)) == 0 && v == ra)
			from = sp + 8u * (unsigned)i + 8;
	if (!from)
		return n;

	struct raw_frame first[UNWIND_MAX_FRAMES];
	int nfirst = n < UNWIND_MAX_FRAMES ? n : UNWIND_MAX_FRAMES;
	memcpy(first, buf, (size_t)nfirst * sizeof(*first));
	int tries = 0;
	for (int i = 0; i + 1 < SCAN_WORDS && tries < TRIES; i++) {
		uint64_t f = from + 8u * (unsigned)i;
		if (memory_read(mem, f + 8, &v, sizeof(v)) < 0)
			break;
		/* [F + 8] must return from a call of G. */
		if (v <= 4096 || !dwfl_addrmodule(symbols_dwfl(sym), v) ||
		    call_of(mem, sym, v, ra - 1) != 1)
			continue;
		tries++;
		struct cpu_regs guess = *regs;
		guess.r[REG_DW_RBP] = f;
		guess.valid |= 1u << REG_DW_RBP;
		bool whole;
		int m = uw->unwind(state, tid, &guess, buf, max, &whole);
		if (m > n && whole && symbols_is_stack_end(sym, &buf[m - 1]) &&
		    same_start(buf, first, nfirst) && calls_agree(mem, sym, buf, n, m)) {
			*regs = guess;
			*complete = true;
			return m;
		}
	}
	memcpy(buf, first, (size_t)nfirst * sizeof(*first));
	return n;
}
