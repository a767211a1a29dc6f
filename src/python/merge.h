/*
 * python/merge: a thread's Python frames (python/threads.h) put in place
 * of the interpreter's eval-loop frames in its native stack (merge.c says
 * how the two are matched and what is kept).
 */
#ifndef THREADLEAK_PYTHON_MERGE_H
#define THREADLEAK_PYTHON_MERGE_H

#include "model/snapshot.h"
#include "python/threads.h"

/*
 * Replaces t's frames by its native frames with pt's Python frames in
 * them; interp is the interpreter's module (the path frames carry), whose
 * frames between two Python frames are left out.  t's frames may be the
 * pool's (frames_pooled): the new array is t's own.  0 or -ENOMEM (t
 * unchanged).
 */
int py_merge_frames(struct thread *t, const struct py_thread *pt, const char *interp);

#endif
