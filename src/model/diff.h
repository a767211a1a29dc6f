/*
 * diff: what changed between two snapshots, group by group.
 *
 * Groups are matched by wait kind and symbolic stack signature (group.h),
 * never by address, so snapshots of two runs of one program match group
 * for group.  Threads are matched by (tid, start time), goroutines by
 * goid: a group whose count stayed the same while its threads were
 * replaced is churn, not "unchanged" (for goroutines, within one process
 * only: their ids start at 1 in each).  Between two snapshots of Go
 * programs, the program's goroutines are what is compared: an OS thread
 * that runs only Go code (an M, idle or running a goroutine shown as
 * such) is left out, as its state is the scheduler's whim, and so are the
 * runtime's own goroutines (GC workers start at the first collection), as
 * a goroutine profile leaves them out (go_runtime).  The diff points into
 * both snapshots, which must outlive it; it owns only its own arrays.
 *
 * In three steps, so that the two need not be whole at once (a million
 * goroutines are 160 MB of entries a side): diff_begin groups the
 * before side and keeps its members' identities (keys, 16 bytes each);
 * diff_drop_before may then free the before side's entries but for what
 * the diff still shows of them (each group's first member, a thread
 * group's members, a goroutine group's first GROUP_KEPT); diff_end reads
 * the after side against it.
 */
#ifndef THREADLEAK_DIFF_H
#define THREADLEAK_DIFF_H

#include <stdbool.h>
#include <stdio.h>

#include "model/group.h"
#include "model/snapshot.h"

struct diff_group {
	const char *signature;		/* owned by one of the groupings */
	enum wait_kind kind;
	size_t before, after;
	long delta;			/* after - before */
	size_t born;			/* threads in after, not in before */
	size_t died;			/* threads in before, not in after */
	const struct group *a, *b;	/* NULL where the group is absent */
	bool ignored;			/* dropped by diff_filter() */
	bool go_runtime;		/* an M or the runtime's own goroutine */
};

struct diff_side {
	size_t nthreads, ngoroutines;	/* the snapshot's entries, goroutines
					   among them (before any drop) */
};

struct diff_key;

struct diff {
	struct grouping ga, gb;
	struct diff_key *akeys;		/* ga's members' identities, group by
					   group, members in order */
	size_t *akey_at;		/* where ga.groups[i]'s keys start */
	struct diff_side before, after;
	struct diff_group *groups;	/* sorted: largest growth first */
	size_t ngroups;
	size_t total_before, total_after;	/* threads, or goroutines (go) */
	bool go;			/* both are Go programs' goroutines */
	bool same_process;		/* both of one process (goroutine churn
					   is known only then) */
};

/* diff_begin, then diff_end: a stays whole.  Returns 0 or -ENOMEM. */
int diff_snapshots(const struct snapshot *a, const struct snapshot *b,
		   struct diff *out);
/* The three steps (above); each returns 0 or -ENOMEM (-EINVAL: d is
 * not a's).  After diff_drop_before, a holds only the entries the diff
 * points to: a snapshot to give diff_end and the renderers, and to free,
 * nothing else.  On error the diff is freed, a stays valid. */
int diff_begin(const struct snapshot *a, struct diff *out);
int diff_drop_before(struct diff *d, struct snapshot *a);
int diff_end(struct diff *d, const struct snapshot *a, const struct snapshot *b);
void diff_free(struct diff *d);

struct diff_filter {
	long min_delta;			/* growth that counts (default 1) */
	const char *const *ignore;	/* functions anywhere in the stack */
	size_t nignore;
	const char *const *ignore_top;	/* functions at the top */
	size_t nignore_top;
};

/* Marks the groups the filter drops (ignored). */
void diff_filter(struct diff *d, const struct diff_filter *f);
/* Whether a group is worth showing: not ignored, and it changed by at
 * least min_delta (or that many of its threads were replaced). */
bool diff_shown(const struct diff_group *g, long min_delta);
/* How many groups grew by at least min_delta (the exit status of diff). */
size_t diff_grown(const struct diff *d, long min_delta);
/* The diff as a JSON document ("threadleak-diff"), shown groups only. */
int diff_write_json(const struct diff *d, const struct snapshot *a,
		    const struct snapshot *b, long min_delta, FILE *fp);

/* "appeared", "vanished", "grew", "shrank", "churn" or "same". */
const char *diff_status(const struct diff_group *g);

/* The group's stack: from after when present, else from before. */
const struct thread *diff_example(const struct diff_group *g);

/*
 * Whether g's stack has a frame whose function is fn (anywhere), or
 * whose top is fn: the innermost frame outside the C library (libc's
 * wrappers are on top of nearly every blocked stack).
 */
bool diff_has_function(const struct diff_group *g, const char *fn);
bool diff_top_is(const struct diff_group *g, const char *fn);

#endif
