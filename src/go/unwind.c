/*
 * go/unwind: the pcsp walk; see unwind.h.
 *
 * Each step is checked, since a stack read from outside can be anything:
 * the function must be in a Go table, its sp delta known, the next sp
 * above the last (stacks grow down) and within a bound, and the return
 * address in a Go function too.  A caller frame is looked up at its
 * return address minus one: a call may be the last instruction of a
 * function, whose return address is then the next function's first.
 * But not above a call the runtime injected (a signal made the thread
 * call asyncPreempt or sigpanic where it was): the "return address" is
 * the interrupted instruction itself, looked up as it is (as Go's
 * traceback does): its sp delta there may not be the one just before.
 */
#include "go/unwind.h"
#include "stacks/pclntab.h"

#include <string.h>

#define MAX_FRAME_BYTES (64u << 20)	/* one Go frame, at most */

/* A function the runtime makes a thread call from a signal handler, at
 * the instruction it was interrupted at (funcID asyncPreempt, sigpanic,
 * debugCallV2). */
static bool injected(const struct go_func *f)
{
	return f->name && (strcmp(f->name, "runtime.asyncPreempt") == 0 ||
			   strcmp(f->name, "runtime.sigpanic") == 0 ||
			   strcmp(f->name, "runtime.debugCallV2") == 0);
}

bool go_unwind_covers(struct symbolizer *sym, uint64_t pc)
{
	uint64_t bias;

	return symbols_go_table(sym, pc, &bias) != NULL;
}

/* A function that switches from a goroutine's stack to its M's (it
 * writes sp): the top of a walk, but where a thread is stopped in it
 * before the switch. */
static bool switches(const struct go_func *f)
{
	return f->name && (strcmp(f->name, "runtime.systemstack") == 0 ||
			   strcmp(f->name, "runtime.mcall") == 0 ||
			   strcmp(f->name, "runtime.morestack") == 0 ||
			   strcmp(f->name, "runtime.morestack_noctxt") == 0 ||
			   strcmp(f->name, "runtime.asmcgocall") == 0);
}

/* The leaf such a function calls just before the switch to save the
 * goroutine's context (systemstack's and asmcgocall's): a thread stopped
 * in it is still on the goroutine's stack, its caller still before the
 * switch. */
static bool saves_for_switch(const struct go_func *f)
{
	return f->name && strcmp(f->name, "gosave_systemstack_switch") == 0;
}

/*
 * What a walk needs of the function at an address of a table: the
 * function, and the sp delta there.  Kept per thread, by table and
 * address: a million goroutines parked in a few places walk the same few
 * dozen addresses, and the table's binary search and pcsp decoding were
 * 15% of such a snapshot's time.
 */
struct pc_memo {
	uint64_t id, addr;	/* id 0: empty */
	struct go_func f;
	int64_t delta;
	bool found, delta_ok, injected;
};

#define PC_MEMO 1024

static __thread struct pc_memo pc_memo[PC_MEMO];

static const struct pc_memo *func_at(const struct go_pcln *t, uint64_t addr)
{
	uint64_t id = go_pcln_id(t);
	struct pc_memo *m = &pc_memo[(addr * 0x9e3779b97f4a7c15ull) >> 54 & (PC_MEMO - 1)];

	if (m->id == id && m->addr == addr)
		return m;
	m->id = id;
	m->addr = addr;
	m->found = go_pcln_func(t, addr, &m->f);
	m->delta_ok = m->found && go_pcln_spdelta(t, &m->f, addr, &m->delta);
	m->injected = m->found && injected(&m->f);
	return m;
}

/* The word at addr: from the window when it is there, else mem. */
static int read_word(struct memory *mem, const struct go_window *win, uint64_t addr, uint64_t *v)
{
	if (win && addr >= win->base && addr - win->base <= win->len &&
	    win->len - (addr - win->base) >= sizeof(*v)) {
		memcpy(v, win->buf + (addr - win->base), sizeof(*v));
		return 0;
	}
	return memory_read(mem, addr, v, sizeof(*v));
}

static int walk(struct symbolizer *sym, struct memory *mem, const struct go_window *win,
		uint64_t pc, uint64_t sp, struct raw_frame *frames, int max, bool *complete,
		bool on_g)
{
	int n = 0;
	bool trap = true;	/* pc is where it is, not a return address */
	bool before_switch = on_g;	/* every frame so far is of a switch
					   not yet made (see switches) */

	*complete = false;
	while (n < max) {
		uint64_t bias, ra, look = pc - (trap ? 0 : 1);
		const struct go_pcln *t = symbols_go_table(sym, pc, &bias);

		if (!t)
			break;
		const struct pc_memo *m = func_at(t, look - bias);
		const struct go_func *fp = &m->f;
		if (!m->found)
			break;
		frames[n] = (struct raw_frame){ pc, !trap };
		n++;
		trap = m->injected;
		/* Go's traceback goes past such a frame when it is the
		 * innermost one (a thread stopped in it, or in the leaf it
		 * calls before the switch) */
		if (fp->top && !(before_switch && switches(fp))) {
			*complete = true;
			break;
		}
		before_switch = before_switch && n == 1 && saves_for_switch(fp);
		if (!m->delta_ok || (uint64_t)m->delta > MAX_FRAME_BYTES ||
		    read_word(mem, win, sp + (uint64_t)m->delta, &ra) < 0)
			break;
		pc = ra;
		sp += (uint64_t)m->delta + 8;
	}
	return n;
}

bool go_unwind_is_entry(struct symbolizer *sym, uint64_t pc)
{
	uint64_t bias;
	const struct go_pcln *t = symbols_go_table(sym, pc, &bias);
	const struct pc_memo *m = t ? func_at(t, pc - bias) : NULL;

	return m && m->found && m->f.entry == pc - bias;
}

int go_unwind(struct symbolizer *sym, struct memory *mem, uint64_t pc,
	      uint64_t sp, struct raw_frame *frames, int max, bool *complete)
{
	return walk(sym, mem, NULL, pc, sp, frames, max, complete, false);
}

int go_unwind_in(struct symbolizer *sym, struct memory *mem, const struct go_window *win,
		 uint64_t pc, uint64_t sp, struct raw_frame *frames, int max, bool *complete)
{
	return walk(sym, mem, win, pc, sp, frames, max, complete, false);
}

int go_unwind_goroutine(struct symbolizer *sym, struct memory *mem, uint64_t pc,
			uint64_t sp, struct raw_frame *frames, int max, bool *complete)
{
	return walk(sym, mem, NULL, pc, sp, frames, max, complete, true);
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
