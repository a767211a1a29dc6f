/*
 * guardian: keeps a checked command running on if threadleak dies.
 *
 * The command's filter (supervise.h) makes its exit_group, execve and
 * thread-creating calls wait for our answer.  If threadleak is killed
 * (SIGKILL, the OOM killer, a crash), those calls fail with ENOSYS, and a
 * process that exits with threads left hangs for ever, its leader a
 * zombie: a killed check must not leave a hung test behind.
 *
 * The guardian is a small child process holding a copy of the listener.
 * It sleeps on a socket whose other end only threadleak holds.  At a
 * normal end threadleak sends one byte and the guardian exits.  If the
 * socket ends without it, threadleak died (or it sent 'h': a signal
 * ends it, see guardian_hand_over): the guardian lets go on
 * (CONTINUE) every call threadleak had received and not answered (their
 * ids are kept in a page shared with it), then every later call at once,
 * until no task uses the filter, and says so in one line on standard
 * error.
 * Not covered: a call received in the instant before its id was kept.
 */
#ifndef THREADLEAK_GUARDIAN_H
#define THREADLEAK_GUARDIAN_H

#include <stdbool.h>
#include <stdint.h>

#define GUARDIAN_IDS 512	/* calls held at once that it covers */

struct guardian {
	int pid;		/* 0: none */
	int sock;		/* our end of the socket pair */
	uint64_t *ids;		/* the shared page: calls not yet answered */
};

/* Starts the guardian for listener.  0, or -errno (then there is none,
 * and the other calls do nothing). */
int guardian_start(struct guardian *g, int listener);
/* A call received and not answered yet, and its answer. */
void guardian_hold(struct guardian *g, uint64_t id);
void guardian_answered(struct guardian *g, uint64_t id);
/* We are ending before the command (a signal): the guardian takes over
 * without a word (we say why).  Async-signal-safe. */
void guardian_hand_over(const struct guardian *g);
/* Normal end: the guardian exits and is reaped. */
void guardian_stop(struct guardian *g);
/* Whether the guardian is the only child we have left (a child
 * subreaper's children can be orphans it never started).  False when
 * /proc cannot tell. */
bool guardian_alone(const struct guardian *g);
/* Called with each child reaped: true if it was the guardian (which
 * ended early, killed): it is forgotten. */
bool guardian_reaped(struct guardian *g, int pid);

#endif
