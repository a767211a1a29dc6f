/*
 * snapshot-read: a snapshot file or text read as a stream, so that memory
 * follows what is kept, not the text.  A small scanner walks the
 * top-level object over a buffered reader (64 KiB reads of the file, or
 * the text in memory for snapshot_from_json(): the same code), tracking
 * strings, escapes and brackets to find where each value ends, and hands
 * the value's bytes to json_loadb(): the small top-level members are kept
 * until the end, each element of "threads" (or of version 2's tables) is
 * parsed alone, converted (snapshot-read-entries.c) and freed, and members
 * it does not know are only checked for syntax.  Reading is strict: the
 * text must be JSON as jansson reads it (duplicate keys refused, nesting
 * bounded as jansson bounds it); the scanner says in jansson's words what
 * is wrong between values, jansson what is wrong inside one, at the whole
 * file's line and column.  What is not a JSON object is refused at its
 * first byte, and nothing past 1 GiB of a stream (64 GiB of a regular
 * file) is read.  The verdict is the whole-tree reader's: syntax errors
 * and failed reads first, then the top-level fields in a fixed order,
 * then the first entry that does not convert; keys may come in any order.
 * BENCHMARKS.md ("Reading and writing snapshot files") has what the
 * stream saves.
 */
#include "model/snapshot-impl.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* ---- reading: the text as a stream ------------------------------------ */

/* Bytes asked of read(2) at a time. */
#define READ_CHUNK 65536
/* Nesting that jansson allows in a document: the whole file counts. */
#define MAX_DEPTH JSON_PARSER_MAX_DEPTH
/* How each value is parsed: duplicate keys refused, as in the whole text. */
#define JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

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

/* After an item of an array or object: 1 at ',' (taken, and the blanks
 * after it: another item follows), 0 at close (taken), -1 at anything
 * else (the caller says what was expected, in jansson's words). */
static int next_item(struct src *s, char close)
{
	src_skip_ws(s);
	if (src_more(s) && *s->p == ',') {
		src_take(s);
		src_skip_ws(s);
		return 1;
	}
	if (src_more(s) && *s->p == close) {
		src_take(s);
		return 0;
	}
	return -1;
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

/* The top-level members whose values the checks of the end need. */
static const char *const top_keys[] = {
	"format", "version", "pid", "comm", "exe", "unwinder", "taken_at",
	"capture_ms", "threads_stopped", "stop_ms_total", "stop_ms_max",
	"partial", "note", "runtime",
	"runtime_note", "go_layouts", "modules",
	"nspid", "cgroup", "container", "pod_uid", "unit",
};

static int input_error(struct parser *ps)
{
	if (ps->in.err == -EFBIG)
		return sr_failf(&ps->r, "too large to be a threadleak snapshot "
			     "(over %s)", ps->in.max > SNAPSHOT_MAX_BYTES ? "64 GiB" : "1 GiB");
	return sr_failf(&ps->r, "cannot read: %s", strerror(-ps->in.err));
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
	return sr_failf(&ps->r, "not a threadleak snapshot: invalid JSON at line "
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
	int line = 0, col = 0;	/* collect_value sets them when it returns 0 */
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
			return sr_out_of_memory(ps);
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
				return sr_out_of_memory(ps);
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
			return sr_out_of_memory(ps);
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
						return sr_out_of_memory(ps);
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
				assert(level > 0);	/* opened by the value's first byte */
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
			return sr_out_of_memory(ps);
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
		sr_out_of_memory(ps);
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
		return sr_out_of_memory(ps);
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
		int next = next_item(s, open == '{' ? '}' : ']');
		if (next > 0)
			continue;
		if (next == 0)
			rc = 0;
		else
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
		sr_failf(&ps->r, "threads[%zu]: expected an object", ti);
		ps->thread_failed = true;
		return 0;
	}
	if (ps->snap->nthreads >= SNAPSHOT_MAX_ENTRIES) {
		sr_failf(&ps->r, "threads: more than %zu entries", SNAPSHOT_MAX_ENTRIES);
		ps->thread_failed = true;
		return 0;
	}
	t = snapshot_add_thread(ps->snap);
	if (!t)
		return sr_out_of_memory(ps);
	/* every string sr_read_thread() gives t comes from sr_get_string(), from
	 * the pool: thread_release() must not free one */
	t->pooled = true;
	if (sr_read_thread(&ps->r, v, ti, t))
		ps->thread_failed = true;
	else if (strpool_thread_frames(ps->snap->pool, t) < 0)
		return sr_out_of_memory(ps);
	else if (t->goid)
		ps->snap->ngoroutines++;
	else if (thread_has_python(t))
		ps->snap->npython++;
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
		return sr_out_of_memory(ps);
	if (rc == 1) {
		json_t *j = parse_collected(ps, line, col);
		if (!j)
			return -1;
		v = jv_from_json(&ps->arena, j);
		json_decref(j);
		if (!v)
			return sr_out_of_memory(ps);
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
		int next = next_item(s, ']');
		if (next > 0)
			continue;
		return next == 0 ? 0 : fail_near(ps, "']' expected");
	}
}

static int thread_item(struct parser *ps, const struct jv *v, size_t i)
{
	(void)i;
	return convert_thread(ps, v, ps->nthreads++);
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
		strcmp(key, "stacks") == 0 ? sr_stack_item :
		strcmp(key, "templates") == 0 ? sr_template_item :
		strcmp(key, "goroutines") == 0 ? sr_row_item : NULL;
	if (each) {
		if (!src_more(s) || *s->p != '[') {
			if (!ps->thread_failed && !ps->doomed) {
				sr_fail(&ps->r, key, "expected an array");
				ps->thread_failed = true;
			}
			return skip_value(ps, 1);
		}
		int rc = read_array(ps, each);
		if (each == sr_stack_item) {
			ps->v2.stacks_seen = true;
		} else if (each == sr_template_item) {
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
		return sr_out_of_memory(ps);
	return 0;
}

/* "modules": optional (older files have none); an array of objects. */
static int read_modules(struct reader *r, const struct jv *a, struct snapshot *snap)
{
	if (!a || jv_is_null(a))
		return 0;
	if (!jv_is_array(a))
		return sr_fail(r, "modules", "expected an array");
	size_t n = a->n;
	if (n > SNAPSHOT_MAX_MODULES)
		return sr_failf(r, "modules: more than %d", SNAPSHOT_MAX_MODULES);
	if (n && !(snap->modules = calloc(n, sizeof(*snap->modules))))
		return sr_failf(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct module_info *m = &snap->modules[i];
		const struct jv *o = &a->items[i];
		snprintf(r->where, sizeof(r->where), "modules[%zu].", i);
		snap->nmodules = i + 1;
		if (!jv_is_object(o))
			return sr_failf(r, "modules[%zu]: expected an object", i);
		if (sr_get_string(r, o, "path", &m->path) ||
		    sr_get_string(r, o, "build_id", &m->build_id) ||
		    sr_get_hex(r, o, "start", SR_REQUIRED, &m->start) ||
		    sr_get_hex(r, o, "end", SR_REQUIRED, &m->end) ||
		    sr_get_string(r, o, "note", &m->note))
			return -1;
		if (!m->path)
			return sr_fail(r, "path", "missing");
	}
	r->where[0] = '\0';
	return 0;
}

/* One string of where it runs into its field (size bytes), if there,
 * checked as the capture checks it. */
static int read_where_string(struct reader *r, const struct jv *o, const char *key,
			     bool (*valid)(const char *), char *field, size_t size)
{
	const struct jv *v = jv_get(o, key);

	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_string(v))
		return sr_fail(r, key, "expected a string or null");
	if (strlen(v->s) >= size || !valid(v->s))
		return sr_fail(r, key, "not what /proc/PID/cgroup can say");
	memcpy(field, v->s, strlen(v->s) + 1);
	return 0;
}

/* "nspid", "cgroup", "container": {"runtime", "id"}, "pod_uid", "unit":
 * optional (older files have none). */
static int read_where(struct reader *r, const struct jv *root, struct snapshot *snap)
{
	struct cgroup_info *c = &snap->where;
	const struct jv *o = jv_get(root, "container");
	json_int_t n;

	if (sr_get_int(r, root, "nspid", SR_OPTIONAL, 1, INT_MAX, 0, &n))
		return -1;
	snap->nspid = (int)n;
	if (read_where_string(r, root, "cgroup", cgroup_path_valid, c->path, sizeof(c->path)) ||
	    read_where_string(r, root, "pod_uid", cgroup_pod_uid_valid, c->pod_uid,
			      sizeof(c->pod_uid)) ||
	    read_where_string(r, root, "unit", cgroup_unit_valid, c->unit, sizeof(c->unit)))
		return -1;
	if (!o || jv_is_null(o))
		return 0;
	if (!jv_is_object(o))
		return sr_fail(r, "container", "expected an object or null");
	strcpy(r->where, "container.");
	if (read_where_string(r, o, "runtime", cgroup_runtime_valid, c->runtime,
			      sizeof(c->runtime)) ||
	    read_where_string(r, o, "id", cgroup_id_valid, c->id, sizeof(c->id)))
		return -1;
	if (!c->runtime[0] || !c->id[0])
		return sr_fail(r, c->runtime[0] ? "id" : "runtime", "missing");
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
		return sr_out_of_memory(ps);
	v = jv_get(root, "format");
	if (!jv_is_string(v) || strcmp(v->s, SNAPSHOT_FORMAT) != 0)
		return sr_failf(r, "not a threadleak snapshot");
	if (sr_get_int(r, root, "version", SR_REQUIRED, 1, INT64_MAX, 0, &n))
		return -1;
	if (n > SNAPSHOT_VERSION)
		return sr_failf(r, "snapshot version %lld is newer than this "
			     "threadleak understands (%d); upgrade threadleak",
			     (long long)n, SNAPSHOT_VERSION);
	snap->version = (int)n;
	if (sr_get_int(r, root, "pid", SR_REQUIRED, 1, INT_MAX, 0, &n))
		return -1;
	snap->pid = (int)n;
	if (sr_get_string(r, root, "comm", &snap->comm) ||
	    sr_get_string(r, root, "exe", &snap->exe) ||
	    sr_get_string(r, root, "unwinder", &snap->unwinder))
		return -1;
	if (sr_get_int(r, root, "taken_at", SR_OPTIONAL, INT64_MIN, INT64_MAX, 0,
		    &n))
		return -1;
	snap->taken_at = n;
	if (sr_get_number(r, root, "capture_ms", 0, &snap->capture_ms))
		return -1;
	if (sr_get_int(r, root, "threads_stopped", SR_OPTIONAL, 0, INT_MAX, 0, &n))
		return -1;
	snap->threads_stopped = (int)n;
	if (sr_get_number(r, root, "stop_ms_total", -1, &snap->stop_ms_total) ||
	    sr_get_number(r, root, "stop_ms_max", -1, &snap->stop_ms_max))
		return -1;
	if (sr_get_bool(r, root, "partial", &snap->partial) ||
	    sr_get_string(r, root, "note", &snap->note) ||
	    sr_get_string(r, root, "runtime", &snap->runtime) ||
	    sr_get_string(r, root, "runtime_note", &snap->runtime_note) ||
	    sr_get_string(r, root, "go_layouts", &snap->go_layouts) ||
	    sr_get_string(r, root, "python", &snap->python) ||
	    sr_get_string(r, root, "python_note", &snap->python_note))
		return -1;
	if (read_modules(r, jv_get(root, "modules"), snap) || read_where(r, root, snap))
		return -1;
	if (ps->threads == THREADS_ABSENT)
		return sr_fail(r, "threads", "missing");
	if (ps->threads == THREADS_OTHER)
		return sr_fail(r, "threads", "expected an array");
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
			sr_failf(&ps->r, "not a threadleak snapshot: %s",
			      file && s->taken == 0 ? "the file is empty" :
			      "empty input");
		goto out;
	}
	/* What is not a JSON object is refused at its first byte. */
	c = *s->p;
	if (c == '[') {
		sr_failf(&ps->r, "not a threadleak snapshot: a JSON array, not "
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
		sr_out_of_memory(ps);
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
			int next = next_item(s, '}');
			if (next > 0)
				continue;
			if (next == 0)
				break;
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
	sr_v2_finish(ps);
	if (check_top(ps))
		goto out;
	snap = ps->snap;
	ps->snap = NULL;
out:
	snapshot_free(ps->snap);
	sr_v2_read_free(&ps->v2);
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
		sr_failf(&ps.r, "too large to be a threadleak snapshot "
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
		sr_failf(&ps.r, "cannot read: %s", strerror(EINVAL));
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
		sr_failf(&ps.r, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(ps.in.fd, &st) < 0) {
		sr_failf(&ps.r, "cannot read: %s", strerror(errno));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		sr_failf(&ps.r, "cannot read: a directory, not a snapshot file");
		goto out_close;
	}
	/* Blocking again: a pipe's writer is waited for, not spun on. */
	if (fcntl(ps.in.fd, F_SETFL, fcntl(ps.in.fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		sr_failf(&ps.r, "cannot read: %s", strerror(errno));
		goto out_close;
	}
	ps.in.max = S_ISREG(st.st_mode) ? SNAPSHOT_MAX_FILE_BYTES : SNAPSHOT_MAX_BYTES;
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > SNAPSHOT_MAX_FILE_BYTES) {
		sr_failf(&ps.r, "too large to be a threadleak snapshot "
		      "(over 64 GiB)");
		goto out_close;
	}
	ps.in.buf = malloc(READ_CHUNK);
	if (!ps.in.buf) {
		sr_out_of_memory(&ps);
		goto out_close;
	}
	snap = parse_document(&ps, true);
	/* A FIFO nobody has open for writing reads as empty at once. */
	if (!snap && S_ISFIFO(st.st_mode) && ps.in.taken == 0 && !ps.in.err)
		sr_failf(&ps.r, "cannot read: a FIFO with no writer");
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
