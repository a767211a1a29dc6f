/*
 * check-python: a creating thread's Python frames; see check-python.h.
 *
 * Processes are found by a linear scan: few processes create threads at
 * once.  A pid reused without its exit seen (a process killed by a
 * signal) is told by its start time, compared at most every tenth of a
 * second, as check.c does.
 */
#include "check/check-python.h"
#include "base/util.h"
#include "python/merge.h"
#include "python/threads.h"
#include "stacks/symbols.h"
#include "target/memory.h"
#include "target/proc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Creators whose thread state is remembered, a process: a thread that
 * creates threads mostly does so again, and finding its state walks
 * every thread's. */
#define CREATORS 8

struct check_py_proc {
	int pid;
	enum { PY_UNKNOWN, PY_NONE, PY_FOUND } state;
	uint64_t start_time;
	double checked_at;
	unsigned long used;
	struct memory *mem;	/* both while PY_FOUND, else NULL */
	struct py_runtime *rt;
	struct {		/* creators' thread states, as last found */
		long tid;
		uint64_t ts;
	} known[CREATORS];
	unsigned next_known;
};

struct packed_frame {
	int line;
	bool entry;
};

struct check_py_frames {
	int n;
	struct packed_frame f[CHECK_PY_FRAMES];
	/* the module, then each frame's function and file, NUL-ended */
	char text[];
};

static void proc_shut(struct check_py *cp, struct check_py_proc *pp)
{
	if (pp->state == PY_FOUND)
		cp->nopen--;
	memory_close(pp->mem);
	free(pp->rt);
	pp->mem = NULL;
	pp->rt = NULL;
	if (pp->state == PY_FOUND)
		pp->state = PY_UNKNOWN;
	memset(pp->known, 0, sizeof(pp->known));
}

static struct check_py_proc *proc_get(struct check_py *cp, int pid)
{
	struct check_py_proc *pp = NULL;
	double now = now_sec();

	for (size_t i = 0; i < cp->n && !pp; i++)
		if (cp->procs[i].pid == pid)
			pp = &cp->procs[i];
	if (pp && now - pp->checked_at < 0.1)
		return pp;
	uint64_t start = proc_start_time(pid);
	if (pp && pp->start_time == start) {
		pp->checked_at = now;
		return pp;
	}
	if (pp) {
		proc_shut(cp, pp);	/* another process now */
	} else {
		if (grow_array(&cp->procs, &cp->cap, cp->n + 1, sizeof(*cp->procs)) < 0)
			return NULL;
		pp = &cp->procs[cp->n++];
	}
	*pp = (struct check_py_proc){ .pid = pid, .start_time = start, .checked_at = now };
	return pp;
}

/* The interpreter of pp, looked for when not known (the least recently
 * used open process shut first when CHECK_PY_OPEN are open). */
static bool proc_open(struct check_py *cp, struct check_py_proc *pp)
{
	struct symbolizer *sym;
	char err[256];

	pp->used = ++cp->tick;
	if (pp->state != PY_UNKNOWN)
		return pp->state == PY_FOUND;
	pp->state = PY_NONE;
	pp->mem = memory_open(pp->pid);
	pp->rt = calloc(1, sizeof(*pp->rt));
	sym = pp->mem && pp->rt ? symbols_open(pp->pid, err, sizeof(err)) : NULL;
	/* Only the layouts are needed after: the symbolizer goes at once. */
	bool found = sym && py_runtime_find(sym, pp->mem, pp->rt) == 0;
	symbols_close(sym);
	if (!found) {
		proc_shut(cp, pp);
		return false;
	}
	if (cp->nopen >= CHECK_PY_OPEN) {
		struct check_py_proc *lru = NULL;
		for (size_t i = 0; i < cp->n; i++)
			if (cp->procs[i].state == PY_FOUND && (!lru || cp->procs[i].used < lru->used))
				lru = &cp->procs[i];
		if (lru)
			proc_shut(cp, lru);
	}
	pp->state = PY_FOUND;
	cp->nopen++;
	return true;
}

/* pt's innermost CHECK_PY_FRAMES frames and module, in one allocation. */
static struct check_py_frames *pack(const struct py_thread *pt, const char *module)
{
	int n = pt->nframes < CHECK_PY_FRAMES ? pt->nframes : CHECK_PY_FRAMES;
	size_t len = strlen(module) + 1;

	for (int i = 0; i < n; i++)
		len += strlen(pt->frames[i].func) + strlen(pt->frames[i].file) + 2;
	struct check_py_frames *pf = malloc(sizeof(*pf) + len);
	if (!pf)
		return NULL;
	pf->n = n;
	char *s = stpcpy(pf->text, module) + 1;
	for (int i = 0; i < n; i++) {
		pf->f[i] = (struct packed_frame){ pt->frames[i].line, pt->frames[i].entry };
		s = stpcpy(s, pt->frames[i].func) + 1;
		s = stpcpy(s, pt->frames[i].file) + 1;
	}
	return pf;
}

/* The frames of tid's state at ts, as known: 0 and pt filled (free
 * pt->frames), or -ENOENT (no longer tid's, or no frames: 3.8-3.11
 * have a state with its ids and none while it starts a thread). */
static int read_known(struct check_py_proc *pp, int tid, uint64_t ts, struct py_thread *pt)
{
	if (!ts || py_thread_read_at(pp->rt, pp->mem, tid, ts, pt) != 0)
		return -ENOENT;
	if (pt->nframes > 0)
		return 0;
	free(pt->frames);
	return -ENOENT;
}

struct check_py_frames *check_py_creator(struct check_py *cp, int pid, int tid)
{
	struct check_py_proc *pp = proc_get(cp, pid);
	struct check_py_frames *pf = NULL;
	struct py_thread pt;
	unsigned k = 0;

	if (!pp || !proc_open(cp, pp))
		return NULL;
	/* It ran since the last creation: code objects may be new. */
	memory_reset(pp->mem);
	while (k < CREATORS && pp->known[k].tid != tid)
		k++;
	if (k == CREATORS || read_known(pp, tid, pp->known[k].ts, &pt) < 0) {
		uint64_t ts = py_thread_state_of(pp->rt, pp->mem, tid);
		if (read_known(pp, tid, ts, &pt) < 0)
			return NULL;
		if (k == CREATORS)
			k = pp->next_known++ % CREATORS;
		pp->known[k].tid = tid;
		pp->known[k].ts = ts;
	}
	pf = pack(&pt, pp->rt->module);
	free(pt.frames);
	return pf;
}

void check_py_forget(struct check_py *cp, int pid)
{
	for (size_t i = 0; i < cp->n; i++) {
		if (cp->procs[i].pid != pid)
			continue;
		proc_shut(cp, &cp->procs[i]);
		cp->procs[i] = cp->procs[--cp->n];
		return;
	}
}

void check_py_free(struct check_py *cp)
{
	for (size_t i = 0; i < cp->n; i++)
		proc_shut(cp, &cp->procs[i]);
	free(cp->procs);
	memset(cp, 0, sizeof(*cp));
}

int check_py_merge(struct thread *t, const struct check_py_frames *pf)
{
	struct py_thread pt = { .nframes = pf->n };
	const char *s = pf->text + strlen(pf->text) + 1;

	if (!pf->n || !t->nframes)
		return 0;
	pt.frames = calloc((size_t)pf->n, sizeof(*pt.frames));
	if (!pt.frames)
		return -ENOMEM;
	for (int i = 0; i < pf->n; i++) {
		struct py_frame *f = &pt.frames[i];
		snprintf(f->func, sizeof(f->func), "%s", s);
		s += strlen(s) + 1;
		snprintf(f->file, sizeof(f->file), "%s", s);
		s += strlen(s) + 1;
		f->line = pf->f[i].line;
		f->entry = pf->f[i].entry;
	}
	int rc = py_merge_frames(t, &pt, pf->text);
	free(pt.frames);
	return rc;
}
