/*
 * go/goroutines: the read, the unwind and the check; see goroutines.h.
 *
 * The g's are read in batches of BATCH: first the bytes of each that
 * change while it lives (go_layout's hot range), in one process_vm_readv
 * of the runs of g's side by side; a g whose identity (status, id, saved
 * contexts) is as the cache has it keeps its cached stack and creation
 * fields.  The others are read whole, the page cache emptied (so that
 * every stack page is read after its g: two small stacks share a page,
 * and a page read for one, then the other's run, would be stale), unwound,
 * then read again to see which moved meanwhile.  Each of those is read
 * again alone, g, stack and g (a few microseconds apart, where a batch
 * spans its whole unwind), up to GO_RETRIES times; one that is dead, or
 * whose g now holds another goroutine, ended meanwhile and is left out.
 *
 * The running ones last, each in a stop of its thread (go_stopper): the
 * g the thread runs is read from its TLS slot (fs_base - 8; R14 in Go
 * code when the slot is elsewhere, as in a cgo binary whose TLS block
 * differs), and must be the goroutine, still running, its M's curg on
 * that thread.  On the goroutine's stack the registers are where it is
 * (a trap pc: not a return address); on g0, its saved context.
 */
#include "goroutines.h"
#include "unwind.h"
#include "pclntab.h"
#include "../proc.h"
#include "../util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 512
#define MAX_GS (1u << 24)

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Two g's closer than this are read in one piece, the bytes between
 * them too: the runtime allocates g's side by side in spans, so a batch
 * of g's is a few runs of memory, and a run read in one piece is read in
 * order, which the CPU's prefetcher follows (a g read alone costs its
 * cache misses in full); the kernel also pins a run's pages once.
 * Measured on 100,000 parked goroutines, top -d 1: 70 ms a refresh
 * rather than 81. */
#define GATHER_GAP 512
#define GATHER_BYTES ((size_t)BATCH * (GO_G_MAX + GATHER_GAP))

struct piece {
	uint64_t addr;
	size_t i;
};

static int cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Reads bytes [lo, hi) of n g's at addrs into the same place of
 * bufs[i * GO_G_MAX]; ok[i] says which were read.  In address order, g's
 * near each other are read as one run into gather (GATHER_BYTES), then
 * copied out.  Past a run that cannot be read, g by g.  Needs the pid:
 * past the cache.
 */
static void read_gs(int pid, const uint64_t *addrs, size_t n, size_t lo, size_t hi,
		    unsigned char *bufs, bool *ok, unsigned char *gather)
{
	struct iovec local[BATCH], remote[BATCH];
	struct piece p[BATCH];
	size_t run_of[BATCH], nr = 0, used = 0, size = hi - lo;

	for (size_t i = 0; i < n; i++)
		p[i] = (struct piece){ addrs[i] + lo, i };
	qsort(p, n, sizeof(*p), cmp_piece);
	for (size_t j = 0; j < n; j++) {
		uint64_t at = p[j].addr;
		uint64_t start = nr ? (uint64_t)(uintptr_t)remote[nr - 1].iov_base : 0;
		uint64_t end = nr ? start + remote[nr - 1].iov_len : 0;
		size_t grow = at + size > end ? at + size - end : 0;
		if (nr && at >= start && at <= end + GATHER_GAP && used + grow <= GATHER_BYTES) {
			remote[nr - 1].iov_len += grow;
			local[nr - 1].iov_len += grow;
			used += grow;
		} else {
			local[nr] = (struct iovec){ gather + used, size };
			remote[nr] = (struct iovec){ (void *)(uintptr_t)at, size };
			used += size;
			nr++;
		}
		run_of[j] = nr - 1;
	}
	ssize_t got = nr ? process_vm_readv(pid, local, nr, remote, nr, 0) : 0;
	size_t whole = 0, sum = 0;	/* runs read whole: before the first short one */
	while (whole < nr && got > 0 && sum + local[whole].iov_len <= (size_t)got)
		sum += local[whole++].iov_len;
	for (size_t j = 0; j < n; j++) {
		size_t i = p[j].i, k = run_of[j];
		unsigned char *dst = bufs + i * GO_G_MAX + lo;
		if (k < whole) {
			size_t off = p[j].addr - (uint64_t)(uintptr_t)remote[k].iov_base;
			memcpy(dst, (unsigned char *)local[k].iov_base + off, size);
			ok[i] = true;
		} else {
			struct iovec l1 = { dst, size }, r1 = { (void *)(uintptr_t)p[j].addr, size };
			ok[i] = process_vm_readv(pid, &l1, 1, &r1, 1, 0) == (ssize_t)size;
		}
	}
}

static bool parked(unsigned st)
{
	return st == GO_WAITING || st == GO_RUNNABLE || st == GO_PREEMPTED ||
	       st == GO_LEAKED;
}

/* Fills g from its hot bytes (go_layout's hot_lo to hot_hi: all that
 * changes); false for a goroutine that is not there (dead, idle, an
 * extra M's). */
static bool fill_hot(const struct go_runtime *rt, struct memory *mem, uint64_t addr,
		     const unsigned char *b, struct go_goroutine *g)
{
	const struct go_layout *l = &rt->lay;
	uint32_t st;

	memcpy(&st, b + l->status, 4);
	st &= ~(uint32_t)GO_SCAN;
	if (st == GO_IDLE || st == GO_DEAD || st == GO_DEADEXTRA)
		return false;
	memset(g, 0, sizeof(*g));
	g->addr = addr;
	g->prev = -1;
	g->status = st;
	g->goid = (int64_t)u64(b + l->goid);
	g->reason = b[l->waitreason];
	g->waitsince = (int64_t)u64(b + l->waitsince);
	uint64_t m = u64(b + l->m), procid;
	if (m && (st == GO_RUNNING || st == GO_SYSCALL) &&
	    memory_read(mem, m + l->m_procid, &procid, 8) == 0)
		g->tid = (int)procid;
	return true;
}

/* The same from all its bytes, the fields set at its creation too. */
static bool fill(const struct go_runtime *rt, struct memory *mem, uint64_t addr,
		 const unsigned char *b, struct go_goroutine *g)
{
	const struct go_layout *l = &rt->lay;

	if (!fill_hot(rt, mem, addr, b, g))
		return false;
	g->gopc = u64(b + l->gopc);
	g->startpc = u64(b + l->startpc);
	g->ancestors = l->ancestors ? u64(b + l->ancestors) : 0;
	g->labels = l->labels ? u64(b + l->labels) : 0;
	if (l->parent_goid)
		g->parent = (int64_t)u64(b + l->parent_goid);
	return true;
}

/* What identifies a g's state: its id, status and saved contexts (a
 * parked g's stack changes only when it runs, which moves them). */
#define ID_BYTES 44

static void identity(const struct go_layout *l, const unsigned char *b, unsigned char *id)
{
	memcpy(id, b + l->status, 4);
	memcpy(id + 4, b + l->goid, 8);
	memcpy(id + 12, b + l->sched + l->buf_sp, 8);
	memcpy(id + 20, b + l->sched + l->buf_pc, 8);
	memcpy(id + 28, b + l->syscallsp, 8);
	memcpy(id + 36, b + l->syscallpc, 8);
}

/* A g's stack as of its identity, at its place in allgs. */
struct cached {
	uint64_t addr;
	uint64_t gopc, startpc;	/* constant for a goid */
	uint64_t ancestors, labels;	/* set by the goroutine itself: it ran */
	int64_t parent;
	long snap_index;	/* go_cache_note */
	unsigned char id[ID_BYTES];
	bool valid, complete;
	int nraw;
	struct raw_frame *raw;
};

struct go_cache {
	struct cached *e;	/* by index in allgs */
	size_t n, cap;
	struct cached *spare;	/* the array before, for the next read */
	size_t spare_cap;
	/* Buffers kept from read to read: fresh ones would fault in every
	 * page again at each refresh. */
	unsigned char *hot, *b1, *b2, *gather;
	struct raw_frame *buf;
	struct go_stopper stop;	/* stop.stop NULL: none */
};

struct go_cache *go_cache_new(void)
{
	return calloc(1, sizeof(struct go_cache));
}

static void drop_entries(struct cached *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].raw);
	free(e);
}

void go_cache_note(struct go_cache *c, size_t pos, long index)
{
	if (pos < c->n)
		c->e[pos].snap_index = index;
}

void go_cache_set_stopper(struct go_cache *c, const struct go_stopper *stop)
{
	c->stop = stop ? *stop : (struct go_stopper){ 0 };
}

void go_cache_free(struct go_cache *c)
{
	if (!c)
		return;
	drop_entries(c->e, c->n);
	free(c->spare);
	free(c->hot);
	free(c->gather);
	free(c->b1);
	free(c->b2);
	free(c->buf);
	free(c);
}

/* Whether pc is the first byte of a Go function. */
static bool go_pc_is_entry(struct symbolizer *sym, uint64_t pc)
{
	uint64_t bias;
	const struct go_pcln *t = symbols_go_table(sym, pc, &bias);
	struct go_func f;

	return t && go_pcln_func(t, pc - bias, &f) && f.entry == pc - bias;
}

/* Unwinds g (read as b) into its cache entry e. */
static void unwind_one(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, const unsigned char *b,
		       struct go_goroutine *g, struct cached *e, struct raw_frame *buf)
{
	const struct go_layout *l = &rt->lay;
	uint64_t pc, sp;

	free(e->raw);
	e->raw = NULL;
	e->nraw = 0;
	e->complete = false;
	e->valid = true;
	e->snap_index = -1;
	e->addr = g->addr;
	e->gopc = g->gopc;
	e->startpc = g->startpc;
	e->ancestors = g->ancestors;
	e->labels = g->labels;
	e->parent = g->parent;
	identity(l, b, e->id);
	if (parked(g->status)) {
		pc = u64(b + l->sched + l->buf_pc);
		sp = u64(b + l->sched + l->buf_sp);
	} else if (g->status == GO_SYSCALL) {
		pc = u64(b + l->syscallpc);
		sp = u64(b + l->syscallsp);
	} else {
		pc = sp = 0;	/* running: on a CPU, its saved context stale */
		e->valid = false;
	}
	if (pc && sp) {
		int n = go_unwind(sym, mem, pc, sp, buf, GO_MAX_FRAMES, &e->complete);
		/* A goroutine in a system call stopped in the call itself:
		 * its pc is a return address, as every frame's above it. */
		if (n > 0 && g->status == GO_SYSCALL)
			buf[0].return_address = true;
		/* A goroutine that is not running: its saved pc is the return
		 * address of its call to mcall (gopark, gosched...), but at
		 * the entry of a goroutine that never ran; Go looks it up at
		 * pc - 1 but there. */
		if (n > 0 && parked(g->status) && !go_pc_is_entry(sym, pc))
			buf[0].return_address = true;
		if (n > 0 && (e->raw = malloc((size_t)n * sizeof(*e->raw)))) {
			memcpy(e->raw, buf, (size_t)n * sizeof(*e->raw));
			e->nraw = n;
		}
	}
	g->raw = e->raw;
	g->nraw = e->nraw;
	g->complete = e->complete;
}

/* Forgets e's stack, and g's. */
static void drop_stack(struct go_goroutine *g, struct cached *e)
{
	free(e->raw);
	e->raw = NULL;
	e->nraw = 0;
	e->valid = false;
	g->raw = NULL;
	g->nraw = 0;
}

/*
 * g moved while its stack was read, or its stack did not unwind whole
 * (it may have run and parked again at the very same place meanwhile,
 * its saved context the same, its stack read while it ran: a loop around
 * a wait): read alone again, its g, its stack from pages read after it,
 * its g again, until the two agree and the walk is whole (up to
 * GO_RETRIES times).  One that ended meanwhile, its g dead or another
 * goroutine's now, is marked dead (left out); one that held still but
 * never unwound whole is kept as it is (its stack is so); one that never
 * held still is moved.
 */
static void read_again(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_goroutine *g, struct cached *e,
		       struct raw_frame *buf)
{
	const struct go_layout *l = &rt->lay;
	unsigned char b[GO_G_MAX], again[GO_G_MAX], id[ID_BYTES];
	int64_t goid = g->goid;
	size_t pos = g->pos;
	bool still = false;

	g->moved = false;
	for (int retry = 0; retry < GO_RETRIES; retry++) {
		if (memory_read_now(mem, g->addr, b, l->g_size) < 0 ||
		    !fill(rt, mem, g->addr, b, g) || g->goid != goid) {
			g->status = GO_DEAD;	/* ended meanwhile */
			drop_stack(g, e);
			return;
		}
		g->pos = pos;
		memory_reset(mem);
		unwind_one(rt, sym, mem, b, g, e, buf);
		if (g->status == GO_RUNNING)
			return;	/* read in a stop, if at all */
		still = memory_read_now(mem, g->addr, again, l->g_size) == 0;
		if (still) {
			identity(l, again, id);
			still = memcmp(id, e->id, ID_BYTES) == 0;
		}
		if (still && g->complete)
			return;
	}
	if (still)
		return;	/* it held still: its stack does not unwind whole */
	g->moved = true;
	drop_stack(g, e);
}

/* What a stop of a running goroutine's thread gives (running_seen). */
struct running {
	const struct go_runtime *rt;
	struct symbolizer *sym;
	struct memory *mem;
	const struct go_goroutine *g;
	struct raw_frame *buf;
	int n;
	bool complete;
};

/*
 * In the stop of g's thread: g's frames into buf, when the thread runs g
 * (its TLS slot, else R14, says so; g is still running there, its M's
 * curg) and is on g's stack (the registers) or on its M's g0 (g's saved
 * context, as Go's traceback takes it).  Otherwise none: the thread runs
 * something else now (g stopped running after it was read).
 */
static int running_seen(void *arg, const struct cpu_regs *regs)
{
	struct running *a = arg;
	const struct go_layout *l = &a->rt->lay;
	unsigned char b[GO_G_MAX];
	uint64_t m, g0, procid, curg, cur = 0;
	uint64_t pc = regs->r[REG_DW_RIP], sp = regs->r[REG_DW_RSP];
	uint32_t st;

	a->n = 0;
	if (memory_read_now(a->mem, a->g->addr, b, l->g_size) < 0)
		return 0;
	memcpy(&st, b + l->status, 4);
	st &= ~(uint32_t)GO_SCAN;
	m = u64(b + l->m);
	if (st != GO_RUNNING || (int64_t)u64(b + l->goid) != a->g->goid || !m ||
	    memory_read_now(a->mem, m + l->m_procid, &procid, 8) < 0 ||
	    (int)procid != a->g->tid ||
	    memory_read_now(a->mem, m + l->m_curg, &curg, 8) < 0 || curg != a->g->addr ||
	    memory_read_now(a->mem, m, &g0, 8) < 0)	/* m.g0: its first field */
		return 0;
	if (regs->fs_base < 8 || memory_read_now(a->mem, regs->fs_base - 8, &cur, 8) < 0)
		cur = 0;
	if (cur != a->g->addr && cur != g0 && go_unwind_covers(a->sym, pc))
		cur = regs->r[REG_DW_R14];
	uint64_t lo = u64(b + l->stack_lo), hi = u64(b + l->stack_hi);
	bool trap = cur == a->g->addr;
	if (!trap) {
		if (cur != g0 || !g0)
			return 0;
		pc = u64(b + l->sched + l->buf_pc);
		sp = u64(b + l->sched + l->buf_sp);
	}
	if (sp < lo || sp >= hi || !pc)
		return 0;
	memory_reset(a->mem);	/* its stack as it is now */
	a->n = trap ? go_unwind_goroutine(a->sym, a->mem, pc, sp, a->buf, GO_MAX_FRAMES,
					  &a->complete) :
		   go_unwind(a->sym, a->mem, pc, sp, a->buf, GO_MAX_FRAMES, &a->complete);
	/* a saved context's pc follows a call (mcall, systemstack's) */
	if (a->n > 0 && !trap && !go_pc_is_entry(a->sym, pc))
		a->buf[0].return_address = true;
	return 0;
}

#define STOP_TRIES 3
#define RAN_WAIT_SEC 0.05	/* for the thread to run on between stops */

/* Waits (RAN_WAIT_SEC at most) until thread tid has run since runs was
 * read: on a busy machine a thread let go may not run at all before the
 * next stop, which would find it just as the last one did. */
static void wait_ran(int pid, int tid, const struct proc_runs *runs)
{
	double until = now_sec() + RAN_WAIT_SEC;
	struct proc_runs now;

	while (proc_read_runs(pid, tid, &now) == 0 && now.count == runs->count &&
	       now.ns == runs->ns && now_sec() < until)
		usleep(500);
}

/* Whether a walk of a goroutine's stack ends where its stack ends, not
 * in a switch to its M's stack (the thread was stopped in the few
 * instructions of systemstack, mcall or morestack before the switch). */
static bool ends_whole(struct symbolizer *sym, const struct raw_frame *f, int n, bool complete)
{
	static const char *const switches[] = {
		"runtime.systemstack", "runtime.mcall", "runtime.morestack",
		"runtime.morestack_noctxt", "runtime.asmcgocall", "runtime.gogo",
	};
	uint64_t bias, look;
	const struct go_pcln *t;
	struct go_func fn;

	if (!complete || n <= 0)
		return false;
	look = f[n - 1].pc - (f[n - 1].return_address ? 1 : 0);
	t = symbols_go_table(sym, look, &bias);
	if (!t || !go_pcln_func(t, look - bias, &fn) || !fn.name)
		return false;
	for (size_t i = 0; i < sizeof(switches) / sizeof(switches[0]); i++)
		if (strcmp(fn.name, switches[i]) == 0)
			return false;
	return true;
}

/*
 * A running g's stack, read in a stop of its thread (go_stopper) into its
 * cache entry e (never taken from the cache: it is not valid).  When the
 * thread runs something else by the stop (g parked meanwhile, or runs on
 * another thread now), g is read again (read_again): parked, its saved
 * context; running, another stop.  A walk that ends in a stack switch is
 * taken again in another stop a moment later.  STOP_TRIES stops at most;
 * the last walk is kept, whole or not.  Returns -EINTR when threadleak was
 * asked to stop, -ENOMEM, else 0.
 */
static int read_running(const struct go_runtime *rt, struct symbolizer *sym,
			struct memory *mem, const struct go_stopper *stop,
			struct go_goroutine *g, struct cached *e, struct raw_frame *buf)
{
	struct proc_runs runs;

	for (int tries = 0; tries < STOP_TRIES; tries++) {
		struct running a = { rt, sym, mem, g, buf, 0, false };
		if (tries && proc_read_runs(memory_pid(mem), g->tid, &runs) == 0)
			wait_ran(memory_pid(mem), g->tid, &runs);
		int rc = stop->stop(stop->ctx, g->tid, running_seen, &a);
		if (rc == -EINTR)
			return rc;
		if (rc == 0)
			g->stopped = true;
		if (rc == 0 && a.n > 0) {
			bool whole = ends_whole(sym, buf, a.n, a.complete);
			free(e->raw);
			e->raw = malloc((size_t)a.n * sizeof(*e->raw));
			if (!e->raw) {
				e->nraw = 0;
				return -ENOMEM;
			}
			memcpy(e->raw, buf, (size_t)a.n * sizeof(*e->raw));
			e->nraw = a.n;
			e->complete = whole;
			e->valid = false;	/* it runs on: never a stack to keep */
			g->raw = e->raw;
			g->nraw = e->nraw;
			g->complete = e->complete;
			if (whole)
				return 0;
			continue;
		}
		/* not running there any more, or that thread not stopped */
		read_again(rt, sym, mem, g, e, buf);
		if (g->status != GO_RUNNING || g->tid <= 0)
			return 0;
	}
	return 0;
}

/* g, at place i of allgs, filled from its hot bytes b, as it was at the
 * last read, when it has not moved since: its constant fields from the
 * cache, its stack moved from the old cache to e.  False when it moved. */
static bool from_cache(const struct go_layout *l, struct cached *old, size_t nold, size_t i,
		       const unsigned char *b, struct go_goroutine *g, struct cached *e)
{
	unsigned char id[ID_BYTES];

	if (i >= nold || !old[i].valid || old[i].addr != g->addr || g->status == GO_RUNNING)
		return false;
	identity(l, b, id);
	if (memcmp(id, old[i].id, ID_BYTES) != 0)
		return false;
	*e = old[i];
	old[i].raw = NULL;
	old[i].valid = false;
	g->same = true;
	g->prev = e->snap_index;
	e->snap_index = -1;
	g->gopc = e->gopc;
	g->startpc = e->startpc;
	g->ancestors = e->ancestors;
	g->labels = e->labels;
	g->parent = e->parent;
	g->raw = e->raw;
	g->nraw = e->nraw;
	g->complete = e->complete;
	return true;
}

int go_read_goroutines(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_cache *cache,
		       struct go_goroutine **out, size_t *n, char *err, size_t errlen)
{
	const struct go_layout *l = &rt->lay;
	unsigned char hdr[24];
	struct go_goroutine *gs = NULL;
	struct cached *ents = NULL;
	size_t count = 0, cap = 0;
	int pid = memory_pid(mem), rc = 0;

	*out = NULL;
	*n = 0;
	if (memory_read_now(mem, rt->allgs, hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "cannot read runtime.allgs");
		return -EFAULT;
	}
	uint64_t arr = u64(hdr), len = u64(hdr + 8);
	if (len > MAX_GS || (len && !arr)) {
		snprintf(err, errlen, "runtime.allgs is not a slice of goroutines (length %llu)",
			 (unsigned long long)len);
		return -EINVAL;
	}
	if (!cache->hot)
		cache->hot = malloc((size_t)BATCH * GO_G_MAX);
	if (!cache->gather)
		cache->gather = malloc(GATHER_BYTES);
	if (!cache->b1)
		cache->b1 = malloc((size_t)BATCH * GO_G_MAX);
	if (!cache->b2)
		cache->b2 = malloc((size_t)BATCH * GO_G_MAX);
	if (!cache->buf)
		cache->buf = malloc(GO_MAX_FRAMES * sizeof(*cache->buf));
	unsigned char *hot = cache->hot, *b1 = cache->b1, *b2 = cache->b2;
	struct raw_frame *buf = cache->buf;
	uint64_t addrs[BATCH], maddrs[BATCH];
	bool ok1[BATCH], ok2[BATCH];
	size_t idx[BATCH], miss[BATCH];
	/* The entries: into the spare array when it is large enough. */
	size_t ents_cap = len ? len : 1;
	if (cache->spare && cache->spare_cap >= ents_cap) {
		ents = cache->spare;
		ents_cap = cache->spare_cap;
		cache->spare = NULL;
		/* each entry is set below: not zeroed here, 100,000 at a time */
	} else {
		ents = calloc(ents_cap, sizeof(*ents));
	}
	if (!hot || !cache->gather || !b1 || !b2 || !buf || !ents) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t at = 0; at < len; at += BATCH) {
		size_t k = len - at < BATCH ? (size_t)(len - at) : BATCH;
		if (memory_read_now(mem, arr + 8 * at, addrs, k * 8) < 0) {
			/* allgs grew and moved meanwhile: what we have */
			memset(ents + at, 0, (len - at) * sizeof(*ents));
			break;
		}
		/* First what changes of every g: one that has not moved
		 * since the last read keeps what it had. */
		read_gs(pid, addrs, k, l->hot_lo, l->hot_hi, hot, ok1, cache->gather);
		size_t nmiss = 0;
		for (size_t i = 0; i < k; i++) {
			struct cached *e = &ents[at + i];
			if (!ok1[i]) {
				memset(e, 0, sizeof(*e));
				continue;
			}
			if (grow_array(&gs, &cap, count + 1, sizeof(*gs)) < 0) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
				goto out;
			}
			if (!fill_hot(rt, mem, addrs[i], hot + i * GO_G_MAX, &gs[count])) {
				memset(e, 0, sizeof(*e));	/* not there: dead, idle */
				continue;
			}
			gs[count].pos = at + i;
			if (from_cache(l, cache->e, cache->n, at + i, hot + i * GO_G_MAX, &gs[count], e)) {
				count++;
				continue;
			}
			memset(e, 0, sizeof(*e));
			miss[nmiss++] = i;
		}
		if (!nmiss)
			continue;
		/* The others whole, unwound, then read again to see which
		 * moved meanwhile: those are unwound again from a cache
		 * that has forgotten their stacks. */
		for (size_t j = 0; j < nmiss; j++)
			maddrs[j] = addrs[miss[j]];
		read_gs(pid, maddrs, nmiss, 0, l->g_size, b1, ok1, cache->gather);
		/* every stack page read from here on is read after its g */
		memory_reset(mem);
		size_t first = count;
		for (size_t j = 0; j < nmiss; j++) {
			if (!ok1[j])
				continue;
			if (grow_array(&gs, &cap, count + 1, sizeof(*gs)) < 0) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
				goto out;
			}
			if (!fill(rt, mem, maddrs[j], b1 + j * GO_G_MAX, &gs[count]))
				continue;
			gs[count].pos = at + miss[j];
			idx[count - first] = j;
			unwind_one(rt, sym, mem, b1 + j * GO_G_MAX, &gs[count], &ents[at + miss[j]], buf);
			count++;
		}
		if (count == first)
			continue;
		read_gs(pid, maddrs, nmiss, 0, l->g_size, b2, ok2, cache->gather);
		for (size_t c = first; c < count; c++) {
			size_t j = idx[c - first];
			struct go_goroutine *g = &gs[c];
			struct cached *e = &ents[at + miss[j]];
			unsigned char id[ID_BYTES];
			if (!ok2[j] || g->status == GO_RUNNING)
				continue;
			identity(l, b2 + j * GO_G_MAX, id);
			if (memcmp(id, e->id, ID_BYTES) != 0 || !g->complete)
				read_again(rt, sym, mem, g, e, buf);
		}
	}
	/* The running ones, each in a stop of its thread. */
	for (size_t j = 0; cache->stop.stop && j < count; j++) {
		struct go_goroutine *g = &gs[j];
		/* running, its thread not known when read (its M not yet
		 * or no longer set): read again */
		if (g->status == GO_RUNNING && g->tid <= 0)
			read_again(rt, sym, mem, g, &ents[g->pos], buf);
		if (g->status != GO_RUNNING || g->tid <= 0)
			continue;
		if (read_running(rt, sym, mem, &cache->stop, g, &ents[g->pos], buf) == -EINTR)
			break;
	}
	/* A process that dies under us stops being readable: what was read
	 * is not all there was, never a result that looks whole. */
	if (memory_read_now(mem, rt->allgs, hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "the process exited while its goroutines were read");
		rc = -ESRCH;
		goto out;
	}
	/* Those that ended while we read. */
	size_t kept = 0;
	for (size_t j = 0; j < count; j++)
		if (gs[j].status != GO_DEAD)
			gs[kept++] = gs[j];
	count = kept;
out:
	if (rc < 0) {
		drop_entries(ents, len);
		free(gs);
		return rc;
	}
	/* The stacks of this read are the cache now; the old array, its
	 * stacks freed, the spare. */
	for (size_t i = 0; i < cache->n; i++)
		free(cache->e[i].raw);
	free(cache->spare);
	cache->spare = cache->e;
	cache->spare_cap = cache->cap;
	cache->e = ents;
	cache->n = len;
	cache->cap = ents_cap;
	*out = gs;
	*n = count;
	return 0;
}

void go_goroutines_free(struct go_goroutine *g, size_t n)
{
	(void)n;	/* their stacks are the cache's */
	free(g);
}
