/*
 * group: stack signatures and grouping of identical stacks; see group.h.
 *
 * Grouping is sort-based, by radix sorts in O(n) (a million goroutines):
 * each thread's signature is computed once into a 16-byte entry {member
 * (goid or tid), index, signature rank and kind}, the entries are sorted
 * by (signature, kind, member), and every run of equal (signature, kind)
 * becomes one group whose members are therefore in goid or tid order.
 * The group gets a copy of the run's signature.  Threads that share a
 * pooled stack share one signature (struct sigs below).  What a group
 * says of all its members (waits, origin) is found in the pass that
 * makes the entries, a part for each pooled stack (struct part).  Groups are then sorted
 * by count (largest first), kind, signature, which is a total order as
 * (kind, signature) is unique.
 *
 * Memory: stack_signature() returns a string the caller frees.  A grouping
 * owns its groups, their signatures and member arrays; the members point
 * into the snapshot, which must outlive the grouping.  grouping_free()
 * releases it all and leaves an empty grouping.
 */
#include "model/group.h"
#include "model/labels.h"
#include "base/util.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char *module_base(const char *module)
{
	const char *s = strrchr(module, '/');

	return s ? s + 1 : module;
}

static bool is_libc(const char *module)
{
	const char *base = module ? module_base(module) : "";

	return strncmp(base, "libc.so", 7) == 0 ||
	       strncmp(base, "libc-", 5) == 0 ||
	       strncmp(base, "libpthread", 10) == 0 ||
	       strncmp(base, "ld-linux", 8) == 0;
}

/* The runtime's own frames, which Go's tracebacks hide at the top of a
 * goroutine's stack (runtime.gopark, runtime.chanrecv1...). */
static bool go_runtime_frame(const struct frame *f)
{
	return f->function && (strncmp(f->function, "runtime.", 8) == 0 ||
			       strncmp(f->function, "internal/runtime/", 17) == 0);
}

/* Runs only Go code: every frame a Go function ("pkg.F") of the
 * executable; none of C (cgo) or of a library; or no frame known.  The vDSO is the kernel's,
 * called by the runtime's nanotime and walltime (sysmon, a spinning M). */
static bool only_go(const struct thread *t, const struct snapshot *s)
{
	for (size_t i = 0; i < t->nframes; i++) {
		const struct frame *f = &t->frames[i];
		if (f->module && strncmp(f->module, "[vdso", 5) == 0)
			continue;
		if (!f->function || !strchr(f->function, '.') ||
		    (f->module && s->exe && strcmp(f->module, s->exe) != 0))
			return false;
	}
	/* No stack (it ran through the capture): an M as far as anyone can
	 * tell, and no stack to compare; the goroutine it ran is an entry
	 * of its own. */
	return true;
}

bool thread_go_runtime(const struct snapshot *snap, const struct thread *t)
{
	if (!snap->ngoroutines)
		return false;
	return t->goid ? t->go_system : only_go(t, snap);
}

const struct frame *thread_top_frame(const struct thread *t)
{
	for (size_t i = 0; i < t->nframes; i++)
		if (t->goid ? !go_runtime_frame(&t->frames[i]) : !is_libc(t->frames[i].module))
			return &t->frames[i];
	return NULL;
}

/* A Go function of the standard library: its import path's first element
 * has no dot ("internal/poll.", "sync.", "net/http."), and is not main. */
static bool go_std_frame(const struct frame *f)
{
	const char *fn = f->function;
	size_t first;

	if (!fn)
		return false;
	first = strcspn(fn, "/.");
	if (fn[first] == '.' && first == 4 && strncmp(fn, "main", 4) == 0)
		return false;
	/* a dot before the first '/' is a module's domain ("github.com/") */
	return fn[first] == '/' ? memchr(fn, '.', first) == NULL : fn[first] == '.';
}

/*
 * A goroutine's own frame: the program's innermost (package main or a
 * module's), else the first past the runtime's (pprof's debug=1 hides
 * those), else, for the runtime's own goroutines, the function it started
 * in (runtime.bgsweep), the frame under runtime.goexit.
 */
static const struct frame *goroutine_own_frame(const struct thread *t)
{
	for (size_t i = 0; i < t->nframes; i++)
		if (!go_std_frame(&t->frames[i]))
			return &t->frames[i];
	for (size_t i = 0; i < t->nframes; i++)
		if (!go_runtime_frame(&t->frames[i]))
			return &t->frames[i];
	for (size_t i = t->nframes; i-- > 0;)
		if (!t->frames[i].function || strcmp(t->frames[i].function, "runtime.goexit") != 0)
			return &t->frames[i];
	return NULL;
}

bool python_own_frame(const struct frame *f)
{
	const char *file = f->file ? f->file : "";

	return f->python && !strstr(file, "/lib/python3.") && strncmp(file, "<frozen ", 8) != 0;
}

/* A Python thread's own frame: its innermost of the program's own, else
 * its innermost Python frame; NULL when it has none. */
static const struct frame *python_thread_own_frame(const struct thread *t)
{
	const struct frame *first = NULL;

	for (size_t i = 0; i < t->nframes; i++) {
		if (python_own_frame(&t->frames[i]))
			return &t->frames[i];
		if (!first && t->frames[i].python)
			first = &t->frames[i];
	}
	return first;
}

const struct frame *thread_own_frame(const struct snapshot *snap,
				     const struct thread *t)
{
	if (t->goid)
		return goroutine_own_frame(t);
	const struct frame *py = python_thread_own_frame(t);
	if (py)
		return py;
	for (size_t i = 0; snap->exe && i < t->nframes; i++)
		if (t->frames[i].module && strcmp(t->frames[i].module, snap->exe) == 0)
			return &t->frames[i];
	const struct frame *f = thread_top_frame(t);
	return f ? f : t->nframes ? &t->frames[0] : NULL;
}

bool function_is(const char *name, const char *fn)
{
	size_t len = strlen(fn);

	if (!name || !len)
		return false;
	for (const char *p = name; (p = strstr(p, fn)); p++) {
		char after = p[len];
		if ((p == name || p[-1] == ' ') &&
		    (after == '\0' || after == '(' || after == '<' ||
		     after == ' ' || after == '.'))
			return true;
	}
	return false;
}

bool thread_has_function(const struct thread *t, const char *fn)
{
	for (size_t i = 0; i < t->nframes; i++)
		if (function_is(t->frames[i].function, fn))
			return true;
	return false;
}

bool thread_top_is(const struct thread *t, const char *fn)
{
	const struct frame *f = thread_top_frame(t);

	return f && function_is(f->function, fn);
}

/*
 * Writes frame f's part of a signature into buf (when buf is not NULL) and
 * returns its length: "module!function", "?!function", "module+0xOFF", "?"
 * ("file.py!function" for a Python frame);
 * with_line: "module!function:LINE" when the line is known.
 */
static size_t frame_part(const struct frame *f, bool with_line, char *buf)
{
	/* a Python frame's "module" is its source file */
	const char *where = f->python ? f->file : f->module;
	const char *mod = where && *where ? module_base(where) : NULL;
	char off[24];
	size_t mlen, flen, olen;

	if (f->function && *f->function) {
		if (!mod)
			mod = "?";
		mlen = strlen(mod);
		flen = strlen(f->function);
		if (buf) {
			memcpy(buf, mod, mlen);
			buf[mlen] = '!';
			memcpy(buf + mlen + 1, f->function, flen);
		}
		if (with_line && f->line > 0)
			olen = (size_t)snprintf(buf ? buf + mlen + 1 + flen : off,
						buf ? 16 : sizeof(off), ":%d", f->line);
		else
			olen = 0;
		return mlen + 1 + flen + olen;
	}
	if (!mod) {
		if (buf)
			buf[0] = '?';
		return 1;
	}
	mlen = strlen(mod);
	olen = (size_t)snprintf(off, sizeof(off), "+0x%" PRIx64, f->offset);
	if (buf) {
		memcpy(buf, mod, mlen);
		memcpy(buf + mlen, off, olen);
	}
	return mlen + olen;
}

char *stack_signature(const struct thread *t)
{
	size_t len = 0, pos = 0;
	char *sig, *labels = NULL;

	/* A goroutine's: its wait reason first ("go:chan send|"), as pprof
	 * tells apart goroutines whose stacks differ only there; never the
	 * same as a thread's.  Then its pprof labels, if it has a set
	 * ("labels:{"k":"v"}|"), as pprof's debug=1 groups by them. */
	const char *gw = t->goid ? (t->go_wait ? t->go_wait : "?") : NULL;
	if (gw)
		len += strlen(gw) + 4;
	if (gw && t->labelled) {
		if (!(labels = labels_text(t->labels, t->nlabels)))
			return NULL;
		len += strlen(labels) + 8;
	}
	/* A goroutine's frames with their lines: pprof groups goroutines by
	 * their pcs, so two waits at two lines of one function are two
	 * groups.  Not the innermost line of a running one, which moves
	 * from one look to the next. */
	bool running = gw && strcmp(gw, "running") == 0;
	assert(t->frames || !t->nframes);	/* frames grow with nframes */
	for (size_t i = 0; i < t->nframes; i++)
		len += frame_part(&t->frames[i], gw && !(running && i == 0), NULL) + 1;
	sig = malloc(len + 1);
	if (!sig) {
		free(labels);
		return NULL;
	}
	if (gw)
		pos += (size_t)sprintf(sig, "go:%s|", gw);
	if (labels)
		pos += (size_t)sprintf(sig + pos, "labels:%s|", labels);
	free(labels);
	for (size_t i = 0; i < t->nframes; i++) {
		if (i)
			sig[pos++] = ';';
		pos += frame_part(&t->frames[i], gw && !(running && i == 0), sig + pos);
	}
	sig[pos] = '\0';
	return sig;
}

/* A thread's place in the sort: 16 bytes, a million of them moved a few
 * times over (the entries themselves are 160 bytes each). */
struct entry {
	uint64_t member;	/* its goid (a goroutine) or tid */
	uint32_t thread;	/* its index in the snapshot */
	uint32_t key;		/* signature << KIND_BITS | wait kind: the
				   signature its index in the table's own[],
				   then its rank in string order */
};

#define KIND_BITS 4
_Static_assert(WAIT__COUNT <= 1 << KIND_BITS, "a wait kind in KIND_BITS");

/*
 * The signatures of one grouping, each made once per distinct pooled
 * stack: threads whose frames are the pool's share their array with every
 * thread of the same stack (snapshot.h), so (array, length, go_wait,
 * whether a goroutine, its pooled labels) is the signature's key, and 100,000 goroutines on
 * one stack make one string, compared by address.
 */
struct sig_slot {
	const struct frame *frames;	/* NULL: free */
	uint64_t hash;
	size_t nframes;
	const char *go_wait;
	bool go;
	const struct label *labels;	/* pooled too: equal sets, one array */
	size_t nlabels;
	bool labelled;
	size_t sig;		/* in own[] */
};

struct sigs {
	struct sig_slot *slots;
	size_t mask, count;
	char **own;		/* every signature made, to free */
	size_t nown;
};

static uint64_t sig_hash(const struct thread *t)
{
	uint64_t h = (uintptr_t)t->frames * 0x9e3779b97f4a7c15ull;

	h ^= (t->nframes + ((uintptr_t)t->go_wait << 1) + (t->goid != 0)) * 0xff51afd7ed558ccdull;
	h ^= ((uintptr_t)t->labels + t->nlabels + t->labelled) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* t's signature, made or found, as its index in s->own; -1 when out of
 * memory. */
static ssize_t signature_of(struct sigs *s, const struct thread *t)
{
	char *sig;

	if (!t->frames_pooled || !t->frames) {
		sig = stack_signature(t);
		if (!sig)
			return -1;
		s->own[s->nown] = sig;
		return (ssize_t)s->nown++;
	}
	if ((s->count + 1) * 2 > s->mask + 1) {
		size_t n = s->slots ? (s->mask + 1) * 2 : 256;
		struct sig_slot *ns = calloc(n, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t i = 0; s->slots && i <= s->mask; i++) {
			if (!s->slots[i].frames)
				continue;
			size_t j;
			for (j = s->slots[i].hash & (n - 1); ns[j].frames; j = (j + 1) & (n - 1))
				;
			ns[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = ns;
		s->mask = n - 1;
	}
	uint64_t h = sig_hash(t);
	size_t i;
	for (i = h & s->mask; s->slots[i].frames; i = (i + 1) & s->mask) {
		const struct sig_slot *o = &s->slots[i];
		if (o->frames == t->frames && o->nframes == t->nframes &&
		    o->go_wait == t->go_wait && o->go == (t->goid != 0) &&
		    o->labels == t->labels && o->nlabels == t->nlabels &&
		    o->labelled == t->labelled)
			return (ssize_t)o->sig;
	}
	sig = stack_signature(t);
	if (!sig)
		return -1;
	s->own[s->nown] = sig;
	s->slots[i] = (struct sig_slot){ t->frames, h, t->nframes, t->go_wait, t->goid != 0,
					 t->labels, t->nlabels, t->labelled, s->nown };
	s->count++;
	return (ssize_t)s->nown++;
}

struct ranked {
	const char *sig;
	size_t own;
};

static int cmp_ranked(const void *a, const void *b)
{
	return strcmp(((const struct ranked *)a)->sig, ((const struct ranked *)b)->sig);
}

/*
 * Each signature's rank in string order, equal strings equal ranks, into
 * rank[] by index in s->own, so that entries sort by integers; by_rank[]
 * gets a signature of each rank.  -ENOMEM.
 */
static int rank_signatures(const struct sigs *s, size_t *rank, const char **by_rank)
{
	struct ranked *r = malloc((s->nown ? s->nown : 1) * sizeof(*r));
	size_t k = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < s->nown; i++)
		r[i] = (struct ranked){ s->own[i], i };
	qsort(r, s->nown, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < s->nown; i++) {
		if (i && strcmp(r[i].sig, r[i - 1].sig) != 0)
			k++;
		rank[r[i].own] = k;
		by_rank[k] = r[i].sig;
	}
	free(r);
	return 0;
}

/* A member's place in its group: its goid (a goroutine) or tid. */
static uint64_t member_key(const struct thread *t)
{
	return t->goid ? (uint64_t)t->goid : (uint64_t)(unsigned)t->tid;
}

/*
 * Stable counting sort of the n entries of *e by bucket(entry) (<
 * nbuckets) into *tmp; then the two are swapped: *e is the sorted one.
 * -ENOMEM.
 */
static int counting_sort(struct entry **e, struct entry **tmp, size_t n, size_t nbuckets,
			 unsigned shift, uint64_t mask, bool by_member)
{
	size_t *start = calloc(nbuckets + 1, sizeof(*start));
	struct entry *from = *e, *to = *tmp;

	if (!start)
		return -ENOMEM;
#define BUCKET(x) ((size_t)(((by_member ? (x).member : (x).key) >> shift) & mask))
	for (size_t i = 0; i < n; i++)
		start[BUCKET(from[i]) + 1]++;
	for (size_t b = 0; b < nbuckets; b++)
		start[b + 1] += start[b];
	for (size_t i = 0; i < n; i++)
		to[start[BUCKET(from[i])]++] = from[i];
#undef BUCKET
	*e = to;
	*tmp = from;
	free(start);
	return 0;
}

#define MEMBER_BITS 11	/* a member digit: 2 passes up to 4M */

/*
 * Sorts entries by (key, member), equal ones (a malformed snapshot) in
 * snapshot order: stable radix sorts, least significant first: by member
 * MEMBER_BITS a pass over the bits the largest has (none when they come
 * in order: threads by tid; goroutines in allgs order, which reuse of
 * dead g's shuffles), then by key, in one pass or by kind then signature
 * rank when there are many signatures; each pass from one array into the
 * other.  A group's members (one key) are all goroutines or all threads
 * (a goroutine's signature is its own), so their order is by goid or by
 * tid.  O(n): 100,000 goroutines on a few stacks cost a few passes, not
 * n log n comparisons.  0 or -ENOMEM.
 */
static int sort_entries(struct entry *e, size_t n, size_t nranks)
{
	struct entry *tmp = malloc(n * sizeof(*tmp)), *cur = e, *other = tmp;
	uint64_t max = 0;
	bool sorted = true;
	size_t nkeys = nranks << KIND_BITS;
	int rc = 0;

	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		max = e[i].member > max ? e[i].member : max;
		sorted &= !i || e[i - 1].member <= e[i].member;
	}
	for (unsigned shift = 0; rc == 0 && !sorted && shift < 64 && (max >> shift);
	     shift += MEMBER_BITS)
		rc = counting_sort(&cur, &other, n, 1 << MEMBER_BITS, shift,
				   (1 << MEMBER_BITS) - 1, true);
	if (rc == 0 && nkeys <= 4 * n + 1024)
		rc = counting_sort(&cur, &other, n, nkeys, 0, UINT32_MAX, false);
	else if (rc == 0 && (rc = counting_sort(&cur, &other, n, 1 << KIND_BITS, 0,
						(1 << KIND_BITS) - 1, false)) == 0)
		rc = counting_sort(&cur, &other, n, nranks, KIND_BITS, UINT32_MAX >> KIND_BITS,
				   false);
	if (cur != e)
		memcpy(e, cur, n * sizeof(*e));
	free(tmp);
	return rc;
}

static void sigs_free(struct sigs *s)
{
	for (size_t i = 0; i < s->nown; i++)
		free(s->own[i]);
	free(s->own);
	free(s->slots);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->signature, y->signature);
}

bool wait_fields_equal(const struct wait_info *a, const struct wait_info *b)
{
	return a->fd == b->fd && a->address == b->address && a->owner == b->owner &&
	       (a->kind == WAIT_POLL) == (b->kind == WAIT_POLL) &&
	       (a->object == b->object ||
		(a->object && b->object && strcmp(a->object, b->object) == 0));
}

/* A group's waits before the first member's is added. */
static void wait_start(struct group *g)
{
	g->max_blocked_sec = -1;
	g->min_blocked_sec = -1;
	g->max_blocked_partial = false;
	g->min_go_minutes = -1;
	g->max_go_minutes = -1;
}

/* What a group says of its members, before the first is added. */
static void stats_start(struct group *g)
{
	wait_start(g);
	g->created_same = true;
	g->one_parent = true;
	g->same_wait = true;
}

/* Member t's wait in g's longest and shortest ones. */
static void add_wait(struct group *g, const struct thread *t)
{
	double b = t->wait.blocked_sec, m = t->go_minutes;

	if (b == BLOCKED_NOT_READ)
		g->max_blocked_partial = true;
	if (b >= 0) {
		if (g->max_blocked_sec < 0 || b > g->max_blocked_sec)
			g->max_blocked_sec = b;
		if (g->min_blocked_sec < 0 || b < g->min_blocked_sec)
			g->min_blocked_sec = b;
	}
	if (m >= 0) {
		if (g->min_go_minutes < 0 || m < g->min_go_minutes)
			g->min_go_minutes = m;
		if (m > g->max_go_minutes)
			g->max_go_minutes = m;
	}
}

/* The function a goroutine's "go" ran in (its outermost created-by
 * frame's), or NULL. */
static const char *creator(const struct thread *t)
{
	return t->ncreated ? t->created[t->ncreated - 1].function : NULL;
}

/*
 * Member t in what g says of all of them (threads[0] set): its wait, and
 * whether it was started where threads[0] was (the same function ran
 * "go"), by the same parent, and waits on what threads[0] does.  What
 * print_created says of a group is kept here, so that a group cut to its
 * first members (diff.h) still says it.  Each is a property every member
 * shares with threads[0], so members can come in any order.
 */
static void add_member(struct group *g, const struct thread *t)
{
	const struct thread *t0 = g->threads[0];

	add_wait(g, t);
	if (t == t0)
		return;
	if (g->created_same) {
		const char *f0 = creator(t0), *f = creator(t);
		g->created_same = f && f0 && (f == f0 || strcmp(f, f0) == 0);
	}
	g->one_parent &= t->go_parent == t0->go_parent;
	g->same_wait = g->same_wait && wait_fields_equal(&t0->wait, &t->wait);
}

/* The group's waits from its members': blocked and go_minutes ranges. */
static void group_waits(struct group *g)
{
	wait_start(g);
	for (size_t i = 0; i < g->count; i++)
		add_wait(g, g->threads[i]);
}

/* Fills g from the run of n entries at e (all snap's), taking the first
 * signature; what it says of its members is left to its parts (struct
 * part). */
static int make_group(const struct snapshot *snap, struct group *g, struct entry *e, size_t n,
		      const char *sig)
{
	g->threads = malloc(n * sizeof(*g->threads));
	g->signature = strdup(sig);
	if (!g->threads || !g->signature) {
		free(g->threads);
		free(g->signature);
		g->threads = NULL;
		g->signature = NULL;
		return -ENOMEM;
	}
	g->kind = (enum wait_kind)(e[0].key & ((1 << KIND_BITS) - 1));
	g->count = n;
	for (size_t i = 0; i < n; i++)
		g->threads[i] = &snap->threads[e[i].thread];
	stats_start(g);
	return 0;
}

/*
 * What each group says of its members (add_member) is found in the pass
 * that makes the entries, in the snapshot's own order (a group's members
 * in goid order lie scattered over the entries, which a million
 * goroutines make 160 MB: a walk group by group, or a second pass, read
 * them from memory again): the threads of one pooled stack and kind (one
 * pre-key: signature index << KIND_BITS | kind) say it of themselves in a
 * part, a group of their own whose first member is the first met; each
 * part is then merged into the group it is of (merge_part), and the
 * threads of no pooled stack (few, mostly) are added to theirs one by
 * one.  Every such property is one a member shares with the first (or
 * the first's with the group's threads[0]), so the order does not matter.
 */
struct part {
	uint32_t prekey;
	const struct thread *first;
	struct group g;		/* g.threads: &first, set before each use */
};

struct parts {
	struct part *v;
	size_t n, cap;
	uint32_t *slots;	/* index in v + 1; 0: free */
	size_t mask;
};

/* A thread of no pooled stack: added to its group after. */
struct loose {
	uint32_t thread;
	uint32_t prekey;
};

/* The part of prekey, made with t its first member when there is none;
 * NULL when out of memory. */
static struct part *part_of(struct parts *ps, uint32_t prekey, const struct thread *t)
{
	if ((ps->n + 1) * 2 > ps->mask + 1 || !ps->slots) {
		size_t m = ps->slots ? (ps->mask + 1) * 2 : 64;
		uint32_t *ns = calloc(m, sizeof(*ns));
		if (!ns)
			return NULL;
		for (size_t k = 0; k < ps->n; k++) {
			size_t j = (ps->v[k].prekey * 0x9e3779b1u) & (m - 1);
			while (ns[j])
				j = (j + 1) & (m - 1);
			ns[j] = (uint32_t)k + 1;
		}
		free(ps->slots);
		ps->slots = ns;
		ps->mask = m - 1;
	}
	size_t j = (prekey * 0x9e3779b1u) & ps->mask;
	for (; ps->slots[j]; j = (j + 1) & ps->mask)
		if (ps->v[ps->slots[j] - 1].prekey == prekey)
			return &ps->v[ps->slots[j] - 1];
	if (grow_array(&ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v)) < 0)
		return NULL;
	struct part *p = &ps->v[ps->n];
	p->prekey = prekey;
	p->first = t;
	stats_start(&p->g);
	ps->slots[j] = (uint32_t)++ps->n;
	return p;
}

/* What part a (threads[0] its first member) says, in its group g. */
static void merge_part(struct group *g, const struct group *a)
{
	g->max_blocked_partial |= a->max_blocked_partial;
	if (a->max_blocked_sec >= 0 &&
	    (g->max_blocked_sec < 0 || a->max_blocked_sec > g->max_blocked_sec))
		g->max_blocked_sec = a->max_blocked_sec;
	if (a->min_blocked_sec >= 0 &&
	    (g->min_blocked_sec < 0 || a->min_blocked_sec < g->min_blocked_sec))
		g->min_blocked_sec = a->min_blocked_sec;
	if (a->min_go_minutes >= 0 &&
	    (g->min_go_minutes < 0 || a->min_go_minutes < g->min_go_minutes))
		g->min_go_minutes = a->min_go_minutes;
	if (a->max_go_minutes > g->max_go_minutes)
		g->max_go_minutes = a->max_go_minutes;
	add_member(g, a->threads[0]);	/* the first as the group's */
	g->created_same = g->created_same && a->created_same;
	g->one_parent = g->one_parent && a->one_parent;
	g->same_wait = g->same_wait && a->same_wait;
}

/* The group (created in key order, keys in gkey) with key; NULL: none. */
static struct group *group_with(struct grouping *gr, const uint32_t *gkey, uint32_t key)
{
	size_t lo = 0, hi = gr->ngroups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (gkey[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < gr->ngroups && gkey[lo] == key ? &gr->groups[lo] : NULL;
}

/* A pre-key's key, its signature index ranked. */
static uint32_t ranked(const size_t *rank, uint32_t prekey)
{
	return (uint32_t)rank[prekey >> KIND_BITS] << KIND_BITS |
	       (prekey & ((1 << KIND_BITS) - 1));
}

int group_snapshot(const struct snapshot *snap, struct grouping *out)
{
	size_t n, i, start, ngroups = 0;
	struct entry *entries;
	struct sigs sigs = { 0 };
	struct parts parts = { 0 };
	struct loose *loose = NULL;
	size_t nloose = 0;
	uint32_t *gkey = NULL;
	size_t *rank = NULL;
	const char **by_rank = NULL;
	int err = -ENOMEM;

	if (!snap || !out)
		return -EINVAL;
	out->groups = NULL;
	out->ngroups = 0;
	n = snap->nthreads;
	if (!n)
		return 0;
	/* an index and a signature rank in an entry's 32 bits */
	if (n > (UINT32_MAX >> KIND_BITS) || n > SIZE_MAX / sizeof(*entries) ||
	    n > SIZE_MAX / sizeof(*out->groups))
		return -ENOMEM;
	entries = malloc(n * sizeof(*entries));
	sigs.own = malloc(n * sizeof(*sigs.own));
	loose = malloc(n * sizeof(*loose));	/* touched as far as used */
	if (!entries || !sigs.own || !loose) {
		free(entries);
		free(sigs.own);
		free(loose);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct thread *t = &snap->threads[i];

		ssize_t sig = signature_of(&sigs, t);
		if (sig < 0)
			goto out_entries;
		uint32_t prekey = (uint32_t)sig << KIND_BITS |
				  ((unsigned)t->wait.kind & ((1 << KIND_BITS) - 1));
		entries[i] = (struct entry){ member_key(t), (uint32_t)i, prekey };
		if (t->frames_pooled && t->frames) {
			struct part *p = part_of(&parts, prekey, t);
			if (!p)
				goto out_entries;
			p->g.threads = &p->first;
			add_member(&p->g, t);
		} else {
			loose[nloose++] = (struct loose){ (uint32_t)i, prekey };
		}
	}
	rank = malloc(sigs.nown * sizeof(*rank));
	by_rank = malloc(sigs.nown * sizeof(*by_rank));
	if (!rank || !by_rank || rank_signatures(&sigs, rank, by_rank) < 0)
		goto out_entries;
	for (i = 0; i < n; i++)
		entries[i].key = ranked(rank, entries[i].key);
	if (sort_entries(entries, n, sigs.nown) < 0)
		goto out_entries;

	/* at most n groups; shrunk to fit below */
	out->groups = calloc(n, sizeof(*out->groups));
	gkey = malloc(n * sizeof(*gkey));
	if (!out->groups || !gkey)
		goto out_entries;
	for (start = 0; start < n; start = i) {
		for (i = start + 1; i < n; i++)
			if (entries[i].key != entries[start].key)
				break;
		if (make_group(snap, &out->groups[ngroups], entries + start, i - start,
			       by_rank[entries[start].key >> KIND_BITS]))
			goto out_groups;
		gkey[ngroups++] = entries[start].key;
	}
	out->ngroups = ngroups;
	for (size_t k = 0; k < parts.n; k++) {
		struct group *g = group_with(out, gkey, ranked(rank, parts.v[k].prekey));
		parts.v[k].g.threads = &parts.v[k].first;
		if (g)	/* always */
			merge_part(g, &parts.v[k].g);
	}
	for (size_t k = 0; k < nloose; k++) {
		struct group *g = group_with(out, gkey, ranked(rank, loose[k].prekey));
		if (g)	/* always */
			add_member(g, &snap->threads[loose[k].thread]);
	}
	if (ngroups < n) {
		struct group *g = realloc(out->groups,
					  ngroups * sizeof(*out->groups));

		if (g)
			out->groups = g;
	}
	if (ngroups)	/* an empty snapshot has no array */
		qsort(out->groups, ngroups, sizeof(*out->groups), cmp_group);
	err = 0;
	goto out_entries;

out_groups:
	out->ngroups = ngroups;
	grouping_free(out);
out_entries:
	free(gkey);
	free(loose);
	free(parts.v);
	free(parts.slots);
	free(rank);
	free(by_rank);
	sigs_free(&sigs);
	free(entries);
	return err;
}

void grouping_free(struct grouping *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->ngroups; i++) {
		free(g->groups[i].signature);
		free(g->groups[i].threads);
	}
	free(g->groups);
	g->groups = NULL;
	g->ngroups = 0;
}

void grouping_update_waits(struct grouping *g)
{
	for (size_t i = 0; i < g->ngroups; i++)
		group_waits(&g->groups[i]);
}
