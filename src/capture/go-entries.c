/*
 * go-entries: goroutines -> snapshot entries; see go-entries.h.
 *
 * The memo: an open-addressing table, at most half full, from a
 * goroutine's stack key (its raw frames, whether the walk was complete,
 * its creator's pc, its start pc, whether it is the main goroutine) to
 * the pooled frames, created-by frames, error and go_system its first
 * entry got.  Keys are compared whole, against the raw frames of that
 * first goroutine (the go_cache's, alive for the whole call).
 *
 * What is the same for many goroutines is worked out once (struct known):
 * a wait reason's pooled words and kind, a stack's lock kind, a lock's
 * words.
 */
#include "capture/go-entries.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stacks/pclntab.h"
#include "go/labels.h"
#include "go/waits.h"
#include "capture/classify.h"
#include "target/fds.h"
#include "model/locks.h"
#include "stacks/symbols.h"
#include "base/util.h"

#define MEMO_MIN 256
#define CARRY_POOL_MAX (64u << 20)	/* a pool past this starts anew */

/* What a stack key stands for, all of it the snapshot's pool's. */
struct stack {
	struct frame *frames, *created;
	size_t nframes, ncreated;
	bool partial, system;
	char *error;
};

/* The slot keeps its own copy of the first goroutine with the stack (its
 * raw frames are the cache's): the array of goroutines is given back to
 * the kernel as it is turned into entries (go_add_entries). */
struct memo_slot {
	struct go_goroutine g;
	bool used;			/* false: free */
	uint64_t hash;
	struct stack st;
};

struct memo {
	struct memo_slot *slots;
	size_t mask, count;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t stack_hash(const struct go_goroutine *g)
{
	uint64_t h = mix(mix(mix(g->gopc, g->startpc), (uint64_t)g->nraw),
			 (uint64_t)g->complete | (uint64_t)g->moved << 1 |
			 (uint64_t)(g->status == GO_RUNNING) << 2 | (uint64_t)(g->goid == 1) << 3 |
			 (uint64_t)g->stopped << 4);

	for (int i = 0; i < g->nraw; i++)
		h = mix(h, g->raw[i].pc << 1 | g->raw[i].return_address);
	return h;
}

static bool same_stack(const struct go_goroutine *a, const struct go_goroutine *b)
{
	if (a->gopc != b->gopc || a->startpc != b->startpc || a->nraw != b->nraw ||
	    a->complete != b->complete || a->moved != b->moved ||
	    (a->status == GO_RUNNING) != (b->status == GO_RUNNING) ||
	    (a->goid == 1) != (b->goid == 1) || a->stopped != b->stopped)
		return false;
	for (int i = 0; i < a->nraw; i++)
		if (a->raw[i].pc != b->raw[i].pc ||
		    a->raw[i].return_address != b->raw[i].return_address)
			return false;
	return true;
}

static struct memo_slot *memo_find(struct memo *m, const struct go_goroutine *g, uint64_t h)
{
	size_t i;

	for (i = h & m->mask; m->slots[i].used; i = (i + 1) & m->mask)
		if (m->slots[i].hash == h && same_stack(&m->slots[i].g, g))
			break;
	return &m->slots[i];
}

/* Makes room for one more; -ENOMEM. */
static int memo_reserve(struct memo *m)
{
	if ((m->count + 1) * 2 <= m->mask + 1)
		return 0;
	size_t n = m->slots ? (m->mask + 1) * 2 : MEMO_MIN;
	struct memo_slot *s = calloc(n, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; m->slots && i <= m->mask; i++) {
		if (!m->slots[i].used)
			continue;
		size_t j;
		for (j = m->slots[i].hash & (n - 1); s[j].used; j = (j + 1) & (n - 1))
			;
		s[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = s;
	m->mask = n - 1;
	return 0;
}

/* The Go function at pc (a function's entry), for its name; NULL.  From
 * the table alone: nothing to allocate. */
static const char *go_function_at(struct symbolizer *sym, uint64_t pc)
{
	uint64_t bias;
	const struct go_pcln *t = symbols_go_table(sym, pc, &bias);
	struct go_func f;

	return t && go_pcln_func(t, pc - bias, &f) ? f.name : NULL;
}

/* A goroutine the runtime runs for itself (runtime.isSystemGoroutine):
 * started in a runtime.* function other than runtime.main. */
static bool system_goroutine(const char *start)
{
	return start && strncmp(start, "runtime.", 8) == 0 && strcmp(start, "runtime.main") != 0;
}

#define INLINE_MAX 32	/* inlined calls asked for at one pc */
#define KIND_TAILCALL (-1)	/* a frame the symbolizer put back, no pc of Go's */

/*
 * How Go's traceback treats each frame of t (go_pcln_kind), into kind[]:
 * the frames of one raw frame (one pc: its inlined calls innermost first,
 * then the function) get the funcIDs of the function's inline tree at
 * that pc; a frame of no Go function (C code under cgo) is NORMAL; a
 * frame between two raw ones is one the symbolizer put back where a tail
 * call left it off the stack (runtime.reflectcall, which jumps to
 * runtime.call16), which Go's traceback, walking the stack, never shows:
 * KIND_TAILCALL.
 */
static void frame_kinds(struct symbolizer *sym, const struct go_goroutine *g,
			const struct thread *t, signed char *kind)
{
	size_t i = 0;
	int r = 0;

	while (i < t->nframes) {
		if (r >= g->nraw || t->frames[i].pc != g->raw[r].pc) {
			kind[i++] = r < g->nraw ? KIND_TAILCALL : GO_FUNC_NORMAL;
			continue;
		}
		uint64_t bias, addr = g->raw[r].pc - (g->raw[r].return_address ? 1 : 0);
		const struct go_pcln *tab = symbols_go_table(sym, addr, &bias);
		struct go_inline inl[INLINE_MAX + 1];
		struct go_func f;
		bool found = tab && go_pcln_func(tab, addr - bias, &f);
		int m = found ? go_pcln_inline(tab, &f, addr - bias, inl, INLINE_MAX) : 0;
		/* its frames: the calls inlined there and itself, all at its
		 * pc; no more (a function that calls itself repeats its pc
		 * in frames of their own) */
		size_t n = 1, most = m > 0 ? (size_t)m + 1 : 1;
		while (n < most && i + n < t->nframes && t->frames[i + n].pc == g->raw[r].pc)
			n++;
		for (size_t k = 0; k < n; k++)
			kind[i + k] = GO_FUNC_NORMAL;
		if (m > 0 && (size_t)m + 1 == n)
			for (size_t k = 0; k < n; k++)
				kind[i + k] = (signed char)go_pcln_kind(tab, inl[k].funcid);
		else if (found)	/* the function itself, at least */
			kind[i + n - 1] = (signed char)go_pcln_kind(tab, f.funcid);
		i += n;
		r++;
	}
}

/*
 * The frames Go's own traceback (and so pprof) hides, hidden: a wrapper
 * (go_pcln_kind: the compiler's `go f(x)` wrapper "f.gowrap1", "f.func3"
 * before 1.21, whatever line its call closes on; method wrappers;
 * runtime.call16 and the like under reflect.Value.Call) is dropped
 * unless the frame it called, the one inside it, is a panic function
 * (runtime tracebackPCs and showfuncinfo: elideWrapperCalling of the
 * callee's funcID, NORMAL for the innermost frame).  Inlined frames
 * count as frames, as Go's inline unwinder makes them; frames put back
 * for tail calls are not Go's.
 */
static int hide_wrappers(struct symbolizer *sym, const struct go_goroutine *g, struct thread *t)
{
	signed char *kind, callee = GO_FUNC_NORMAL;
	size_t kept = 0;

	if (!t->nframes)
		return 0;
	kind = calloc(t->nframes, sizeof(*kind));
	if (!kind)
		return -ENOMEM;
	frame_kinds(sym, g, t, kind);
	for (size_t i = 0; i < t->nframes; i++) {
		struct frame *f = &t->frames[i];
		bool hide = kind[i] == KIND_TAILCALL ||
			    (kind[i] == GO_FUNC_WRAPPER && callee != GO_FUNC_PANIC);
		if (kind[i] != KIND_TAILCALL)
			callee = kind[i];
		if (hide) {
			frame_release(f);
			continue;
		}
		t->frames[kept++] = *f;
	}
	t->nframes = kept;
	free(kind);
	return 0;
}

/* The stack of g symbolized, its wrappers hidden, into the pool. */
static int symbolize(struct symbolizer *sym, struct snapshot *snap,
		     const struct go_goroutine *g, struct stack *st)
{
	struct thread t = { 0 }, created = { 0 };
	int rc = 0;

	if (g->nraw)
		rc = symbols_resolve(sym, g->raw, g->nraw, &t);
	if (g->moved) {
		t.partial = true;
		t.error = strdup("it kept running while read: stack not captured");
	} else if (g->status == GO_RUNNING && !g->nraw && g->stopped) {
		/* its thread stopped, but never seen running it */
		t.partial = true;
		t.error = strdup("running: not found on its thread in its stops: stack not captured");
	} else if (g->status == GO_RUNNING && !g->nraw) {
		t.error = strdup("running: its stack is not read (its thread is not stopped)");
	} else if (g->nraw && !g->complete) {
		t.partial = true;
		t.error = strdup("unwinding stopped before the goroutine's start");
	}
	/* "created by": the go statement, the return address of its call
	 * (none for the main goroutine, as in Go's own tracebacks) */
	if (rc == 0 && g->gopc && g->goid != 1) {
		struct raw_frame f = { g->gopc, true };
		if (symbols_resolve(sym, &f, 1, &created) == 0 && created.nframes) {
			t.created = created.frames;
			t.ncreated = created.nframes;
			created.frames = NULL;
			created.nframes = 0;
		}
	}
	thread_release(&created);
	if (rc == 0)
		rc = hide_wrappers(sym, g, &t);
	if (rc == 0)
		rc = snapshot_pool_thread(snap, &t);
	if (rc == 0) {
		*st = (struct stack){ t.frames, t.created, t.nframes, t.ncreated, t.partial,
				      system_goroutine(go_function_at(sym, g->startpc)), t.error };
		t.frames = t.created = NULL;	/* the pool's, as error is */
	}
	thread_release(&t);
	return rc;
}

static bool io_wait(const char *reason)
{
	return reason && strcmp(reason, "IO wait") == 0;
}

static bool sema_wait(const char *reason)
{
	return reason && (strncmp(reason, "sync.", 5) == 0 || strcmp(reason, "semacquire") == 0);
}

static const struct {
	const char *fn;
	const char *kind;
	unsigned off;
} lock_kinds[] = {
	{ "sync.(*Mutex).lockSlow", "mutex", 4 },
	{ "internal/sync.(*Mutex).lockSlow", "mutex", 4 },
	{ "sync.(*RWMutex).RLock", "RWMutex", 12 },
	{ "sync.(*RWMutex).Lock", "RWMutex", 8 },
};
#define NLOCK_KINDS (sizeof(lock_kinds) / sizeof(lock_kinds[0]))

/*
 * The lock a semaphore belongs to, by the innermost sync function on the
 * stack (1.19 says "semacquire" for all): a sync.Mutex's semaphore is its
 * second word, an RWMutex's writer and reader ones its third and fourth
 * (sync's layouts since 1.19): the index in lock_kinds, NLOCK_KINDS for
 * other semaphores (a WaitGroup's...), named as such.
 */
static size_t lock_kind(const struct thread *t)
{
	for (size_t i = 0; i < t->nframes; i++)
		for (size_t k = 0; t->frames[i].function && k < NLOCK_KINDS; k++)
			if (strcmp(t->frames[i].function, lock_kinds[k].fn) == 0)
				return k;
	return NLOCK_KINDS;
}

/*
 * What is the same for many goroutines, worked out once: a wait reason's
 * or status's words (pooled) and kind; the lock kind of a pooled stack
 * (the last one asked: those on semaphores mostly share a few); the
 * words of a lock, by its address (direct mapped).
 */
#define WORDS_REASONS 256
#define WORDS_STATUSES 16
#define LOCK_WORDS 256

struct words {
	const char *raw;	/* NULL: not yet */
	char *pooled;
	enum wait_kind kind;
	bool io, sema;		/* io_wait, sema_wait */
};

struct known {
	struct words reason[WORDS_REASONS], status[WORDS_STATUSES];
	const struct frame *lock_frames;	/* the stack lock_index is of */
	size_t lock_nframes, lock_index;
	struct {
		uint64_t at;
		size_t kind;
		char *pooled;	/* NULL: free */
	} lock[LOCK_WORDS];
};

/* What g waits on, from the runtime's poller or semaphores: the fd and
 * what it is (its peer), or the lock.  w: its reason's words. */
static void wait_on(struct snapshot *snap, struct fd_table *fds, const struct go_waits *waits,
		    struct known *kn, const struct go_goroutine *g, const struct words *w,
		    struct thread *t)
{
	struct go_wait_on on;
	char what[256];

	if (!go_waits_find(waits, g->addr, &on))
		return;
	if (w->io && on.fd >= 0) {
		t->wait.fd = on.fd;
		if (fds && fds_describe(fds, on.fd, what, sizeof(what)) == 0) {
			t->wait.object = snapshot_pool_string(snap, what);
			if (strstr(what, " listen "))
				t->wait.kind = WAIT_ACCEPT;
			else
				t->wait.kind = on.write ? WAIT_WRITE : WAIT_READ;
		}
	} else if (w->sema && on.sema) {
		if (!t->frames_pooled || t->frames != kn->lock_frames ||
		    t->nframes != kn->lock_nframes || !kn->lock_frames) {
			kn->lock_index = lock_kind(t);
			kn->lock_frames = t->frames_pooled ? t->frames : NULL;
			kn->lock_nframes = t->nframes;
		}
		size_t k = kn->lock_index;
		uint64_t at = on.sema - (k < NLOCK_KINDS ? lock_kinds[k].off : 0);
		size_t slot = (size_t)((at >> 3) ^ (at >> 11)) % LOCK_WORDS;
		t->wait.address = at;
		if (!kn->lock[slot].pooled || kn->lock[slot].at != at || kn->lock[slot].kind != k) {
			snprintf(what, sizeof(what), "%s 0x%llx",
				 k < NLOCK_KINDS ? lock_kinds[k].kind : "semaphore",
				 (unsigned long long)at);
			kn->lock[slot].at = at;
			kn->lock[slot].kind = k;
			kn->lock[slot].pooled = snapshot_pool_string(snap, what);
		}
		t->wait.object = kn->lock[slot].pooled;
	}
}

/* The words and kind of a goroutine's status and reason (NULL: not
 * waiting), kept in kn, or in *tmp when kn has no place for them; NULL
 * when out of memory. */
static const struct words *words_of(struct known *kn, struct snapshot *snap, unsigned status,
				    unsigned reason_index, const char *reason, struct words *tmp)
{
	struct words *w = tmp;

	if (reason && reason_index < WORDS_REASONS)
		w = &kn->reason[reason_index];
	else if (!reason && status < WORDS_STATUSES)
		w = &kn->status[status];
	if (w != tmp && w->raw)
		return w;
	w->raw = reason ? reason : go_status_name(status);
	w->pooled = snapshot_pool_string(snap, w->raw);
	w->kind = reason ? classify_go_reason(reason) :
		  status == GO_RUNNING || status == GO_RUNNABLE ? WAIT_RUNNING : WAIT_OTHER;
	w->io = io_wait(reason);
	w->sema = sema_wait(reason);
	if (!w->pooled) {
		w->raw = NULL;
		return NULL;
	}
	return w;
}

/* How long g has waited as the runtime knows it (a GC sets waitsince). */
static void waited(struct thread *t, const struct go_goroutine *g, int64_t now_ns)
{
	t->go_minutes = g->waitsince > 0 && now_ns > g->waitsince ?
			(double)(now_ns - g->waitsince) / 60e9 : -1;
	t->wait.blocked_sec = t->go_minutes >= 0 ? t->go_minutes * 60 : -1;
}

/* g has not run since the last snapshot, whose entry for it is moved to
 * snap (whose pool was the last one's): true, or false when there is
 * none to move. */
static bool can_carry(const struct snapshot *prev, const struct go_goroutine *g)
{
	if (!prev || !g->same || g->prev < 0 || (size_t)g->prev >= prev->nthreads)
		return false;
	const struct thread *old = &prev->threads[g->prev];
	return old->goid == g->goid && old->pooled && old->frames_pooled;
}

static bool carry_over(struct snapshot *snap, struct snapshot *prev,
		       const struct go_goroutine *g, int64_t now_ns)
{
	if (!can_carry(prev, g))
		return false;
	struct thread *old = &prev->threads[g->prev];
	struct thread *t = snapshot_add_thread(snap);
	if (!t)
		return false;
	*t = *old;
	memset(old, 0, sizeof(*old));	/* now the new snapshot's */
	waited(t, g, now_ns);
	if (t->partial)
		snap->partial = true;
	snap->ngoroutines++;
	return true;
}

static int add_entry(const struct go_runtime *rt, struct symbolizer *sym, struct memo *m,
		     struct known *kn, struct fd_table *fds, const struct go_waits *waits,
		     struct snapshot *snap, const struct go_goroutine *g, int64_t now_ns)
{
	const char *reason = g->status == GO_WAITING || g->status == GO_LEAKED ?
			     go_wait_reason(rt, g->reason) : NULL;
	uint64_t h = stack_hash(g);
	int rc = memo_reserve(m);
	if (rc < 0)
		return rc;
	struct memo_slot *slot = memo_find(m, g, h);
	if (!slot->used) {
		rc = symbolize(sym, snap, g, &slot->st);
		if (rc < 0)
			return rc;
		slot->g = *g;
		slot->used = true;
		slot->hash = h;
		m->count++;
	}
	struct words tmp;
	const struct words *w = words_of(kn, snap, g->status, g->reason, reason, &tmp);
	struct thread *t = snapshot_add_thread(snap);
	if (!t || !w)
		return -ENOMEM;
	t->pooled = t->frames_pooled = true;
	t->goid = g->goid;
	t->go_parent = g->parent;
	t->go_tid = g->tid;
	t->stopped = g->stopped;	/* running: read in a stop of its thread */
	t->state = g->status == GO_RUNNING ? 'R' : 'S';
	t->go_wait = w->pooled;
	t->wait.kind = w->kind;
	waited(t, g, now_ns);
	t->go_system = slot->st.system;
	t->frames = slot->st.frames;
	t->nframes = slot->st.nframes;
	t->created = slot->st.created;
	t->ncreated = slot->st.ncreated;
	t->partial = slot->st.partial;
	t->error = slot->st.error;
	if (waits && (w->io || w->sema))
		wait_on(snap, fds, waits, kn, g, w, t);
	/* One in a system call is tied to its thread's wait (its fd). */
	if (g->status == GO_SYSCALL && g->tid) {
		const struct thread *th = snapshot_find_thread(snap, g->tid);
		if (th && th->wait.kind != WAIT_UNKNOWN) {
			t->wait.kind = th->wait.kind;
			t->wait.fd = th->wait.fd;
			t->wait.object = snapshot_pool_string(snap, th->wait.object);
		}
	}
	if (t->partial)
		snap->partial = true;
	snap->ngoroutines++;
	return 0;
}

/* A forged or corrupt allgs: what was skipped or not read, said in the
 * snapshot's note (partial). */
static void skipped_note(struct snapshot *snap, const struct go_cache *cache)
{
	uint64_t claimed, unread;
	size_t skipped;
	char note[320];

	go_cache_counts(cache, &claimed, &skipped, &unread);
	if (!skipped && !unread)
		return;
	int len = snprintf(note, sizeof(note), "runtime.allgs claims %llu entries",
			   (unsigned long long)claimed);
	if (skipped)
		len += snprintf(note + len, sizeof(note) - (size_t)len,
				"; %zu are no goroutine (null, unaligned, unreadable, a status no "
				"goroutine has, or one named twice) and were skipped", skipped);
	if (unread)
		snprintf(note + len, sizeof(note) - (size_t)len,
			 "; %llu were not read: at most %u goroutines are kept",
			 (unsigned long long)unread, GO_KEEP_MAX);
	char *dup = strdup(note);
	if (!dup)
		return;
	free(snap->note);
	snap->note = dup;
	snap->partial = true;
}

/* What go_add_entries makes entries with, goroutine by goroutine. */
struct adding {
	const struct go_runtime *rt;
	struct symbolizer *sym;
	struct memory *mem;
	struct fd_table *fds;
	struct snapshot *snap, *prev;
	int64_t now_ns;
	struct memo m;
	struct go_labels_memo *labels;
	struct known *kn;
	struct go_waits *waits;	/* read when one first waits on an fd or a lock */
	bool fds_read, semas_read;
};

static int take(void *arg, const struct go_goroutine *g, long *index)
{
	struct adding *a = arg;
	struct snapshot *snap = a->snap;
	int rc = 0;

	if (carry_over(snap, a->prev, g, a->now_ns)) {
		*index = (long)snap->nthreads - 1;
		return 0;
	}
	/* What those in IO wait or on a semaphore wait on, read when the
	 * first one comes (again when the first of the other kind does). */
	if (g->status == GO_WAITING) {
		struct words tmp;
		const struct words *w = words_of(a->kn, snap, g->status, g->reason,
						 go_wait_reason(a->rt, g->reason), &tmp);
		bool fds = w && w->io && !a->fds_read, semas = w && w->sema && !a->semas_read;
		if (fds || semas) {
			go_waits_free(a->waits);
			a->fds_read |= fds;
			a->semas_read |= semas;
			a->waits = go_waits_read(a->rt, a->mem, a->fds_read, a->semas_read);
		}
	}
	rc = add_entry(a->rt, a->sym, &a->m, a->kn, a->fds, a->waits, snap, g, a->now_ns);
	/* its pprof labels (go/labels.h) */
	if (rc == 0)
		rc = go_entry_labels(a->labels, a->rt, a->mem, snap, g->labels,
				     &snap->threads[snap->nthreads - 1]);
	*index = (long)snap->nthreads - 1;
	return rc;
}

int go_add_entries(const struct go_runtime *rt, struct symbolizer *sym, struct memory *mem,
		   struct fd_table *fds, struct go_cache *cache, struct snapshot *snap,
		   struct snapshot *prev, char *err, size_t errlen)
{
	struct adding a = { rt, sym, mem, fds, snap, prev, 0 };
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	a.now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	/* Those that have not run since the last snapshot keep their
	 * entries, strings and all: the pool comes along. */
	if (prev && !snapshot_adopt_pool(snap, prev, CARRY_POOL_MAX))
		a.prev = NULL;
	a.labels = go_labels_memo_new();
	if (!(a.kn = calloc(1, sizeof(*a.kn)))) {
		go_labels_memo_free(a.labels);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = go_read_goroutines_each(rt, sym, mem, cache, take, &a, err, errlen);
	if (rc == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	if (rc == 0)
		skipped_note(snap, cache);
	go_labels_memo_free(a.labels);
	free(a.kn);
	go_waits_free(a.waits);
	free(a.m.slots);
	return rc;
}
