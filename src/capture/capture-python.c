/*
 * capture-python: a CPython program's Python frames in its threads'
 * stacks.  The interpreter is found once per session (python/runtime.h);
 * at each refresh its thread states are read after the threads were
 * unwound and let go, nothing stopped (python/threads.h), so a blocked
 * thread's Python frames are those of the native stack just read (it has
 * not run since: its run count said so); a thread that had to be stopped
 * (it runs) has its own read again while it is held, so that they are
 * those of the stack unwound in that stop.  Each thread with Python frames
 * gets them in place of the eval loop's frames (python/merge.h), its
 * threading name, and its wait in Python's words (python/wait.h).  A
 * thread the interpreter no longer lists (daemon threads' states are
 * deleted as it finalizes) keeps its native frames, and the snapshot's
 * python_note says why.
 */
#include "capture/capture-session.h"
#include "python/merge.h"
#include "python/wait.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *why_not(const struct py_runtime *rt, int rc)
{
	switch (rc) {
	case -ENOTSUP:
		return rt->why ? rt->why : "its layouts are not known";
	case -EPROTO:
		return "its debug offsets fail their checks";
	default:
		return "its state could not be read";
	}
}

void capture_open_python(struct capture_session *c)
{
	struct py_runtime *rt;

	if (c->opt->no_python || c->go || c->go_note || !(rt = calloc(1, sizeof(*rt))))
		return;
	int rc = py_runtime_find(c->sym, c->mem, rt);
	if (rc == 0) {
		c->py = rt;
		return;
	}
	char version[16] = "";
	if (rt->minor >= 0)
		snprintf(version, sizeof(version), " %d.%d", rt->major, rt->minor);
	if (rc != -ENOENT &&
	    asprintf(&c->py_note, "CPython%s found (in %s), its Python frames not read: %s",
		     version, rt->module, why_not(rt, rc)) < 0)
		c->py_note = NULL;
	free(rt);
}

void capture_close_python(struct capture_session *c)
{
	py_threads_free(&c->pyt);
	free(c->py);
	free(c->py_note);
}

static int by_tid(const void *a, const void *b)
{
	long x = ((const struct py_thread *)a)->tid, y = ((const struct py_thread *)b)->tid;

	return (x > y) - (x < y);
}

void capture_python_all_stopped(struct capture_session *c)
{
	py_threads_free(&c->pyt);
	c->pyt_rc = c->py ? py_threads_read(c->py, c->mem, &c->pyt) : 0;
	c->pyt_read = c->py != NULL;
}

int capture_read_python(struct capture_session *c, struct snapshot *snap)
{
	char version[32];
	bool read = c->pyt_read;	/* in an all-stop, while every thread was held */

	c->pyt_read = false;
	if (!read)
		py_threads_free(&c->pyt);
	c->py_unlisted = 0;
	if (c->py_note && !(snap->python_note = strdup(c->py_note)))
		return -ENOMEM;
	if (!c->py)
		return 0;
	if (c->py->version_hex)
		snprintf(version, sizeof(version), "%d.%d.%d", c->py->major, c->py->minor,
			 (int)((c->py->version_hex >> 8) & 0xff));
	else if (c->py->minor_inferred && c->py->minor == 9)
		snprintf(version, sizeof(version), "3.8 or 3.9");
	else
		snprintf(version, sizeof(version), "%d.%d", c->py->major, c->py->minor);
	if (!(snap->python = strdup(version)))
		return -ENOMEM;
	int rc = read ? c->pyt_rc : py_threads_read(c->py, c->mem, &c->pyt);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		py_threads_free(&c->pyt);
		if (asprintf(&snap->python_note, "the interpreter's threads could not be read (%s)",
			     strerror(-rc)) < 0)
			snap->python_note = NULL;
		return 0;
	}
	if (c->pyt.n)	/* none: an interpreter whose threads are gone */
		qsort(c->pyt.t, (size_t)c->pyt.n, sizeof(*c->pyt.t), by_tid);
	return 0;
}

const struct py_thread *capture_python_of(const struct capture_session *c, int tid)
{
	struct py_thread key = { .tid = tid };

	if (!c->pyt.n || tid <= 0)
		return NULL;
	return bsearch(&key, c->pyt.t, (size_t)c->pyt.n, sizeof(*c->pyt.t), by_tid);
}

int capture_merge_python(struct capture_session *c, const struct py_thread *pt, struct thread *t)
{
	int rc = py_merge_frames(t, pt, c->py->module);

	if (rc == 0 && pt->truncated && !t->error) {
		t->partial = true;
		if (asprintf(&t->error, "Python frames cut after %d (at most %d a thread, %d in all)",
			     pt->nframes, PY_MAX_FRAMES, PY_MAX_TOTAL_FRAMES) < 0)
			t->error = NULL;
	}
	return rc;
}

int capture_name_python(const struct py_thread *pt, struct thread *t)
{
	struct os_thread *os = thread_os(t);
	const char *w = py_wait_words(t);

	if (!os)
		return -ENOMEM;
	if (pt->name[0] && !(os->py_name = strdup(pt->name)))
		return -ENOMEM;
	if (w && !(os->py_wait = strdup(w)))
		return -ENOMEM;
	return 0;
}

int capture_python_done(struct capture_session *c, struct snapshot *snap)
{
	size_t n = c->py_unlisted;

	if (!n || snap->python_note)
		return 0;
	if (asprintf(&snap->python_note,
		     "%zu thread%s in the eval loop that the interpreter no longer lists (it deletes daemon threads' states as it exits): C frames only",
		     n, n == 1 ? "" : "s") < 0) {
		snap->python_note = NULL;
		return -ENOMEM;
	}
	return 0;
}

uint64_t capture_python_state(struct capture_session *c, int tid)
{
	return c->py ? py_thread_state_of(c->py, c->mem, tid) : 0;
}

void capture_python_in_stop(struct capture_session *c, struct work *w, uint64_t ts)
{
	capture_python_forget(w);
	if (!ts || !(w->py = calloc(1, sizeof(*w->py))))
		return;
	if (py_thread_read_at(c->py, c->mem, w->tid, ts, w->py) != 0)
		capture_python_forget(w);
}

void capture_python_forget(struct work *w)
{
	if (w->py)
		free(w->py->frames);
	free(w->py);
	w->py = NULL;
}

const struct py_thread *capture_python_for(struct capture_session *c, struct work *w)
{
	const struct py_thread *bulk = capture_python_of(c, w->tid);

	if (!w->py)
		return bulk;
	if (bulk)	/* its name, which the stop did not read */
		memcpy(w->py->name, bulk->name, sizeof(w->py->name));
	return w->py;
}
