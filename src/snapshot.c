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
 * Writing is done by hand into one growing buffer, handed to stdio between
 * threads: building jansson objects and dumping them cost ~1.3 s of CPU
 * for 10,000 threads of 20 frames, this ~60 ms.  Keys come in the
 * order of the document; the text is byte for byte what jansson prints for
 * the same tree with JSON_INDENT(1) or JSON_COMPACT (the unit tests check
 * this by reparsing and redumping).  Strings that are not valid UTF-8
 * (thread names and paths are arbitrary bytes) have each bad byte replaced
 * by U+FFFD.  Reals get the fewest digits that read back to the same
 * double.  64-bit addresses are "0x..." strings; unknown values are null.
 *
 * Reading is strict: jansson parses the whole text (duplicate keys refused,
 * nesting bounded by jansson), then every known field is checked for type
 * and range, with a message naming the field ("threads[3].frames[0].pc:
 * expected a hex string").  Required: format, version, pid, threads, tid,
 * pc.  An absent optional field means "unknown"; null is accepted exactly
 * where the writer may write it.  Unknown fields are ignored.  The returned
 * snapshot belongs to the caller (snapshot_free()).
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

/* Largest snapshot text we agree to parse. */
#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)
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

static void frame_release(struct frame *f)
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

void thread_release(struct thread *t)
{
	free(t->name);
	free(t->error);
	free(t->wait.syscall_name);
	free(t->wait.object);
	for (size_t i = 0; i < t->nframes; i++)
		frame_release(&t->frames[i]);
	free(t->frames);
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
		thread_release(&snap->threads[i]);
	free(snap->threads);
	free(snap->comm);
	free(snap->exe);
	free(snap->unwinder);
	free(snap->note);
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

struct thread *snapshot_add_thread(struct snapshot *snap)
{
	struct thread *t;

	if (grow_implied((void **)&snap->threads, snap->nthreads,
			 sizeof(*snap->threads)))
		return NULL;
	t = &snap->threads[snap->nthreads++];
	memset(t, 0, sizeof(*t));
	wait_info_init(&t->wait);
	return t;
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

/* ---- writing ---------------------------------------------------------- */

/* snapshot_write() hands the text to stdio about this often. */
#define WRITE_FLUSH_BYTES 65536

/*
 * The text under construction.  Containers open and close with the layout
 * jansson uses for JSON_INDENT(1) and JSON_COMPACT; `empty` says whether
 * the innermost open container has no member yet (after a close, the
 * parent has one, so no stack is needed).
 */
struct writer {
	char *buf;
	size_t len, cap;	/* cap - len >= 1 always: room for a NUL */
	FILE *fp;		/* when set, flushed into between threads */
	bool pretty;
	size_t depth;
	bool empty;
	int err;		/* first error, -errno */
};

static bool w_reserve(struct writer *w, size_t n)
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
	int p;

	for (p = 1; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
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
static void w_real(struct writer *w, double v)
{
	char buf[48], *e, *q;
	int n;

	if (!isfinite(v) || v < 0) {
		w_null(w);
		return;
	}
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
static size_t utf8_seq_len(const unsigned char *s)
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

static void write_wait(struct writer *w, const struct wait_info *wi)
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
	w_key(w, "blocked_sec");
	w_real(w, wi->blocked_sec);
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

static void write_thread(struct writer *w, const struct thread *t)
{
	char state[2] = { t->state, '\0' };

	w_open(w, '{');
	w_key(w, "tid");
	w_int(w, t->tid);
	w_key(w, "name");
	w_string(w, t->name);
	/* only a printable ASCII letter reads back as one character */
	w_key(w, "state");
	w_string(w, t->state > ' ' && t->state < 0x7f ? state : NULL);
	w_key(w, "utime");
	w_u64(w, t->utime);
	w_key(w, "stime");
	w_u64(w, t->stime);
	w_key(w, "start_time");
	w_u64(w, t->start_time);
	w_key(w, "partial");
	w_bool(w, t->partial);
	w_key(w, "error");
	w_string(w, t->error);
	w_key(w, "stopped");
	w_bool(w, t->stopped);
	w_key(w, "wait");
	write_wait(w, &t->wait);
	w_key(w, "frames");
	w_open(w, '[');
	for (size_t i = 0; i < t->nframes && !w->err; i++) {
		w_next(w);
		write_frame(w, &t->frames[i]);
	}
	w_close(w, ']');
	w_close(w, '}');
}

/* The whole document and its newline; returns 0 or -errno. */
static int write_snapshot(struct writer *w, const struct snapshot *snap)
{
	w_open(w, '{');
	w_key(w, "format");
	w_string(w, SNAPSHOT_FORMAT);
	w_key(w, "version");
	w_int(w, SNAPSHOT_VERSION);
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
	w_key(w, "partial");
	w_bool(w, snap->partial);
	w_key(w, "note");
	w_string(w, snap->note);
	w_key(w, "threads");
	w_open(w, '[');
	for (size_t i = 0; i < snap->nthreads && !w->err; i++) {
		w_next(w);
		write_thread(w, &snap->threads[i]);
		if (w->len >= WRITE_FLUSH_BYTES)
			w_flush(w);
	}
	w_close(w, ']');
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
	err = write_snapshot(&w, snap);
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
	rc = snapshot_write(snap, fp, false);
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
	err = write_snapshot(&w, snap);
	if (err) {
		free(w.buf);
		errno = -err;
		return NULL;
	}
	w.buf[w.len] = '\0';
	return w.buf;
}

/* ---- reading ---------------------------------------------------------- */

struct reader {
	char *err;
	size_t errlen;
	char where[64];		/* prefix of field names: "threads[3]." */
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

static int get_string(struct reader *r, json_t *obj, const char *key,
		      char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(r, key, "expected a string or null");
	*out = strdup(json_string_value(v));
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
static int get_int(struct reader *r, json_t *obj, const char *key,
		   enum presence pres, json_int_t min, json_int_t max,
		   json_int_t def, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);
	const char *what = min == 1 ? "a positive integer" :
			   min == 0 ? "a non-negative integer" : "an integer";

	*out = def;
	if (!v && pres != REQUIRED)
		return 0;
	if (!v)
		return fail(r, key, "missing");
	if (json_is_null(v) && pres == NULLABLE)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return type_error(r, key, what, pres);
	*out = json_integer_value(v);
	return 0;
}

static int get_u64(struct reader *r, json_t *obj, const char *key,
		   uint64_t *out)
{
	json_int_t v;

	if (get_int(r, obj, key, OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int get_bool(struct reader *r, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(r, key, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

/* A non-negative number; def when absent or null. */
static int get_number(struct reader *r, json_t *obj, const char *key,
		      double def, double *out)
{
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
	    !isfinite(json_number_value(v)))
		return fail(r, key, "expected a non-negative number or null");
	*out = json_number_value(v);
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

static int get_hex(struct reader *r, json_t *obj, const char *key,
		   enum presence pres, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v && pres != REQUIRED)
		return 0;
	if (!v)
		return fail(r, key, "missing");
	if (json_is_null(v) && pres == NULLABLE)
		return 0;
	if (!json_is_string(v) || parse_hex(json_string_value(v), out))
		return type_error(r, key, "a hex string", pres);
	return 0;
}

static int read_wait(struct reader *r, json_t *o, struct wait_info *w)
{
	json_t *kind = json_object_get(o, "kind");
	json_int_t v;

	if (kind && !json_is_null(kind)) {
		if (!json_is_string(kind))
			return fail(r, "kind", "expected a string or null");
		/* A kind from a newer writer reads as "unknown". */
		w->kind = wait_kind_from_name(json_string_value(kind));
	}
	if (get_string(r, o, "syscall", &w->syscall_name))
		return -1;
	if (get_int(r, o, "syscall_nr", NULLABLE, 0, LONG_MAX, -1, &v))
		return -1;
	w->syscall = (long)v;
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

static int read_frame(struct reader *r, json_t *o, struct frame *f)
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

static int read_thread(struct reader *r, json_t *o, size_t ti,
		       struct thread *t)
{
	json_t *v, *frames;
	json_int_t tid;
	size_t fi;

	snprintf(r->where, sizeof(r->where), "threads[%zu].", ti);
	if (get_int(r, o, "tid", REQUIRED, 1, INT_MAX, 0, &tid))
		return -1;
	t->tid = (int)tid;
	if (get_string(r, o, "name", &t->name))
		return -1;
	v = json_object_get(o, "state");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) != 1)
			return fail(r, "state",
				    "expected a one-character string");
		t->state = json_string_value(v)[0];
	}
	if (get_u64(r, o, "utime", &t->utime) ||
	    get_u64(r, o, "stime", &t->stime) ||
	    get_u64(r, o, "start_time", &t->start_time) ||
	    get_bool(r, o, "partial", &t->partial) ||
	    get_string(r, o, "error", &t->error) ||
	    get_bool(r, o, "stopped", &t->stopped))
		return -1;

	v = json_object_get(o, "wait");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return fail(r, "wait", "expected an object or null");
		snprintf(r->where, sizeof(r->where), "threads[%zu].wait.", ti);
		if (read_wait(r, v, &t->wait))
			return -1;
		snprintf(r->where, sizeof(r->where), "threads[%zu].", ti);
	}

	frames = json_object_get(o, "frames");
	if (!frames)
		return 0;
	if (!json_is_array(frames))
		return fail(r, "frames", "expected an array");
	json_array_foreach(frames, fi, v) {
		struct frame *f;

		if (!json_is_object(v))
			return failf(r, "threads[%zu].frames[%zu]: expected "
				     "an object", ti, fi);
		f = thread_add_frame(t);
		if (!f)
			return failf(r, "out of memory");
		snprintf(r->where, sizeof(r->where), "threads[%zu].frames[%zu].",
			 ti, fi);
		if (read_frame(r, v, f))
			return -1;
	}
	return 0;
}

static struct snapshot *snapshot_from_root(struct reader *r, json_t *root)
{
	struct snapshot *snap;
	json_t *v, *threads;
	json_int_t n;
	size_t ti;

	v = json_object_get(root, "format");
	if (!json_is_object(root) || !json_is_string(v) ||
	    strcmp(json_string_value(v), SNAPSHOT_FORMAT) != 0) {
		failf(r, "not a threadleak snapshot");
		return NULL;
	}
	if (get_int(r, root, "version", REQUIRED, 1, INT64_MAX, 0, &n))
		return NULL;
	if (n > SNAPSHOT_VERSION) {
		failf(r, "snapshot version %lld is newer than this threadleak "
		      "understands (%d); upgrade threadleak", (long long)n,
		      SNAPSHOT_VERSION);
		return NULL;
	}
	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		failf(r, "out of memory");
		return NULL;
	}
	snap->version = (int)n;
	if (get_int(r, root, "pid", REQUIRED, 1, INT_MAX, 0, &n))
		goto out_free;
	snap->pid = (int)n;
	if (get_string(r, root, "comm", &snap->comm) ||
	    get_string(r, root, "exe", &snap->exe) ||
	    get_string(r, root, "unwinder", &snap->unwinder))
		goto out_free;
	if (get_int(r, root, "taken_at", OPTIONAL, INT64_MIN, INT64_MAX, 0,
		    &n))
		goto out_free;
	snap->taken_at = n;
	if (get_number(r, root, "capture_ms", 0, &snap->capture_ms))
		goto out_free;
	if (get_int(r, root, "threads_stopped", OPTIONAL, 0, INT_MAX, 0, &n))
		goto out_free;
	snap->threads_stopped = (int)n;
	if (get_bool(r, root, "partial", &snap->partial) ||
	    get_string(r, root, "note", &snap->note))
		goto out_free;

	threads = json_object_get(root, "threads");
	if (!threads) {
		fail(r, "threads", "missing");
		goto out_free;
	}
	if (!json_is_array(threads)) {
		fail(r, "threads", "expected an array");
		goto out_free;
	}
	json_array_foreach(threads, ti, v) {
		struct thread *t;

		if (!json_is_object(v)) {
			failf(r, "threads[%zu]: expected an object", ti);
			goto out_free;
		}
		t = snapshot_add_thread(snap);
		if (!t) {
			failf(r, "out of memory");
			goto out_free;
		}
		if (read_thread(r, v, ti, t))
			goto out_free;
	}
	return snap;

out_free:
	snapshot_free(snap);
	return NULL;
}

static bool all_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

struct snapshot *snapshot_from_json(const char *text, size_t len, char *err,
				    size_t errlen)
{
	struct reader r = { .err = err, .errlen = errlen };
	struct snapshot *snap;
	json_error_t jerr;
	json_t *root;

	if (err && errlen)
		err[0] = '\0';
	if (len > SNAPSHOT_MAX_BYTES) {
		failf(&r, "too large to be a threadleak snapshot (over 1 GiB)");
		return NULL;
	}
	if (!text || all_space(text, len)) {
		failf(&r, "not a threadleak snapshot: empty input");
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.text[0] >= 'A' && jerr.text[0] <= 'Z')
			jerr.text[0] += 'a' - 'A';
		failf(&r, "not a threadleak snapshot: invalid JSON at line %d "
		      "column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	snap = snapshot_from_root(&r, root);
	json_decref(root);
	return snap;
}

struct snapshot *snapshot_read(const char *path, char *err, size_t errlen)
{
	struct reader r = { .err = err, .errlen = errlen };
	struct snapshot *snap = NULL;
	size_t len = 0, cap;
	struct stat st;
	char *buf, *n;
	int fd;

	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		failf(&r, "cannot read: %s", strerror(EINVAL));
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		failf(&r, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st))
		memset(&st, 0, sizeof(st));
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > SNAPSHOT_MAX_BYTES) {
		failf(&r, "too large to be a threadleak snapshot (over 1 GiB)");
		goto out_close;
	}
	/* st_size is a hint (pipes, /proc); one spare byte to see EOF */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ?
	      (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap);
	if (!buf) {
		failf(&r, "out of memory");
		goto out_close;
	}
	for (;;) {
		ssize_t got;

		if (len == cap) {
			if (cap > SNAPSHOT_MAX_BYTES) {
				failf(&r, "too large to be a threadleak "
				      "snapshot (over 1 GiB)");
				goto out_buf;
			}
			cap = cap * 2 > SNAPSHOT_MAX_BYTES + 1 ?
			      SNAPSHOT_MAX_BYTES + 1 : cap * 2;
			n = realloc(buf, cap);
			if (!n) {
				failf(&r, "out of memory");
				goto out_buf;
			}
			buf = n;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			failf(&r, "cannot read: %s", strerror(errno));
			goto out_buf;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len == 0) {
		failf(&r, "not a threadleak snapshot: the file is empty");
		goto out_buf;
	}
	snap = snapshot_from_json(buf, len, err, errlen);
out_buf:
	free(buf);
out_close:
	close(fd);
	return snap;
}
