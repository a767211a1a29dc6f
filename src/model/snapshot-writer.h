/*
 * snapshot-writer.h: the buffered JSON writer the snapshot's writers
 * share (snapshot-write.c, -v1.c, -v2.c); private to them.
 *
 * A writer is a growing buffer the text is formatted into by hand, not
 * through jansson objects (BENCHMARKS.md, "Reading and writing snapshot
 * files"), with the layout jansson gives JSON_INDENT(1) and JSON_COMPACT:
 * the same bytes as jansson's dump of the same tree.  Strings that are not
 * valid UTF-8 have each bad byte replaced by U+FFFD; reals get the fewest
 * digits that read back to the same double; 64-bit addresses are "0x..."
 * strings.  The first error sticks (w->err) and every later write is a
 * no-op.  The functions are static inline: they are the inner loop of
 * writing a million goroutines, and each file that writes gets them
 * inlined as they were when the writer was one file.
 */
#ifndef THREADLEAK_SNAPSHOT_WRITER_H
#define THREADLEAK_SNAPSHOT_WRITER_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/snapshot.h"

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

static inline bool w_grow(struct writer *w, size_t n);

/* Room for n more bytes (and the NUL); false after any error. */
static inline bool w_reserve(struct writer *w, size_t n)
{
	if (w->cap - w->len > n && !w->err)
		return true;
	return w_grow(w, n);
}

static inline bool w_grow(struct writer *w, size_t n)
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

static inline void w_raw(struct writer *w, const void *s, size_t n)
{
	if (!w_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static inline void w_lit(struct writer *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

static inline void w_flush(struct writer *w)
{
	if (!w->fp || w->err || !w->len)
		return;
	errno = 0;
	if (fwrite(w->buf, 1, w->len, w->fp) != w->len)
		w->err = errno ? -errno : -EIO;
	w->len = 0;
	memset(w->seen, 0, sizeof(w->seen));	/* their text is gone */
}

static inline void w_newline(struct writer *w)
{
	if (!w->pretty || !w_reserve(w, 1 + w->depth))
		return;
	w->buf[w->len++] = '\n';
	memset(w->buf + w->len, ' ', w->depth);
	w->len += w->depth;
}

static inline void w_open(struct writer *w, char c)
{
	w_raw(w, &c, 1);
	w->depth++;
	w->empty = true;
}

static inline void w_close(struct writer *w, char c)
{
	w->depth--;
	if (!w->empty)
		w_newline(w);
	w_raw(w, &c, 1);
	w->empty = false;
}

/* Starts the next member of the innermost container. */
static inline void w_next(struct writer *w)
{
	if (!w->empty)
		w_raw(w, ",", 1);
	w_newline(w);
	w->empty = false;
}

/* keys are our own literals: nothing to escape */
static inline void w_key(struct writer *w, const char *key)
{
	w_next(w);
	w_raw(w, "\"", 1);
	w_lit(w, key);
	w_lit(w, w->pretty ? "\": " : "\":");
}

static inline void w_null(struct writer *w)
{
	w_raw(w, "null", 4);
}

static inline void w_bool(struct writer *w, bool v)
{
	w_lit(w, v ? "true" : "false");
}

static inline void w_int(struct writer *w, int64_t v)
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
static inline void w_u64(struct writer *w, uint64_t v)
{
	if (v > INT64_MAX) {
		if (!w->err)
			w->err = -EOVERFLOW;
		return;
	}
	w_int(w, (int64_t)v);
}

static inline void w_hex(struct writer *w, uint64_t v)
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
static inline int real_digits(double v)
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
static inline int fast_real(double v, char *buf, size_t size)
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

static inline void w_real(struct writer *w, double v)
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
 * A JSON string (null for NULL), escaped as jansson does: \" \\ \b \f \n
 * \r \t, other controls as \u00XX, UTF-8 as is.  Each byte that does not
 * start valid UTF-8 becomes U+FFFD.
 */
static inline void w_string(struct writer *w, const char *s)
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

#endif
