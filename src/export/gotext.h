/*
 * gotext: a snapshot as the text of Go's goroutine profile, the shapes a
 * Go program serves at /debug/pprof/goroutine?debug=1 and ?debug=2, so
 * that what reads those (people, panicparse, scripts) reads threadleak's.
 *
 * debug=1: "goroutine profile: total N", then each distinct stack once,
 * most frequent first: "COUNT @ PC PC ...", its pprof labels
 * ("# labels: {...}") and a "#\tPC\tFUNCTION\tFILE:LINE" line a frame.
 * debug=2: every goroutine as Go's traceback prints it: "goroutine ID
 * [WAIT, N minutes]:", "FUNCTION(...)" and "\tFILE:LINE" a frame, "created
 * by FUNCTION in goroutine PARENT" and where.  A process that is not Go
 * has its threads in the same shapes, "thread profile: total N" and
 * "thread TID "NAME" [WAIT]:".  The runtime's own goroutines and threads
 * are left out, as the pprof export leaves them out.
 *
 * Go prints each frame's "+0x.." offset from its function's entry, which a
 * snapshot does not keep: it is left out (Go's own text leaves it out of
 * inlined frames).  Names come from the target: escaped (base/escape.h).
 */
#ifndef THREADLEAK_GOTEXT_H
#define THREADLEAK_GOTEXT_H

#include <stdio.h>

#include "model/snapshot.h"

/* Writes snap to fp in the shape of debug level 1 or 2; 0, -EINVAL (another
 * level), -ENOMEM or -EIO (fp's error). */
int export_gotext(const struct snapshot *snap, int debug, FILE *fp);

#endif
