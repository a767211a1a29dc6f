/*
 * snapshot: the data model; see snapshot.h for the types and the API.
 *
 * A snapshot owns everything under it, and snapshot_free() releases it
 * all, so a snapshot is always heap-allocated (calloc, or snapshot_read()).
 * The thread and frame arrays carry no capacity field: it is implied by
 * their length (0, then 8, 16, 32, ...), so they only ever grow through
 * snapshot_add_thread() and thread_add_frame().  The threads' strings,
 * label sets and frame arrays are interned in a pool the snapshot owns
 * (snapshot.h: `pooled`): a large snapshot holds a few hundred distinct
 * names, and equal stacks share one array.  Reading the JSON form is
 * snapshot-read.c's (the text) and snapshot-read-entries.c's (its
 * values); writing it is snapshot-write.c's.  BENCHMARKS.md ("Reading
 * and writing snapshot files") has the figures behind the pool.
 */
#include "model/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/jval.h"
#include "base/util.h"
#include "model/snapshot-impl.h"

/* Capacity of the first allocation of a thread or frame array. */
#define ARRAY_MIN_CAP 8

static const char *const wait_kind_names[WAIT__COUNT] = {
	[WAIT_UNKNOWN] = "unknown",
	[WAIT_RUNNING] = "running",
	[WAIT_MUTEX] = "mutex",
	[WAIT_CONDVAR] = "condvar",
	[WAIT_FUTEX] = "futex",
	[WAIT_JOIN] = "join",
	[WAIT_READ] = "read",
	[WAIT_WRITE] = "write",
	[WAIT_POLL] = "poll",
	[WAIT_EPOLL] = "epoll",
	[WAIT_ACCEPT] = "accept",
	[WAIT_CONNECT] = "connect",
	[WAIT_SLEEP] = "sleep",
	[WAIT_WAIT] = "wait",
	[WAIT_SIGNAL] = "signal",
	[WAIT_OTHER] = "other",
};

const char *wait_kind_name(enum wait_kind kind)
{
	if ((unsigned int)kind >= WAIT__COUNT)
		return wait_kind_names[WAIT_UNKNOWN];
	return wait_kind_names[kind];
}

enum wait_kind wait_kind_from_name(const char *name)
{
	if (!name)
		return WAIT_UNKNOWN;
	for (int k = 0; k < WAIT__COUNT; k++)
		if (strcmp(name, wait_kind_names[k]) == 0)
			return (enum wait_kind)k;
	return WAIT_UNKNOWN;
}

void wait_info_init(struct wait_info *w)
{
	memset(w, 0, sizeof(*w));
	w->kind = WAIT_UNKNOWN;
	w->syscall = -1;
	w->syscall_name = NULL;
	w->fd = -1;
	w->object = NULL;
	w->address = 0;
	w->owner = 0;
	w->blocked_sec = -1;
}

/* ---- the string pool -------------------------------------------------- */

/*
 * Each distinct string once: the text in chunks (the first of POOL_FIRST
 * bytes, each next one as large as all before, up to POOL_CHUNK; a longer
 * string gets a chunk of its own), found again through an open addressing
 * hash table of (hash, length, bytes) slots, at most half full, from
 * POOL_MIN_SLOTS: a small snapshot's pool is small (check keeps one per
 * process that leaked, thousands of them maybe).
 * 200,000 threads of a real snapshot hold a few hundred distinct frame
 * strings; strdup() of each would cost about as much as the JSON text.
 *
 * Frame arrays are interned too, in a table of their own: once their
 * strings are the pool's, two equal stacks are equal bytes, and 100,000
 * goroutines parked in the same place keep one array (snapshot.h:
 * frames_pooled).
 */
#define POOL_FIRST 2048
#define POOL_CHUNK 65536
#define POOL_MIN_SLOTS 64
#define POOL_ALIGN 8		/* of every entry: frame arrays need it */

struct pool_chunk {
	struct pool_chunk *next;
	_Alignas(POOL_ALIGN) char text[];
};

struct pool_slot {
	char *s;		/* NULL: free */
	uint32_t hash;
	uint32_t len;
};

struct pool_table {
	struct pool_slot *slots;
	size_t mask;			/* slots - 1 (a power of two - 1) */
	size_t count;
};

struct strpool {
	struct pool_chunk *chunks;	/* the one being filled first */
	size_t used, size;		/* of the first chunk's text */
	size_t bytes;			/* in all chunks */
	struct pool_table strings, arrays;
};

static void strpool_free(struct strpool *pool)
{
	struct pool_chunk *c, *next;

	if (!pool)
		return;
	for (c = pool->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(pool->strings.slots);
	free(pool->arrays.slots);
	free(pool);
}

static int table_init(struct pool_table *t)
{
	t->slots = calloc(POOL_MIN_SLOTS, sizeof(*t->slots));
	t->mask = POOL_MIN_SLOTS - 1;
	return t->slots ? 0 : -ENOMEM;
}

struct strpool *strpool_new(void)
{
	struct strpool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	if (table_init(&pool->strings) || table_init(&pool->arrays)) {
		strpool_free(pool);
		return NULL;
	}
	return pool;
}

/* FNV-1a */
static uint32_t str_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

static int table_grow(struct pool_table *t)
{
	size_t nslots = (t->mask + 1) * 2, mask = nslots - 1;
	struct pool_slot *slots;

	if (nslots > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i <= t->mask; i++) {
		struct pool_slot *o = &t->slots[i];
		size_t j;

		if (!o->s)
			continue;
		for (j = o->hash & mask; slots[j].s; j = (j + 1) & mask)
			;
		slots[j] = *o;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = mask;
	return 0;
}

/* Room for size bytes in the pool's chunks, POOL_ALIGN-aligned. */
static char *pool_room(struct strpool *pool, size_t size)
{
	struct pool_chunk *c;

	if (size > POOL_CHUNK / 4) {
		/* a chunk of its own, behind the one being filled */
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		pool->bytes += size;
		if (pool->chunks) {
			c->next = pool->chunks->next;
			pool->chunks->next = c;
		} else {
			c->next = NULL;
			pool->chunks = c;
			pool->used = pool->size = 0;
		}
		return c->text;
	}
	pool->used = (pool->used + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (!pool->chunks || pool->used > pool->size || pool->size - pool->used < size) {
		size_t csize = pool->bytes < POOL_FIRST ? POOL_FIRST :
			       pool->bytes < POOL_CHUNK ? pool->bytes : POOL_CHUNK;
		if (csize < size)
			csize = size;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		pool->bytes += csize;
		c->next = pool->chunks;
		pool->chunks = c;
		pool->used = 0;
		pool->size = csize;
	}
	char *p = pool->chunks->text + pool->used;
	pool->used += size;
	return p;
}

/* The pool's copy of the len bytes at s in table t (followed by a NUL
 * when nul); NULL when out of memory. */
static char *pool_intern(struct strpool *pool, struct pool_table *t,
			 const void *s, size_t len, bool nul)
{
	struct pool_slot *slot;
	uint32_t h;
	size_t i;
	char *copy;

	if (len >= UINT32_MAX)
		return NULL;
	h = str_hash(s, len);
	for (i = h & t->mask; t->slots[i].s; i = (i + 1) & t->mask) {
		slot = &t->slots[i];
		if (slot->hash == h && slot->len == len &&
		    memcmp(slot->s, s, len) == 0)
			return slot->s;
	}
	if ((t->count + 1) * 2 > t->mask + 1) {
		if (table_grow(t))
			return NULL;
		for (i = h & t->mask; t->slots[i].s; i = (i + 1) & t->mask)
			;
	}
	copy = pool_room(pool, len + nul);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	if (nul)
		copy[len] = '\0';
	t->slots[i] = (struct pool_slot){ copy, h, (uint32_t)len };
	t->count++;
	return copy;
}

/* A copy of s in the pool, NUL-terminated; NULL when out of memory. */
char *strpool_add(struct strpool *pool, const char *s, size_t len)
{
	return pool_intern(pool, &pool->strings, s, len, true);
}

/* *sp moved into the pool (the original freed); false when out of memory
 * (then *sp is left as it was). */
static bool pool_move(struct strpool *pool, char **sp)
{
	char *p;

	if (!*sp)
		return true;
	p = strpool_add(pool, *sp, strlen(*sp));
	if (!p)
		return false;
	free(*sp);
	*sp = p;
	return true;
}

/* The n frames at *fp (strings already the pool's) moved into the pool. */
static bool pool_move_frames(struct strpool *pool, struct frame **fp, size_t n)
{
	struct frame *p;

	if (!*fp || !n)
		return true;
	p = (struct frame *)pool_intern(pool, &pool->arrays, *fp, n * sizeof(**fp), false);
	if (!p)
		return false;
	free(*fp);
	*fp = p;
	return true;
}

/* f with its padding zeroed. */
static void frame_normalize(struct frame *f)
{
	struct frame z;

	memset(&z, 0, sizeof(z));
	z.pc = f->pc;
	z.module = f->module;
	z.function = f->function;
	z.file = f->file;
	z.offset = f->offset;
	z.line = f->line;
	z.inlined = f->inlined;
	z.python = f->python;
	memcpy(f, &z, sizeof(z));
}

/* t's frame arrays, whose strings are the pool's, moved into it. */
int strpool_thread_frames(struct strpool *pool, struct thread *t)
{
	if (t->frames_pooled)
		return 0;
	/* Padding must not tell equal frames apart. */
	for (size_t i = 0; i < t->nframes; i++)
		frame_normalize(&t->frames[i]);
	for (size_t i = 0; i < t->ncreated; i++)
		frame_normalize(&t->created[i]);
	if (!pool_move_frames(pool, &t->frames, t->nframes))
		return -ENOMEM;
	/* frames is the pool's now: so is t's, even if created is not
	 * moved (it leaks then, the lesser harm) */
	t->frames_pooled = true;
	return pool_move_frames(pool, &t->created, t->ncreated) ? 0 : -ENOMEM;
}

bool snapshot_adopt_pool(struct snapshot *to, struct snapshot *from, size_t max_bytes)
{
	if (to->pool || !from->pool || from->pool->bytes > max_bytes)
		return false;
	to->pool = from->pool;
	from->pool = NULL;
	return true;
}

/* The pool's copy of n labels (their strings the pool's already), the
 * same array for equal sets; NULL when out of memory. */
struct label *strpool_label_array(struct strpool *pool, const struct label *l, size_t n)
{
	return (struct label *)pool_intern(pool, &pool->arrays, l, n * sizeof(*l), false);
}

int snapshot_pool_labels(struct snapshot *snap, const struct label *l, size_t n,
			 struct label **out)
{
	struct label *tmp;

	*out = NULL;
	if (!n)
		return 0;
	if ((!snap->pool && !(snap->pool = strpool_new())) || n > LABELS_MAX ||
	    !(tmp = calloc(n, sizeof(*tmp))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(tmp[i].key = strpool_add(snap->pool, l[i].key, strlen(l[i].key))) ||
		    !(tmp[i].value = strpool_add(snap->pool, l[i].value, strlen(l[i].value)))) {
			free(tmp);
			return -ENOMEM;
		}
	*out = strpool_label_array(snap->pool, tmp, n);
	free(tmp);
	return *out ? 0 : -ENOMEM;
}

char *snapshot_pool_string(struct snapshot *snap, const char *s)
{
	if (!s)
		return NULL;
	if (!snap->pool && !(snap->pool = strpool_new()))
		return NULL;
	return strpool_add(snap->pool, s, strlen(s));
}

int snapshot_pool_thread(struct snapshot *snap, struct thread *t)
{
	bool ok = true;

	if (t->pooled)
		return 0;
	if (!snap->pool && !(snap->pool = strpool_new()))
		return -ENOMEM;
	/* Out of memory midway: some strings are the pool's already, so t
	 * is pooled all the same (never a pool string freed alone); the
	 * ones not moved then leak, the lesser harm. */
	ok &= (!t->os || (pool_move(snap->pool, &t->os->name) &&
			  pool_move(snap->pool, &t->os->py_name) &&
			  pool_move(snap->pool, &t->os->py_wait))) &&
	      pool_move(snap->pool, &t->error) &&
	      pool_move(snap->pool, &t->wait.syscall_name) &&
	      pool_move(snap->pool, &t->wait.object) && pool_move(snap->pool, &t->go_wait);
	/* Frame arrays that are the pool's already (an equal stack's) have
	 * the pool's strings. */
	for (size_t i = 0; ok && !t->frames_pooled && i < t->nframes; i++)
		ok &= pool_move(snap->pool, &t->frames[i].module) &&
		      pool_move(snap->pool, &t->frames[i].function) &&
		      pool_move(snap->pool, &t->frames[i].file);
	for (size_t i = 0; ok && !t->frames_pooled && i < t->ncreated; i++)
		ok &= pool_move(snap->pool, &t->created[i].module) &&
		      pool_move(snap->pool, &t->created[i].function) &&
		      pool_move(snap->pool, &t->created[i].file);
	/* its labels: the array becomes the pool's with the thread */
	if (ok && t->nlabels) {
		struct label *l;
		ok = snapshot_pool_labels(snap, t->labels, t->nlabels, &l) == 0;
		for (size_t i = 0; i < t->nlabels; i++) {
			free(t->labels[i].key);
			free(t->labels[i].value);
		}
		free(t->labels);
		t->labels = l;
		if (!ok) {
			t->nlabels = 0;
			t->labelled = false;
		}
	}
	t->pooled = true;
	if (ok && strpool_thread_frames(snap->pool, t) < 0)
		ok = false;
	return ok ? 0 : -ENOMEM;
}

void frame_release(struct frame *f)
{
	free(f->module);
	free(f->function);
	free(f->file);
}

void frame_label(const struct frame *f, char *buf, size_t size)
{
	if (f->function)
		snprintf(buf, size, "%s", f->function);
	else if (f->module)
		snprintf(buf, size, "%s+0x%" PRIx64,
			 strrchr(f->module, '/') ? strrchr(f->module, '/') + 1 : f->module,
			 f->offset);
	else
		snprintf(buf, size, "0x%" PRIx64, f->pc);
}

/* What t owns, freed; t itself left as it is. */
static void thread_free_parts(struct thread *t)
{
	if (t->os && !t->pooled) {
		free(t->os->name);
		free(t->os->py_name);
		free(t->os->py_wait);
	}
	free(t->os);
	if (!t->pooled) {
		free(t->error);
		free(t->wait.syscall_name);
		free(t->wait.object);
		free(t->go_wait);
		for (size_t i = 0; i < t->nframes; i++)
			frame_release(&t->frames[i]);
		for (size_t i = 0; i < t->ncreated; i++)
			frame_release(&t->created[i]);
		for (size_t i = 0; i < t->nlabels; i++) {
			free(t->labels[i].key);
			free(t->labels[i].value);
		}
		free(t->labels);
	}
	if (!t->frames_pooled) {
		free(t->frames);
		free(t->created);
	}
}

void thread_release(struct thread *t)
{
	thread_free_parts(t);
	memset(t, 0, sizeof(*t));
}

size_t snapshot_filter(struct snapshot *snap,
		       bool (*keep)(struct thread *t, void *arg), void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < snap->nthreads; i++) {
		if (keep(&snap->threads[i], arg))
			snap->threads[kept++] = snap->threads[i];
		else
			thread_release(&snap->threads[i]);
	}
	/* The capacity implied by the smaller length is never more than
	 * what is allocated: growing later stays right. */
	snap->nthreads = kept;
	return kept;
}

void snapshot_free(struct snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->nthreads; i++)
		thread_free_parts(&snap->threads[i]);
	free(snap->threads);
	free(snap->comm);
	free(snap->exe);
	free(snap->unwinder);
	free(snap->note);
	free(snap->runtime);
	free(snap->runtime_note);
	free(snap->go_layouts);
	free(snap->python);
	free(snap->python_note);
	for (size_t i = 0; i < snap->nmodules; i++) {
		free(snap->modules[i].path);
		free(snap->modules[i].build_id);
		free(snap->modules[i].note);
	}
	free(snap->modules);
	strpool_free(snap->pool);
	free(snap);
}

/*
 * Makes room for element number n (0-based) in an array of length n whose
 * capacity is implied: 0 when empty, else the smallest of 8, 16, 32, ...
 * holding n.  The array is full exactly when n is 0 or a power of two >= 8.
 */
int snapshot_grow_implied(void **array, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n != 0 && (n < ARRAY_MIN_CAP || (n & (n - 1)) != 0))
		return 0;
	ncap = n ? n * 2 : ARRAY_MIN_CAP;
	if (ncap < n || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*array, ncap * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	return 0;
}

int snapshot_reserve(struct snapshot *snap, size_t more)
{
	size_t want = snap->nthreads + more, cap = ARRAY_MIN_CAP;

	while (cap < want)
		cap *= 2;
	if (want <= ARRAY_MIN_CAP || cap > SIZE_MAX / sizeof(*snap->threads))
		return 0;
	if (cap <= snap->threads_reserved)
		return 0;
	struct thread *t = realloc(snap->threads, cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	snap->threads = t;
	/* up to there, adding does not grow it; from there the capacity
	 * its length implies is cap, a power of two, as snapshot_grow_implied says */
	snap->threads_reserved = cap;
	return 0;
}

struct thread *snapshot_add_thread(struct snapshot *snap)
{
	struct thread *t;

	if (snap->nthreads >= snap->threads_reserved &&
	    snapshot_grow_implied((void **)&snap->threads, snap->nthreads, sizeof(*snap->threads)))
		return NULL;
	t = &snap->threads[snap->nthreads++];
	memset(t, 0, sizeof(*t));
	wait_info_init(&t->wait);
	return t;
}

struct os_thread *thread_os(struct thread *t)
{
	if (!t->os)
		t->os = calloc(1, sizeof(*t->os));
	return t->os;
}

struct frame *thread_add_frame(struct thread *t)
{
	struct frame *f;

	if (snapshot_grow_implied((void **)&t->frames, t->nframes, sizeof(*t->frames)))
		return NULL;
	f = &t->frames[t->nframes++];
	memset(f, 0, sizeof(*f));
	return f;
}
