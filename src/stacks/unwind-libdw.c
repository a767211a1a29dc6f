/*
 * unwind-libdw: the libdwfl backend.
 *
 * One Dwfl per target (shared with symbols.c, which reported the modules)
 * gets a thread state with dwfl_attach_state() and our own callbacks:
 * memory comes from the page cache, the initial registers from the
 * struct cpu_regs the caller captured.  libdwfl never touches ptrace here.
 * dwfl_getthread_frames() then walks the CFI (with libdw's frame-pointer
 * fallback for code without CFI).
 */
#include "stacks/unwind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct libdw_state {
	Dwfl *dwfl;
	struct memory *mem;
	int pid;
	/* The thread being unwound now. */
	int tid;
	const struct cpu_regs *regs;
	struct raw_frame *frames;
	int nframes, max;
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;	/* we only ever ask for one thread by tid */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct libdw_state *s = arg;

	(void)dwfl;
	if (tid != s->tid)
		return false;
	*thread_argp = s;
	return true;
}

static bool memory_read_cb(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			   void *arg)
{
	struct libdw_state *s = arg;
	uint64_t v;

	(void)dwfl;
	/* A 32-bit process's words are 4 bytes: 8 would fail at the end
	 * of a mapping (libdw keeps the low half of what it gets). */
	v = 0;
	if (memory_read(s->mem, addr, &v, arch_word(s->regs->arch)) < 0)
		return false;
	*result = v;
	return true;
}

/* i386 DWARF numbers (eax ecx edx ebx esp ebp esi edi) of the slots of
 * struct cpu_regs (regs.h) that hold them. */
static const int i386_slot[8] = { REG_DW_RAX, REG_DW_RCX, REG_DW_RDX, REG_DW_RBX,
				  REG_DW_RSP, REG_DW_RBP, REG_DW_RSI, REG_DW_RDI };

static bool set_i386_registers(Dwfl_Thread *thread, const struct cpu_regs *r)
{
	for (unsigned i = 0; i < 8; i++) {
		Dwarf_Word w = (uint32_t)r->r[i386_slot[i]];
		if ((r->valid & (1u << i386_slot[i])) &&
		    !dwfl_thread_state_registers(thread, i, 1, &w))
			return false;
	}
	dwfl_thread_state_register_pc(thread, (uint32_t)r->r[REG_DW_RIP]);
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct libdw_state *s = thread_arg;
	const struct cpu_regs *r = s->regs;

	/* libdw unwinds as the process's modules say (its ebl): i386 for a
	 * 32-bit process. */
	if (r->arch == ARCH_I386)
		return set_i386_registers(thread, r);
	/* Hand over runs of consecutive known registers. */
	for (int i = 0; i < REG_DW_RIP;) {
		if (!(r->valid & (1u << i))) {
			i++;
			continue;
		}
		int j = i;
		while (j < REG_DW_RIP && (r->valid & (1u << j)))
			j++;
		Dwarf_Word w[REG_DW_COUNT];
		for (int k = i; k < j; k++)
			w[k - i] = r->r[k];
		if (!dwfl_thread_state_registers(thread, i, (unsigned)(j - i), w))
			return false;
		i = j;
	}
	dwfl_thread_state_register_pc(thread, r->r[REG_DW_RIP]);
	return true;
}

static void detach_cb(Dwfl *dwfl, void *arg)
{
	(void)dwfl;
	(void)arg;
}

static const Dwfl_Thread_Callbacks callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read_cb,
	.set_initial_registers = set_initial_registers,
	.detach = detach_cb,
	.thread_detach = NULL,
};

static void *libdw_open(int pid, Dwfl *dwfl, struct memory *mem, char *err,
			size_t errlen)
{
	struct libdw_state *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dwfl = dwfl;
	s->mem = mem;
	s->pid = pid;
	if (!dwfl_attach_state(dwfl, NULL, pid, &callbacks, s)) {
		snprintf(err, errlen, "libdw cannot unwind this process: %s",
			 dwfl_errmsg(-1));
		free(s);
		return NULL;
	}
	return s;
}

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct libdw_state *s = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	if (s->nframes > 0 && pc == 0)
		return DWARF_CB_ABORT;	/* end of the chain */
	s->frames[s->nframes].pc = pc;
	s->frames[s->nframes].return_address = !activation;
	s->nframes++;
	return s->nframes >= s->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int libdw_unwind(void *state, int tid, const struct cpu_regs *regs,
			struct raw_frame *frames, int max, bool *complete)
{
	struct libdw_state *s = state;
	int rc;

	s->tid = tid;
	s->regs = regs;
	s->frames = frames;
	s->nframes = 0;
	s->max = max;
	rc = dwfl_getthread_frames(s->dwfl, tid, frame_cb, s);
	/* rc 0: reached the outermost frame.  A failure after at least the
	 * caller of start_thread/_start is the normal end of a stack whose
	 * outermost frame has no CFI; the caller judges completeness. */
	*complete = rc == 0;
	if (s->nframes == 0 && (regs->valid & (1u << REG_DW_RIP))) {
		frames[0].pc = regs->r[REG_DW_RIP];
		frames[0].return_address = false;
		s->nframes = 1;
	}
	return s->nframes;
}

static void libdw_close(void *state)
{
	/* The Dwfl (and its thread state) belongs to symbols.c. */
	free(state);
}

const struct unwind_ops unwind_libdw_ops = {
	.name = "libdw",
	.open = libdw_open,
	.unwind = libdw_unwind,
	.close = libdw_close,
};
