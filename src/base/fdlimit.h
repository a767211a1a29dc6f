/*
 * fdlimit: the descriptor limit, raised at start, and what running out of
 * descriptors is called.
 *
 * threadleak may keep a descriptor per thread watched (capture-threads.c
 * keeps each thread's stat file open, within a budget), and what it opens
 * fails with EMFILE when the soft RLIMIT_NOFILE is reached: 1024 on most
 * systems, though the hard limit allows far more.  fdlimit_raise(), once
 * at start, raises the soft limit to the hard one; fdlimit_restore(), in
 * a child about to run a user's command (check), puts the limit it was
 * started with back, so the command runs as it would without us.
 *
 * An open that failed with EMFILE or ENFILE is noted (fdlimit_note());
 * the capture asks fdlimit_short() before it calls a failure "the process
 * exited" (a /proc file that cannot be opened looks like one that is
 * gone), and says fdlimit_message() instead.
 */
#ifndef THREADLEAK_FDLIMIT_H
#define THREADLEAK_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>

/* Raises the soft RLIMIT_NOFILE to the hard one; remembers the original. */
void fdlimit_raise(void);
/* Puts back the limit fdlimit_raise() found (async-signal-safe: for a
 * child between fork and exec). */
void fdlimit_restore(void);
/* The soft limit now; 0 when unlimited or unknown. */
long fdlimit_current(void);
/* Notes err when it is EMFILE or ENFILE. */
void fdlimit_note(int err);
/* EMFILE or ENFILE when an open failed for lack of descriptors since the
 * last fdlimit_clear(), or fails now; else 0. */
int fdlimit_short(void);
void fdlimit_clear(void);
/* "out of file descriptors (ulimit -n 1024)" (ENFILE: "the system is out
 * of file descriptors") into buf. */
void fdlimit_message(int err, char *buf, size_t len);

#endif
