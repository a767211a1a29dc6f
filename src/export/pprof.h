/*
 * pprof: a snapshot as a gzipped pprof profile (profile.proto), for
 * `go tool pprof` (-top, -traces, -diff_base, the web view).  See pprof.c
 * for what each group becomes.
 */
#ifndef THREADLEAK_PPROF_H
#define THREADLEAK_PPROF_H

#include <stdio.h>

#include "model/snapshot.h"

/* Writes the profile to fp; 0, -ENOMEM or -EIO (fp's error). */
int export_pprof(const struct snapshot *snap, FILE *fp);

#endif
