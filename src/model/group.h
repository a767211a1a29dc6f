/*
 * group: the symbolic stack signature and grouping of identical stacks.
 *
 * A signature is built from module basenames and function names only
 * (inline frames included), never from addresses, so it is stable across
 * ASLR and restarts: "waits.c.bin!worker;libc.so.6!start_thread".  A frame
 * without a function contributes "module+0xOFFSET" (module-relative, still
 * stable across load addresses) or "?" when not even the module is known.
 *
 * A goroutine's signature starts with its wait reason and, when it has
 * a pprof label set, the set as pprof prints it (labels.h): goroutines on
 * one stack with different labels are different groups, as pprof's
 * debug=1 shows them: "go:chan receive|labels:{"k":"v"}|leaky!main.f;...".
 *
 * Threads group together when their wait kind and signature are equal.
 * Groups are sorted largest first, then by wait kind, then by signature, so
 * output is deterministic.  The grouping owns its arrays; the threads it
 * points into belong to the snapshot, which must outlive it.
 */
#ifndef THREADLEAK_GROUP_H
#define THREADLEAK_GROUP_H

#include "model/snapshot.h"

struct group {
	char *signature;		/* owned */
	enum wait_kind kind;
	const struct thread **threads;	/* owned array, members in tid order
					   (in a diff's before side, only the
					   first GROUP_KEPT of a goroutine
					   group's: diff.h) */
	size_t count;			/* members */
	double max_blocked_sec;		/* <0 when unknown for all members */
	double min_blocked_sec;		/* <0 when unknown for all members */
	bool max_blocked_partial;	/* some member's was not read yet: the
					   max is a lower bound */
	bool created_same;		/* all started where threads[0] was
					   (the same function ran "go") */
	bool one_parent;		/* all by threads[0]'s go_parent */
	bool same_wait;			/* every member's wait says what
					   threads[0]'s does, field by field
					   (wait_fields_equal) */
	double min_go_minutes;		/* goroutines: the shortest and
					   longest wait the runtime knows
					   (go_minutes), <0 when none knows */
	double max_go_minutes;
};

/* What a group's renderers read of its members beyond the first (ids,
 * parents) is in its first 16 (render.c); the rest, only counted. */
#define GROUP_KEPT 16

struct grouping {
	struct group *groups;
	size_t ngroups;
};

/* Returns a malloc'd signature of t's stack (caller frees), NULL on ENOMEM. */
char *stack_signature(const struct thread *t);
/*
 * Where a stack says what the thread is doing.  thread_top_frame: the
 * innermost frame outside the C library (libc's wrappers are on top of
 * nearly every blocked stack), NULL when there is none.  thread_own_frame:
 * a Python thread's innermost frame of the program's own Python code
 * (python_own_frame), else its innermost Python frame; another's
 * innermost frame of the program's own executable (snap->exe), else
 * the top frame, else the innermost frame; NULL for an empty stack.
 * python_own_frame: a Python frame outside the standard library (its
 * file not under a lib/python3.X/ folder, nor "<frozen ...>").
 */
bool python_own_frame(const struct frame *f);
const struct frame *thread_top_frame(const struct thread *t);
const struct frame *thread_own_frame(const struct snapshot *snap,
				     const struct thread *t);
/*
 * Whether a frame's function name is fn: the same, or fn without what a
 * compiler or demangler adds around it: a C++ return type before, a
 * parameter list, template arguments or a clone suffix (".isra.0",
 * " [clone .isra.0]") after.  "app::Worker::run" is
 * "app::Worker::run(int) [clone .isra.0]"; "run" is not (qualify it).
 */
bool function_is(const char *name, const char *fn);
/*
 * In a Go program (snap has goroutines), whether t is the runtime's own
 * rather than the program's: a goroutine the runtime runs for itself (GC
 * workers, as a goroutine profile leaves them out), or an OS thread
 * running only Go code, or with no stack captured (an M: its goroutine is
 * an entry of its own).
 * Diffs and exports leave these out.
 */
bool thread_go_runtime(const struct snapshot *snap, const struct thread *t);
/* Whether some frame of t's stack is the function fn (function_is). */
bool thread_has_function(const struct thread *t, const char *fn);
/* Whether t's top frame (thread_top_frame) is the function fn. */
bool thread_top_is(const struct thread *t, const char *fn);

/* Whether two waits name the same object in the same words (what the
 * text says of a wait: render.c), known from their fields alone: the same
 * fd, address, owner, object string and whether a poll. */
bool wait_fields_equal(const struct wait_info *a, const struct wait_info *b);

/* Groups snap's threads into out; returns 0 or -ENOMEM. */
int group_snapshot(const struct snapshot *snap, struct grouping *out);
void grouping_free(struct grouping *g);
/* Each group's waits (blocked and go_minutes ranges) again from its
 * members', after they changed in place (a capture that aged the
 * snapshot it grouped). */
void grouping_update_waits(struct grouping *g);

#endif
