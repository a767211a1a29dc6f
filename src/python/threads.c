/*
 * python/threads: thread states and their frames; see threads.h.
 *
 * Thread states and frames change as the threads run, so they are read
 * past memory.h's page cache (memory_read_now); code objects, their
 * strings and tables do not change once made and go through the cache.
 * After a thread's frames are read, the head pointer and each frame's
 * (previous, code, instruction) are read again: any difference and the
 * thread is read again.
 */
#include "python/threads.h"
#include "python/names.h"
#include "python/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INTERPS 64
#define MAX_TABLE (64u << 10)	/* bytes of a line table read */
#define TP_NAME 24		/* PyTypeObject.tp_name, every 64-bit release */
#define BYTES_SIZE 16		/* PyBytesObject.ob_size */
#define BYTES_DATA 32		/* PyBytesObject.ob_sval */
#define OWNED_BY_CSTACK 3	/* 3.12+ enum _frameowner */
#define FRAME_SPAN 256	/* bytes of a frame read at once */

struct walk {
	const struct py_runtime *rt;
	struct memory *mem;
	uint64_t code_type;	/* the type of code objects, once seen */
	struct raw_frame_words *raw;	/* a thread's frames as read, PY_MAX_FRAMES */
	struct py_frame *scratch;	/* and as named, copied out when still */
	long budget;		/* frames all threads may still keep */
};

struct raw_frame_words {
	uint64_t addr, previous, code, instr;
	bool is_entry;		/* 3.11's is_entry */
};

static int read_u64(struct memory *m, uint64_t addr, int64_t off, uint64_t *v, bool now)
{
	if (off < 0 || !addr)
		return -EFAULT;
	return now ? memory_read_now(m, addr + off, v, 8) : memory_read(m, addr + off, v, 8);
}

/* A str object's text into out (PY_MAX_STR bytes), "?" when it is not
 * a compact str (a legacy string made by the old C API) or unreadable. */
static void read_str(struct walk *w, uint64_t obj, char *out)
{
	if (py_str_read(w->rt, w->mem, obj, out, PY_MAX_STR) != 0)
		strcpy(out, "?");
}

/* A bytes object's contents (malloc'd, *len bytes), or NULL. */
static uint8_t *read_bytes(struct walk *w, uint64_t obj, size_t *len)
{
	int64_t size;
	uint8_t *buf;

	if (!obj || memory_read(w->mem, obj + BYTES_SIZE, &size, 8) != 0 ||
	    size < 0 || (uint64_t)size > MAX_TABLE)
		return NULL;
	buf = malloc(size ? size : 1);
	if (buf && memory_read(w->mem, obj + BYTES_DATA, buf, size) != 0) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}

/* 3.8-3.9: co_lnotab's (address, line) increments; addr in bytes. */
static int line_lnotab(const uint8_t *t, size_t n, int line, int addr)
{
	int a = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		a += t[i];
		if (a > addr)
			break;
		line += (int8_t)t[i + 1];
	}
	return line;
}

/* 3.10: co_linetable's (bytes, line delta) ranges, -128 for none. */
static int line_310(const uint8_t *t, size_t n, int line, int addr)
{
	int start = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		int end = start + t[i];
		int8_t d = (int8_t)t[i + 1];
		if (d != -128)
			line += d;
		if (addr >= start && addr < end)
			return d == -128 ? -1 : line;
		start = end;
	}
	return -1;
}

static unsigned varint(const uint8_t *t, size_t n, size_t *i)
{
	unsigned v = 0, shift = 0;
	uint8_t b;

	do {
		if (*i >= n || shift > 28)
			return v;
		b = t[(*i)++];
		v |= (unsigned)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return v;
}

/* 3.11+: the location table (Objects/locations.md): entries that start
 * with a byte whose top bit is set, (code, length in code units). */
static int line_311(const uint8_t *t, size_t n, int line, int addr)
{
	int start = 0;
	size_t i = 0;

	while (i < n) {
		uint8_t b = t[i++];
		if (!(b & 0x80))
			return -1;
		int code = (b >> 3) & 15, end = start + ((b & 7) + 1) * 2;
		if (code == 13 || code == 14) {
			unsigned u = varint(t, n, &i);
			line += (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
		} else if (code >= 10 && code <= 12) {
			line += code - 10;
		}
		if (addr >= start && addr < end)
			return code == 15 ? -1 : line;
		while (i < n && !(t[i] & 0x80))
			i++;
		start = end;
	}
	return -1;
}

/* Whether obj is a code object: its type is named "code" (3.13's
 * f_executable may be another object). */
static bool is_code(struct walk *w, uint64_t obj)
{
	uint64_t type, name;
	char s[5];

	if (memory_read(w->mem, obj + 8, &type, 8) != 0 || !type)
		return false;
	if (type == w->code_type)
		return true;
	if (memory_read(w->mem, type + TP_NAME, &name, 8) != 0 ||
	    memory_read(w->mem, name, s, 5) != 0 || memcmp(s, "code", 5) != 0)
		return false;
	w->code_type = type;
	return true;
}

/* One frame's code object and instruction into f; -ENOENT for a frame
 * not shown (a C-stack shim, not yet started). */
static int read_code(struct walk *w, const struct raw_frame_words *r, struct py_frame *f)
{
	const struct py_layout *l = &w->rt->l;
	int minor = w->rt->minor;
	uint64_t name = 0, file = 0, table = 0;
	int32_t first = 0;
	size_t n = 0;

	if (!is_code(w, r->code))
		return -ENOENT;
	if (l->co_qualname < 0 || read_u64(w->mem, r->code, l->co_qualname, &name, false) != 0)
		read_u64(w->mem, r->code, l->co_name, &name, false);
	read_u64(w->mem, r->code, l->co_filename, &file, false);
	read_u64(w->mem, r->code, l->co_linetable, &table, false);
	memory_read(w->mem, r->code + l->co_firstlineno, &first, 4);
	read_str(w, name, f->func);
	read_str(w, file, f->file);

	int addr;	/* the instruction's offset in bytes */
	if (minor < 11) {
		int32_t lasti = (int32_t)r->instr;
		addr = minor == 10 ? lasti * 2 : lasti;
	} else {
		int64_t d = (int64_t)(r->instr - (r->code + l->co_code));
		if (d < 0 || d > (1 << 26))
			return -ENOENT;	/* not started (incomplete) */
		addr = (int)d;
	}
	uint8_t *t = read_bytes(w, table, &n);
	if (!t) {
		f->line = -1;
		return 0;
	}
	f->line = minor < 10 ? line_lnotab(t, n, first, addr) :
		  minor == 10 ? line_310(t, n, first, addr) : line_311(t, n, first, addr);
	free(t);
	return 0;
}

/* The words of the frame at addr, read in one system call spanning the
 * members wanted; *skip for one not shown. */
static int read_frame(struct walk *w, uint64_t addr, struct raw_frame_words *r, bool *skip)
{
	const struct py_layout *l = &w->rt->l;
	int64_t lo = l->fr_previous, hi = l->fr_previous + 8;
	int64_t offs[] = { l->fr_code, l->fr_instr, l->fr_owner, l->fr_is_entry };
	uint8_t buf[FRAME_SPAN], owner = 0;
	int32_t lasti;

	for (int i = 0; i < 4; i++) {
		if (offs[i] < 0)
			continue;
		lo = offs[i] < lo ? offs[i] : lo;
		hi = offs[i] + 8 > hi ? offs[i] + 8 : hi;
	}
	if (lo < 0 || l->fr_code < 0 || l->fr_instr < 0 || hi - lo > FRAME_SPAN || !addr ||
	    memory_read_now(w->mem, addr + lo, buf, hi - lo) != 0)
		return -EFAULT;
	r->addr = addr;
	memcpy(&r->previous, buf + (l->fr_previous - lo), 8);
	memcpy(&r->code, buf + (l->fr_code - lo), 8);
	if (w->rt->minor < 11) {
		memcpy(&lasti, buf + (l->fr_instr - lo), 4);
		r->instr = (uint32_t)lasti;
	} else {
		memcpy(&r->instr, buf + (l->fr_instr - lo), 8);
	}
	if (l->fr_owner >= 0)
		owner = buf[l->fr_owner - lo];
	r->is_entry = l->fr_is_entry >= 0 && buf[l->fr_is_entry - lo];
	*skip = l->fr_owner >= 0 && w->rt->minor >= 12 && owner == OWNED_BY_CSTACK;
	return 0;
}

/* The thread state's innermost frame. */
static uint64_t first_frame(struct walk *w, uint64_t ts)
{
	const struct py_layout *l = &w->rt->l;
	uint64_t p = 0;

	if (read_u64(w->mem, ts, l->ts_frame, &p, true) != 0)
		return 0;
	if (l->cf_current >= 0 && read_u64(w->mem, p, l->cf_current, &p, true) != 0)
		return 0;
	return p;
}

/* One reading of the thread at ts: its frames in w->scratch, their
 * words in w->raw, their count in t->nframes; the innermost frame's
 * address returned. */
static uint64_t walk_frames(struct walk *w, uint64_t ts, struct py_thread *t)
{
	struct raw_frame_words *raw = w->raw;
	uint64_t head = first_frame(w, ts), p = head;
	int n = 0;

	t->truncated = false;
	for (int steps = 0; p && steps < 4 * PY_MAX_FRAMES; steps++) {
		bool skip;
		if (n == PY_MAX_FRAMES) {
			t->truncated = true;
			break;
		}
		if (read_frame(w, p, &raw[n], &skip) != 0)
			break;
		p = raw[n].previous;
		if (skip && n > 0)	/* 3.12+: the eval loop's own entry frame */
			w->scratch[n - 1].entry = true;
		if (skip || read_code(w, &raw[n], &w->scratch[n]) != 0)
			continue;	/* raw[n] kept only for shown frames */
		w->scratch[n].entry = w->rt->minor < 11 || raw[n].is_entry;
		n++;
	}
	if (!p && n > 0)	/* the thread's first call into Python */
		w->scratch[n - 1].entry = true;
	t->nframes = n;
	return head;
}

/* Whether the frames read are still there as read: the same innermost
 * frame, and each frame's link, code and instruction (but the innermost
 * one's: a thread running Python moves it at every instruction, and the
 * line read from it is as true as any). */
static bool held_still(struct walk *w, uint64_t ts, uint64_t head,
		       const struct raw_frame_words *raw, int n)
{
	for (int i = 0; i < n; i++) {
		struct raw_frame_words r;
		bool skip;
		if (read_frame(w, raw[i].addr, &r, &skip) != 0 || r.code != raw[i].code ||
		    r.previous != raw[i].previous || (i > 0 && r.instr != raw[i].instr))
			return false;
	}
	return first_frame(w, ts) == head;
}

/* The native id of the thread of thread state ts (0: not known), and
 * its pthread_t in *ident. */
static long ts_tid(struct walk *w, uint64_t ts, uint64_t *ident)
{
	const struct py_layout *l = &w->rt->l;
	uint64_t tid = 0;

	*ident = 0;
	if (l->ts_thread_id >= 0)
		read_u64(w->mem, ts, l->ts_thread_id, ident, true);
	if (l->ts_native_tid >= 0) {
		read_u64(w->mem, ts, l->ts_native_tid, &tid, true);
	} else if (w->rt->pthread_tid >= 0 && *ident) {
		int32_t id = 0;
		memory_read_now(w->mem, *ident + w->rt->pthread_tid, &id, 4);
		tid = id > 0 ? (uint64_t)id : 0;
	}
	return (long)tid;
}

static int read_thread(struct walk *w, uint64_t ts, struct py_thread *t)
{
	uint64_t ident;

	t->tid = ts_tid(w, ts, &ident);
	t->ident = ident;
	t->ts = ts;
	t->moving = true;
	for (int i = 0; i <= PY_RETRIES && t->moving; i++) {
		uint64_t head = walk_frames(w, ts, t);
		t->moving = !held_still(w, ts, head, w->raw, t->nframes);
	}
	if (t->nframes > w->budget) {	/* a thousand threads each too deep */
		t->nframes = (int)w->budget;
		t->truncated = true;
	}
	w->budget -= t->nframes;
	if (!t->nframes)
		return 0;
	t->frames = malloc(t->nframes * sizeof(*t->frames));
	if (!t->frames)
		return -ENOMEM;
	memcpy(t->frames, w->scratch, t->nframes * sizeof(*t->frames));
	return 0;
}

static int read_all(struct walk *w, struct py_threads *out)
{
	const struct py_layout *l = &w->rt->l;
	struct memory *mem = w->mem;
	uint64_t interp, ts;
	int ret;

	if (read_u64(mem, w->rt->runtime, l->rt_interp_head, &interp, true) != 0)
		return -EFAULT;
	for (int i = 0; interp && i < MAX_INTERPS; i++) {
		int first = out->n;
		if (read_u64(mem, interp, l->is_threads_head, &ts, true) != 0)
			return -EFAULT;
		while (ts) {
			if (out->n == PY_MAX_THREADS) {
				out->truncated = true;
				break;
			}
			if (out->n % 64 == 0) {
				struct py_thread *nt = realloc(out->t, (out->n + 64) * sizeof(*nt));
				if (!nt)
					return -ENOMEM;
				out->t = nt;
			}
			memset(&out->t[out->n], 0, sizeof(out->t[0]));
			ret = read_thread(w, ts, &out->t[out->n++]);
			if (ret)
				return ret;
			if (read_u64(mem, ts, l->ts_next, &ts, true) != 0)
				break;
		}
		ret = py_names_read(w->rt, mem, interp, out->t + first, out->n - first);
		if (ret)
			return ret;
		if (out->truncated)
			return 0;
		if (read_u64(mem, interp, l->is_next, &interp, true) != 0)
			break;
	}
	return 0;
}

/* The walk's buffers: 0 or -ENOMEM (freed by walk_done either way). */
static int walk_start(struct walk *w)
{
	w->raw = calloc(PY_MAX_FRAMES, sizeof(*w->raw));
	w->scratch = calloc(PY_MAX_FRAMES, sizeof(*w->scratch));
	return w->raw && w->scratch ? 0 : -ENOMEM;
}

static void walk_done(struct walk *w)
{
	free(w->raw);
	free(w->scratch);
}

uint64_t py_thread_state_of(const struct py_runtime *rt, struct memory *mem, long tid)
{
	const struct py_layout *l = &rt->l;
	struct walk w = { rt, mem, 0, NULL, NULL, PY_MAX_TOTAL_FRAMES };
	uint64_t interp, ts, ident, bare = 0;
	int seen = 0;

	if (read_u64(mem, rt->runtime, l->rt_interp_head, &interp, true) != 0)
		return 0;
	for (int i = 0; interp && i < MAX_INTERPS; i++) {
		if (read_u64(mem, interp, l->is_threads_head, &ts, true) != 0)
			return bare;
		for (; ts && seen++ < PY_MAX_THREADS;) {
			/* 3.8-3.11 make a new thread's state in its creator
			 * (Thread.start), with the creator's ids until the
			 * new thread runs: the state with frames is its own. */
			if (ts_tid(&w, ts, &ident) == tid && first_frame(&w, ts))
				return ts;
			if (!bare && ts_tid(&w, ts, &ident) == tid)
				bare = ts;
			if (read_u64(mem, ts, l->ts_next, &ts, true) != 0)
				break;
		}
		if (read_u64(mem, interp, l->is_next, &interp, true) != 0)
			break;
	}
	return bare;
}

int py_thread_read_at(const struct py_runtime *rt, struct memory *mem, long tid, uint64_t ts,
		      struct py_thread *out)
{
	struct walk w = { rt, mem, 0, NULL, NULL, PY_MAX_TOTAL_FRAMES };
	uint64_t ident;
	int ret;

	memset(out, 0, sizeof(*out));
	if (ts_tid(&w, ts, &ident) != tid || tid <= 0)
		return -ENOENT;	/* another thread's state now, or none */
	ret = walk_start(&w);
	if (ret == 0)
		ret = read_thread(&w, ts, out);
	walk_done(&w);
	return ret;
}

int py_threads_read(const struct py_runtime *rt, struct memory *mem, struct py_threads *out)
{
	struct walk w = { rt, mem, 0, NULL, NULL, PY_MAX_TOTAL_FRAMES };
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (walk_start(&w) == 0)
		ret = read_all(&w, out);
	walk_done(&w);
	return ret;
}

void py_threads_free(struct py_threads *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->t[i].frames);
	free(t->t);
	memset(t, 0, sizeof(*t));
}
