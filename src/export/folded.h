/*
 * folded: a snapshot as folded stacks ("root;...;leaf COUNT"), one line
 * per group, for flamegraph.pl, speedscope and inferno (folded.c).
 */
#ifndef THREADLEAK_FOLDED_H
#define THREADLEAK_FOLDED_H

#include <stdio.h>

#include "model/snapshot.h"

/* Writes the lines to fp; 0, -ENOMEM or -EIO (fp's error). */
int export_folded(const struct snapshot *snap, FILE *fp);

#endif
