/*
 * snapshot-write: a snapshot's JSON text, both versions; see snapshot.h.
 *
 * Writing is done by hand into growing buffers, the threads' on every CPU
 * (write_threads()), handed to stdio in order, not through jansson
 * objects (BENCHMARKS.md, "Reading and writing snapshot files").  Keys
 * come in the order of the document; the text is byte for byte what
 * jansson prints for the same tree with JSON_INDENT(1) or JSON_COMPACT
 * (the unit tests check this by reparsing and redumping).  Strings that
 * are not valid UTF-8 (thread names and paths are arbitrary bytes) have
 * each bad byte replaced by U+FFFD.  Reals get the fewest digits that
 * read back to the same double.  64-bit addresses are "0x..." strings;
 * unknown values are null.
 */
#include "model/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
/* ---- writing ---------------------------------------------------------- */

/*
 * The text under construction.  Containers open and close with the layout
 * jansson uses for JSON_INDENT(1) and JSON_COMPACT; `empty` says whether
 * the innermost open container has no member yet (after a close, the
 * parent has one, so no stack is needed).
 */
/* A frames array lately written, and where its text is in the buffer. */
struct frames_text {
	const struct frame *frames;
	size_t n, off, len;
};
#define FRAMES_SEEN 4

struct writer {
	char *buf;
	size_t len, cap;	/* cap - len >= 1 always: room for a NUL */
	FILE *fp;		/* when set, flushed into between threads */
	bool pretty;
	size_t depth;
	bool empty;
	int err;		/* first error, -errno */
	/* Threads of one pool have equal stacks, mostly one after the
	 * other: their frames' text is copied, not written again. */
	struct frames_text seen[FRAMES_SEEN];
	unsigned next_seen;
};

static bool w_grow(struct writer *w, size_t n);

/* Room for n more bytes (and the NUL); false after any error. */
static inline bool w_reserve(struct writer *w, size_t n)
{
	if (w->cap - w->len > n && !w->err)
		return true;
	return w_grow(w, n);
}

static bool w_grow(struct writer *w, size_t n)
{
	size_t ncap;
	char *p;

	if (w->err)
		return false;
	if (w->cap - w->len > n)
		return true;
	ncap = w->cap ? w->cap : 4096;
	while (ncap - w->len <= n) {
		if (ncap > SIZE_MAX / 2) {
			w->err = -ENOMEM;
			return false;
		}
		ncap *= 2;
	}
	p = realloc(w->buf, ncap);
	if (!p) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = p;
	w->cap = ncap;
	return true;
}

static void w_raw(struct writer *w, const void *s, size_t n)
{
	if (!w_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void w_lit(struct writer *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

static void w_flush(struct writer *w)
{
	if (!w->fp || w->err || !w->len)
		return;
	errno = 0;
	if (fwrite(w->buf, 1, w->len, w->fp) != w->len)
		w->err = errno ? -errno : -EIO;
	w->len = 0;
	memset(w->seen, 0, sizeof(w->seen));	/* their text is gone */
}

static void w_newline(struct writer *w)
{
	if (!w->pretty || !w_reserve(w, 1 + w->depth))
		return;
	w->buf[w->len++] = '\n';
	memset(w->buf + w->len, ' ', w->depth);
	w->len += w->depth;
}

static void w_open(struct writer *w, char c)
{
	w_raw(w, &c, 1);
	w->depth++;
	w->empty = true;
}

static void w_close(struct writer *w, char c)
{
	w->depth--;
	if (!w->empty)
		w_newline(w);
	w_raw(w, &c, 1);
	w->empty = false;
}

/* Starts the next member of the innermost container. */
static void w_next(struct writer *w)
{
	if (!w->empty)
		w_raw(w, ",", 1);
	w_newline(w);
	w->empty = false;
}

/* keys are our own literals: nothing to escape */
static void w_key(struct writer *w, const char *key)
{
	w_next(w);
	w_raw(w, "\"", 1);
	w_lit(w, key);
	w_lit(w, w->pretty ? "\": " : "\":");
}

static void w_null(struct writer *w)
{
	w_raw(w, "null", 4);
}

static void w_bool(struct writer *w, bool v)
{
	w_lit(w, v ? "true" : "false");
}

static void w_int(struct writer *w, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	w_raw(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Counters beyond int64 would not read back (jansson): refuse them. */
static void w_u64(struct writer *w, uint64_t v)
{
	if (v > INT64_MAX) {
		if (!w->err)
			w->err = -EOVERFLOW;
		return;
	}
	w_int(w, (int64_t)v);
}

static void w_hex(struct writer *w, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24], *p = tmp + sizeof(tmp);

	*--p = '"';
	do {
		*--p = digits[v & 0xf];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	w_raw(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * Significant digits for v: the fewest that read back to the same double
 * (3.2 is "3.2", not "%.17g"'s "3.2000000000000002"), but at least all the
 * integer digits below 1e17, so that 100 is "100.0" and not "1e2".
 */
static int real_digits(double v)
{
	char buf[40];
	int lo = 1, hi = 17, p;

	/* The fewest digits that read back: a binary search, as a precision
	 * that reads back stays one with more digits (17 always does). */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(buf, sizeof(buf), "%.*g", mid, v);
		if (strtod(buf, NULL) == v)
			hi = mid;
		else
			lo = mid + 1;
	}
	p = lo;
	if (v >= 1 && v < 1e17) {
		int d = 0;

		for (uint64_t u = (uint64_t)v; u; u /= 10)
			d++;
		if (p < d)
			p = d;
	}
	return p;
}

/*
 * A non-negative real, null otherwise, spelled as jansson does: always a
 * '.' or an exponent, no '+' or leading zeros in the exponent, '.' as the
 * decimal point whatever the locale.
 */
/*
 * Most reals written are times from clocks in nanoseconds (blocked_sec,
 * capture_ms): "%.9f" without its trailing zeros reads back, and is then
 * what the search of real_digits() finds, at a tenth of its cost.  0 when
 * v is not such a number (the caller searches).
 */
static int fast_real(double v, char *buf, size_t size)
{
	int n;

	if (!(v >= 1e-3 && v < 1e9))
		return 0;
	n = snprintf(buf, size, "%.9f", v);
	if (n <= 0 || (size_t)n >= size)
		return 0;
	while (buf[n - 1] == '0')
		n--;
	if (buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return strtod(buf, NULL) == v ? n : 0;
}

static void w_real(struct writer *w, double v)
{
	char buf[48], *e, *q;
	int n;

	if (!isfinite(v) || v < 0) {
		w_null(w);
		return;
	}
	n = fast_real(v, buf, sizeof(buf) - 3);
	if (n == 0)
		n = snprintf(buf, sizeof(buf) - 3, "%.*g", real_digits(v), v);
	if (n < 0 || (size_t)n >= sizeof(buf) - 3) {
		w_null(w);
		return;
	}
	for (int i = 0; i < n; i++)
		if (!(buf[i] >= '0' && buf[i] <= '9') && buf[i] != 'e' &&
		    buf[i] != '-' && buf[i] != '+')
			buf[i] = '.';
	e = strchr(buf, 'e');
	if (!e && !strchr(buf, '.')) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	if (e) {
		q = e + 1;
		if (*q == '-')
			q++;
		e = q;
		while (*e == '+' || *e == '0')
			e++;
		memmove(q, e, strlen(e) + 1);
		n = (int)strlen(buf);
	}
	w_raw(w, buf, (size_t)n);
}

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when s starts a bad one.
 * Stops at a NUL, which is never a continuation byte.
 */
size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * A JSON string (null for NULL), escaped as jansson does: \" \\ \b \f \n
 * \r \t, other controls as \u00XX, UTF-8 as is.  Each byte that does not
 * start valid UTF-8 becomes U+FFFD.
 */
static void w_string(struct writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;
	char esc[8];

	if (!s) {
		w_null(w);
		return;
	}
	w_raw(w, "\"", 1);
	for (run = p;;) {
		unsigned char c = *p;
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\') {
			n = c < 0x80 ? 1 : utf8_seq_len(p);
			if (n) {
				p += n;
				continue;
			}
		}
		w_raw(w, run, (size_t)(p - run));
		if (!c)
			break;
		if (c >= 0x80) {
			w_raw(w, "\xef\xbf\xbd", 3);
		} else {
			switch (c) {
			case '"':  w_raw(w, "\\\"", 2); break;
			case '\\': w_raw(w, "\\\\", 2); break;
			case '\b': w_raw(w, "\\b", 2); break;
			case '\f': w_raw(w, "\\f", 2); break;
			case '\n': w_raw(w, "\\n", 2); break;
			case '\r': w_raw(w, "\\r", 2); break;
			case '\t': w_raw(w, "\\t", 2); break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04X", c);
				w_raw(w, esc, 6);
			}
		}
		run = ++p;
	}
	w_raw(w, "\"", 1);
}

static void write_wait(struct writer *w, const struct wait_info *wi, bool blocked)
{
	w_open(w, '{');
	w_key(w, "kind");
	w_string(w, wait_kind_name(wi->kind));
	w_key(w, "syscall");
	if (wi->syscall < 0)
		w_null(w);
	else
		w_string(w, wi->syscall_name);
	w_key(w, "syscall_nr");
	if (wi->syscall < 0)
		w_null(w);
	else
		w_int(w, wi->syscall);
	w_key(w, "fd");
	if (wi->fd < 0)
		w_null(w);
	else
		w_int(w, wi->fd);
	w_key(w, "object");
	w_string(w, wi->object);
	w_key(w, "address");
	if (wi->address)
		w_hex(w, wi->address);
	else
		w_null(w);
	w_key(w, "owner");
	if (wi->owner > 0)
		w_int(w, wi->owner);
	else
		w_null(w);
	if (blocked) {
		w_key(w, "blocked_sec");
		w_real(w, wi->blocked_sec);
	}
	w_close(w, '}');
}

static void write_frame(struct writer *w, const struct frame *f)
{
	w_open(w, '{');
	w_key(w, "pc");
	w_hex(w, f->pc);
	w_key(w, "module");
	w_string(w, f->module);
	w_key(w, "function");
	w_string(w, f->function);
	w_key(w, "file");
	w_string(w, f->file);
	w_key(w, "line");
	if (f->line > 0)
		w_int(w, f->line);
	else
		w_null(w);
	w_key(w, "offset");
	w_hex(w, f->offset);
	w_key(w, "inlined");
	w_bool(w, f->inlined);
	w_close(w, '}');
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_frames(const struct frame *a, const struct frame *b, size_t n)
{
	if (a == b)
		return true;
	for (size_t i = 0; i < n; i++)
		if (a[i].pc != b[i].pc || a[i].offset != b[i].offset ||
		    a[i].line != b[i].line || a[i].inlined != b[i].inlined ||
		    !same_string(a[i].function, b[i].function) ||
		    !same_string(a[i].file, b[i].file) ||
		    !same_string(a[i].module, b[i].module))
			return false;
	return true;
}

/* The array of n frames, or a copy of the text of an equal one written
 * lately at the same depth (every thread's frames are at one depth). */
static void write_frames(struct writer *w, const struct frame *frames, size_t n)
{
	for (int k = 0; k < FRAMES_SEEN && n; k++) {
		const struct frames_text *ft = &w->seen[k];
		if (ft->len && ft->n == n && same_frames(ft->frames, frames, n)) {
			if (!w_reserve(w, ft->len))
				return;
			memcpy(w->buf + w->len, w->buf + ft->off, ft->len);
			w->len += ft->len;
			w->empty = false;
			return;
		}
	}
	size_t off = w->len;
	w_open(w, '[');
	for (size_t i = 0; i < n && !w->err; i++) {
		w_next(w);
		write_frame(w, &frames[i]);
	}
	w_close(w, ']');
	if (n && !w->err)
		w->seen[w->next_seen++ % FRAMES_SEEN] =
			(struct frames_text){ frames, n, off, w->len - off };
}

/* A goroutine's labels: an object, keys in order (unique: a key equal to
 * the one before, which no reader makes, is left out, as a duplicate
 * would make the document unreadable). */
static void write_labels(struct writer *w, const struct thread *t)
{
	w_open(w, '{');
	for (size_t i = 0; i < t->nlabels; i++) {
		if (i && same_string(t->labels[i].key, t->labels[i - 1].key))
			continue;
		w_next(w);
		w_string(w, t->labels[i].key);
		w_lit(w, w->pretty ? ": " : ":");
		w_string(w, t->labels[i].value);
	}
	w_close(w, '}');
}

/* What a version 2 template (a goroutine's fields but its goid, go_minutes
 * and wait.blocked_sec) says of its stacks: indexes into "stacks". */
struct template_refs {
	uint32_t frames, created;
};

/* A thread (or goroutine) as version 1 writes it; with tr, a version 2
 * template: no goid, go_minutes or blocked_sec, the stacks by index. */
static void write_entry(struct writer *w, const struct thread *t, const struct template_refs *tr)
{
	char state[2] = { t->state, '\0' };

	w_open(w, '{');
	w_key(w, "tid");
	w_int(w, t->tid);
	w_key(w, "name");
	w_string(w, thread_name(t));
	/* only a printable ASCII letter reads back as one character */
	w_key(w, "state");
	w_string(w, t->state > ' ' && t->state < 0x7f ? state : NULL);
	w_key(w, "utime");
	w_u64(w, thread_utime(t));
	w_key(w, "stime");
	w_u64(w, thread_stime(t));
	w_key(w, "start_time");
	w_u64(w, thread_start_time(t));
	w_key(w, "partial");
	w_bool(w, t->partial);
	w_key(w, "error");
	w_string(w, t->error);
	w_key(w, "stopped");
	w_bool(w, t->stopped);
	w_key(w, "wait");
	write_wait(w, &t->wait, !tr);
	w_key(w, "frames");
	if (tr)
		w_int(w, tr->frames);
	else
		write_frames(w, t->frames, t->nframes);
	if (t->goid && !tr) {
		/* A goroutine's own fields: only on goroutines. */
		w_key(w, "goid");
		w_int(w, t->goid);
	}
	if (t->goid) {
		w_key(w, "go_wait");
		w_string(w, t->go_wait);
		w_key(w, "go_parent");
		w_int(w, t->go_parent);
		w_key(w, "go_tid");
		w_int(w, t->go_tid);
		if (!tr) {
			w_key(w, "go_minutes");
			if (t->go_minutes >= 0)
				w_real(w, t->go_minutes);
			else
				w_raw(w, "null", 4);
		}
		w_key(w, "go_system");
		w_bool(w, t->go_system);
		w_key(w, "created");
		if (tr)
			w_int(w, tr->created);
		else
			write_frames(w, t->created, t->ncreated);
		if (t->labelled) {
			w_key(w, "labels");
			write_labels(w, t);
		}
	}
	w_close(w, '}');
}

/*
 * The threads, the bulk of a snapshot, are written in runs of
 * THREADS_PER_RUN: each run is formatted into a writer of its own on every
 * CPU (run_parallel_then), and the runs are handed on in order, to stdio
 * or to the one buffer, as they are done.  A run starts as the threads
 * array would continue: at the array's depth, with a comma before its
 * first thread unless it is the first run.
 */
#define THREADS_PER_RUN 128

struct v2_tables;

struct thread_runs {
	const struct snapshot *snap;
	struct writer *out;
	struct writer *runs;
	int file_fd;		/* a regular file's, or -1 */
	size_t unsynced;	/* bytes written since the last write_back */
	size_t n;		/* items */
	/* writes item i (a thread, a row) at r's depth */
	void (*item)(struct writer *r, const struct thread_runs *tr, size_t i);
	const struct v2_tables *v2;	/* version 2's, or NULL */
};

#define WRITE_BACK_BYTES (2u << 20)

/* A file written whole is fsync'd when it is done (outfile.c): the disk
 * starts on what is written already while the rest is formatted, and the
 * final fsync waits for less (16 MiB: 9 ms -> 3 ms). */
static void write_back(struct thread_runs *tr, size_t written)
{
	tr->unsynced += written;
	if (tr->file_fd < 0 || tr->unsynced < WRITE_BACK_BYTES)
		return;
	tr->unsynced = 0;
	if (fflush(tr->out->fp) == 0)
		sync_file_range(tr->file_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static void format_run(void *arg, size_t k)
{
	struct thread_runs *tr = arg;
	struct writer *r = &tr->runs[k];
	size_t end = (k + 1) * THREADS_PER_RUN;

	r->pretty = tr->out->pretty;
	r->depth = tr->out->depth;
	r->empty = k == 0;
	if (end > tr->n)
		end = tr->n;
	for (size_t i = k * THREADS_PER_RUN; i < end && !r->err; i++) {
		w_next(r);
		tr->item(r, tr, i);
	}
}

static int hand_on_run(void *arg, size_t k)
{
	struct thread_runs *tr = arg;
	struct writer *r = &tr->runs[k], *out = tr->out;

	if (!out->err && r->err)
		out->err = r->err;
	if (!out->err && r->len) {
		if (out->fp) {
			errno = 0;
			if (fwrite(r->buf, 1, r->len, out->fp) != r->len)
				out->err = errno ? -errno : -EIO;
			write_back(tr, r->len);
		} else {
			w_raw(out, r->buf, r->len);
		}
	}
	free(r->buf);
	r->buf = NULL;
	return 0;
}

/* The n items of an array (its '[' written), formatted on every CPU. */
static void write_items(struct writer *w, const struct snapshot *snap, size_t n,
			void (*item)(struct writer *, const struct thread_runs *, size_t),
			const struct v2_tables *v2)
{
	size_t nruns = (n + THREADS_PER_RUN - 1) / THREADS_PER_RUN;
	struct thread_runs tr = { snap, w, calloc(nruns ? nruns : 1, sizeof(*tr.runs)), -1, 0,
				  n, item, v2 };
	struct stat st;

	if (w->fp && fileno(w->fp) >= 0 && fstat(fileno(w->fp), &st) == 0 && S_ISREG(st.st_mode))
		tr.file_fd = fileno(w->fp);

	if (!tr.runs || (w_flush(w), w->err)) {
		w->err = w->err ? w->err : -ENOMEM;
		free(tr.runs);
		return;
	}
	if (run_parallel_then(nruns, 0, format_run, &tr, hand_on_run, &tr) < 0)
		w->err = w->err ? w->err : -ENOMEM;
	for (size_t k = 0; k < nruns; k++)
		free(tr.runs[k].buf);	/* what an error left */
	free(tr.runs);
	w->empty = n == 0;
}

static void thread_item(struct writer *r, const struct thread_runs *tr, size_t i)
{
	write_entry(r, &tr->snap->threads[i], NULL);
}

/* ---- version 2: each stack once, a goroutine in a row ---------------- */

/*
 * Version 2 (DESIGN.md section 5) writes a snapshot's goroutines as rows
 * that name a template (every field they share: wait, stacks by index,
 * labels...) and add their own (goid, how long they waited, what they
 * wait on): a million parked goroutines in a few stacks take a few dozen
 * bytes each, where version 1 repeated their whole entry (1.3 KB).  The
 * threads of the process are written whole, as in version 1.
 *
 * The tables are made in one pass over the entries: open-addressing sets
 * of indexes, the stacks keyed by their frames' numbers (equal numbers,
 * then equal frames), the templates by their fields.
 */
struct v2_tables {
	const struct frame **stacks;	/* the distinct frame arrays */
	size_t *stack_n;
	size_t nstacks;
	size_t *tpl_of;			/* template k: the entry it was made of */
	struct template_refs *refs;	/* and its stacks */
	size_t ntpl;
	size_t *os;			/* the threads' entries */
	size_t nos;
	size_t *gi;			/* the goroutines' entries */
	uint32_t *tpl;			/* and their templates */
	size_t ng;
};

/* an open-addressing set of indexes (stored + 1), 0: empty */
struct iset {
	uint32_t *slot;
	uint64_t *hash;
	size_t cap, n;
};

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static uint64_t str_mix(uint64_t h, const char *s)
{
	if (!s)
		return mix64(h, 1);
	uint64_t f = 0xcbf29ce484222325ull;
	for (; *s; s++)
		f = (f ^ (unsigned char)*s) * 0x100000001b3ull;
	return mix64(h, f);
}

static int iset_grow(struct iset *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	uint64_t *hash = malloc(cap * sizeof(*hash));

	if (!slot || !hash) {
		free(slot);
		free(hash);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot[i])
			continue;
		size_t j = t->hash[i] & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = t->slot[i];
		hash[j] = t->hash[i];
	}
	free(t->slot);
	free(t->hash);
	t->slot = slot;
	t->hash = hash;
	t->cap = cap;
	return 0;
}

/* The slot for hash h whose index equal() says is the one, or the empty
 * slot where it goes; NULL when out of memory. */
static uint32_t *iset_find(struct iset *t, uint64_t h,
			   bool (*equal)(const void *ctx, uint32_t idx), const void *ctx)
{
	if ((t->n + 1) * 2 > t->cap && iset_grow(t) < 0)
		return NULL;
	size_t j = h & (t->cap - 1);
	while (t->slot[j]) {
		if (t->hash[j] == h && equal(ctx, t->slot[j] - 1))
			return &t->slot[j];
		j = (j + 1) & (t->cap - 1);
	}
	t->hash[j] = h;
	return &t->slot[j];
}

static void iset_free(struct iset *t)
{
	free(t->slot);
	free(t->hash);
}

struct stack_key {
	const struct v2_tables *v;
	const struct frame *f;
	size_t n;
};

static bool stack_equal(const void *ctx, uint32_t idx)
{
	const struct stack_key *k = ctx;

	return k->v->stack_n[idx] == k->n && same_frames(k->v->stacks[idx], k->f, k->n);
}

/* The index of the stack f[n] in v (added if new); -ENOMEM. */
static int64_t stack_index(struct v2_tables *v, struct iset *set, const struct frame *f, size_t n)
{
	uint64_t h = mix64(0, n);
	struct stack_key k = { v, f, n };

	for (size_t i = 0; i < n; i++)
		h = mix64(mix64(mix64(h, f[i].pc), f[i].offset), (uint64_t)f[i].line << 1 | f[i].inlined);
	uint32_t *slot = iset_find(set, h, stack_equal, &k);
	if (!slot)
		return -ENOMEM;
	if (*slot)
		return *slot - 1;
	if (v->nstacks >= UINT32_MAX - 1)
		return -ENOMEM;
	if ((v->nstacks & (v->nstacks - 1)) == 0 || v->nstacks == 0) {
		size_t cap = v->nstacks ? v->nstacks * 2 : 16;
		const struct frame **s = realloc(v->stacks, cap * sizeof(*s));
		if (s)
			v->stacks = s;
		size_t *sn = s ? realloc(v->stack_n, cap * sizeof(*sn)) : NULL;
		if (!sn)
			return -ENOMEM;
		v->stack_n = sn;
	}
	v->stacks[v->nstacks] = f;
	v->stack_n[v->nstacks] = n;
	set->n++;
	*slot = (uint32_t)++v->nstacks;
	return v->nstacks - 1;
}

struct tpl_key {
	const struct snapshot *snap;
	const struct v2_tables *v;
	const struct thread *t;
	struct template_refs refs;
};

static bool same_labels(const struct thread *a, const struct thread *b)
{
	if (a->labelled != b->labelled || a->nlabels != b->nlabels)
		return false;
	if (a->labels == b->labels)
		return true;
	for (size_t i = 0; i < a->nlabels; i++)
		if (!same_string(a->labels[i].key, b->labels[i].key) ||
		    !same_string(a->labels[i].value, b->labels[i].value))
			return false;
	return true;
}

/* Whether a and b share a template: all but goid, go_minutes and the
 * wait's blocked_sec, fd, object, address and owner (the row's). */
static bool tpl_equal(const void *ctx, uint32_t idx)
{
	const struct tpl_key *k = ctx;
	const struct thread *a = k->t, *b = &k->snap->threads[k->v->tpl_of[idx]];
	const struct template_refs *r = &k->v->refs[idx];

	return r->frames == k->refs.frames && r->created == k->refs.created &&
	       a->tid == b->tid && a->state == b->state && thread_utime(a) == thread_utime(b) &&
	       thread_stime(a) == thread_stime(b) && thread_start_time(a) == thread_start_time(b) &&
	       a->partial == b->partial && a->stopped == b->stopped &&
	       a->wait.kind == b->wait.kind && a->wait.syscall == b->wait.syscall &&
	       a->go_parent == b->go_parent && a->go_tid == b->go_tid &&
	       a->go_system == b->go_system && same_string(thread_name(a), thread_name(b)) &&
	       same_string(a->error, b->error) && same_string(a->go_wait, b->go_wait) &&
	       (a->wait.syscall < 0 || same_string(a->wait.syscall_name, b->wait.syscall_name)) &&
	       same_labels(a, b);
}

static uint64_t tpl_hash(const struct thread *t, const struct template_refs *r)
{
	uint64_t h = mix64(r->frames, r->created);

	h = mix64(h, (uint64_t)t->tid << 8 | (unsigned char)t->state);
	h = mix64(mix64(mix64(h, thread_utime(t)), thread_stime(t)), thread_start_time(t));
	h = mix64(h, (uint64_t)t->partial | t->stopped << 1 | t->go_system << 2 |
		     (uint64_t)t->wait.kind << 8);
	h = mix64(mix64(mix64(h, (uint64_t)t->wait.syscall), (uint64_t)t->go_parent),
		  (uint64_t)t->go_tid);
	h = str_mix(str_mix(str_mix(h, thread_name(t)), t->error), t->go_wait);
	if (t->wait.syscall >= 0)
		h = str_mix(h, t->wait.syscall_name);
	h = mix64(h, t->nlabels << 1 | t->labelled);
	for (size_t i = 0; i < t->nlabels; i++)
		h = str_mix(str_mix(h, t->labels[i].key), t->labels[i].value);
	return h;
}

static void v2_free(struct v2_tables *v)
{
	free(v->stacks);
	free(v->stack_n);
	free(v->tpl_of);
	free(v->refs);
	free(v->os);
	free(v->gi);
	free(v->tpl);
}

/* The tables of snap; 0 or -ENOMEM. */
static int v2_make(struct v2_tables *v, const struct snapshot *snap)
{
	struct iset stacks = { 0 }, tpls = { 0 };
	size_t n = snap->nthreads;
	int rc = -ENOMEM;

	memset(v, 0, sizeof(*v));
	v->os = malloc((n ? n : 1) * sizeof(*v->os));
	v->gi = malloc((n ? n : 1) * sizeof(*v->gi));
	v->tpl = malloc((n ? n : 1) * sizeof(*v->tpl));
	if (!v->os || !v->gi || !v->tpl)
		goto out;
	size_t tcap = 0;
	for (size_t i = 0; i < n; i++) {
		const struct thread *t = &snap->threads[i];
		if (!t->goid) {
			v->os[v->nos++] = i;
			continue;
		}
		int64_t fs = stack_index(v, &stacks, t->frames, t->nframes);
		int64_t cs = fs < 0 ? fs : stack_index(v, &stacks, t->created, t->ncreated);
		if (cs < 0)
			goto out;
		struct tpl_key k = { snap, v, t, { (uint32_t)fs, (uint32_t)cs } };
		uint32_t *slot = iset_find(&tpls, tpl_hash(t, &k.refs), tpl_equal, &k);
		if (!slot)
			goto out;
		if (!*slot) {
			if (v->ntpl == tcap) {
				tcap = tcap ? tcap * 2 : 64;
				size_t *of = realloc(v->tpl_of, tcap * sizeof(*of));
				if (of)
					v->tpl_of = of;
				struct template_refs *r = of ? realloc(v->refs, tcap * sizeof(*r)) : NULL;
				if (!r)
					goto out;
				v->refs = r;
			}
			v->tpl_of[v->ntpl] = i;
			v->refs[v->ntpl] = k.refs;
			tpls.n++;
			*slot = (uint32_t)++v->ntpl;
		}
		v->gi[v->ng] = i;
		v->tpl[v->ng++] = *slot - 1;
	}
	rc = 0;
out:
	iset_free(&stacks);
	iset_free(&tpls);
	return rc;
}

static void os_item(struct writer *r, const struct thread_runs *tr, size_t i)
{
	write_entry(r, &tr->snap->threads[tr->v2->os[i]], NULL);
}

/* [goid, template, go_minutes, blocked_sec, fd, object, address, owner],
 * without the trailing ones that say nothing: blocked_sec null is
 * go_minutes' (times 60), -1 not known. */
/*
 * A goroutine's minutes: a quotient of nanoseconds, which needs 16 or 17
 * digits to read back exactly, and printf spelling a million of them
 * (w_real's shortest search, or %.17g) took a second.  Between 1e-3 and
 * 1e9, its 17 digits come from one long double product (64 bits of
 * mantissa: right to the 17th digit but for a last-digit slip, which
 * still reads back: 17 digits are finer than a double); what does not
 * read back is spelled by w_real.
 */
static void w_minutes(struct writer *w, double v)
{
	static const long double scale[] = {	/* 10^(16 - e), e = -3 .. 8 */
		1e19L, 1e18L, 1e17L, 1e16L, 1e15L, 1e14L, 1e13L, 1e12L, 1e11L, 1e10L,
		1e9L, 1e8L,
	};
	char buf[40];
	int e = -3, n = 0;

	if (!(v >= 1e-3 && v < 1e9)) {
		w_real(w, v);
		return;
	}
	for (double p = 1e-2; v >= p; p *= 10)
		e++;	/* 10^e <= v < 10^(e+1) */
	uint64_t d = (uint64_t)((long double)v * scale[e + 3] + 0.5L);
	char dig[24];
	int nd = snprintf(dig, sizeof(dig), "%" PRIu64, d);	/* 17, or 18 past 9.99.. */
	int point = e + 1 + (nd - 17);	/* digits before the point */
	if (point > 0) {
		memcpy(buf, dig, (size_t)point);
		n = point;
	} else {
		buf[n++] = '0';
	}
	buf[n++] = '.';
	for (int i = point; i < 0; i++)
		buf[n++] = '0';
	int last = nd;
	while (last > (point > 0 ? point : 0) && dig[last - 1] == '0')
		last--;
	for (int i = point > 0 ? point : 0; i < last; i++)
		buf[n++] = dig[i];
	if (buf[n - 1] == '.')
		buf[n++] = '0';
	buf[n] = '\0';
	if (strtod(buf, NULL) != v) {
		w_real(w, v);
		return;
	}
	w_raw(w, buf, (size_t)n);
}

static void row_item(struct writer *r, const struct thread_runs *tr, size_t i)
{
	const struct thread *t = &tr->snap->threads[tr->v2->gi[i]];
	const struct wait_info *wi = &t->wait;
	double derived = t->go_minutes >= 0 ? t->go_minutes * 60 : -1;
	bool own_blocked = !(wi->blocked_sec == derived || (wi->blocked_sec < 0 && derived < 0));
	int last = wi->fd >= 0 || wi->object || wi->address || wi->owner > 0 ? 7 :
		   own_blocked ? 3 : t->go_minutes >= 0 ? 2 : 1;

	w_raw(r, "[", 1);
	w_int(r, t->goid);
	w_raw(r, ",", 1);
	w_int(r, tr->v2->tpl[i]);
	if (last >= 2) {
		w_raw(r, ",", 1);
		w_minutes(r, t->go_minutes);
	}
	if (last >= 3) {
		w_raw(r, ",", 1);
		if (!own_blocked)
			w_null(r);
		else if (wi->blocked_sec < 0)
			w_raw(r, "-1", 2);
		else
			w_real(r, wi->blocked_sec);
	}
	if (last == 7) {
		w_raw(r, ",", 1);
		if (wi->fd >= 0)
			w_int(r, wi->fd);
		else
			w_null(r);
		w_raw(r, ",", 1);
		w_string(r, wi->object);
		w_raw(r, ",", 1);
		if (wi->address)
			w_hex(r, wi->address);
		else
			w_null(r);
		w_raw(r, ",", 1);
		if (wi->owner > 0)
			w_int(r, wi->owner);
		else
			w_null(r);
	}
	w_raw(r, "]", 1);
	r->empty = false;
}

static void write_v2_tables(struct writer *w, const struct snapshot *snap,
			    const struct v2_tables *v)
{
	w_key(w, "stacks");
	w_open(w, '[');
	for (size_t i = 0; i < v->nstacks && !w->err; i++) {
		w_next(w);
		write_frames(w, v->stacks[i], v->stack_n[i]);
		if (w->len > WRITE_BACK_BYTES)
			w_flush(w);
	}
	w_close(w, ']');
	w_key(w, "templates");
	w_open(w, '[');
	for (size_t i = 0; i < v->ntpl && !w->err; i++) {
		struct thread t = snap->threads[v->tpl_of[i]];
		/* the row's fields left out */
		t.wait.fd = -1;
		t.wait.object = NULL;
		t.wait.address = 0;
		t.wait.owner = 0;
		w_next(w);
		write_entry(w, &t, &v->refs[i]);
		if (w->len > WRITE_BACK_BYTES)
			w_flush(w);
	}
	w_close(w, ']');
}

/* The whole document and its newline; returns 0 or -errno. */
static int write_snapshot(struct writer *w, const struct snapshot *snap,
			  const struct v2_tables *v2)
{
	w_open(w, '{');
	w_key(w, "format");
	w_string(w, SNAPSHOT_FORMAT);
	w_key(w, "version");
	w_int(w, v2 ? SNAPSHOT_VERSION : SNAPSHOT_VERSION_FLAT);
	w_key(w, "pid");
	w_int(w, snap->pid);
	w_key(w, "comm");
	w_string(w, snap->comm);
	w_key(w, "exe");
	w_string(w, snap->exe);
	w_key(w, "unwinder");
	w_string(w, snap->unwinder);
	w_key(w, "taken_at");
	w_int(w, snap->taken_at);
	w_key(w, "capture_ms");
	w_real(w, snap->capture_ms);
	w_key(w, "threads_stopped");
	w_int(w, snap->threads_stopped);
	if (snap->stop_ms_total >= 0) {	/* not in a file made before them */
		w_key(w, "stop_ms_total");
		w_real(w, snap->stop_ms_total);
		w_key(w, "stop_ms_max");
		w_real(w, snap->stop_ms_max);
	}
	w_key(w, "partial");
	w_bool(w, snap->partial);
	w_key(w, "note");
	w_string(w, snap->note);
	w_key(w, "runtime");
	w_string(w, snap->runtime);
	w_key(w, "runtime_note");
	w_string(w, snap->runtime_note);
	w_key(w, "go_layouts");
	w_string(w, snap->go_layouts);
	w_key(w, "modules");
	w_open(w, '[');
	for (size_t i = 0; i < snap->nmodules; i++) {
		const struct module_info *m = &snap->modules[i];
		w_next(w);
		w_open(w, '{');
		w_key(w, "path");
		w_string(w, m->path);
		w_key(w, "build_id");
		w_string(w, m->build_id);
		w_key(w, "start");
		w_hex(w, m->start);
		w_key(w, "end");
		w_hex(w, m->end);
		if (m->note) {
			w_key(w, "note");
			w_string(w, m->note);
		}
		w_close(w, '}');
	}
	w_close(w, ']');
	if (v2)
		write_v2_tables(w, snap, v2);
	w_key(w, "threads");
	w_open(w, '[');
	if (v2)
		write_items(w, snap, v2->nos, os_item, v2);
	else
		write_items(w, snap, snap->nthreads, thread_item, NULL);
	w_close(w, ']');
	if (v2) {
		w_key(w, "goroutines");
		w_open(w, '[');
		write_items(w, snap, v2->ng, row_item, v2);
		w_close(w, ']');
	}
	w_close(w, '}');
	w_raw(w, "\n", 1);
	w_flush(w);
	return w->err;
}

int snapshot_write(const struct snapshot *snap, FILE *fp, bool pretty)
{
	struct writer w = { .fp = fp, .pretty = pretty };
	int err;

	if (!snap || !fp)
		return -EINVAL;
	err = write_snapshot(&w, snap, NULL);
	free(w.buf);
	if (err)
		return err;
	errno = 0;
	if (fflush(fp) || ferror(fp))
		return errno ? -errno : -EIO;
	return 0;
}

int snapshot_write_file(const struct snapshot *snap, FILE *fp)
{
	struct writer w = { .fp = fp };
	struct v2_tables v;
	int err;

	if (!snap || !fp)
		return -EINVAL;
	err = v2_make(&v, snap);
	if (!err)
		err = write_snapshot(&w, snap, &v);
	v2_free(&v);
	free(w.buf);
	if (err)
		return err;
	errno = 0;
	if (fflush(fp) || ferror(fp))
		return errno ? -errno : -EIO;
	return 0;
}

int snapshot_save(const struct snapshot *snap, const char *path)
{
	FILE *fp = fopen(path, "w");
	int rc;

	if (!fp)
		return -errno;
	rc = snapshot_write_file(snap, fp);
	if (fclose(fp) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/*
 * The document exactly as snapshot_write() writes it, trailing newline
 * included; the caller frees it with free().  NULL with errno set on error.
 */
char *snapshot_to_json(const struct snapshot *snap, bool pretty)
{
	struct writer w = { .pretty = pretty };
	int err;

	if (!snap) {
		errno = EINVAL;
		return NULL;
	}
	err = write_snapshot(&w, snap, NULL);
	if (err) {
		free(w.buf);
		errno = -err;
		return NULL;
	}
	w.buf[w.len] = '\0';
	return w.buf;
}
