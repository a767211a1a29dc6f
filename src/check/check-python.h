/*
 * check-python: the Python frames of a thread creating a thread, for the
 * "created by" of a CPython program's leaks.
 *
 * Read while the creator waits in clone3 (supervise.h), on the
 * supervisor's thread: once it goes on it returns from Thread.start, and
 * a daemon thread's own state is gone by the time it leaks (the
 * interpreter deletes it as it finalizes), so this is what still names
 * the Python code that started it.  The creator holds the GIL there
 * (CPython starts threads without releasing it): its frames hold still.
 *
 * Per process, at its first creation: a symbolizer and a memory reader
 * of the supervisor's own (check.c's belong to its worker), the
 * interpreter looked for once (python/runtime.h), the symbolizer closed
 * at once.  A process with no interpreter keeps a record saying so and
 * nothing else: the cost of a program that is not Python is that one
 * failed lookup.  The memory readers (with their page caches) and
 * layouts are kept for the CHECK_PY_OPEN processes used last; one used
 * again after others finds its interpreter again.
 *
 * The frames kept, the CHECK_PY_FRAMES innermost, are packed in one
 * allocation (functions, files and the interpreter's module as strings),
 * owned by the caller, and merged into the symbolized creating stack in
 * place of the eval loop's frames (python/merge.h) only for threads that
 * leak.
 */
#ifndef THREADLEAK_CHECK_PYTHON_H
#define THREADLEAK_CHECK_PYTHON_H

#include <stddef.h>

#include "model/snapshot.h"

#define CHECK_PY_FRAMES 32	/* creating frames kept */
#define CHECK_PY_OPEN 4		/* processes with a reader open, at most */

struct check_py_proc;

/* The supervisor's per-process state; zeroed to start. */
struct check_py {
	struct check_py_proc *procs;
	size_t n, cap;
	size_t nopen;
	unsigned long tick;
};

/* Packed Python frames of one creator (opaque; free() it). */
struct check_py_frames;

/*
 * The Python frames of thread tid of pid, waiting in clone3: NULL when
 * it has none (not Python, no thread state, unreadable) or out of memory.
 */
struct check_py_frames *check_py_creator(struct check_py *cp, int pid, int tid);
/* Process pid exits or runs another program: forget it. */
void check_py_forget(struct check_py *cp, int pid);
void check_py_free(struct check_py *cp);
/* Puts pf's frames in the creating stack t (symbolized): 0 or -ENOMEM. */
int check_py_merge(struct thread *t, const struct check_py_frames *pf);

#endif
