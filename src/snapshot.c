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
 * Writing streams.  A jansson tree of a whole 10,000-thread snapshot costs
 * hundreds of MB, so only one thread at a time is built as a jansson object
 * (keys set in document order) and dumped; the two outer levels (the
 * document object and the "threads" array) are written here, and nested
 * dumps are re-indented, so the text is byte for byte what jansson would
 * print for the whole tree with JSON_INDENT(1) or JSON_COMPACT.  Strings that
 * are not valid UTF-8 (thread names and paths are arbitrary bytes) have
 * each bad byte replaced by U+FFFD.  Reals get the fewest digits that read
 * back to the same double.  64-bit addresses are "0x..." strings; unknown
 * values are null.
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
#include <fcntl.h>
#include <inttypes.h>
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

static void thread_release(struct thread *t)
{
	free(t->name);
	free(t->error);
	free(t->wait.syscall_name);
	free(t->wait.object);
	for (size_t i = 0; i < t->nframes; i++)
		frame_release(&t->frames[i]);
	free(t->frames);
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

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when s starts a bad one.
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

/* A JSON string for s (null when s is NULL); NULL on ENOMEM. */
static json_t *json_str(const char *s)
{
	const unsigned char *p;
	char *clean, *q;
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	/* Not valid UTF-8 (or out of memory): replace each bad byte. */
	clean = malloc(strlen(s) * 3 + 1);
	if (!clean)
		return NULL;
	q = clean;
	for (p = (const unsigned char *)s; *p;) {
		size_t n = utf8_seq_len(p);

		if (n) {
			memcpy(q, p, n);
			q += n;
			p += n;
		} else {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p++;
		}
	}
	*q = '\0';
	j = json_string(clean);
	free(clean);
	return j;
}

static json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

/* Builds one jansson object; the first failure is kept in err. */
struct builder {
	int err;
};

static void put(struct builder *b, json_t *obj, const char *key, json_t *val)
{
	if (!val) {
		if (!b->err)
			b->err = -ENOMEM;
		return;
	}
	if (json_object_set_new(obj, key, val) && !b->err)
		b->err = -ENOMEM;
}

static json_t *json_u64(struct builder *b, uint64_t v)
{
	if (v > (uint64_t)INT64_MAX) {
		if (!b->err)
			b->err = -EOVERFLOW;
		return json_null();
	}
	return json_integer((json_int_t)v);
}

static json_t *json_nonneg_real(double v)
{
	if (!isfinite(v) || v < 0)
		return json_null();
	return json_real(v);
}

static json_t *wait_to_json(struct builder *b, const struct wait_info *w)
{
	json_t *o = json_object();

	if (!o) {
		b->err = -ENOMEM;
		return NULL;
	}
	put(b, o, "kind", json_string(wait_kind_name(w->kind)));
	if (w->syscall < 0) {
		put(b, o, "syscall", json_null());
		put(b, o, "syscall_nr", json_null());
	} else {
		put(b, o, "syscall", json_str(w->syscall_name));
		put(b, o, "syscall_nr", json_integer(w->syscall));
	}
	put(b, o, "fd", w->fd < 0 ? json_null() : json_integer(w->fd));
	put(b, o, "object", json_str(w->object));
	put(b, o, "address", w->address ? json_hex(w->address) : json_null());
	put(b, o, "owner", w->owner > 0 ? json_integer(w->owner) : json_null());
	put(b, o, "blocked_sec", json_nonneg_real(w->blocked_sec));
	return o;
}

static json_t *frame_to_json(struct builder *b, const struct frame *f)
{
	json_t *o = json_object();

	if (!o) {
		b->err = -ENOMEM;
		return NULL;
	}
	put(b, o, "pc", json_hex(f->pc));
	put(b, o, "module", json_str(f->module));
	put(b, o, "function", json_str(f->function));
	put(b, o, "file", json_str(f->file));
	put(b, o, "line", f->line > 0 ? json_integer(f->line) : json_null());
	put(b, o, "offset", json_hex(f->offset));
	put(b, o, "inlined", json_boolean(f->inlined));
	return o;
}

/* The thread as a jansson object, or NULL with b->err set. */
static json_t *thread_to_json(struct builder *b, const struct thread *t)
{
	json_t *o = json_object(), *frames;
	char state[2] = { t->state, '\0' };

	if (!o) {
		b->err = -ENOMEM;
		return NULL;
	}
	put(b, o, "tid", json_integer(t->tid));
	put(b, o, "name", json_str(t->name));
	/* Only a printable ASCII letter can be read back as one character. */
	put(b, o, "state", t->state > ' ' && t->state < 0x7f ?
			   json_string(state) : json_null());
	put(b, o, "utime", json_u64(b, t->utime));
	put(b, o, "stime", json_u64(b, t->stime));
	put(b, o, "start_time", json_u64(b, t->start_time));
	put(b, o, "partial", json_boolean(t->partial));
	put(b, o, "error", json_str(t->error));
	put(b, o, "stopped", json_boolean(t->stopped));
	put(b, o, "wait", wait_to_json(b, &t->wait));
	frames = json_array();
	put(b, o, "frames", frames);
	for (size_t i = 0; frames && !b->err && i < t->nframes; i++) {
		json_t *f = frame_to_json(b, &t->frames[i]);

		if (f && json_array_append_new(frames, f) && !b->err)
			b->err = -ENOMEM;
	}
	if (b->err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Where the text goes: a jansson-style callback (0 or -1) and the first
 * error it met.  indent is how many spaces to add after each newline of a
 * nested dump, so that it sits at the right depth.
 */
struct emitter {
	json_dump_callback_t sink;
	void *data;
	bool pretty;
	size_t indent;
	bool first;
	int err;
};

static void emit(struct emitter *e, const char *s, size_t len)
{
	if (e->err || !len)
		return;
	errno = 0;
	if (e->sink(s, len, e->data))
		e->err = errno ? -errno : -EIO;
}

static void emit_str(struct emitter *e, const char *s)
{
	emit(e, s, strlen(s));
}

static int reindent_cb(const char *buf, size_t size, void *data)
{
	static const char spaces[] = "                ";
	struct emitter *e = data;
	const char *end = buf + size, *nl;

	while ((nl = memchr(buf, '\n', (size_t)(end - buf)))) {
		emit(e, buf, (size_t)(nl + 1 - buf));
		emit(e, spaces, e->indent < sizeof(spaces) - 1 ?
				e->indent : sizeof(spaces) - 1);
		buf = nl + 1;
	}
	emit(e, buf, (size_t)(end - buf));
	return e->err ? -1 : 0;
}

/*
 * The fewest significant digits that give v back, so that 3.2 is written
 * "3.2" and not jansson's default "%.17g" "3.2000000000000002".
 */
static int real_digits(double v)
{
	char buf[40];

	if (!isfinite(v))
		return 17;
	for (int p = 1; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return p;
	}
	return 17;
}

static size_t dump_flags(const struct emitter *e, int digits)
{
	return JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
	       JSON_REAL_PRECISION(digits) |
	       (e->pretty ? JSON_INDENT(1) : JSON_COMPACT);
}

/*
 * Writes val (stolen) nested at depth, i.e. indented by depth spaces, with
 * reals to the given number of digits.
 */
static void emit_value(struct emitter *e, json_t *val, size_t depth,
		       int digits)
{
	if (!val) {
		if (!e->err)
			e->err = -ENOMEM;
		return;
	}
	if (!e->err) {
		e->indent = depth;
		errno = 0;
		if (json_dump_callback(val, reindent_cb, e,
				       dump_flags(e, digits)) &&
		    !e->err)
			e->err = errno ? -errno : -ENOMEM;
	}
	json_decref(val);
}

/* Writes `"key": ` as a member of the top-level object. */
static void emit_key(struct emitter *e, const char *key)
{
	emit_str(e, e->first ? "{" : ",");
	if (e->pretty)
		emit_str(e, "\n ");
	e->first = false;
	emit_str(e, "\"");
	emit_str(e, key);
	emit_str(e, e->pretty ? "\": " : "\":");
}

static void emit_member(struct emitter *e, const char *key, json_t *val)
{
	emit_key(e, key);
	emit_value(e, val, 1, 17);
}

static int emit_snapshot(struct emitter *e, const struct snapshot *snap)
{
	struct builder b = { 0 };

	e->first = true;
	emit_member(e, "format", json_string(SNAPSHOT_FORMAT));
	emit_member(e, "version", json_integer(SNAPSHOT_VERSION));
	emit_member(e, "pid", json_integer(snap->pid));
	emit_member(e, "comm", json_str(snap->comm));
	emit_member(e, "exe", json_str(snap->exe));
	emit_member(e, "unwinder", json_str(snap->unwinder));
	emit_member(e, "taken_at", json_integer(snap->taken_at));
	emit_key(e, "capture_ms");
	emit_value(e, json_nonneg_real(snap->capture_ms), 1,
		   real_digits(snap->capture_ms));
	emit_member(e, "threads_stopped", json_integer(snap->threads_stopped));
	emit_member(e, "partial", json_boolean(snap->partial));
	emit_member(e, "note", json_str(snap->note));
	emit_key(e, "threads");
	emit_str(e, "[");
	for (size_t i = 0; i < snap->nthreads && !e->err; i++) {
		json_t *t = thread_to_json(&b, &snap->threads[i]);

		if (!t) {
			e->err = b.err;
			break;
		}
		if (i)
			emit_str(e, ",");
		if (e->pretty)
			emit_str(e, "\n  ");
		/* blocked_sec is the one real number in a thread */
		emit_value(e, t, 2,
			   real_digits(snap->threads[i].wait.blocked_sec));
	}
	if (e->pretty && snap->nthreads)
		emit_str(e, "\n ]\n}\n");
	else if (e->pretty)
		emit_str(e, "]\n}\n");
	else
		emit_str(e, "]}\n");
	return e->err;
}

static int file_sink(const char *buf, size_t size, void *data)
{
	return fwrite(buf, 1, size, data) == size ? 0 : -1;
}

int snapshot_write(const struct snapshot *snap, FILE *fp, bool pretty)
{
	struct emitter e = { .sink = file_sink, .data = fp, .pretty = pretty };
	int err;

	if (!snap || !fp)
		return -EINVAL;
	err = emit_snapshot(&e, snap);
	if (err)
		return err;
	errno = 0;
	if (fflush(fp) || ferror(fp))
		return errno ? -errno : -EIO;
	return 0;
}

struct strbuf {
	char *buf;
	size_t len, cap;
};

static int strbuf_sink(const char *buf, size_t size, void *data)
{
	struct strbuf *sb = data;

	if (sb->cap - sb->len <= size) {
		size_t ncap = sb->cap ? sb->cap : 4096;
		char *n;

		while (ncap - sb->len <= size) {
			if (ncap > SIZE_MAX / 2) {
				errno = ENOMEM;
				return -1;
			}
			ncap *= 2;
		}
		n = realloc(sb->buf, ncap);
		if (!n) {
			errno = ENOMEM;
			return -1;
		}
		sb->buf = n;
		sb->cap = ncap;
	}
	memcpy(sb->buf + sb->len, buf, size);
	sb->len += size;
	sb->buf[sb->len] = '\0';
	return 0;
}

/*
 * The document exactly as snapshot_write() writes it, trailing newline
 * included; the caller frees it with free().  NULL with errno set on error.
 */
char *snapshot_to_json(const struct snapshot *snap, bool pretty)
{
	struct strbuf sb = { 0 };
	struct emitter e = { .sink = strbuf_sink, .data = &sb,
			     .pretty = pretty };
	int err;

	if (!snap) {
		errno = EINVAL;
		return NULL;
	}
	err = emit_snapshot(&e, snap);
	if (err) {
		free(sb.buf);
		errno = -err;
		return NULL;
	}
	return sb.buf;
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
