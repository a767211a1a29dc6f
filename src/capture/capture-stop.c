/*
 * capture-stop: every thread's stack, each stopped only where it must be
 * (phases 3 to 6 of capture.c), or with all_stop all of them at once.
 *
 * Gently: each blocked thread is unwound from its syscall line as soon as
 * its observer hands it on, stopping nothing, and validated at once (the
 * run count read again); one that ran is observed again, a few times at
 * most.  Then the threads that still need it (running, not unwindable
 * from sp and pc, never still) are stopped one at a time with
 * PTRACE_SEIZE + PTRACE_INTERRUPT, unwound from their registers and let
 * go, unless a stop would break their call with EINTR; newcomers are
 * listed and captured the same way.  All-stop: every thread seized
 * (re-listing until no new one appears), unwound, and released together.
 * Every stop is counted and timed for the snapshot.  The unwind itself
 * (unwind_regs) is here, as every path that captures a stack ends in it.
 */
#include "capture/capture-session.h"
#include "stacks/fpguess.h"
#include "go/unwind.h"
#include "target/memory.h"
#include "target/proc.h"
#include "target/ptrace.h"
#include "stacks/symbols.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int keep_frames(struct capture_session *c, struct work *w, int n, bool complete)
{
	free(w->raw);
	w->raw = malloc((size_t)(n ? n : 1) * sizeof(*w->raw));
	if (!w->raw)
		return -ENOMEM;
	memcpy(w->raw, c->buf, (size_t)n * sizeof(*w->raw));
	w->nraw = n;
	w->complete = complete;
	return 0;
}

int capture_unwind_regs(struct capture_session *c, struct work *w)
{
	bool complete;
	uint64_t pc = w->regs.r[REG_DW_RIP], sp = w->regs.r[REG_DW_RSP];
	unsigned word = arch_word(w->regs.arch);

	/* Go code: the binary's own table unwinds it, stripped or not, from
	 * sp and pc alone (go/unwind.h). */
	if (go_unwind_covers(c->sym, pc)) {
		int n = go_unwind(c->sym, c->mem, pc, sp, c->buf, UNWIND_MAX_FRAMES,
				  &complete);
		if (n > 0)
			return keep_frames(c, w, n, complete);
	}
	int n = c->uw->unwind(c->uw_state, w->tid, &w->regs, c->buf,
			      UNWIND_MAX_FRAMES, &complete);
	/* Stopped in code of no module we know: one mapped since (dlopen)? */
	if (!complete && n > 0 && symbols_cover(c->sym, c->buf[n - 1].pc))
		n = c->uw->unwind(c->uw_state, w->tid, &w->regs, c->buf,
				  UNWIND_MAX_FRAMES, &complete);
	/* C into Go (cgo): Go's traceback ends at its stack switch. */
	bool cut;
	n = go_unwind_trim(c->sym, c->buf, n, &cut);
	complete |= cut;
	/* Stopped in clone or clone3 just past the system call.  The child
	 * (clone returned 0 there) has an empty stack: its parent's unwind
	 * info would read garbage above.  The parent: glibc's unwind info
	 * ends before that instruction, and nothing is pushed in between,
	 * so its caller's return address is at sp (x86_64); i386 pushes
	 * ebx and esi first: from the byte before its int 0x80 (2 bytes),
	 * whose row of the unwind info says so (as check.c does). */
	if (n >= 1 && w->stopped && symbols_is_clone(c->sym, &c->buf[0])) {
		if (w->regs.rax == 0) {
			n = 1;
			complete = true;
		} else if (!complete && w->regs.arch == ARCH_I386) {
			struct cpu_regs r = w->regs;
			r.r[REG_DW_RIP] = pc - 3;
			n = c->uw->unwind(c->uw_state, w->tid, &r, c->buf,
					  UNWIND_MAX_FRAMES, &complete);
			c->buf[0] = (struct raw_frame){ pc, false };
		} else if (!complete) {
			struct cpu_regs r = w->regs;
			uint64_t ra = 0;
			if (memory_read(c->mem, sp, &ra, word) == 0) {
				r.r[REG_DW_RSP] = sp + word;
				r.r[REG_DW_RIP] = ra;
				n = 1 + c->uw->unwind(c->uw_state, w->tid, &r, c->buf + 1,
						      UNWIND_MAX_FRAMES - 1, &complete);
				c->buf[1].return_address = true;
			}
		}
	}
	/* Not whole from sp and pc: frame-pointer code wants rbp. */
	if (n > 0 && !(complete && symbols_is_stack_end(c->sym, &c->buf[n - 1])))
		n = fpguess_unwind(c->uw, c->uw_state, w->tid, &w->regs, c->buf,
				   UNWIND_MAX_FRAMES, n, &complete, c->mem, c->sym);
	return keep_frames(c, w, n, complete);
}

/*
 * Session: a thread that needed a stop last time (its stack does not unwind
 * from sp and pc alone, even with a frame-base guess) and is blocked again at
 * the same place: when what sp and pc give is the start of the stack the
 * stop gave, the rest is that stack too, and a second stop is spared.
 */
static void adopt_previous(struct work *w)
{
	if (!w->prev_raw || !w->prev_complete || w->nraw == 0 ||
	    w->nraw > w->nprev)
		return;
	for (int i = 0; i < w->nraw; i++)
		if (w->raw[i].pc != w->prev_raw[i].pc)
			return;
	free(w->raw);
	w->raw = w->prev_raw;
	w->nraw = w->nprev;
	w->complete = true;
	w->prev_raw = NULL;
	w->nprev = 0;
}

/* Phase 3: unwind a blocked thread from its syscall line; the result
 * (complete or not) waits for validation. */
static int capture_nostop(struct capture_session *c, struct work *w)
{
	if (!capture_is_blocked(w))
		return 0;
	w->attempts++;
	capture_regs_from_syscall(c, &w->sc, &w->regs);
	w->have_regs = true;
	w->state = W_UNWOUND;
	int rc = capture_unwind_regs(c, w);
	/* Without callee-saved registers (rbp...) an unwinder may stop early
	 * and still call it the end: only a stack that ends where threads
	 * begin is whole. */
	if (rc == 0 && w->complete && w->nraw &&
	    !symbols_is_stack_end(c->sym, &w->raw[w->nraw - 1]))
		w->complete = false;
	if (rc == 0 && !w->complete)
		adopt_previous(w);
	return rc;
}

/* A stop from t0 (now_sec) until now; again: of a thread counted already. */
void capture_count_stop(struct capture_session *c, double t0, bool again)
{
	double ms = (now_sec() - t0) * 1000.0;

	if (!again)
		c->threads_stopped++;
	c->stop_ms_total += ms;
	if (ms > c->stop_ms_max)
		c->stop_ms_max = ms;
}

/* Phase 5: one thread, stopped alone, as briefly as possible. */
static int capture_stop_one(struct capture_session *c, struct work *w)
{
	uint64_t py_ts = capture_python_state(c, w->tid);	/* before the stop */
	double t0 = now_sec(), deadline = t0 + c->opt->stop_timeout;
	int rc = pt_seize_interrupt(w->tid);

	if (rc == -ESRCH) {
		w->state = W_GONE;
		return 0;
	}
	if (rc < 0) {
		w->state = W_FAILED;
		w->seize_err = rc;
		return 0;
	}
	switch (pt_wait_stop(w->tid, deadline, &w->pending_sig)) {
	case PT_STOPPED:
		break;
	case PT_EXITED:
		w->state = W_GONE;
		return 0;
	case PT_TIMEOUT:
		w->state = W_NOSTOP;
		pt_forget(w->tid);
		return 0;
	case PT_INTERRUPTED:
		pt_forget(w->tid);
		return -EINTR;
	}
	w->stopped = true;
	if (pt_get_regs(w->tid, &w->regs) == 0) {
		w->have_regs = true;
		rc = capture_unwind_regs(c, w);
	}
	capture_python_in_stop(c, w, py_ts);
	if (pt_detach(w->tid, w->pending_sig) == -ESRCH)
		c->killed_held = true;
	capture_count_stop(c, t0, false);
	w->state = W_CAPTURED;
	return rc < 0 ? rc : 0;
}

/* Phase 5: the threads a stop must capture: running ones, blocked ones
 * whose stack did not unwind completely from sp and pc alone, ones that
 * kept changing.  Not those a stop would break with EINTR. */
static int stop_where_needed(struct capture_session *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		bool needs = w->state == W_OBSERVED ||
			     (w->state == W_CAPTURED && !w->stopped && !w->complete);
		if (!needs)
			continue;
		if (c->no_stop || capture_stop_is_unsafe(c, w)) {
			w->state = W_UNSAFE;	/* keeps any validated frames */
			continue;
		}
		int rc = capture_stop_one(c, w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Phases 3 and 4, one thread at a time, in order, as the observers hand
 * them on: unwound, then validated at once.  The sooner the run count is
 * read again, the less time the thread has had to wake.  One capture is
 * then done with the thread's schedstat: closed now, not kept to the end,
 * so only the threads between observation and unwind hold one (each
 * holds the kernel's 4 KiB seq_file buffer: 10,000 held together cost
 * 45 ms of slab allocation in bench/scale.sh). */
static int unwind_job(void *arg, size_t i)
{
	struct capture_session *c = arg;
	struct work *w = &c->w[i];
	int rc = 0;

	if (w->state != W_OBSERVED)
		return 0;
	rc = capture_nostop(c, w);
	if (w->state == W_UNWOUND)
		capture_validate(c, w);
	if (!c->persistent)
		capture_release_runs(w);
	return rc;
}

/* Phases 2-6 without stopping what need not be stopped. */
int capture_gently(struct capture_session *c)
{
	/* A session (top) catches newcomers at its next refresh. */
	int rounds = c->persistent ? 1 : NOSTOP_RELIST_ROUNDS;

	for (int round = 0; round < rounds; round++) {
		int added = 0;
		if (round > 0 && !capture_maybe_newcomers(c))
			break;
		if (round > 0 || c->need_list) {
			added = capture_list_new_tasks(c);
			if (added < 0)
				return round == 0 ? added : 0;
		}
		if (round > 0 && added == 0)
			break;
		for (int attempt = 0; attempt < NOSTOP_ATTEMPTS; attempt++) {
			bool retry = false;
			/* Each thread unwound as soon as it is observed, while
			 * the others are observed. */
			if (run_parallel_then(c->n, c->opt->jobs, capture_observe_job, c, unwind_job, c) < 0)
				return -ENOMEM;
			if (pt_interrupted())
				return -EINTR;
			for (size_t i = 0; i < c->n; i++)
				retry |= c->w[i].state == W_NEW;
			if (!retry)
				break;
			/* Pages cached for a thread that ran may be stale. */
			memory_reset(c->mem);
		}
		/* Still changing after every attempt: observe once more and
		 * let phase 5 stop it if it may. */
		for (size_t i = 0; i < c->n; i++)
			if (c->w[i].state == W_NEW)
				capture_observe(c, &c->w[i]);
		int rc = stop_where_needed(c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A thread that is ending (the kernel refuses to attach to one): gone,
 * not a failure. */
static bool exiting(struct capture_session *c, struct work *w)
{
	struct proc_stat st;

	return proc_read_stat(c->pid, w->tid, &st) < 0 || proc_stat_exiting(&st);
}

/* All-stop: seize every thread, re-listing until the set is stable.
 * Returns 0, -EPERM (nothing seized) or -EINTR. */
static int stop_all(struct capture_session *c)
{
	size_t seized = 0;

	for (int round = 0; round < MAX_RELIST_ROUNDS; round++) {
		int added = capture_list_new_tasks(c);

		if (added < 0)
			return round == 0 ? added : 0;
		if (added == 0)
			break;
		/* The new ones, wherever the re-sort by tid put them (a reused
		 * tid lands among the old ones): each is seized once. */
		for (size_t i = 0; i < c->n; i++) {
			struct work *w = &c->w[i];
			if (w->state != W_NEW)
				continue;
			capture_observe(c, w);
			if (w->state != W_OBSERVED)
				continue;
			int rc = pt_seize_interrupt(w->tid);
			if (rc == 0) {
				w->state = W_SEIZED;
				seized++;
			} else if (rc == -ESRCH || (rc == -EPERM && exiting(c, w))) {
				w->state = W_GONE;
			} else {
				w->state = W_FAILED;
				w->seize_err = rc;
			}
			if (pt_interrupted())
				return -EINTR;
		}
	}
	if (!seized) {
		for (size_t i = 0; i < c->n; i++)
			if (c->w[i].state == W_FAILED && c->w[i].seize_err == -EPERM)
				return -EPERM;
	}
	return 0;
}

/* All-stop: wait for the stops, take registers, unwind. */
static int capture_stopped(struct capture_session *c)
{
	double deadline = now_sec() + c->opt->stop_timeout;

	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->state != W_SEIZED)
			continue;
		switch (pt_wait_stop(w->tid, deadline, &w->pending_sig)) {
		case PT_STOPPED:
			w->state = W_STOPPED;
			w->stopped = true;
			break;
		case PT_EXITED:
			w->state = W_GONE;
			continue;
		case PT_TIMEOUT:
			w->state = W_NOSTOP;
			continue;
		case PT_INTERRUPTED:
			return -EINTR;
		}
		if (pt_get_regs(w->tid, &w->regs) < 0)
			continue;
		w->have_regs = true;
		if (capture_unwind_regs(c, w) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* All-stop: release every thread we hold.  Threads that never stopped
 * still have our interrupt pending: ptrace.c keeps them and detaches them
 * when they stop (pt_release_pending), or the kernel does when we exit. */
static void release_all(struct capture_session *c, double t0)
{
	for (size_t i = 0; i < c->n; i++) {
		struct work *w = &c->w[i];
		if (w->state == W_STOPPED) {
			if (pt_detach(w->tid, w->pending_sig) == -ESRCH)
				c->killed_held = true;
			w->state = W_CAPTURED;
			capture_count_stop(c, t0, false);	/* held since t0 at most */
		} else if (w->state == W_SEIZED || w->state == W_NOSTOP) {
			pt_forget(w->tid);
			if (w->state == W_SEIZED)
				w->state = W_NOSTOP;
		}
	}
}

int capture_all_stop(struct capture_session *c)
{
	double t0 = now_sec();
	int rc = stop_all(c);

	if (rc == 0)
		rc = capture_stopped(c);
	/* a consistent cut: the Python frames too, while all are held */
	if (rc == 0)
		capture_python_all_stopped(c);
	release_all(c, t0);
	return rc;
}
