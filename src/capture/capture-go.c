/*
 * capture-go: a Go program's goroutines in a capture; see
 * capture-session.h.
 *
 * Goroutines are read from the process's memory (capture/go-entries.h) after its
 * threads.  A running one's stack is only in the registers of the thread
 * running it: go/goroutines.c asks, through a go_stopper, for that one
 * thread to be stopped while it reads (stop_for_go), and the thread's own
 * entry, made before with no stack, is made again from that stop
 * (capture_remake_stopped), so both show the same frames.
 */
#include "capture/capture-session.h"
#include "capture/go-entries.h"
#include "target/ptrace.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A Go program's running goroutine (go/goroutines.h: go_stopper): the
 * thread running it stopped alone, as capture_stop_one() does, while the
 * goroutine's stack is read (seen); the thread's own stack is unwound
 * from the same registers, and its entry, made before, is made again
 * (go_stopped: capture_remake_stopped()).  Never in a capture that stops
 * nothing, nor when the thread, looked at now, is in a call a stop would
 * break with EINTR.
 */
static int stop_for_go(void *ctx, int tid, go_seen_fn seen, void *arg)
{
	struct capture_session *c = ctx;
	struct work *w = capture_find_work(c, tid), now;
	struct cpu_regs regs;
	int sig = 0;

	if (c->opt->no_stop)
		return -EPERM;
	if (pt_interrupted())
		return -EINTR;
	if (!w || w->state == W_GONE)
		return -ENOENT;	/* not listed: no entry to go with it */
	now = *w;
	now.have_fdlink = false;
	if (proc_read_stat(c->pid, tid, &now.st) < 0)
		return -ESRCH;
	now.have_sc = proc_read_syscall(c->pid, tid, &now.sc) == 0;
	if (!now.have_sc || capture_stop_is_unsafe(c, &now))
		return -EPERM;
	double t0 = now_sec();
	int rc = pt_seize_interrupt(tid);
	if (rc < 0)
		return rc;
	switch (pt_wait_stop(tid, t0 + c->opt->stop_timeout, &sig)) {
	case PT_STOPPED:
		break;
	case PT_EXITED:
		return -ESRCH;
	case PT_TIMEOUT:
		pt_forget(tid);
		return -ETIMEDOUT;
	case PT_INTERRUPTED:
		pt_forget(tid);
		return -EINTR;
	}
	rc = pt_get_regs(tid, &regs);
	if (rc == 0) {
		seen(arg, &regs);
		w->regs = regs;
		w->have_regs = true;
		rc = capture_unwind_regs(c, w);
	}
	if (rc < 0) {
		free(w->raw);
		w->raw = NULL;
		w->nraw = 0;
	}
	w->stopped = true;
	if (pt_detach(tid, sig) == -ESRCH)
		c->killed_held = true;
	/* one thread stopped again (its goroutine read again) is one */
	capture_count_stop(c, t0, w->go_stopped);
	w->go_stopped = true;
	return rc;
}

/* The entries of the threads stopped for their goroutines, made before
 * the stop: their frames now the stop's. */
int capture_remake_stopped(struct capture_session *c, struct snapshot *snap)
{
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		struct thread fresh = { 0 };
		char why[64];
		int rc = 0;

		if (!w->go_stopped)
			continue;
		w->go_stopped = false;
		w->state = W_CAPTURED;
		if (w->snap_index >= snap->nthreads || snap->threads[w->snap_index].tid != w->tid)
			continue;
		struct thread *t = &snap->threads[w->snap_index];
		if (w->nraw)
			rc = symbols_resolve(c->sym, w->raw, w->nraw, &fresh);
		if (rc == 0 && t->pooled)
			rc = snapshot_pool_thread(snap, &fresh);
		if (rc < 0) {
			thread_release(&fresh);
			return rc;
		}
		if (!t->frames_pooled) {
			for (size_t k = 0; k < t->nframes; k++)
				frame_release(&t->frames[k]);
			free(t->frames);
		}
		if (!t->pooled)
			free(t->error);
		t->frames = fresh.frames;
		t->nframes = fresh.nframes;
		t->frames_pooled = t->pooled;
		t->stopped = true;
		t->partial = !w->nraw || !w->complete;
		t->error = NULL;
		if (t->partial) {
			if (w->nraw)
				snprintf(why, sizeof(why), "unwinding stopped after %d frame%s",
					 w->nraw, w->nraw == 1 ? "" : "s");
			else
				snprintf(why, sizeof(why), "no stack captured");
			t->error = t->pooled ? snapshot_pool_string(snap, why) : strdup(why);
		}
		w->key = capture_stack_key(w, t);
	}
	return 0;
}

/* A Go program: its goroutines after its threads.  Its threads' partial
 * stacks (its Ms running, not stopped) do not make it partial. */

int capture_add_goroutines(struct capture_session *c, struct snapshot *snap)
{
	char err[256];

	char version[32] = "go";
	if (!c->go)
		go_version_of(c->sym, version, sizeof(version));
	snap->runtime = strdup(c->go ? c->go->version : version);
	snap->go_test = c->go && c->go->test;
	if (c->go)
		snap->go_layouts = strdup(c->go->layouts);
	if (!c->go) {
		if (proc_process_ending(c->pid))	/* not found: it was dying */
			return -ESRCH;
		snap->runtime_note = strdup(c->go_note);
		snap->partial = true;
		return 0;
	}
	snap->partial = false;
	struct go_stopper stop = { stop_for_go, c };
	go_cache_set_stopper(c->go_cache, c->opt->no_stop ? NULL : &stop);
	if (!c->persistent)
		go_cache_set_one_shot(c->go_cache);
	int rc = go_add_entries(c->go, c->sym, c->mem, c->fds, c->go_cache, snap, c->snap, err, sizeof(err));
	/* unreadable because it is dying: it exited during the snapshot */
	if (rc < 0 && rc != -ENOMEM && proc_process_ending(c->pid))
		return -ESRCH;
	if (rc < 0 && rc != -ENOMEM && rc != -ESRCH) {
		snap->runtime_note = strdup(err);
		snap->partial = true;
		return 0;
	}
	return rc;
}
