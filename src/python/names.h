/*
 * python/names: each Python thread's `threading` name ("MainThread",
 * "Thread-3 (worker)", what the program passed as name=), read from the
 * target's memory while it runs.
 *
 * The interpreter's sys.modules (interp->modules, 3.12+
 * interp->imports.modules) gives the threading module; its dict gives
 * `_active`, the dict from each thread's get_ident() (the thread state's
 * thread_id, a pthread_t) to its Thread object, whose `_name` attribute
 * is the name.  The main thread is there as threading's _MainThread; a
 * thread threading never saw (started by _thread, or by C, before any
 * threading.current_thread() in it) is not, and keeps an empty name, as
 * does every thread when threading was never imported or anything on
 * the way cannot be read: a name is never an error.
 */
#ifndef THREADLEAK_PYTHON_NAMES_H
#define THREADLEAK_PYTHON_NAMES_H

#include "python/threads.h"

/* Fills t[i].name for each of the n threads at t, all of the
 * interpreter at interp, from their ident.  0, or -ENOMEM. */
int py_names_read(const struct py_runtime *rt, struct memory *mem, uint64_t interp,
		  struct py_thread *t, int n);

#endif
