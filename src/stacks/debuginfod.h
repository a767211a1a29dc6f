/*
 * debuginfod: debug files from the servers the user named, as gdb and the
 * elfutils tools fetch them, in a bounded time and before any thread is
 * stopped.
 *
 * libdwfl asks debuginfod itself, from inside its search for a module's
 * debug file, whenever DEBUGINFOD_URLS is set (never otherwise), and the
 * client caches what it downloads (DEBUGINFOD_CACHE_PATH, default
 * ~/.cache/debuginfod_client; misses too, for a while).  Left alone it
 * would do that in the middle of a capture, with a thread stopped, for as
 * long as a slow server takes: DEBUGINFOD_TIMEOUT (90 s by default) per
 * file.  So, when DEBUGINFOD_URLS is set, the symbolizer fetches every
 * module's debug file right after reading the memory map, before any
 * stop, within one budget for them all (THREADLEAK_DEBUGINFOD_TIMEOUT
 * seconds, default 30; a stalled transfer gives up after
 * DEBUGINFOD_TIMEOUT, default here 5); then closes the door: a module
 * found later (dlopen) gets no download in that run.  Running out of time
 * is said once on stderr and never fails anything.  Without
 * DEBUGINFOD_URLS, libdebuginfod is not even loaded (debuginfod.c).
 */
#ifndef THREADLEAK_DEBUGINFOD_H
#define THREADLEAK_DEBUGINFOD_H

#include <elfutils/libdwfl.h>

struct debuginfod_budget;

/* Fetches the debug files of dwfl's modules when DEBUGINFOD_URLS is set;
 * returns what debuginfod_close() takes (NULL when there was nothing to
 * do).  No download starts after this returns. */
struct debuginfod_budget *debuginfod_fetch(Dwfl *dwfl);
void debuginfod_close(struct debuginfod_budget *b);

#endif
