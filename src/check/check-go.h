/*
 * check-go: what `threadleak check` does for Go programs beyond reading
 * their goroutines (check.h): the ancestry it asks the runtime to keep,
 * the goroutines that are not leaks (woken just before the exit, the
 * thread of a reported goroutine's system call), and the blame of each
 * leaked goroutine on the test that started it (go/testblame.h).
 */
#ifndef THREADLEAK_CHECK_GO_H
#define THREADLEAK_CHECK_GO_H

#include <jansson.h>
#include <stdbool.h>

#include "check/check.h"
#include "model/snapshot.h"

/* Ancestors kept per goroutine when check sets tracebackancestors. */
#define CHECK_GO_ANCESTORS 32

/*
 * Adds tracebackancestors=CHECK_GO_ANCESTORS to this process's GODEBUG
 * (which the command inherits), unless it sets tracebackancestors
 * already: the user's own value is kept.  0 or -errno.
 */
int check_go_env(void);
/*
 * Whether goroutine t was woken just before the exit and could not run
 * since: runnable, still at its park in runtime.gopark (a goroutine
 * preempted while running is runnable elsewhere, and is judged).
 */
bool check_go_woken(const struct thread *t);
/* Blames each goroutine of r's snapshot on its test (r->blame), reads the
 * binary's package (r->package): process pid is held in its exit.  0 or
 * -errno (r is left without blame). */
int check_go_blame(struct check_report *r, int pid);
/* Frees what check_go_blame made. */
void check_go_blame_free(struct check_report *r);
/* The blame of thread k of r, into its JSON object. */
void check_go_blame_json(const struct check_report *r, size_t k, json_t *thread);
/* The per-test counts of r into its process's JSON object. */
void check_go_report_json(const struct check_report *r, json_t *proc);

#endif
