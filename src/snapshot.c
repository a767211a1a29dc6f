/*
 * snapshot: the data model and its JSON form; see snapshot.h.
 *
 * Memory: a snapshot owns everything under it.  snapshot_free() releases
 * every string, every array and the struct itself, so a snapshot is always
 * heap-allocated (calloc, or snapshot_read()).  The thread and frame arrays
 * carry no capacity field: their capacity is implied by their length (0, then
 * 8, 16, 32, ...), so they must only ever be grown through
 * snapshot_add_thread() and thread_add_frame().
 *
 * Writing is snapshot-write.c's: version 1 (every entry whole, --json)
 * and the version 2 file (each stack once, a goroutine a row).
 *
 * Reading is strict: the text must be JSON as jansson reads it (duplicate
 * keys refused, nesting bounded as jansson bounds it), then every known
 * field is checked for type and range, with a message naming the field
 * ("threads[3].frames[0].pc: expected a hex string").  Required: format,
 * version, pid, threads, tid, pc.  An absent optional field means
 * "unknown"; null is accepted exactly where the writer may write it.
 * Unknown fields are ignored.  The returned snapshot belongs to the caller
 * (snapshot_free()).  Version 2's tables ("stacks", "templates",
 * "goroutines") are read as a stream too: a stack into the pool, a
 * template into a small array, a row made an entry from its template at
 * once, or kept (48 bytes) until the end when its template is not read
 * yet (members in another order).
 *
 * Reading is a stream, so that memory follows what is kept, not the text:
 * a 324 MB snapshot of 200,000 threads read whole into a jansson tree took
 * 2.9 GB and 13 s; a thread at a time, 125 MB and 6 s.  A small scanner
 * walks the top-level object over a buffered reader (64 KiB reads of the
 * file, or the text in memory for snapshot_from_json(): the same code).
 * It tracks strings, escapes and brackets to find where each value ends,
 * and hands the value's bytes to json_loadb(): the small top-level members
 * are kept as jansson values until the end; each element of "threads" is
 * parsed alone, converted by read_thread() and freed; members it does not
 * know are walked and checked for syntax, never held whole.  The scanner
 * says, in jansson's words, what is wrong between values (a missing ',' or
 * ':', a duplicate top-level key, the end of the text); jansson says what
 * is wrong inside one, and its line and column are moved to the whole
 * file's.  What is not a JSON object is refused at its first byte (a NUL
 * of /dev/zero, a UTF-8 byte order mark, '['), and nothing past 1 GiB is
 * read: an endless stream of spaces stops there, in a 64 KiB buffer.
 *
 * The verdict is the one the whole-tree reader gave: syntax errors and
 * failed reads first, wherever they are, then the top-level fields in a
 * fixed order (so "not a threadleak snapshot" before anything else), then
 * the first thread that does not convert.  A thread's message waits until
 * the end of the text; keys may come in any order (jq -S puts "threads"
 * before "version").
 *
 * The threads' strings are interned in a pool that the snapshot owns
 * (snapshot.h: `pooled`): 200,000 threads hold a few hundred distinct
 * module, function and file names, whose strdup() copies alone took 190 MB
 * of the 316 MB such a snapshot cost; the thread and frame arrays are what
 * remains.
 */
#include "snapshot.h"

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

#include "jval.h"
#include "util.h"

/* Largest snapshot text we agree to parse: a regular file's (its size
 * is known, its memory is what is kept: SNAPSHOT_MAX_ENTRIES bounds
 * that), and a stream's or text's (a pipe may never end). */
#define SNAPSHOT_MAX_FILE_BYTES ((size_t)1 << 36)
#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)
/* Bound on the entries of a snapshot read: what is kept, whatever the
 * text says (a million goroutines is 1/16 of it). */
#define SNAPSHOT_MAX_ENTRIES ((size_t)1 << 24)

/* Capacity of the first allocation of a thread or frame array. */
#define ARRAY_MIN_CAP 8

/* u64 counters and i64 times travel as JSON integers */
_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "json_int_t is 64-bit");

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

static struct strpool *strpool_new(void)
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
static char *strpool_add(struct strpool *pool, const char *s, size_t len)
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
	memcpy(f, &z, sizeof(z));
}

/* t's frame arrays, whose strings are the pool's, moved into it. */
static int pool_thread_frames(struct strpool *pool, struct thread *t)
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
static struct label *pool_label_array(struct strpool *pool, const struct label *l, size_t n)
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
	*out = pool_label_array(snap->pool, tmp, n);
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
	ok &= (!t->os || pool_move(snap->pool, &t->os->name)) &&
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
	if (ok && pool_thread_frames(snap->pool, t) < 0)
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
	if (t->os && !t->pooled)
		free(t->os->name);
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
static int grow_implied(void **array, size_t n, size_t elem)
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
	 * its length implies is cap, a power of two, as grow_implied says */
	snap->threads_reserved = cap;
	return 0;
}

struct thread *snapshot_add_thread(struct snapshot *snap)
{
	struct thread *t;

	if (snap->nthreads >= snap->threads_reserved &&
	    grow_implied((void **)&snap->threads, snap->nthreads, sizeof(*snap->threads)))
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

	if (grow_implied((void **)&t->frames, t->nframes, sizeof(*t->frames)))
		return NULL;
	f = &t->frames[t->nframes++];
	memset(f, 0, sizeof(*f));
	return f;
}

/* ---- reading ---------------------------------------------------------- */

struct reader {
	char *err;
	size_t errlen;
	char where[64];		/* prefix of field names: "threads[3]." */
	struct strpool *pool;	/* strings go there when set, else strdup */
	const char *array;	/* "threads", or "templates" (version 2) */
	bool tpl;		/* reading a template: stacks by index */
	int64_t frames_ref, created_ref;	/* a template's, -1: none */
};

__attribute__((format(printf, 2, 3)))
static int failf(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->err || !r->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	/* One line, whatever the input put into the message. */
	for (char *p = r->err; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	return -1;
}

static int fail(struct reader *r, const char *key, const char *what)
{
	return failf(r, "%s%s: %s", r->where, key, what);
}

static int get_string(struct reader *r, const struct jv *obj, const char *key,
		      char **out)
{
	const struct jv *v = jv_get(obj, key);

	*out = NULL;
	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_string(v))
		return fail(r, key, "expected a string or null");
	if (r->pool)
		*out = strpool_add(r->pool, v->s,
				   v->n);
	else
		*out = strdup(v->s);
	if (!*out)
		return failf(r, "out of memory");
	return 0;
}

enum presence {
	OPTIONAL,	/* absent: the default; null refused */
	NULLABLE,	/* absent or null: the default */
	REQUIRED,	/* must be there, null refused */
};

static int type_error(struct reader *r, const char *key, const char *what,
		      enum presence pres)
{
	return failf(r, "%s%s: expected %s%s", r->where, key, what,
		     pres == NULLABLE ? " or null" : "");
}

/* An integer in [min, max]; def when absent (or null if NULLABLE). */
static int get_int(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, json_int_t min, json_int_t max,
		   json_int_t def, json_int_t *out)
{
	const struct jv *v = jv_get(obj, key);
	const char *what = min == 1 ? "a positive integer" :
			   min == 0 ? "a non-negative integer" : "an integer";

	*out = def;
	if (!v && pres != REQUIRED)
		return 0;
	if (!v)
		return fail(r, key, "missing");
	if (jv_is_null(v) && pres == NULLABLE)
		return 0;
	if (!jv_is_integer(v) || v->i < min ||
	    v->i > max)
		return type_error(r, key, what, pres);
	*out = v->i;
	return 0;
}

static int get_u64(struct reader *r, const struct jv *obj, const char *key,
		   uint64_t *out)
{
	json_int_t v;

	if (get_int(r, obj, key, OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int get_bool(struct reader *r, const struct jv *obj, const char *key, bool *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = false;
	if (!v)
		return 0;
	if (!jv_is_bool(v))
		return fail(r, key, "expected true or false");
	*out = jv_is(v, JV_TRUE);
	return 0;
}

/* A non-negative number; def when absent or null. */
static int get_number(struct reader *r, const struct jv *obj, const char *key,
		      double def, double *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = def;
	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_number(v) || !(jv_number(v) >= 0) ||
	    !isfinite(jv_number(v)))
		return fail(r, key, "expected a non-negative number or null");
	*out = jv_number(v);
	return 0;
}

/* "0x" then hex digits, the whole string, within 64 bits. */
static int parse_hex(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	s += 2;
	/* strtoull would accept spaces, a sign or a second "0x": refuse */
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return -1;
	if (!*s)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int get_hex(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, uint64_t *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = 0;
	if (!v && pres != REQUIRED)
		return 0;
	if (!v)
		return fail(r, key, "missing");
	if (jv_is_null(v) && pres == NULLABLE)
		return 0;
	if (!jv_is_string(v) || parse_hex(v->s, out))
		return type_error(r, key, "a hex string", pres);
	return 0;
}

static int read_wait(struct reader *r, const struct jv *o, struct wait_info *w)
{
	const struct jv *kind = jv_get(o, "kind");
	json_int_t v;

	if (kind && !jv_is_null(kind)) {
		if (!jv_is_string(kind))
			return fail(r, "kind", "expected a string or null");
		/* A kind from a newer writer reads as "unknown". */
		w->kind = wait_kind_from_name(kind->s);
	}
	if (get_string(r, o, "syscall", &w->syscall_name))
		return -1;
	if (get_int(r, o, "syscall_nr", NULLABLE, 0, INT_MAX, -1, &v))
		return -1;
	w->syscall = (int)v;
	if (get_int(r, o, "fd", NULLABLE, 0, INT_MAX, -1, &v))
		return -1;
	w->fd = (int)v;
	if (get_string(r, o, "object", &w->object))
		return -1;
	if (get_hex(r, o, "address", NULLABLE, &w->address))
		return -1;
	if (get_int(r, o, "owner", NULLABLE, 1, INT_MAX, 0, &v))
		return -1;
	w->owner = (int)v;
	return get_number(r, o, "blocked_sec", -1, &w->blocked_sec);
}

static int read_frame(struct reader *r, const struct jv *o, struct frame *f)
{
	json_int_t v;

	if (get_hex(r, o, "pc", REQUIRED, &f->pc) ||
	    get_string(r, o, "module", &f->module) ||
	    get_string(r, o, "function", &f->function) ||
	    get_string(r, o, "file", &f->file))
		return -1;
	if (get_int(r, o, "line", NULLABLE, 0, INT_MAX, 0, &v))
		return -1;
	f->line = (int)v;
	if (get_hex(r, o, "offset", NULLABLE, &f->offset))
		return -1;
	return get_bool(r, o, "inlined", &f->inlined);
}

static int read_frames(struct reader *r, const struct jv *frames, const char *key, size_t ti,
		       struct thread *t, bool created);

static int cmp_label_key(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

/* A goroutine's "labels": an object of strings, at most LABELS_MAX of
 * them, each at most LABEL_LEN_MAX bytes; into the pool, sorted. */
static int read_labels(struct reader *r, const struct jv *o, struct thread *t)
{
	const struct jv *v = jv_get(o, "labels");
	struct label tmp[LABELS_MAX];
	size_t n;

	if (!v)
		return 0;
	if (!jv_is_object(v))
		return fail(r, "labels", "expected an object");
	if (v->n > LABELS_MAX)
		return failf(r, "%slabels: more than %d labels", r->where, LABELS_MAX);
	for (n = 0; n < v->n; n++) {
		const struct jv *key = &v->items[2 * n], *val = &v->items[2 * n + 1];
		if (!jv_is_string(val))
			return failf(r, "%slabels.%s: expected a string", r->where,
				     key->n > 40 ? "(a key)" : key->s);
		if (key->n > LABEL_LEN_MAX || val->n > LABEL_LEN_MAX)
			return failf(r, "%slabels: a key or value longer than %d bytes", r->where,
				     LABEL_LEN_MAX);
		/* the arena's, valid while this thread is read */
		tmp[n] = (struct label){ (char *)key->s, (char *)val->s };
	}
	qsort(tmp, n, sizeof(*tmp), cmp_label_key);
	for (size_t i = 0; i < n; i++)
		if (!r->pool || !(tmp[i].key = strpool_add(r->pool, tmp[i].key, strlen(tmp[i].key))) ||
		    !(tmp[i].value = strpool_add(r->pool, tmp[i].value, strlen(tmp[i].value))))
			return failf(r, "out of memory");
	if (n && !(t->labels = pool_label_array(r->pool, tmp, n)))
		return failf(r, "out of memory");
	t->nlabels = n;
	t->labelled = true;
	return 0;
}

/* A goroutine's own fields (snapshot.h). */
static int read_goroutine(struct reader *r, const struct jv *o, size_t ti, struct thread *t)
{
	json_int_t v;
	const struct jv *created;

	if (get_string(r, o, "go_wait", &t->go_wait) ||
	    get_int(r, o, "go_parent", OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	t->go_parent = v;
	if (get_int(r, o, "go_tid", OPTIONAL, 0, INT_MAX, 0, &v))
		return -1;
	t->go_tid = (int)v;
	const struct jv *m = r->tpl ? NULL : jv_get(o, "go_minutes");
	t->go_minutes = -1;
	if (m && !jv_is_null(m) &&
	    (get_number(r, o, "go_minutes", -1, &t->go_minutes) || t->go_minutes < 0))
		return fail(r, "go_minutes", "expected a number of minutes, 0 or more");
	if (get_bool(r, o, "go_system", &t->go_system) || read_labels(r, o, t))
		return -1;
	created = jv_get(o, "created");
	return created ? read_frames(r, created, "created", ti, t, true) : 0;
}

static int read_thread(struct reader *r, const struct jv *o, size_t ti,
		       struct thread *t)
{
	const struct jv *v, *frames;
	json_int_t tid;

	json_int_t goid = 1;
	snprintf(r->where, sizeof(r->where), "%s[%zu].", r->array, ti);
	/* A goroutine has a goid, and no tid of its own (0); a template's
	 * goroutines have theirs in their rows. */
	if (!r->tpl && get_int(r, o, "goid", OPTIONAL, 0, INT64_MAX, 0, &goid))
		return -1;
	t->goid = goid;
	if (get_int(r, o, "tid", REQUIRED, goid ? 0 : 1, INT_MAX, 0, &tid))
		return -1;
	t->tid = (int)tid;
	if (goid && read_goroutine(r, o, ti, t))
		return -1;
	char *name;
	if (get_string(r, o, "name", &name))
		return -1;
	if (name) {
		if (!thread_os(t)) {
			if (!r->pool)
				free(name);
			return failf(r, "out of memory");
		}
		t->os->name = name;
	}
	v = jv_get(o, "state");
	if (v && !jv_is_null(v)) {
		if (!jv_is_string(v) || v->n != 1)
			return fail(r, "state",
				    "expected a one-character string");
		t->state = v->s[0];
	}
	/* a goroutine's are 0: no os part for them */
	uint64_t utime = 0, stime = 0, start_time = 0;
	if (get_u64(r, o, "utime", &utime) ||
	    get_u64(r, o, "stime", &stime) ||
	    get_u64(r, o, "start_time", &start_time) ||
	    get_bool(r, o, "partial", &t->partial) ||
	    get_string(r, o, "error", &t->error) ||
	    get_bool(r, o, "stopped", &t->stopped))
		return -1;
	if (utime || stime || start_time) {
		if (!thread_os(t))
			return failf(r, "out of memory");
		t->os->utime = utime;
		t->os->stime = stime;
		t->os->start_time = start_time;
	}

	v = jv_get(o, "wait");
	if (v && !jv_is_null(v)) {
		if (!jv_is_object(v))
			return fail(r, "wait", "expected an object or null");
		snprintf(r->where, sizeof(r->where), "%s[%zu].wait.", r->array, ti);
		if (read_wait(r, v, &t->wait))
			return -1;
		snprintf(r->where, sizeof(r->where), "%s[%zu].", r->array, ti);
	}

	frames = jv_get(o, "frames");
	if (!frames)
		return 0;
	return read_frames(r, frames, "frames", ti, t, false);
}

/* frames (or a goroutine's created frames) of thread ti; a template's
 * are the index of a stack */
static int read_frames(struct reader *r, const struct jv *frames, const char *key, size_t ti,
		       struct thread *t, bool created)
{
	const struct jv *v;
	size_t fi;

	if (r->tpl) {
		if (!jv_is_integer(frames) || frames->i < 0 || frames->i >= UINT32_MAX)
			return fail(r, key, "expected the index of a stack");
		*(created ? &r->created_ref : &r->frames_ref) = frames->i;
		return 0;
	}
	if (!jv_is_array(frames))
		return fail(r, key, "expected an array");
	for (fi = 0; fi < frames->n; fi++) {
		v = &frames->items[fi];
		struct frame *f;

		if (!jv_is_object(v))
			return failf(r, "%s[%zu].%s[%zu]: expected "
				     "an object", r->array, ti, key, fi);
		if (created) {
			if (t->ncreated >= 4096)
				return failf(r, "%s[%zu].%s: too many frames", r->array, ti, key);
			f = realloc(t->created, (t->ncreated + 1) * sizeof(*f));
			if (!f)
				return failf(r, "out of memory");
			t->created = f;
			f = &t->created[t->ncreated++];
			memset(f, 0, sizeof(*f));
		} else {
			f = thread_add_frame(t);
		}
		if (!f)
			return failf(r, "out of memory");
		snprintf(r->where, sizeof(r->where), "%s[%zu].%s[%zu].",
			 r->array, ti, key, fi);
		if (read_frame(r, v, f))
			return -1;
	}
	return 0;
}

/* ---- reading: the text as a stream ------------------------------------ */

/* Bytes asked of read(2) at a time. */
#define READ_CHUNK 65536
/* Nesting that jansson allows in a document: the whole file counts. */
#define MAX_DEPTH JSON_PARSER_MAX_DEPTH
/* How each value is parsed: duplicate keys refused, as in the whole text. */
#define JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

/*
 * The text: a file read READ_CHUNK bytes at a time into buf, or a block of
 * memory that is one window from the start.  p..end is what is not taken
 * yet.  line and col say where the last byte taken is, as jansson counts
 * (lines from 1; col counts the characters, UTF-8 first bytes, of the line
 * up to it): the messages name places of the whole file.
 */
struct src {
	int fd;				/* -1: the text is in memory */
	const unsigned char *p, *end;
	unsigned char *buf;
	size_t taken;			/* bytes read from fd so far */
	size_t max;			/* taken beyond it: -EFBIG */
	int line, col;
	int err;			/* -errno of a read, -EFBIG: too big */
	bool eof;
};

/* Whether a byte is there to take; reads more when the window is empty. */
static bool src_more(struct src *s)
{
	ssize_t got;

	if (s->p < s->end)
		return true;
	if (s->eof || s->err)
		return false;
	if (s->fd < 0) {
		s->eof = true;
		return false;
	}
	do {
		got = read(s->fd, s->buf, READ_CHUNK);
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		s->err = -errno;
		return false;
	}
	if (got == 0) {
		s->eof = true;
		return false;
	}
	s->taken += (size_t)got;
	if (s->taken > s->max) {
		s->err = -EFBIG;
		return false;
	}
	s->p = s->buf;
	s->end = s->buf + got;
	return true;
}

static inline void count_pos(int *line, int *col, unsigned char c)
{
	if (c == '\n') {
		(*line)++;
		*col = 0;
	} else if ((c & 0xc0) != 0x80) {
		(*col)++;
	}
}

/* Takes the next byte (src_more() said there is one). */
static unsigned char src_take(struct src *s)
{
	unsigned char c = *s->p++;

	count_pos(&s->line, &s->col, c);
	return c;
}

static void src_skip_ws(struct src *s)
{
	while (src_more(s)) {
		const unsigned char *q = s->p;

		while (q < s->end && (*q == ' ' || *q == '\t' || *q == '\r' ||
				      *q == '\n')) {
			count_pos(&s->line, &s->col, *q);
			q++;
		}
		s->p = q;
		if (q < s->end)
			return;
	}
}

/* What a number or a literal (true, false, null) is made of. */
static inline bool scalar_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.';
}

static inline bool alpha_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Whether c continues the number or literal tok[0..n) as jansson's lexer
 * reads it: a literal is a run of letters; a number takes a sign only at
 * its start or after its exponent's 'e', one '.' and one 'e' after a
 * digit.
 */
static bool token_continues(const char *tok, size_t n, unsigned char c)
{
	unsigned char last = (unsigned char)tok[n - 1];
	bool exp = memchr(tok, 'e', n) || memchr(tok, 'E', n);

	if (alpha_byte((unsigned char)tok[0]))
		return alpha_byte(c);
	if (c >= '0' && c <= '9')
		/* no digit after a leading 0 */
		return !(last == '0' && (n == 1 || (n == 2 && tok[0] == '-')));
	if (c == '.')
		return !exp && !memchr(tok, '.', n) && last >= '0' &&
		       last <= '9';
	if (c == 'e' || c == 'E')
		return !exp && last >= '0' && last <= '9';
	if (c == '+' || c == '-')
		return last == 'e' || last == 'E';
	return false;
}

/*
 * Takes the rest of the token whose first byte c was just taken, as far
 * as jansson's lexer would read it before a verdict on the token: for the
 * place that a message names.
 */
static void take_token_rest(struct src *s, unsigned char c)
{
	char tok[64] = { (char)c };
	size_t n = 1;
	bool esc = false;

	if (c == '"') {
		while (src_more(s) && *s->p >= ' ') {
			c = src_take(s);
			if (c == '"' && !esc)
				break;
			esc = !esc && c == '\\';
		}
	} else if (scalar_byte(c)) {
		while (n < sizeof(tok) && src_more(s) &&
		       token_continues(tok, n, *s->p))
			tok[n++] = (char)src_take(s);
	}
}

/* How many continuation bytes a UTF-8 lead byte c wants (0: not one). */
static int utf8_tail(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 :
	       c >= 0xf0 && c <= 0xf4 ? 3 : 0;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *s, size_t n)
{
	size_t ncap;
	char *p;

	if (b->cap - b->len >= n)
		goto copy;
	ncap = b->cap ? b->cap : 4096;
	while (ncap - b->len < n) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	p = realloc(b->p, ncap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = ncap;
copy:
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* ---- reading: the document -------------------------------------------- */

enum threads_seen {
	THREADS_ABSENT,
	THREADS_ARRAY,
	THREADS_OTHER,		/* there, not an array */
};

/* A version 2 goroutine row kept until its template is known (a file
 * whose members were reordered: jq -S puts "goroutines" first). */
struct row {
	int64_t goid;
	double minutes, blocked;
	uint64_t address;
	char *object;		/* the pool's */
	uint32_t tpl;
	int fd, owner;
};

struct v2_read {
	struct frame **stacks;	/* the pool's */
	size_t *stack_n;
	size_t nstacks;
	bool stacks_seen;
	struct thread *tpl;	/* templates: pooled, goid 1 */
	int64_t (*tpl_refs)[2];	/* their stacks, until resolved */
	size_t ntpl;
	bool tpl_seen, tpl_resolved;
	struct row *rows;	/* kept for the end */
	size_t nrows, rows_cap;
	size_t nrow;		/* rows read, for messages */
};

/*
 * One read.  Every message goes to msg; the caller's buffer gets it at
 * the end.  A syntax error or a failed read is reported at once; a thread
 * that does not convert is reported only once the whole text is known to
 * be JSON and the top-level members are right, as the reader of the whole
 * tree did: its message waits in msg (thread_failed) and anything found
 * later overwrites it.
 */
struct parser {
	struct src in;
	struct reader r;
	struct buf val;		/* the text of the value being parsed */
	struct jv_arena arena;	/* a thread's values (jval.h), then the
				   top-level members' */
	json_t *root;		/* top-level keys: the known ones' values,
				   null for the others (and threads) */
	struct snapshot *snap;
	enum threads_seen threads;
	bool thread_failed;
	bool doomed;		/* format or version refused already:
				   threads are only checked for syntax */
	size_t nthreads;
	struct v2_read v2;	/* version 2's tables */
	char msg[512];
};

/* The top-level members whose values the checks of the end need. */
static const char *const top_keys[] = {
	"format", "version", "pid", "comm", "exe", "unwinder", "taken_at",
	"capture_ms", "threads_stopped", "stop_ms_total", "stop_ms_max",
	"partial", "note", "runtime",
	"runtime_note", "go_layouts", "modules",
};

static int input_error(struct parser *ps)
{
	if (ps->in.err == -EFBIG)
		return failf(&ps->r, "too large to be a threadleak snapshot "
			     "(over %s)", ps->in.max > SNAPSHOT_MAX_BYTES ? "64 GiB" : "1 GiB");
	return failf(&ps->r, "cannot read: %s", strerror(-ps->in.err));
}

static int out_of_memory(struct parser *ps)
{
	return failf(&ps->r, "out of memory");
}

__attribute__((format(printf, 4, 5)))
static int syntax_error(struct parser *ps, int line, int col,
			const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (ps->in.err)
		return input_error(ps);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return failf(&ps->r, "not a threadleak snapshot: invalid JSON at line "
		     "%d column %d: %s", line, col, what);
}

static int collect_value(struct parser *ps, int depth, int *line, int *col);
static int jansson_error(struct parser *ps, json_error_t *jerr, int line,
			 int col);

/* fail_near() at a string: what jansson finds wrong in it comes first. */
static int fail_near_string(struct parser *ps, const char *what)
{
	struct src *s = &ps->in;
	json_error_t jerr;
	int line, col;
	json_t *v;

	if (collect_value(ps, 0, &line, &col))
		return -1;
	v = json_loadb(ps->val.p, ps->val.len, JSON_FLAGS, &jerr);
	if (!v)
		return jansson_error(ps, &jerr, line, col);
	json_decref(v);
	if (ps->val.len > 20)
		return syntax_error(ps, s->line, s->col, "%s", what);
	return syntax_error(ps, s->line, s->col, "%s near '%.*s'", what,
			    (int)ps->val.len, ps->val.p);
}

/*
 * "WHAT near 'TOKEN'", as jansson says it: takes the token at the input
 * (a string, a literal or a number, or one byte) and names the place of
 * its last byte; a token of over 20 bytes is not quoted.  A byte that is
 * not printable ASCII is named by its value.
 */
static int fail_near(struct parser *ps, const char *what)
{
	struct src *s = &ps->in;
	char tok[24];
	size_t n = 0;
	unsigned char c;

	if (!src_more(s))
		return syntax_error(ps, s->line, s->col, "%s near end of file",
				    what);
	if (*s->p == '"')
		return fail_near_string(ps, what);
	c = src_take(s);
	tok[n++] = (char)c;
	if (c >= 0x80) {
		int want = utf8_tail(c);

		while (want-- > 0 && src_more(s) && (*s->p & 0xc0) == 0x80)
			tok[n++] = (char)src_take(s);
		if (n == 1 || want >= 0 ||
		    utf8_seq_len((const unsigned char *)tok) != n)
			return syntax_error(ps, s->line, s->col, "unable to "
					    "decode byte 0x%x", c);
	} else if (c < ' ' || c == 0x7f) {
		return syntax_error(ps, s->line, s->col, "%s near byte 0x%02x",
				    what, c);
	}
	if (alpha_byte(c) || (c >= '0' && c <= '9') || c == '-') {
		while (n < sizeof(tok) - 1 && src_more(s) &&
		       token_continues(tok, n, *s->p))
			tok[n++] = (char)src_take(s);
	}
	if (n > 20)
		return syntax_error(ps, s->line, s->col, "%s", what);
	tok[n] = '\0';
	return syntax_error(ps, s->line, s->col, "%s near '%s'", what, tok);
}

/*
 * The value being collected (in ps->val, from after line, col) nests
 * deeper than jansson allows at its last byte c, just taken.  An error
 * earlier in the value comes first, as jansson would have said it reading
 * the whole text: it is given what there is.
 */
static int too_deep(struct parser *ps, unsigned char c, int line, int col)
{
	struct src *s = &ps->in;
	json_error_t jerr;
	json_t *v;

	v = json_loadb(ps->val.p, ps->val.len, JSON_FLAGS, &jerr);
	json_decref(v);
	if (!v && !strstr(jerr.text, "end of file") &&
	    !strstr(jerr.text, "premature end of input"))
		return jansson_error(ps, &jerr, line, col);
	if (c == '{' || c == '[')
		return syntax_error(ps, s->line, s->col, "maximum parsing "
				    "depth reached near '%c'", c);
	take_token_rest(s, c);
	return syntax_error(ps, s->line, s->col, "maximum parsing depth "
			    "reached");
}

/* After a byte c that is no JSON, the rest of its UTF-8 character: jansson
 * then names the character, not a broken sequence. */
/* Which brackets are open in a value: bit n set for a '{' at level n. */
static inline bool is_curly(const uint64_t *curly, int level)
{
	return curly[level / 64] & (1ull << (level % 64));
}

static inline void set_curly(uint64_t *curly, int level, bool on)
{
	if (on)
		curly[level / 64] |= 1ull << (level % 64);
	else
		curly[level / 64] &= ~(1ull << (level % 64));
}

/* Whether a string that follows prev (the last byte out of strings, not
 * a space) at this level is a key. */
static inline bool is_key(unsigned char prev, const uint64_t *curly,
			  int level)
{
	return prev == '{' || (prev == ',' && is_curly(curly, level - 1));
}

/* The byte before q[-1], a byte of the value being collected: in the
 * window, or the last one collected from the window before. */
static inline unsigned char byte_before(struct parser *ps,
					const unsigned char *q)
{
	if (q - ps->in.p >= 2)
		return q[-2];
	return (unsigned char)ps->val.p[ps->val.len - 1];
}

static int take_utf8_tail(struct parser *ps, unsigned char c)
{
	struct src *s = &ps->in;

	for (int want = utf8_tail(c); want > 0; want--) {
		if (!src_more(s) || (*s->p & 0xc0) != 0x80)
			break;
		c = src_take(s);
		if (buf_add(&ps->val, &c, 1))
			return out_of_memory(ps);
	}
	return s->err ? input_error(ps) : 0;
}

/*
 * Copies the value at the input into ps->val and takes it: a string to its
 * closing quote, an array or object to its closing bracket, a number or
 * literal to its last byte.  Stops early, with what it has, where the text
 * cannot be JSON any more (a byte that is not, a control byte in a string,
 * a bracket that closes the wrong one): jansson then says what is wrong,
 * and where.  depth is how many containers hold the value; deeper than
 * jansson allows is an error here.  *line and *col: the place before it.
 * Returns 0, or -1 with a message.
 */
static int collect_value(struct parser *ps, int depth, int *line, int *col)
{
	struct src *s = &ps->in;
	uint64_t curly[MAX_DEPTH / 64 + 1];	/* bit set: '{' is open */
	bool in_str = false, esc = false, done = false, garbage = false;
	unsigned char c, prev = 0;	/* prev: the last byte out of strings,
					   not a space */
	int level = 0;

	ps->val.len = 0;
	if (!src_more(s))
		return fail_near(ps, "unexpected token");
	c = *s->p;
	if (c == ',' || c == ':' || c == ']' || c == '}')
		return fail_near(ps, "unexpected token");
	*line = s->line;
	*col = s->col;
	if (depth >= MAX_DEPTH) {
		src_take(s);
		take_token_rest(s, c);
		return syntax_error(ps, s->line, s->col, "maximum parsing "
				    "depth reached");
	}
	if (scalar_byte(c)) {
		do {
			c = src_take(s);
			if (buf_add(&ps->val, &c, 1))
				return out_of_memory(ps);
		} while (src_more(s) &&
			 (token_continues(ps->val.p, ps->val.len, *s->p) ||
			  /* a digit after a leading 0: jansson's to refuse */
			  (!alpha_byte((unsigned char)ps->val.p[0]) &&
			   *s->p >= '0' && *s->p <= '9')));
		/* jansson drops a NUL byte right after a number or a
		 * literal, and does not count it: so does this */
		if (src_more(s) && *s->p == '\0')
			s->p++;
		return s->err ? input_error(ps) : 0;
	}
	if (c != '"' && c != '{' && c != '[') {
		/* not JSON: one character is enough for jansson to say
		 * what */
		src_take(s);
		if (buf_add(&ps->val, &c, 1))
			return out_of_memory(ps);
		return take_utf8_tail(ps, c);
	}
	while (!done && src_more(s)) {
		const unsigned char *q = s->p;
		int ln = s->line, cl = s->col;

		while (q < s->end) {
			c = *q++;
			count_pos(&ln, &cl, c);
			if (in_str) {
				if (esc) {
					esc = false;
				} else if (c == '\\') {
					esc = true;
				} else if (c == '"') {
					in_str = false;
					done = !level;
				} else if (c < ' ') {
					done = true;
				}
			} else if (c == '{' || c == '[' || c == '"' ||
				   scalar_byte(c)) {
				/* a value, not a key (a key adds no depth),
				 * deeper than jansson allows */
				if (depth + level >= MAX_DEPTH &&
				    !(c == '"' && is_key(prev, curly, level))) {
					if (buf_add(&ps->val, s->p,
						    (size_t)(q - s->p)))
						return out_of_memory(ps);
					s->p = q;
					s->line = ln;
					s->col = cl;
					return too_deep(ps, c, *line, *col);
				}
				if (c == '"') {
					in_str = true;
				} else if (c == '{' || c == '[') {
					set_curly(curly, level, c == '{');
					level++;
				}
			} else if (c == '}' || c == ']') {
				level--;
				/* a wrong bracket: done too */
				done = !level || (c == '}') !=
				       is_curly(curly, level);
			} else if (c == '\0' &&
				   scalar_byte(byte_before(ps, q))) {
				/* after a number or literal: jansson drops
				 * it and does not count it */
				cl--;
			} else if (c != ' ' && c != '\t' && c != '\n' &&
				   c != '\r' && c != ',' && c != ':') {
				done = true;
				garbage = true;
			}
			if (done)
				break;
			if (!in_str && c != ' ' && c != '\t' && c != '\n' &&
			    c != '\r')
				prev = c;
		}
		if (buf_add(&ps->val, s->p, (size_t)(q - s->p)))
			return out_of_memory(ps);
		s->p = q;
		s->line = ln;
		s->col = cl;
	}
	if (garbage)
		return take_utf8_tail(ps, c);
	return s->err ? input_error(ps) : 0;
}

/* jansson's message on a value that started after (line, col), naming
 * the place in the whole file. */
static int jansson_error(struct parser *ps, json_error_t *jerr, int line,
			 int col)
{
	if (jerr->text[0] >= 'A' && jerr->text[0] <= 'Z')
		jerr->text[0] += 'a' - 'A';
	if (jerr->line >= 1) {
		if (jerr->line == 1)
			col += jerr->column;
		else
			col = jerr->column;
		line += jerr->line - 1;
	}
	return syntax_error(ps, line, col, "%s", jerr->text);
}

/* jansson's verdict on the value collected in ps->val. */
static json_t *parse_collected(struct parser *ps, int line, int col)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(ps->val.p, ps->val.len, JSON_FLAGS, &jerr);
	if (!v)
		jansson_error(ps, &jerr, line, col);
	return v;
}

/* The value at the input, parsed whole; NULL with a message. */
static json_t *value_at(struct parser *ps, int depth)
{
	int line, col;

	if (collect_value(ps, depth, &line, &col))
		return NULL;
	return parse_collected(ps, line, col);
}

/* A key with \u0000 in it: say it as jansson does of an object's key. */
static void key_nul_message(struct parser *ps)
{
	static const char was[] = "\\u0000 is not allowed without "
				  "JSON_ALLOW_NUL";
	static const char is[] = "NUL byte in object key not supported";
	char *p = strstr(ps->msg, was);
	size_t tail;

	if (!p)
		return;
	tail = strlen(p + sizeof(was) - 1) + 1;
	memcpy(p, is, sizeof(is) - 1);
	memmove(p + sizeof(is) - 1, p + sizeof(was) - 1, tail);
}

/*
 * The key at the input, then its ':': keys (an object) says which keys
 * came before, for duplicates, and gets this one with the value val
 * (taken: stolen even on failure).  Returns the key (keys owns it) or NULL
 * with a message.  (A key is no value: it adds no depth.)
 */
static const char *member_key(struct parser *ps, json_t *keys, json_t *val)
{
	struct src *s = &ps->in;
	const char *key = NULL;
	json_t *k;

	if (!src_more(s) || *s->p != '"') {
		fail_near(ps, "string or '}' expected");
		goto out;
	}
	k = value_at(ps, 0);
	if (!k) {
		key_nul_message(ps);
		goto out;
	}
	if (json_object_get(keys, json_string_value(k))) {
		/* jansson quotes tokens of up to 20 bytes */
		if (ps->val.len > 20)
			syntax_error(ps, s->line, s->col,
				     "duplicate object key");
		else
			syntax_error(ps, s->line, s->col, "duplicate object "
				     "key near '%.*s'", (int)ps->val.len,
				     ps->val.p);
	} else if (json_object_set(keys, json_string_value(k), val)) {
		out_of_memory(ps);
	} else {
		key = json_object_iter_key(json_object_iter_at(keys,
					   json_string_value(k)));
	}
	json_decref(k);
	if (!key)
		goto out;
	src_skip_ws(s);
	if (!src_more(s) || *s->p != ':') {
		fail_near(ps, "':' expected");
		key = NULL;
		goto out;
	}
	src_take(s);
	src_skip_ws(s);
out:
	json_decref(val);
	return key;
}

/*
 * Checks the value at the input for syntax and forgets it, without
 * holding more of it than one string or number: arrays and objects are
 * walked member by member.
 */
static int skip_value(struct parser *ps, int depth)
{
	struct src *s = &ps->in;
	json_t *keys = NULL;
	unsigned char open;
	int rc = -1;

	if (!src_more(s) || (*s->p != '{' && *s->p != '[')) {
		json_t *v = value_at(ps, depth);

		json_decref(v);
		return v ? 0 : -1;
	}
	if (depth >= MAX_DEPTH) {
		open = src_take(s);
		return syntax_error(ps, s->line, s->col, "maximum parsing "
				    "depth reached near '%c'", open);
	}
	open = src_take(s);
	if (open == '{' && !(keys = json_object()))
		return out_of_memory(ps);
	src_skip_ws(s);
	if (src_more(s) && *s->p == (open == '{' ? '}' : ']')) {
		src_take(s);
		rc = 0;
		goto out;
	}
	for (;;) {
		if (open == '{' && !member_key(ps, keys, json_null()))
			goto out;
		if (open == '[' && !src_more(s)) {
			fail_near(ps, "']' expected");
			goto out;
		}
		if (skip_value(ps, depth + 1))
			goto out;
		src_skip_ws(s);
		if (src_more(s) && *s->p == ',') {
			src_take(s);
			src_skip_ws(s);
			continue;
		}
		if (src_more(s) && *s->p == (open == '{' ? '}' : ']')) {
			src_take(s);
			rc = 0;
			goto out;
		}
		fail_near(ps, open == '{' ? "'}' expected" : "']' expected");
		goto out;
	}
out:
	json_decref(keys);
	return rc;
}

/* Converts element ti of "threads", unless a thread already failed. */
static int convert_thread(struct parser *ps, const struct jv *v, size_t ti)
{
	struct thread *t;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_object(v)) {
		failf(&ps->r, "threads[%zu]: expected an object", ti);
		ps->thread_failed = true;
		return 0;
	}
	if (ps->snap->nthreads >= SNAPSHOT_MAX_ENTRIES) {
		failf(&ps->r, "threads: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		ps->thread_failed = true;
		return 0;
	}
	t = snapshot_add_thread(ps->snap);
	if (!t)
		return out_of_memory(ps);
	/* every string read_thread() gives t comes from get_string(), from
	 * the pool: thread_release() must not free one */
	t->pooled = true;
	if (read_thread(&ps->r, v, ti, t))
		ps->thread_failed = true;
	else if (pool_thread_frames(ps->snap->pool, t) < 0)
		return out_of_memory(ps);
	else if (t->goid)
		ps->snap->ngoroutines++;
	return 0;
}

/* A thread's value at the input: read by jval's own parser, or, for what
 * it leaves to jansson (a syntax error: jansson's message), by jansson.
 * Valid until the next. */
static int thread_value(struct parser *ps, int depth, const struct jv **out)
{
	struct jv *v = NULL;
	int line, col, rc;

	if (collect_value(ps, depth, &line, &col))
		return -1;
	jv_arena_reset(&ps->arena);
	rc = jv_parse(&ps->arena, (const char *)ps->val.p, ps->val.len, &v);
	if (rc < 0)
		return out_of_memory(ps);
	if (rc == 1) {
		json_t *j = parse_collected(ps, line, col);
		if (!j)
			return -1;
		v = jv_from_json(&ps->arena, j);
		json_decref(j);
		if (!v)
			return out_of_memory(ps);
	}
	*out = v;
	return 0;
}

/* A top-level array, an element at a time: each parsed alone, handed to
 * each() and forgotten. */
static int read_array(struct parser *ps, int (*each)(struct parser *ps, const struct jv *v, size_t i))
{
	struct src *s = &ps->in;
	size_t i = 0;

	src_take(s);		/* [ */
	src_skip_ws(s);
	if (src_more(s) && *s->p == ']') {
		src_take(s);
		return 0;
	}
	for (;;) {
		const struct jv *v = NULL;

		/* jansson's words for an array cut after '[' or ',' */
		if (!src_more(s))
			return fail_near(ps, "']' expected");
		if (thread_value(ps, 2, &v) || each(ps, v, i++))
			return -1;
		src_skip_ws(s);
		if (src_more(s) && *s->p == ',') {
			src_take(s);
			src_skip_ws(s);
			continue;
		}
		if (src_more(s) && *s->p == ']') {
			src_take(s);
			return 0;
		}
		return fail_near(ps, "']' expected");
	}
}

static int thread_item(struct parser *ps, const struct jv *v, size_t i)
{
	(void)i;
	return convert_thread(ps, v, ps->nthreads++);
}

/* ---- reading: version 2's tables -------------------------------------- */


/* Fails the conversion (reported at the end, as a thread's). */
static int v2_failed(struct parser *ps)
{
	ps->thread_failed = true;
	return 0;
}

/* "stacks": each an array of frames, into the pool. */
static int stack_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;
	struct thread t = { 0 };

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_array(v)) {
		failf(r, "stacks[%zu]: expected an array of frames", i);
		return v2_failed(ps);
	}
	if (v->n > 4096) {
		failf(r, "stacks[%zu]: too many frames", i);
		return v2_failed(ps);
	}
	if (grow_implied((void **)&v2->stacks, v2->nstacks, sizeof(*v2->stacks)) ||
	    grow_implied((void **)&v2->stack_n, v2->nstacks, sizeof(*v2->stack_n)))
		return out_of_memory(ps);
	for (size_t fi = 0; fi < v->n; fi++) {
		struct frame *f = thread_add_frame(&t);
		if (!f) {
			free(t.frames);
			return out_of_memory(ps);
		}
		snprintf(r->where, sizeof(r->where), "stacks[%zu][%zu].", i, fi);
		if (!jv_is_object(&v->items[fi])) {
			free(t.frames);
			failf(r, "stacks[%zu][%zu]: expected an object", i, fi);
			return v2_failed(ps);
		}
		if (read_frame(r, &v->items[fi], f)) {
			free(t.frames);
			return v2_failed(ps);
		}
	}
	if (pool_thread_frames(ps->snap->pool, &t) < 0) {
		free(t.frames);
		return out_of_memory(ps);
	}
	v2->stacks[v2->nstacks] = t.frames;
	v2->stack_n[v2->nstacks++] = t.nframes;
	return 0;
}

/* Template k's stacks from their indexes; 0 or -1 with the message. */
static int resolve_template(struct parser *ps, size_t k)
{
	struct v2_read *v2 = &ps->v2;
	struct thread *t = &v2->tpl[k];

	for (int j = 0; j < 2; j++) {
		int64_t ref = v2->tpl_refs[k][j];
		if (ref < 0)
			continue;
		if ((size_t)ref >= v2->nstacks)
			return failf(&ps->r, "templates[%zu].%s: stack %lld, of %zu", k,
				     j ? "created" : "frames", (long long)ref, v2->nstacks);
		*(j ? &t->created : &t->frames) = v2->stacks[ref];
		*(j ? &t->ncreated : &t->nframes) = v2->stack_n[ref];
	}
	return 0;
}

/* "templates": goroutine entries without their own fields. */
static int template_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_object(v)) {
		failf(r, "templates[%zu]: expected an object", i);
		return v2_failed(ps);
	}
	if (v2->ntpl >= SNAPSHOT_MAX_ENTRIES) {
		failf(r, "templates: more than %zu", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	if (grow_implied((void **)&v2->tpl, v2->ntpl, sizeof(*v2->tpl)) ||
	    grow_implied((void **)&v2->tpl_refs, v2->ntpl, sizeof(*v2->tpl_refs)))
		return out_of_memory(ps);
	struct thread *t = &v2->tpl[v2->ntpl];
	memset(t, 0, sizeof(*t));
	wait_info_init(&t->wait);
	t->pooled = t->frames_pooled = true;
	r->array = "templates";
	r->tpl = true;
	r->frames_ref = r->created_ref = -1;
	int rc = read_thread(r, v, i, t);
	/* A goroutine has no OS thread's part (name, CPU times): a
	 * template's is dropped, never shared by its rows (each would free
	 * it).  Its name is the pool's. */
	free(t->os);
	t->os = NULL;
	r->array = "threads";
	r->tpl = false;
	v2->tpl_refs[v2->ntpl][0] = r->frames_ref;
	v2->tpl_refs[v2->ntpl][1] = r->created_ref;
	v2->ntpl++;
	if (rc)
		return v2_failed(ps);
	return v2->stacks_seen && resolve_template(ps, i) ? v2_failed(ps) : 0;
}

/* Goroutine row ->  an entry, from its template. */
static int add_row(struct parser *ps, const struct row *w, size_t i)
{
	struct v2_read *v2 = &ps->v2;

	if (w->tpl >= v2->ntpl) {
		failf(&ps->r, "goroutines[%zu]: template %u, of %zu", i, w->tpl, v2->ntpl);
		return v2_failed(ps);
	}
	if (ps->snap->nthreads >= SNAPSHOT_MAX_ENTRIES) {
		failf(&ps->r, "goroutines: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	struct thread *t = snapshot_add_thread(ps->snap);
	if (!t)
		return out_of_memory(ps);
	*t = v2->tpl[w->tpl];
	t->goid = w->goid;
	t->go_minutes = w->minutes;
	t->wait.blocked_sec = w->blocked;
	t->wait.fd = w->fd;
	t->wait.object = w->object;
	t->wait.address = w->address;
	t->wait.owner = w->owner;
	ps->snap->ngoroutines++;
	return 0;
}

/* An element of a row: null, or what ok() says of it. */
static bool row_elem(const struct jv *v, size_t k, const struct jv **e)
{
	*e = k < v->n && !jv_is_null(&v->items[k]) ? &v->items[k] : NULL;
	return *e != NULL;
}

/* "goroutines": [goid, template, go_minutes, blocked_sec, fd, object,
 * address, owner], the trailing ones optional. */
static int row_item(struct parser *ps, const struct jv *v, size_t i)
{
	struct reader *r = &ps->r;
	struct v2_read *v2 = &ps->v2;
	struct row w = { .minutes = -1, .blocked = -1, .fd = -1 };
	const struct jv *e;

	if (ps->doomed || ps->thread_failed)
		return 0;
	if (!jv_is_array(v) || v->n < 2 || v->n > 8) {
		failf(r, "goroutines[%zu]: expected [goid, template, ...]", i);
		return v2_failed(ps);
	}
	e = &v->items[0];
	if (!jv_is_integer(e) || e->i < 1) {
		failf(r, "goroutines[%zu][0]: expected a goroutine id", i);
		return v2_failed(ps);
	}
	w.goid = e->i;
	e = &v->items[1];
	if (!jv_is_integer(e) || e->i < 0 || e->i >= UINT32_MAX) {
		failf(r, "goroutines[%zu][1]: expected the index of a template", i);
		return v2_failed(ps);
	}
	w.tpl = (uint32_t)e->i;
	if (row_elem(v, 2, &e)) {
		if (!jv_is_number(e) || !(jv_number(e) >= 0) || !isfinite(jv_number(e))) {
			failf(r, "goroutines[%zu][2]: expected minutes, 0 or more, or null", i);
			return v2_failed(ps);
		}
		w.minutes = jv_number(e);
	}
	w.blocked = w.minutes >= 0 ? w.minutes * 60 : -1;
	if (row_elem(v, 3, &e)) {
		if (jv_is_integer(e) && e->i == -1) {
			w.blocked = -1;
		} else if (!jv_is_number(e) || !(jv_number(e) >= 0) || !isfinite(jv_number(e))) {
			failf(r, "goroutines[%zu][3]: expected seconds, 0 or more, -1 or null", i);
			return v2_failed(ps);
		} else {
			w.blocked = jv_number(e);
		}
	}
	if (row_elem(v, 4, &e)) {
		if (!jv_is_integer(e) || e->i < 0 || e->i > INT_MAX) {
			failf(r, "goroutines[%zu][4]: expected a file descriptor or null", i);
			return v2_failed(ps);
		}
		w.fd = (int)e->i;
	}
	if (row_elem(v, 5, &e)) {
		if (!jv_is_string(e)) {
			failf(r, "goroutines[%zu][5]: expected a string or null", i);
			return v2_failed(ps);
		}
		if (!(w.object = strpool_add(ps->snap->pool, e->s, e->n)))
			return out_of_memory(ps);
	}
	if (row_elem(v, 6, &e) && (!jv_is_string(e) || parse_hex(e->s, &w.address))) {
		failf(r, "goroutines[%zu][6]: expected a hex string or null", i);
		return v2_failed(ps);
	}
	if (row_elem(v, 7, &e)) {
		if (!jv_is_integer(e) || e->i < 1 || e->i > INT_MAX) {
			failf(r, "goroutines[%zu][7]: expected a thread id or null", i);
			return v2_failed(ps);
		}
		w.owner = (int)e->i;
	}
	if (v2->tpl_seen && v2->tpl_resolved)
		return add_row(ps, &w, i);
	if (v2->nrows >= SNAPSHOT_MAX_ENTRIES) {
		failf(r, "goroutines: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		return v2_failed(ps);
	}
	if (v2->nrows == v2->rows_cap) {
		size_t cap = v2->rows_cap ? v2->rows_cap * 2 : 1024;
		struct row *p = realloc(v2->rows, cap * sizeof(*p));
		if (!p)
			return out_of_memory(ps);
		v2->rows = p;
		v2->rows_cap = cap;
	}
	v2->rows[v2->nrows++] = w;
	return 0;
}

/* The end of a version 2 document: templates given their stacks, then
 * the rows kept for them made entries. */
static void v2_finish(struct parser *ps)
{
	struct v2_read *v2 = &ps->v2;

	if (ps->doomed || ps->thread_failed)
		return;
	if (!v2->tpl_resolved)
		for (size_t k = 0; k < v2->ntpl; k++)
			if (resolve_template(ps, k)) {
				v2_failed(ps);
				return;
			}
	v2->tpl_resolved = true;
	for (size_t i = 0; i < v2->nrows; i++)
		if (add_row(ps, &v2->rows[i], i) || ps->thread_failed)
			return;
}

static void v2_read_free(struct v2_read *v2)
{
	free(v2->stacks);
	free(v2->stack_n);
	free(v2->tpl);
	free(v2->tpl_refs);
	free(v2->rows);
}

/* Whether the member just read already rules the snapshot out. */
static void check_doomed(struct parser *ps, const char *key, json_t *v)
{
	const char *format = json_string_value(v);

	if (strcmp(key, "format") == 0)
		ps->doomed |= !format || strcmp(format, SNAPSHOT_FORMAT) != 0;
	else if (strcmp(key, "version") == 0)
		ps->doomed |= json_is_integer(v) &&
			      json_integer_value(v) > SNAPSHOT_VERSION;
}

/* One member of the top-level object, at its key. */
static int read_member(struct parser *ps)
{
	struct src *s = &ps->in;
	const char *key;
	json_t *v;
	size_t i;

	key = member_key(ps, ps->root, json_null());
	if (!key)
		return -1;
	if (strcmp(key, "threads") == 0) {
		if (src_more(s) && *s->p == '[') {
			ps->threads = THREADS_ARRAY;
			return read_array(ps, thread_item);
		}
		ps->threads = THREADS_OTHER;
		return skip_value(ps, 1);
	}
	/* version 2's tables */
	int (*each)(struct parser *, const struct jv *, size_t) =
		strcmp(key, "stacks") == 0 ? stack_item :
		strcmp(key, "templates") == 0 ? template_item :
		strcmp(key, "goroutines") == 0 ? row_item : NULL;
	if (each) {
		if (!src_more(s) || *s->p != '[') {
			if (!ps->thread_failed && !ps->doomed) {
				fail(&ps->r, key, "expected an array");
				ps->thread_failed = true;
			}
			return skip_value(ps, 1);
		}
		int rc = read_array(ps, each);
		if (each == stack_item) {
			ps->v2.stacks_seen = true;
		} else if (each == template_item) {
			ps->v2.tpl_seen = true;
			ps->v2.tpl_resolved = ps->v2.stacks_seen;
		}
		return rc;
	}
	for (i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
		if (strcmp(key, top_keys[i]) == 0)
			break;
	if (i == sizeof(top_keys) / sizeof(top_keys[0]))
		return skip_value(ps, 1);
	v = value_at(ps, 1);
	if (!v)
		return -1;
	check_doomed(ps, key, v);
	/* key stays valid: the same key is replaced, not removed */
	if (json_object_set_new(ps->root, key, v))
		return out_of_memory(ps);
	return 0;
}

/* "modules": optional (older files have none); an array of objects. */
static int read_modules(struct reader *r, const struct jv *a, struct snapshot *snap)
{
	size_t n = jv_is_array(a) ? a->n : 0;

	if (!a || jv_is_null(a))
		return 0;
	if (!jv_is_array(a))
		return fail(r, "modules", "expected an array");
	if (n > SNAPSHOT_MAX_MODULES)
		return failf(r, "modules: more than %d", SNAPSHOT_MAX_MODULES);
	if (n && !(snap->modules = calloc(n, sizeof(*snap->modules))))
		return failf(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct module_info *m = &snap->modules[i];
		const struct jv *o = &a->items[i];
		snprintf(r->where, sizeof(r->where), "modules[%zu].", i);
		snap->nmodules = i + 1;
		if (!jv_is_object(o))
			return failf(r, "modules[%zu]: expected an object", i);
		if (get_string(r, o, "path", &m->path) ||
		    get_string(r, o, "build_id", &m->build_id) ||
		    get_hex(r, o, "start", REQUIRED, &m->start) ||
		    get_hex(r, o, "end", REQUIRED, &m->end) ||
		    get_string(r, o, "note", &m->note))
			return -1;
		if (!m->path)
			return fail(r, "path", "missing");
	}
	r->where[0] = '\0';
	return 0;
}

/*
 * The checks of the top-level members, in the order the reader of the
 * whole tree made them, then the threads' verdict.
 */
static int check_top(struct parser *ps)
{
	struct reader *r = &ps->r;
	struct snapshot *snap = ps->snap;
	const struct jv *root, *v;
	json_int_t n;

	r->where[0] = '\0';
	r->pool = NULL;
	jv_arena_reset(&ps->arena);
	root = jv_from_json(&ps->arena, ps->root);
	if (!root)
		return out_of_memory(ps);
	v = jv_get(root, "format");
	if (!jv_is_string(v) || strcmp(v->s, SNAPSHOT_FORMAT) != 0)
		return failf(r, "not a threadleak snapshot");
	if (get_int(r, root, "version", REQUIRED, 1, INT64_MAX, 0, &n))
		return -1;
	if (n > SNAPSHOT_VERSION)
		return failf(r, "snapshot version %lld is newer than this "
			     "threadleak understands (%d); upgrade threadleak",
			     (long long)n, SNAPSHOT_VERSION);
	snap->version = (int)n;
	if (get_int(r, root, "pid", REQUIRED, 1, INT_MAX, 0, &n))
		return -1;
	snap->pid = (int)n;
	if (get_string(r, root, "comm", &snap->comm) ||
	    get_string(r, root, "exe", &snap->exe) ||
	    get_string(r, root, "unwinder", &snap->unwinder))
		return -1;
	if (get_int(r, root, "taken_at", OPTIONAL, INT64_MIN, INT64_MAX, 0,
		    &n))
		return -1;
	snap->taken_at = n;
	if (get_number(r, root, "capture_ms", 0, &snap->capture_ms))
		return -1;
	if (get_int(r, root, "threads_stopped", OPTIONAL, 0, INT_MAX, 0, &n))
		return -1;
	snap->threads_stopped = (int)n;
	if (get_number(r, root, "stop_ms_total", -1, &snap->stop_ms_total) ||
	    get_number(r, root, "stop_ms_max", -1, &snap->stop_ms_max))
		return -1;
	if (get_bool(r, root, "partial", &snap->partial) ||
	    get_string(r, root, "note", &snap->note) ||
	    get_string(r, root, "runtime", &snap->runtime) ||
	    get_string(r, root, "runtime_note", &snap->runtime_note) ||
	    get_string(r, root, "go_layouts", &snap->go_layouts))
		return -1;
	if (read_modules(r, jv_get(root, "modules"), snap))
		return -1;
	if (ps->threads == THREADS_ABSENT)
		return fail(r, "threads", "missing");
	if (ps->threads == THREADS_OTHER)
		return fail(r, "threads", "expected an array");
	/* msg still says why the thread failed */
	return ps->thread_failed ? -1 : 0;
}

/* The whole document from ps->in; the snapshot, or NULL with a message. */
static struct snapshot *parse_document(struct parser *ps, bool file)
{
	struct src *s = &ps->in;
	struct snapshot *snap = NULL;
	unsigned char c;

	src_skip_ws(s);
	if (!src_more(s)) {
		if (s->err)
			input_error(ps);
		else
			failf(&ps->r, "not a threadleak snapshot: %s",
			      file && s->taken == 0 ? "the file is empty" :
			      "empty input");
		goto out;
	}
	/* What is not a JSON object is refused at its first byte. */
	c = *s->p;
	if (c == '[') {
		failf(&ps->r, "not a threadleak snapshot: a JSON array, not "
		      "an object");
		goto out;
	}
	if (c == 0xef && s->end - s->p >= 3 && s->p[1] == 0xbb &&
	    s->p[2] == 0xbf) {
		syntax_error(ps, s->line, s->col + 1, "'{' expected near a "
			     "UTF-8 byte order mark");
		goto out;
	}
	if (c != '{') {
		fail_near(ps, "'{' expected");
		goto out;
	}
	src_take(s);

	ps->root = json_object();
	ps->snap = calloc(1, sizeof(*ps->snap));
	if (ps->snap)
		ps->snap->pool = strpool_new();
	if (!ps->root || !ps->snap || !ps->snap->pool) {
		out_of_memory(ps);
		goto out;
	}
	ps->r.pool = ps->snap->pool;
	ps->r.array = "threads";
	src_skip_ws(s);
	if (src_more(s) && *s->p == '}') {
		src_take(s);
	} else {
		for (;;) {
			if (read_member(ps))
				goto out;
			src_skip_ws(s);
			if (src_more(s) && *s->p == ',') {
				src_take(s);
				src_skip_ws(s);
				continue;
			}
			if (src_more(s) && *s->p == '}') {
				src_take(s);
				break;
			}
			fail_near(ps, "'}' expected");
			goto out;
		}
	}
	src_skip_ws(s);
	if (src_more(s)) {
		fail_near(ps, "end of file expected");
		goto out;
	}
	if (s->err) {
		input_error(ps);
		goto out;
	}
	v2_finish(ps);
	if (check_top(ps))
		goto out;
	snap = ps->snap;
	ps->snap = NULL;
out:
	snapshot_free(ps->snap);
	v2_read_free(&ps->v2);
	json_decref(ps->root);
	jv_arena_free(&ps->arena);
	free(ps->val.p);
	return snap;
}

/* Hands the message to the caller's buffer. */
static void give_message(struct parser *ps, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", ps->msg);
}

struct snapshot *snapshot_from_json(const char *text, size_t len, char *err,
				    size_t errlen)
{
	struct parser ps = { .in = { .fd = -1, .line = 1 } };
	struct snapshot *snap;

	ps.r.err = ps.msg;
	ps.r.errlen = sizeof(ps.msg);
	if (len > SNAPSHOT_MAX_BYTES) {
		failf(&ps.r, "too large to be a threadleak snapshot "
		      "(over 1 GiB)");
		give_message(&ps, err, errlen);
		return NULL;
	}
	if (text) {
		ps.in.p = (const unsigned char *)text;
		ps.in.end = ps.in.p + len;
	}
	snap = parse_document(&ps, false);
	if (!snap)
		give_message(&ps, err, errlen);
	else if (err && errlen)
		err[0] = '\0';
	return snap;
}

struct snapshot *snapshot_read(const char *path, char *err, size_t errlen)
{
	struct parser ps = { .in = { .line = 1 } };
	struct snapshot *snap = NULL;
	struct stat st;

	ps.r.err = ps.msg;
	ps.r.errlen = sizeof(ps.msg);
	if (!path) {
		failf(&ps.r, "cannot read: %s", strerror(EINVAL));
		goto out;
	}
	/*
	 * O_NONBLOCK: a FIFO with no writer opens at once instead of waiting
	 * in open() for ever.  A pipe is read (a process substitution, a
	 * snapshot piped in), and so is a device (/dev/zero is refused at
	 * its first byte); a directory is no snapshot.
	 */
	ps.in.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (ps.in.fd < 0) {
		failf(&ps.r, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(ps.in.fd, &st) < 0) {
		failf(&ps.r, "cannot read: %s", strerror(errno));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		failf(&ps.r, "cannot read: a directory, not a snapshot file");
		goto out_close;
	}
	/* Blocking again: a pipe's writer is waited for, not spun on. */
	if (fcntl(ps.in.fd, F_SETFL, fcntl(ps.in.fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		failf(&ps.r, "cannot read: %s", strerror(errno));
		goto out_close;
	}
	ps.in.max = S_ISREG(st.st_mode) ? SNAPSHOT_MAX_FILE_BYTES : SNAPSHOT_MAX_BYTES;
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > SNAPSHOT_MAX_FILE_BYTES) {
		failf(&ps.r, "too large to be a threadleak snapshot "
		      "(over 64 GiB)");
		goto out_close;
	}
	ps.in.buf = malloc(READ_CHUNK);
	if (!ps.in.buf) {
		out_of_memory(&ps);
		goto out_close;
	}
	snap = parse_document(&ps, true);
	/* A FIFO nobody has open for writing reads as empty at once. */
	if (!snap && S_ISFIFO(st.st_mode) && ps.in.taken == 0 && !ps.in.err)
		failf(&ps.r, "cannot read: a FIFO with no writer");
	free(ps.in.buf);
out_close:
	close(ps.in.fd);
out:
	if (!snap)
		give_message(&ps, err, errlen);
	else if (err && errlen)
		err[0] = '\0';
	return snap;
}
