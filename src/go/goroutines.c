/*
 * go/goroutines: the read, the unwind and the check; see goroutines.h.
 *
 * The g's are read in batches of GO_BATCH (go/gread.h), by reader
 * threads a few batches ahead (go/prefetch.h).  With a cache from a read
 * before, first the bytes of each g that change while it lives (go_layout's
 * hot range): a g whose identity (status, id, saved contexts) is as the
 * cache has it keeps its cached stack and creation fields.  The others
 * are read whole, the page cache emptied (so that every stack page is
 * read after its g: two small stacks share a page, and a page read for
 * one, then the other's run, would be stale), unwound, then read again
 * to see which moved meanwhile.  With no cache (a first read, a
 * snapshot), the readers take each batch whole, its stack tops and its
 * hot bytes again at once; a walk that goes past its window reads pages
 * after that second look, and its g is looked at again after the walk.
 * Each one that moved is read again alone, g, stack and g (a few
 * microseconds apart, where a batch spans its whole unwind), up to
 * GO_RETRIES times; one that is dead, or whose g now holds another
 * goroutine, ended meanwhile and is left out.
 *
 * The running ones last, each in a stop of its thread (go_stopper): the
 * g the thread runs is read from its TLS slot (fs_base - 8; R14 in Go
 * code when the slot is elsewhere, as in a cgo binary whose TLS block
 * differs), and must be the goroutine, still running, its M's curg on
 * that thread.  On the goroutine's stack the registers are where it is
 * (a trap pc: not a return address); on g0, its saved context.
 */
#include "go/goroutines.h"
#include "go/prefetch.h"
#include "go/unwind.h"
#include "stacks/pclntab.h"
#include "target/proc.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_GS (1u << 24)
#define SPARE_MAX ((size_t)16 << 20)	/* a cache array kept for reuse, at most */

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
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
	if (st == GO_IDLE || st == GO_DEAD || st == GO_DEADEXTRA || !go_status_known(st))
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

/*
 * Raw stacks, each distinct one once: a million goroutines parked in a
 * few places have a few stacks, not a million copies (100 MB at a
 * million).  Counted references; a chained table by their frames.
 */
struct raw_stack {
	struct raw_stack *next;
	uint64_t hash;
	uint32_t refs, n;
	struct raw_frame f[];
};

struct raw_table {
	struct raw_stack **bucket;
	size_t nbucket, count;
};

static uint64_t raw_hash(const struct raw_frame *f, int n)
{
	uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < n; i++) {
		h ^= f[i].pc << 1 | f[i].return_address;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return h;
}

static struct raw_stack *raw_of(const struct raw_frame *f)
{
	return (struct raw_stack *)((char *)f - offsetof(struct raw_stack, f));
}

/* The table's copy of f[0..n), one more reference; NULL when out of
 * memory. */
static struct raw_frame *raw_intern(struct raw_table *t, const struct raw_frame *f, int n)
{
	uint64_t h = raw_hash(f, n);

	if (t->count >= t->nbucket) {
		size_t nb = t->nbucket ? t->nbucket * 2 : 1024;
		struct raw_stack **b = calloc(nb, sizeof(*b));
		if (!b)
			return NULL;
		for (size_t i = 0; i < t->nbucket; i++)
			for (struct raw_stack *r = t->bucket[i], *next; r; r = next) {
				next = r->next;
				r->next = b[r->hash & (nb - 1)];
				b[r->hash & (nb - 1)] = r;
			}
		free(t->bucket);
		t->bucket = b;
		t->nbucket = nb;
	}
	struct raw_stack **head = &t->bucket[h & (t->nbucket - 1)];
	for (struct raw_stack *r = *head; r; r = r->next) {
		if (r->hash != h || r->n != (uint32_t)n)
			continue;
		int i = 0;
		while (i < n && r->f[i].pc == f[i].pc && r->f[i].return_address == f[i].return_address)
			i++;
		if (i == n) {
			r->refs++;
			return r->f;
		}
	}
	struct raw_stack *r = malloc(sizeof(*r) + (size_t)n * sizeof(*f));
	if (!r)
		return NULL;
	r->hash = h;
	r->refs = 1;
	r->n = (uint32_t)n;
	memcpy(r->f, f, (size_t)n * sizeof(*f));
	r->next = *head;
	*head = r;
	t->count++;
	return r->f;
}

/* Every stack of the table, whatever its references. */
static void raw_table_free(struct raw_table *t)
{
	for (size_t i = 0; i < t->nbucket; i++)
		for (struct raw_stack *r = t->bucket[i], *next; r; r = next) {
			next = r->next;
			free(r);
		}
	free(t->bucket);
	memset(t, 0, sizeof(*t));
}

/* One reference less to f (the table's, or NULL). */
static void raw_release(struct raw_table *t, struct raw_frame *f)
{
	if (!f)
		return;
	struct raw_stack *r = raw_of(f);
	if (--r->refs)
		return;
	struct raw_stack **p = &t->bucket[r->hash & (t->nbucket - 1)];
	while (*p != r)
		p = &(*p)->next;
	*p = r->next;
	t->count--;
	free(r);
}

/* A g's stack as of its identity, at its place in allgs. */
struct cached {
	uint64_t pos;		/* its place in allgs */
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
	struct cached *e;	/* the goroutines read, in allgs order */
	size_t n, cap;
	size_t skipped;		/* the last read's entries of allgs that
				   were no g: null, unaligned, unreadable,
				   a status no g has, a g seen before */
	uint64_t unread;	/* and those not read: past GO_KEEP_MAX */
	uint64_t claimed;	/* allgs' length */
	struct cached *spare;	/* the array before, for the next read */
	size_t spare_cap;
	/* Buffers kept from read to read: fresh ones would fault in every
	 * page again at each refresh. */
	unsigned char *b1, *b2, *gather;	/* the misses of a hot read */
	struct go_prefetch *pf;	/* the batches, read ahead */
	struct raw_frame *buf;
	struct go_stopper stop;	/* stop.stop NULL: none */
	struct raw_table raws;	/* the entries' stacks */
	unsigned char *wins;	/* GO_BATCH stack windows (read_windows) */
	bool one_shot;		/* no read after this one: its entries are
				   dropped after it (the stacks stay, for
				   the goroutines read) */
};

struct go_cache *go_cache_new(void)
{
	return calloc(1, sizeof(struct go_cache));
}

static void drop_entries(struct raw_table *t, struct cached *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		raw_release(t, e[i].raw);
	free(e);
}

void go_cache_set_one_shot(struct go_cache *c)
{
	c->one_shot = true;
}

void go_cache_set_stopper(struct go_cache *c, const struct go_stopper *stop)
{
	c->stop = stop ? *stop : (struct go_stopper){ 0 };
}

void go_cache_free(struct go_cache *c)
{
	if (!c)
		return;
	drop_entries(&c->raws, c->e, c->n);
	raw_table_free(&c->raws);	/* what a one-shot read left */
	free(c->spare);
	go_prefetch_free(c->pf);
	free(c->gather);
	free(c->b1);
	free(c->b2);
	free(c->buf);
	free(c->wins);
	free(c);
}

/* Unwinds g (read as b) into its cache entry e. */
static void unwind_one(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, const unsigned char *b,
		       struct go_goroutine *g, struct cached *e, struct raw_frame *buf,
		       struct raw_table *raws, const struct go_window *win)
{
	const struct go_layout *l = &rt->lay;
	uint64_t pc, sp;

	raw_release(raws, e->raw);
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
	if (go_status_parked(g->status)) {
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
		int n = go_unwind_in(sym, mem, win, pc, sp, buf, GO_MAX_FRAMES, &e->complete);
		/* A goroutine in a system call stopped in the call itself:
		 * its pc is a return address, as every frame's above it. */
		if (n > 0 && g->status == GO_SYSCALL)
			buf[0].return_address = true;
		/* A goroutine that is not running: its saved pc is the return
		 * address of its call to mcall (gopark, gosched...), but at
		 * the entry of a goroutine that never ran; Go looks it up at
		 * pc - 1 but there. */
		if (n > 0 && go_status_parked(g->status) && !go_unwind_is_entry(sym, pc))
			buf[0].return_address = true;
		if (n > 0 && (e->raw = raw_intern(raws, buf, n)))
			e->nraw = n;
	}
	g->raw = e->raw;
	g->nraw = e->nraw;
	g->complete = e->complete;
}

/* Forgets e's stack, and g's. */
static void drop_stack(struct go_goroutine *g, struct cached *e, struct raw_table *raws)
{
	raw_release(raws, e->raw);
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
		       struct raw_frame *buf, struct raw_table *raws)
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
			drop_stack(g, e, raws);
			return;
		}
		g->pos = pos;
		memory_reset(mem);
		unwind_one(rt, sym, mem, b, g, e, buf, raws, NULL);
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
	drop_stack(g, e, raws);
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
	if (a->n > 0 && !trap && !go_unwind_is_entry(a->sym, pc))
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
 * taken again in another stop a moment later.  Its thread not known when
 * read (its M not yet or no longer set, or a read torn by a switch), g is
 * read again first.  STOP_TRIES tries at most;
 * the last walk is kept, whole or not.  Returns -EINTR when threadleak was
 * asked to stop, -ENOMEM, else 0.
 */
static int read_running(const struct go_runtime *rt, struct symbolizer *sym,
			struct memory *mem, const struct go_stopper *stop,
			struct go_goroutine *g, struct cached *e, struct raw_frame *buf,
			struct raw_table *raws)
{
	struct proc_runs runs;
	bool stopped = false;

	for (int tries = 0; tries < STOP_TRIES; tries++) {
		struct running a = { rt, sym, mem, g, buf, 0, false };
		if (g->tid > 0) {
			if (tries && proc_read_runs(memory_pid(mem), g->tid, &runs) == 0)
				wait_ran(memory_pid(mem), g->tid, &runs);
			int rc = stop->stop(stop->ctx, g->tid, running_seen, &a);
			if (rc == -EINTR)
				return rc;
			if (rc == 0)
				g->stopped = stopped = true;
			if (rc == 0 && a.n > 0) {
				bool whole = ends_whole(sym, buf, a.n, a.complete);
				raw_release(raws, e->raw);
				e->raw = raw_intern(raws, buf, a.n);
				if (!e->raw) {
					e->nraw = 0;
					return -ENOMEM;
				}
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
		}
		/* not running there any more, that thread not stopped, or
		 * its thread not known (a read torn by a switch: its M read
		 * after the g parked, its status after it ran again) */
		read_again(rt, sym, mem, g, e, buf, raws);
		g->stopped = stopped;	/* read_again fills g anew */
		if (g->status != GO_RUNNING)
			return 0;
	}
	return 0;
}

/* g, at place i of allgs, filled from its hot bytes b, as it was at the
 * last read, when it has not moved since: its constant fields from the
 * cache, its stack moved from the old cache to e.  False when it moved. */
static bool from_cache(const struct go_layout *l, struct cached *old, size_t nold, size_t *cur,
		       uint64_t pos, const unsigned char *b, struct go_goroutine *g, struct cached *e)
{
	unsigned char id[ID_BYTES];

	/* the old entries are in allgs order, as the reads go */
	while (*cur < nold && old[*cur].pos < pos)
		(*cur)++;
	size_t i = *cur;
	if (i >= nold || old[i].pos != pos || !old[i].valid || old[i].addr != g->addr ||
	    g->status == GO_RUNNING)
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

/* A set of the g addresses kept (open addressing, 0 empty): a forged
 * allgs that names one g many times gives it once. */
struct addr_set {
	uint64_t *slot;
	size_t cap, n;
};

static size_t addr_slot(const struct addr_set *s, uint64_t a)
{
	return (a >> 3) * 0x9e3779b97f4a7c15ull >> 20 & (s->cap - 1);
}

/* Adds a; 1 when it is new, 0 when seen, -ENOMEM. */
static int addr_add(struct addr_set *s, uint64_t a)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		struct addr_set t = { calloc(cap, sizeof(*t.slot)), cap, s->n };
		if (!t.slot)
			return -ENOMEM;
		/* each page written now (volatile: a compiler knows calloc's
		 * zeros): a read first (addr_has) would map the zero page,
		 * and the first write to it then flush the TLB of every CPU
		 * the reader threads run on */
		for (size_t i = 0; i < cap; i += MEM_PAGE / sizeof(*t.slot))
			((volatile uint64_t *)t.slot)[i] = 0;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t j = addr_slot(&t, s->slot[i]);
			while (t.slot[j])
				j = (j + 1) & (cap - 1);
			t.slot[j] = s->slot[i];
		}
		free(s->slot);
		*s = t;
	}
	size_t j = addr_slot(s, a);
	for (; s->slot[j]; j = (j + 1) & (s->cap - 1))
		if (s->slot[j] == a)
			return 0;
	s->slot[j] = a;
	s->n++;
	return 1;
}

static bool addr_has(const struct addr_set *s, uint64_t a)
{
	if (!s->cap)
		return false;
	size_t j = addr_slot(s, a);
	for (; s->slot[j]; j = (j + 1) & (s->cap - 1))
		if (s->slot[j] == a)
			return true;
	return false;
}

/* Whether an entry of allgs can be a g: aligned, in user space above
 * what a process may map (vm.mmap_min_addr, 64 KiB by default).
 * (Unreadable ones are found when read.) */
static bool g_address(uint64_t a)
{
	return a >= 0x10000 && !(a & 7) && a < (1ull << 47);
}

/*
 * What a batch's reader threads wrote is in another CPU's cache: each
 * line the walk and the checks read is a miss, a few a goroutine.  They
 * are asked for AHEAD goroutines early, so that they come while the
 * goroutines before are done.
 */
#define AHEAD 4

/* The lines of a g that fill() and identity() read. */
static void prefetch_g(const unsigned char *g, const struct go_layout *l)
{
	for (unsigned off = l->hot_lo & ~63u; off < l->g_size; off += 64)
		__builtin_prefetch(g + off);
}

/* The first lines of a stack's window (the walk's frames) and of the
 * g's hot bytes read again. */
static void prefetch_stack(const struct go_window *w, const unsigned char *again,
			   const struct go_layout *l)
{
	for (size_t off = 0; off < w->len && off < 256; off += 64)
		__builtin_prefetch(w->buf + off);
	for (unsigned off = l->hot_lo & ~63u; off < l->hot_hi; off += 64)
		__builtin_prefetch(again + off);
}

/* b, to read the entries of allgs (at arr, len long) from at: those
 * that can be g's and were not seen before (the others counted as
 * skipped).  False when allgs cannot be read there: it grew and moved
 * meanwhile, and what was read before is what there is. */
static bool queue_batch(struct memory *mem, const struct addr_set *seen, uint64_t arr,
			uint64_t len, uint64_t at, struct go_batch *b)
{
	size_t k = len - at < GO_BATCH ? (size_t)(len - at) : GO_BATCH;

	if (memory_read_now(mem, arr + 8 * at, b->addrs, k * 8) < 0)
		return false;
	/* a million g's make a set bigger than the CPU's caches, each
	 * look-up a miss: all of them asked for at once (and again when
	 * the batch is taken: addr_add) */
	for (size_t i = 0; seen->cap && i < k; i++)
		__builtin_prefetch(&seen->slot[addr_slot(seen, b->addrs[i])]);
	b->at = at;
	b->len = k;
	b->skipped = 0;
	b->k = 0;
	for (size_t i = 0; i < k; i++) {
		if (g_address(b->addrs[i]) && !addr_has(seen, b->addrs[i])) {
			b->apos[b->k] = at + i;
			b->addrs[b->k++] = b->addrs[i];
		} else {
			b->skipped++;
		}
	}
	return true;
}

/*
 * The goroutines of gs from first to count, final now, to take, in
 * order (their entries noted in ents); but those dead (they ended
 * meanwhile: left out) and, when later, the running ones, to be read in
 * a stop of their thread after the last batch: kept in gs from *kept on
 * (*kept <= first).  0, or take's -errno.
 */
static int deliver(struct go_goroutine *gs, size_t first, size_t count, size_t *kept,
		   bool later, struct cached *ents, go_take_fn take, void *arg)
{
	for (size_t c = first; c < count; c++) {
		struct go_goroutine *g = &gs[c];
		long index = -1;
		if (g->status == GO_DEAD)
			continue;
		if (later && g->status == GO_RUNNING) {
			gs[(*kept)++] = *g;
			continue;
		}
		int rc = take(arg, g, &index);
		if (rc < 0)
			return rc;
		ents[g->pos].snap_index = index;
	}
	return 0;
}

int go_read_goroutines_each(const struct go_runtime *rt, struct symbolizer *sym,
			    struct memory *mem, struct go_cache *cache, go_take_fn take,
			    void *arg, char *err, size_t errlen)
{
	const struct go_layout *l = &rt->lay;
	unsigned char hdr[24];
	struct go_goroutine *gs = NULL;
	struct cached *ents = NULL;
	struct addr_set seen = { 0 };
	size_t count = 0, cap = 0, nents = 0, cur = 0, total = 0;
	int pid = memory_pid(mem), rc = 0;

	cache->skipped = 0;
	cache->unread = 0;
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
	cache->claimed = len;
	if (!cache->pf)
		cache->pf = go_prefetch_new();
	if (!cache->gather)
		cache->gather = malloc(GO_GATHER_BYTES);
	if (!cache->b1)
		cache->b1 = malloc((size_t)GO_BATCH * GO_G_MAX);
	if (!cache->b2)
		cache->b2 = malloc((size_t)GO_BATCH * GO_G_MAX);
	if (!cache->buf)
		cache->buf = malloc(GO_MAX_FRAMES * sizeof(*cache->buf));
	if (!cache->wins)
		cache->wins = malloc((size_t)GO_BATCH * GO_WINDOW);
	struct go_prefetch *pf = cache->pf;
	struct raw_frame *buf = cache->buf;
	uint64_t maddrs[GO_BATCH];
	struct go_window mwin[GO_BATCH];
	bool mok1[GO_BATCH], mok2[GO_BATCH], late[GO_BATCH];
	size_t idx[GO_BATCH], miss[GO_BATCH], ent_of[GO_BATCH];
	/* The entries, one per g kept (not per entry of allgs, which a
	 * forged one makes as long as it likes): into the spare array. */
	size_t ents_cap = 0;
	bool drop = cache->one_shot && cache->n == 0;
	bool later = cache->stop.stop != NULL;	/* the running ones: after */
	size_t kept = 0, batch_first = 0;	/* gs: the running ones kept, then the batch */
	if (cache->spare) {
		ents = cache->spare;
		ents_cap = cache->spare_cap;
		cache->spare = NULL;
		/* each entry is set below: not zeroed here, 100,000 at a time */
	}
	if (!pf || !cache->gather || !cache->b1 || !cache->b2 || !buf || !cache->wins) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* First what changes of every g: one that has not moved since the
	 * last read keeps what it had.  With nothing kept from a last read,
	 * every g is read whole at once, its stack's top and its hot bytes
	 * again with it (go/prefetch.h). */
	bool whole = cache->n == 0;
	go_prefetch_begin(pf, pid, l, whole);
	uint64_t next_at = 0;
	bool more = true;
	for (;;) {
		struct go_batch *b;
		while (more && next_at < len && (b = go_prefetch_slot(pf))) {
			more = queue_batch(mem, &seen, arr, len, next_at, b);
			if (more) {
				go_prefetch_submit(pf, b);
				next_at += b->len;
			}
		}
		if (!(b = go_prefetch_next(pf)))
			break;
		if (total >= GO_KEEP_MAX) {
			cache->unread = len - b->at;
			go_prefetch_release(pf, b);
			break;
		}
		cache->skipped += b->skipped;
		size_t k = b->k;
		/* room for this batch's entries, so that pointers into the
		 * array hold until the next */
		if (grow_array(&ents, &ents_cap, nents + k, sizeof(*ents)) < 0 ||
		    grow_array(&gs, &cap, count + k, sizeof(*gs)) < 0) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		size_t nmiss = 0;
		for (size_t i = 0; i < k; i++) {
			const unsigned char *hb = b->b1 + i * GO_G_MAX;
			uint32_t st;
			if (i + AHEAD < k)
				prefetch_g(b->b1 + (i + AHEAD) * GO_G_MAX, l);
			memcpy(&st, hb + l->status, 4);
			if (!b->ok1[i] || !go_status_known(st)) {
				cache->skipped++;
				continue;
			}
			if (!fill_hot(rt, mem, b->addrs[i], hb, &gs[count]))
				continue;	/* not there: dead, idle */
			int fresh = addr_add(&seen, b->addrs[i]);
			if (fresh < 0) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
				goto out;
			}
			if (!fresh) {
				cache->skipped++;	/* a g named twice */
				continue;
			}
			struct cached *e = &ents[nents];
			uint64_t pos = b->apos[i];
			gs[count].pos = nents;
			if (from_cache(l, cache->e, cache->n, &cur, pos, hb, &gs[count], e)) {
				e->pos = pos;
				nents++;
				count++;
				continue;
			}
			memset(e, 0, sizeof(*e));
			e->pos = pos;
			ent_of[nmiss] = nents++;
			miss[nmiss++] = i;
		}
		if (nmiss) {
			/* The others whole, unwound, then read again to see which
			 * moved meanwhile: those are unwound again from a cache
			 * that has forgotten their stacks.  Read whole, the batch
			 * has all that already (g j of the misses is its miss[j]). */
			for (size_t j = 0; j < nmiss; j++)
				maddrs[j] = b->addrs[miss[j]];
			if (!whole) {
				go_read_gs(pid, maddrs, nmiss, 0, l->g_size, cache->b1, mok1, cache->gather);
				go_read_windows(pid, l, cache->b1, mok1, nmiss, cache->wins, mwin);
			}
			/* every stack page read from here on is read after its g */
			memory_reset(mem);
			size_t first = count;
			for (size_t j = 0; j < nmiss; j++) {
				size_t i = whole ? miss[j] : j;
				const unsigned char *gb = (whole ? b->b1 : cache->b1) + i * GO_G_MAX;
				uint64_t before, after, reads;
				if (whole && j + AHEAD < nmiss)
					prefetch_stack(&b->win[miss[j + AHEAD]],
						       b->b2 + miss[j + AHEAD] * GO_G_MAX, l);
				if (!whole && !mok1[j])
					continue;
				if (!fill(rt, mem, maddrs[j], gb, &gs[count]))
					continue;
				gs[count].pos = ent_of[j];
				idx[count - first] = j;
				memory_stats(mem, &before, &reads);
				unwind_one(rt, sym, mem, gb, &gs[count], &ents[ent_of[j]], buf, &cache->raws,
					   whole ? &b->win[i] : &mwin[j]);
				memory_stats(mem, &after, &reads);
				/* past its window: pages read after the batch's
				 * second look at its g, which must be taken again */
				late[count - first] = whole && after != before;
				count++;
			}
			/* what says whether it moved: its identity, in the hot bytes */
			if (!whole && count > first)
				go_read_gs(pid, maddrs, nmiss, l->hot_lo, l->hot_hi, cache->b2, mok2,
					   cache->gather);
			for (size_t c = first; c < count; c++) {
				size_t j = idx[c - first], i = whole ? miss[j] : j;
				struct go_goroutine *g = &gs[c];
				struct cached *e = &ents[ent_of[j]];
				const unsigned char *again = (whole ? b->b2 : cache->b2) + i * GO_G_MAX;
				bool ok = whole ? b->ok2[i] : mok2[j];
				unsigned char now[GO_G_MAX], id[ID_BYTES];
				if (late[c - first]) {
					ok = memory_read_now(mem, g->addr + l->hot_lo, now + l->hot_lo,
							     l->hot_hi - l->hot_lo) == 0;
					again = now;
				}
				if (!ok || g->status == GO_RUNNING)
					continue;
				identity(l, again, id);
				if (memcmp(id, e->id, ID_BYTES) != 0 || !g->complete)
					read_again(rt, sym, mem, g, e, buf, &cache->raws);
			}
		}
		go_prefetch_release(pf, b);
		/* the batch's goroutines, as they are now for good */
		size_t was = kept;
		total += count - batch_first;
		rc = deliver(gs, batch_first, count, &kept, later, ents, take, arg);
		if (rc < 0)
			goto out;
		/* One read and no other (nothing kept from one before, so
		 * each g's entry is made in allgs order): the batch's
		 * entries are not needed past it but for the running ones',
		 * read again after the last batch.  128 bytes a goroutine
		 * not kept: at a million, 128 MB beside the goroutines read. */
		if (drop) {
			for (size_t c = was; c < kept; c++) {
				ents[c] = ents[gs[c].pos];	/* c <= pos */
				gs[c].pos = c;
			}
			nents = kept;
		}
		count = batch_first = kept;
	}
	free(seen.slot);
	seen.slot = NULL;
	/* The running ones, each in a stop of its thread (kept in gs only
	 * when later: with a stopper). */
	for (size_t j = 0; later && j < count; j++) {
		struct go_goroutine *g = &gs[j];
		if (g->status != GO_RUNNING)
			continue;
		if (read_running(rt, sym, mem, &cache->stop, g, &ents[g->pos], buf,
				 &cache->raws) == -EINTR)
			break;
	}
	/* A process that dies under us stops being readable: what was read
	 * is not all there was, never a result that looks whole. */
	if (memory_read_now(mem, rt->allgs, hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "the process exited while its goroutines were read");
		rc = -ESRCH;
		goto out;
	}
	kept = 0;
	rc = deliver(gs, 0, count, &kept, false, ents, take, arg);
out:
	if (pf)
		go_prefetch_end(pf);
	free(seen.slot);
	free(gs);
	if (rc < 0) {
		drop_entries(&cache->raws, ents, nents);
		return rc;
	}
	/* The stacks of this read are the cache now; the old array, its
	 * stacks freed, the spare. */
	for (size_t i = 0; i < cache->n; i++)
		raw_release(&cache->raws, cache->e[i].raw);
	free(cache->spare);
	cache->spare = cache->e;
	cache->spare_cap = cache->cap;
	if (cache->spare_cap * sizeof(*cache->spare) > SPARE_MAX) {
		/* a million goroutines' would be 128 MB held between reads
		 * (and while the entries are made): faulted in again instead */
		free(cache->spare);
		cache->spare = NULL;
		cache->spare_cap = 0;
	}
	cache->e = ents;
	cache->n = nents;
	cache->cap = ents_cap;
	if (cache->one_shot) {
		/* 128 bytes a goroutine no later read needs; their stacks
		 * stay the table's until go_cache_free() */
		free(cache->e);
		free(cache->spare);
		cache->e = cache->spare = NULL;
		cache->n = cache->cap = cache->spare_cap = 0;
	}
	return 0;
}

/* go_read_goroutines: each one taken into an array. */
struct collect {
	struct go_goroutine *g;
	size_t n, cap;
};

static int collect(void *arg, const struct go_goroutine *g, long *index)
{
	struct collect *c = arg;

	(void)index;
	if (grow_array(&c->g, &c->cap, c->n + 1, sizeof(*c->g)) < 0)
		return -ENOMEM;
	c->g[c->n++] = *g;
	return 0;
}

int go_read_goroutines(const struct go_runtime *rt, struct symbolizer *sym,
		       struct memory *mem, struct go_cache *cache,
		       struct go_goroutine **out, size_t *n, char *err, size_t errlen)
{
	struct collect c = { 0 };
	int rc = go_read_goroutines_each(rt, sym, mem, cache, collect, &c, err, errlen);

	if (rc < 0) {
		if (rc == -ENOMEM && !err[0])
			snprintf(err, errlen, "out of memory");
		free(c.g);
		c.g = NULL;
		c.n = 0;
	}
	*out = c.g;
	*n = c.n;
	return rc;
}

void go_cache_counts(const struct go_cache *c, uint64_t *claimed, size_t *skipped, uint64_t *unread)
{
	*claimed = c->claimed;
	*skipped = c->skipped;
	*unread = c->unread;
}

void go_goroutines_free(struct go_goroutine *g, size_t n)
{
	(void)n;	/* their stacks are the cache's */
	free(g);
}
