/*
 * capture-snapshot: the snapshot proper (phase 7 of capture.c), made from
 * the session's struct work, threads in tid order.
 *
 * Each thread's stack is symbolized, its error said, its wait described
 * (capture-wait.c).  In one capture the threads' strings and frame arrays
 * go into the snapshot's pool, and a stack seen already (the same raw
 * pcs) takes the pooled frames of the thread that resolved it: 10,000
 * threads of a few pools resolve a few stacks.  In a session a thread
 * that did not run is carried over from the last snapshot untouched, its
 * wait longer by the interval.  Threads another tracer holds are named
 * with that tracer.  When a capture fails, capture_listed_only() makes
 * the snapshot of what /proc lists alone.
 */
#include "capture/capture-session.h"
#include "target/proc.h"
#include "stacks/symbols.h"
#include "model/group.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *work_error(const struct capture_session *c,
			      const struct work *w)
{
	switch (w->state) {
	case W_NOSTOP:
		return w->st.state == 'D' ?
			"in uninterruptible sleep (D): did not stop in time, stack not captured" :
			"did not stop in time: stack not captured";
	case W_FAILED:
		if (w->seize_err == -ESRCH)
			return "exited thread group leader: no stack";
		return "could not be attached: stack not captured";
	case W_UNSAFE:
		if (c->no_stop)
			return w->nraw ? "stack incomplete: more needs a ptrace stop, and this capture stops nothing" :
			       "stack not captured: it was running, and this capture stops nothing";
		return w->nraw ?
			"stack incomplete: more needs a ptrace stop, which would interrupt this call with EINTR" :
			"stack not captured: it kept changing, and a ptrace stop would interrupt this call with EINTR";
	default:
		return NULL;
	}
}

/* ... and its CPU time, unchanged, is known as of now. */
static void still_waiting(const struct capture_session *c, struct thread *t)
{
	capture_waited_longer(c, t);
	if (t->os)
		t->os->cpu_at = c->refresh_at;
}

/* Session: a thread that did not run, moved from the last snapshot. */
static void carry_over(struct capture_session *c, struct work *w,
		       struct thread *t)
{
	struct thread *old = &c->snap->threads[w->snap_index];

	*t = *old;
	memset(old, 0, sizeof(*old));	/* now owned by the new snapshot */
	still_waiting(c, t);
}

/*
 * One capture: the threads' strings and frame arrays go into the
 * snapshot's pool (snapshot_pool_thread), and a stack seen already, the
 * same raw pcs as a thread resolved before, takes that thread's pooled
 * frames instead of being resolved again: 10,000 threads of a few pools
 * resolve a few stacks, and free a few strings.  A session's threads are
 * carried from snapshot to snapshot without a pool (carry_over()).
 */
#define STACK_MEMO 256		/* a power of two */

struct stack_memo {
	const struct raw_frame *raw;	/* of the thread that resolved it */
	int nraw;
	const struct frame *frames;	/* the pool's */
	size_t nframes;
};

static uint64_t raw_hash(const struct raw_frame *raw, int n)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < n; i++)
		h = (h ^ (raw[i].pc + raw[i].return_address)) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool same_raw(const struct raw_frame *a, const struct raw_frame *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].pc != b[i].pc || a[i].return_address != b[i].return_address)
			return false;
	return true;
}

/* t's frames from the memo, when an equal raw stack is there. */
static bool frames_from_memo(struct stack_memo *memo, const struct work *w, struct thread *t)
{
	struct stack_memo *m = &memo[raw_hash(w->raw, w->nraw) & (STACK_MEMO - 1)];

	if (!m->frames || m->nraw != w->nraw || !same_raw(m->raw, w->raw, w->nraw))
		return false;
	t->frames = (struct frame *)m->frames;
	t->nframes = m->nframes;
	t->frames_pooled = true;
	return true;
}

static void memo_frames(struct stack_memo *memo, const struct work *w, const struct thread *t)
{
	if (t->frames_pooled && t->nframes)
		memo[raw_hash(w->raw, w->nraw) & (STACK_MEMO - 1)] =
			(struct stack_memo){ w->raw, w->nraw, t->frames, t->nframes };
}

/* The tracer holding thread tid (its TracerPid, not us), with its name in
 * comm; 0 when none does. */
long capture_tracer_of(int tid, char *comm, size_t len)
{
	struct proc_stat ts;
	long tracer;

	if (proc_read_status_field(tid, "TracerPid:", &tracer) < 0 || tracer <= 0 ||
	    tracer == getpid())
		return 0;
	snprintf(comm, len, "%s", proc_read_stat((int)tracer, 0, &ts) == 0 ? ts.comm : "?");
	return tracer;
}

/* A thread that could not be seized: the tracer holding it, if another
 * does, in its error and (the first one, and how many) in the note. */
static void name_tracer(struct snapshot *snap, struct thread *t, size_t *ntraced)
{
	char comm[sizeof(((struct proc_stat *)0)->comm)], *s;
	long tracer = capture_tracer_of(t->tid, comm, sizeof(comm));

	if (!tracer || asprintf(&s, "traced by pid %ld (%s): stack not captured",
				tracer, comm) < 0)
		return;
	free(t->error);
	t->error = s;
	if ((*ntraced)++ == 0 &&
	    asprintf(&s, "thread %d: traced by pid %ld (%s), which keeps it from being stopped: detach that tracer first",
		     t->tid, tracer, comm) >= 0) {
		free(snap->note);
		snap->note = s;
	}
}

/* Phase 7: the snapshot proper, threads in tid order. */
int capture_build_snapshot(struct capture_session *c, struct snapshot *snap)
{
	struct stack_memo *memo = NULL;
	size_t ntraced = 0;	/* threads another tracer holds */
	int rc = 0;

	if (!c->persistent && !(memo = calloc(STACK_MEMO, sizeof(*memo))))
		return -ENOMEM;

	/* every new stack's pcs first: a JIT's perf map is read once */
	for (size_t i = 0; i < c->n; i++)
		if (c->w[i].nraw && c->w[i].state != W_KEPT)
			symbols_expect(c->sym, c->w[i].raw, c->w[i].nraw);
	c->all_settled = true;
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		struct work *w = &c->w[i];
		c->all_settled &= capture_settled(w) && w->have_runs && w->st.state != 'R';
		/* A zombie thread has ended: a leader that called
		 * pthread_exit, or a process dying under us. */
		if (w->state == W_GONE || w->state == W_NEW ||
		    w->st.state == 'Z' || w->st.state == 'X')
			continue;
		struct thread *t = snapshot_add_thread(snap);
		if (!t) {
			free(memo);
			return -ENOMEM;
		}
		if (w->state == W_KEPT && c->snap && w->snap_index < c->snap->nthreads) {
			carry_over(c, w, t);
			w->snap_index = snap->nthreads - 1;
			if (t->partial)
				snap->partial = true;
			continue;
		}
		w->snap_index = snap->nthreads - 1;
		c->recaptured++;
		t->tid = w->tid;
		t->state = w->st.state;
		struct os_thread *os = thread_os(t);
		if (os) {
			os->name = strdup(w->st.comm);
			os->utime = w->st.utime;
			os->stime = w->st.stime;
			os->start_time = w->st.start_time;
			os->cpu_ns = w->runs.ns;
			os->cpu_at = w->runs_at;
		}
		t->stopped = w->stopped;
		/* a Python thread's stack is its own: never the memo's */
		const struct py_thread *pt = capture_python_for(c, w);
		if (w->nraw && !(memo && !pt && frames_from_memo(memo, w, t)))
			rc = symbols_resolve(c->sym, w->raw, w->nraw, t);
		if (pt && rc == 0 && (rc = capture_merge_python(c, pt, t)) == 0)
			snap->npython++;
		else if (!pt && c->py && thread_has_function(t, "_PyEval_EvalFrameDefault"))
			c->py_unlisted++;
		const char *why = work_error(c, w);
		if (why && w->st.state != 'Z') {
			t->partial = true;
			t->error = strdup(why);
			if (w->state == W_FAILED)
				name_tracer(snap, t, &ntraced);
		} else if (w->nraw && !w->complete) {
			/* The unwinder stopped before the outermost frame:
			 * no unwind info for the next caller, or bad memory. */
			t->partial = true;
			if (asprintf(&t->error, "unwinding stopped after %d frame%s",
				     w->nraw, w->nraw == 1 ? "" : "s") < 0)
				t->error = NULL;
		} else if (!w->nraw && w->st.state != 'Z') {
			t->partial = true;
			t->error = strdup("no stack captured");
		}
		if (t->partial)
			snap->partial = true;
		capture_describe_wait(c, w, t);
		if (pt && rc == 0)
			rc = capture_name_python(pt, t);
		w->key = capture_stack_key(w, t);
		if (memo && rc == 0 && (rc = snapshot_pool_thread(snap, t)) == 0 && !pt)
			memo_frames(memo, w, t);
		capture_python_forget(w);
	}
	free(memo);
	if (ntraced > 1 && snap->note) {
		char *s;
		if (asprintf(&s, "%s (and %zu more threads traced)", snap->note, ntraced - 1) >= 0) {
			free(snap->note);
			snap->note = s;
		}
	}
	if (rc < 0)
		c->all_settled = false;	/* this snapshot will not be kept */
	return rc;
}

/* The process-wide fields; -ESRCH when it has exited. */
int capture_fill_header(struct capture_session *c, struct snapshot *snap)
{
	char buf[4096];
	struct proc_stat st;
	int rc = proc_read_stat(c->pid, 0, &st);

	if (rc < 0)
		return rc;
	snap->version = SNAPSHOT_VERSION;
	snap->pid = c->pid;
	snap->comm = strdup(st.comm);
	if (proc_read_exe(c->via, buf, sizeof(buf)) == 0)
		snap->exe = strdup(buf);
	snap->unwinder = strdup(c->uw->name);
	snap->taken_at = (int64_t)time(NULL);
	/* where it runs: read again each time (a process can be moved);
	 * what cannot be read or trusted is left out */
	if (proc_read_nspid(c->pid, &snap->nspid) < 0)
		snap->nspid = 0;
	proc_read_cgroup(c->pid, &snap->where);
	return (int)st.num_threads;
}

struct snapshot *capture_listed_only(int pid, const char *why)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct proc_stat st;
	int *tids;
	size_t n;

	if (!snap || proc_read_stat(pid, 0, &st) < 0 || proc_list_tasks(pid, &tids, &n) < 0) {
		free(snap);
		return NULL;
	}
	snap->version = 1;
	snap->pid = pid;
	snap->partial = true;
	snap->comm = strdup(st.comm);
	snap->note = strdup(why);
	for (size_t i = 0; i < n; i++) {
		if (proc_read_stat(pid, tids[i], &st) < 0)
			continue;	/* ended meanwhile */
		struct thread *t = snapshot_add_thread(snap);
		if (!t)
			break;
		t->tid = tids[i];
		t->state = st.state;
		struct os_thread *os = thread_os(t);
		if (os) {
			os->start_time = st.start_time;
			os->name = strdup(st.comm);
		}
		t->partial = true;
		t->error = strdup(why);
	}
	free(tids);
	return snap;
}
