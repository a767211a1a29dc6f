/*
 * snapshot-impl.h: what the snapshot's own files share, not an API (that
 * is snapshot.h).  The model (snapshot.c) lends the readers its string
 * pool and its array growth; the document reader (snapshot-read.c) and
 * the converters of its values (snapshot-read-entries.c) share one
 * parser's state: the text being scanned, the message so far, version
 * 2's tables as they arrive.  Calls run one way: snapshot-read.c calls
 * snapshot-read-entries.c, and both call the accessors of
 * snapshot-read-values.c, which calls neither.  What they share is named
 * sr_ (the pool's functions strpool_).
 */
#ifndef THREADLEAK_SNAPSHOT_IMPL_H
#define THREADLEAK_SNAPSHOT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/jval.h"
#include "model/snapshot.h"

/* Largest snapshot text we agree to parse: a regular file's (its size
 * is known, its memory is what is kept: SNAPSHOT_MAX_ENTRIES bounds
 * that), and a stream's or text's (a pipe may never end). */
#define SNAPSHOT_MAX_FILE_BYTES ((size_t)1 << 36)
#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)
/* Bound on the entries of a snapshot read: what is kept, whatever the
 * text says (a million goroutines is 1/16 of it). */
#define SNAPSHOT_MAX_ENTRIES ((size_t)1 << 24)

/* ---- the string pool (snapshot.c) ---- */

struct strpool;

struct strpool *strpool_new(void);
/* s (len bytes) interned: the pool's copy, NULL when out of memory */
char *strpool_add(struct strpool *pool, const char *s, size_t len);
int strpool_thread_frames(struct strpool *pool, struct thread *t);
struct label *strpool_label_array(struct strpool *pool, const struct label *l, size_t n);
/* room for element n of an array whose capacity its length implies */
int snapshot_grow_implied(void **array, size_t n, size_t elem);

/* ---- the reader's state, its values' accessors (snapshot-read-values.c) ---- */

struct reader {
	char *err;
	size_t errlen;
	char where[64];		/* prefix of field names: "threads[3]." */
	struct strpool *pool;	/* strings go there when set, else strdup */
	const char *array;	/* "threads", or "templates" (version 2) */
	bool tpl;		/* reading a template: stacks by index */
	int64_t frames_ref, created_ref;	/* a template's, -1: none */
};

enum presence {
	SR_OPTIONAL,	/* absent: the default; null refused */
	SR_NULLABLE,	/* absent or null: the default */
	SR_REQUIRED,	/* must be there, null refused */
};

/* The message "WHERE KEY: WHAT" (sr_fail) or any (sr_failf) in r->err,
 * made one line; both return -1. */
__attribute__((format(printf, 2, 3)))
int sr_failf(struct reader *r, const char *fmt, ...);
int sr_fail(struct reader *r, const char *key, const char *what);
/* Each: 0 and *out (the default when absent), or -1 and a message. */
int sr_get_string(struct reader *r, const struct jv *obj, const char *key,
		  char **out);
int sr_get_int(struct reader *r, const struct jv *obj, const char *key,
	       enum presence pres, json_int_t min, json_int_t max,
	       json_int_t def, json_int_t *out);
/* a non-negative integer as a u64 counter (absent: 0) */
int sr_get_u64(struct reader *r, const struct jv *obj, const char *key,
	       uint64_t *out);
int sr_get_bool(struct reader *r, const struct jv *obj, const char *key, bool *out);
int sr_get_number(struct reader *r, const struct jv *obj, const char *key,
		  double def, double *out);
int sr_get_hex(struct reader *r, const struct jv *obj, const char *key,
	       enum presence pres, uint64_t *out);
/* "0x" then hex digits, the whole string, within 64 bits: 0, or -1 */
int sr_parse_hex(const char *s, uint64_t *out);

/* ---- a value into the model (snapshot-read-entries.c) ---- */

int sr_read_thread(struct reader *r, const struct jv *o, size_t ti,
		   struct thread *t);

/* ---- the document being read (snapshot-read.c) ---- */

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

struct buf {
	char *p;
	size_t len, cap;
};

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

/* "out of memory", as the reader says it (snapshot-read-values.c) */
int sr_out_of_memory(struct parser *ps);

/* ---- version 2's tables (snapshot-read-entries.c) ---- */

int sr_stack_item(struct parser *ps, const struct jv *v, size_t i);
int sr_template_item(struct parser *ps, const struct jv *v, size_t i);
int sr_row_item(struct parser *ps, const struct jv *v, size_t i);
void sr_v2_finish(struct parser *ps);
void sr_v2_read_free(struct v2_read *v2);

#endif
