/*
 * python/threads: every Python thread of an interpreter and its Python
 * frames, read from the target's memory while it runs (nothing stopped).
 *
 * interpreters -> thread states (their native thread ids) -> frames, each
 * frame's code object giving the function (co_qualname where the release
 * has it, else co_name), the file and the line (co_lnotab in 3.8-3.9, the
 * 3.10 line table, the 3.11+ location table).  Everything is bounded: the
 * threads and frames kept, the strings' lengths.  A thread whose frames
 * changed while they were read is read again (PY_RETRIES times); if they
 * never held still, the last reading is kept and `moving` says so.
 * Each thread's `threading` name is read by names.c.  Strings are the
 * target's bytes (UTF-8, Latin-1 converted): the caller escapes them
 * before printing them.
 */
#ifndef THREADLEAK_PYTHON_THREADS_H
#define THREADLEAK_PYTHON_THREADS_H

#include <stdbool.h>

#include "python/runtime.h"

#define PY_MAX_THREADS 4096
#define PY_MAX_FRAMES 512
/* Frames kept of all threads together (each frame about 520 bytes): 4,096
 * threads 512 deep would be a gigabyte; this is 34 MB. */
#define PY_MAX_TOTAL_FRAMES 65536
#define PY_MAX_STR 256
#define PY_RETRIES 3

struct py_frame {
	char func[PY_MAX_STR];
	char file[PY_MAX_STR];
	int line;		/* -1 when unknown */
	/* The outermost Python frame of one call of the eval loop from C
	 * (_PyEval_EvalFrameDefault): each run of frames up to an entry
	 * stands for one such C frame.  Every frame before 3.11, where
	 * Python calls Python through C. */
	bool entry;
};

struct py_thread {
	long tid;		/* native_thread_id */
	unsigned long ident;	/* thread_id, the pthread_t: threading.get_ident() */
	uint64_t ts;		/* its thread state's address */
	char name[PY_MAX_STR];	/* its threading name, "" when not known (names.h) */
	int nframes;		/* frames[0] the innermost */
	bool truncated;		/* more than PY_MAX_FRAMES */
	bool moving;		/* never held still while read */
	struct py_frame *frames;
};

struct py_threads {
	int n;
	bool truncated;		/* more than PY_MAX_THREADS */
	struct py_thread *t;
};

/* Reads every thread of every interpreter of rt into out (freed with
 * py_threads_free, also after an error).  0 or -errno (-EFAULT: the
 * runtime's state unreadable, e.g. the process exited). */
int py_threads_read(const struct py_runtime *rt, struct memory *mem,
		    struct py_threads *out);
void py_threads_free(struct py_threads *t);
/* The address of thread tid's state, 0 when the interpreter has none.
 * Of two with its id (3.8-3.11: a thread being started has its state
 * made by its creator, with the creator's ids until it runs), the one
 * with frames. */
uint64_t py_thread_state_of(const struct py_runtime *rt, struct memory *mem, long tid);
/* Reads the one thread state at ts (py_thread_state_of's) into
 * out (its name left empty), as while its thread tid is held in a stop;
 * free out->frames.  0, -ENOENT when ts is no longer tid's, -ENOMEM. */
int py_thread_read_at(const struct py_runtime *rt, struct memory *mem, long tid, uint64_t ts,
		      struct py_thread *out);

#endif
