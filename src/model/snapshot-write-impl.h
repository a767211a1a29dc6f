/*
 * snapshot-write-impl.h: what the snapshot writer's files share, not an
 * API (that is snapshot.h).  snapshot-write.c writes the document and
 * hands the threads (or version 2's rows) to every CPU in runs;
 * snapshot-write-v1.c writes an entry whole, as version 1 does (and
 * version 2 its threads and templates); snapshot-write-v2.c makes and
 * writes version 2's tables and rows.
 */
#ifndef THREADLEAK_SNAPSHOT_WRITE_IMPL_H
#define THREADLEAK_SNAPSHOT_WRITE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/snapshot-writer.h"

/* What a version 2 template (a goroutine's fields but its goid, go_minutes
 * and wait.blocked_sec) says of its stacks: indexes into "stacks". */
struct template_refs {
	uint32_t frames, created;
};

/* Version 2's tables (snapshot-write-v2.c): each distinct stack once, a
 * template for the fields goroutines share, a row per goroutine. */
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

/* One array's items formatted in runs on every CPU (snapshot-write.c);
 * item() writes one. */
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

/* Equal strings (or both NULL), equal frames: inline, as the tables of
 * version 2 compare every goroutine's stacks and fields with them. */
static inline bool sw_same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static inline bool sw_same_frames(const struct frame *a, const struct frame *b, size_t n)
{
	if (a == b)
		return true;
	for (size_t i = 0; i < n; i++)
		if (a[i].pc != b[i].pc || a[i].offset != b[i].offset ||
		    a[i].line != b[i].line || a[i].inlined != b[i].inlined ||
		    a[i].python != b[i].python ||
		    !sw_same_string(a[i].function, b[i].function) ||
		    !sw_same_string(a[i].file, b[i].file) ||
		    !sw_same_string(a[i].module, b[i].module))
			return false;
	return true;
}

/* ---- the runs (snapshot-write.c) ---- */

/* The n items of an array (its '[' written), formatted on every CPU. */
void sw_write_items(struct writer *w, const struct snapshot *snap, size_t n,
		    void (*item)(struct writer *, const struct thread_runs *, size_t),
		    const struct v2_tables *v2);

/* ---- an entry whole (snapshot-write-v1.c) ---- */

/* The array of n frames, or a copy of the text of an equal one written
 * lately at the same depth. */
void sw_write_frames(struct writer *w, const struct frame *frames, size_t n);
/* A thread (or goroutine) as version 1 writes it; with tr, a version 2
 * template. */
void sw_write_entry(struct writer *w, const struct thread *t,
		    const struct template_refs *tr);
/* item i of snap->threads, for sw_write_items */
void sw_thread_item(struct writer *r, const struct thread_runs *tr, size_t i);

/* ---- version 2's tables (snapshot-write-v2.c) ---- */

/* The tables of snap; 0 or -ENOMEM.  sw_v2_free() frees them either way. */
int sw_v2_make(struct v2_tables *v, const struct snapshot *snap);
void sw_v2_free(struct v2_tables *v);
/* "stacks" and "templates" */
void sw_write_v2_tables(struct writer *w, const struct snapshot *snap,
			const struct v2_tables *v);
/* item i of the threads, of the goroutines' rows, for sw_write_items */
void sw_os_item(struct writer *r, const struct thread_runs *tr, size_t i);
void sw_row_item(struct writer *r, const struct thread_runs *tr, size_t i);

#endif
