/*
 * go/unwind: the pcsp walk; see unwind.h.
 *
 * Each step is checked, since a stack read from outside can be anything:
 * the function must be in a Go table, its sp delta known, the next sp
 * above the last (stacks grow down) and within a bound, and the return
 * address in a Go function too.  A caller frame is looked up at its
 * return address minus one: a call may be the last instruction of a
 * function, whose return address is then the next function's first.
 */
#include "unwind.h"
#include "pclntab.h"

#define MAX_FRAME_BYTES (64u << 20)	/* one Go frame, at most */

bool go_unwind_covers(struct symbolizer *sym, uint64_t pc)
{
	uint64_t bias;

	return symbols_go_table(sym, pc, &bias) != NULL;
}

int go_unwind(struct symbolizer *sym, struct memory *mem, uint64_t pc,
	      uint64_t sp, struct raw_frame *frames, int max, bool *complete)
{
	int n = 0;

	*complete = false;
	while (n < max) {
		uint64_t bias, ra, look = pc - (n ? 1 : 0);
		const struct go_pcln *t = symbols_go_table(sym, pc, &bias);
		struct go_func f;
		int64_t delta;

		if (!t || !go_pcln_func(t, look - bias, &f))
			break;
		frames[n] = (struct raw_frame){ pc, n > 0 };
		n++;
		if (f.top) {
			*complete = true;
			break;
		}
		if (!go_pcln_spdelta(t, &f, look - bias, &delta) ||
		    (uint64_t)delta > MAX_FRAME_BYTES ||
		    memory_read(mem, sp + (uint64_t)delta, &ra, sizeof(ra)) < 0)
			break;
		pc = ra;
		sp += (uint64_t)delta + 8;
	}
	return n;
}

int go_unwind_trim(struct symbolizer *sym, const struct raw_frame *frames, int n,
		   bool *cut)
{
	*cut = false;
	for (int i = 0; i < n; i++) {
		uint64_t bias, look = frames[i].pc - (frames[i].return_address ? 1 : 0);
		const struct go_pcln *t = symbols_go_table(sym, look, &bias);
		struct go_func f;
		if (t && go_pcln_func(t, look - bias, &f) && f.top) {
			*cut = i + 1 < n;
			return i + 1;
		}
	}
	return n;
}
