/*
 * python/merge: a thread's Python frames put in its native stack, where
 * the interpreter runs them.
 *
 * Each call of the eval loop from C, one native _PyEval_EvalFrameDefault
 * frame, runs the Python frames up to and including one `entry` frame
 * (threads.h): the k-th eval frame from the innermost stands for the k-th
 * such run.  Native frames keep their places: those above the innermost
 * Python frame (the lock or sleep it waits in, a C extension it called),
 * those below the outermost (the thread's start, main), and those of
 * another module between two Python frames (a C extension calling back
 * into Python).  The interpreter's own frames between two Python frames
 * (calls, vectorcalls, function objects) are its machinery and are left
 * out.  When the counts disagree (a stack cut short, or frames read a
 * moment apart), the outermost eval frame takes every run left, and eval
 * frames beyond the runs are kept as they are; a native stack without
 * one (its unwinding stopped short) gets them all below its frames.
 */
#include "python/merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_eval(const struct frame *f)
{
	return f->function && strcmp(f->function, "_PyEval_EvalFrameDefault") == 0;
}

/* Where the run of Python frames starting at i ends (one past its entry). */
static int run_end(const struct py_thread *pt, int i)
{
	while (i < pt->nframes && !pt->frames[i++].entry)
		;
	return i;
}

static int add_python(struct thread *out, const struct py_frame *pf)
{
	struct frame *f = thread_add_frame(out);

	if (!f)
		return -ENOMEM;
	f->python = true;
	f->line = pf->line > 0 ? pf->line : 0;
	if (!(f->function = strdup(pf->func[0] ? pf->func : "?")) ||
	    (pf->file[0] && !(f->file = strdup(pf->file))))
		return -ENOMEM;
	return 0;
}

static int add_native(struct thread *out, const struct frame *nf)
{
	struct frame *f = thread_add_frame(out);

	if (!f)
		return -ENOMEM;
	*f = *nf;
	f->module = f->function = f->file = NULL;
	if ((nf->module && !(f->module = strdup(nf->module))) ||
	    (nf->function && !(f->function = strdup(nf->function))) ||
	    (nf->file && !(f->file = strdup(nf->file))))
		return -ENOMEM;
	return 0;
}

static bool same_module(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int py_merge_frames(struct thread *t, const struct py_thread *pt, const char *interp)
{
	struct thread out;
	size_t nevals = 0, seen = 0;
	int next = 0, rc = 0;

	if (!pt->nframes)
		return 0;
	for (size_t i = 0; i < t->nframes; i++)
		nevals += is_eval(&t->frames[i]);
	memset(&out, 0, sizeof(out));
	for (size_t i = 0; i < t->nframes && rc == 0; i++) {
		const struct frame *f = &t->frames[i];
		bool between = seen > 0 && next < pt->nframes;
		if (is_eval(f) && next < pt->nframes) {
			int end = ++seen == nevals ? pt->nframes : run_end(pt, next);
			while (next < end && rc == 0)
				rc = add_python(&out, &pt->frames[next++]);
			continue;
		}
		if (between && same_module(f->module, interp))
			continue;
		rc = add_native(&out, f);
	}
	/* no eval frame at all (the unwinder stopped short of one): the
	 * Python frames below what the native stack has */
	for (int k = 0; nevals == 0 && k < pt->nframes && rc == 0; k++)
		rc = add_python(&out, &pt->frames[k]);
	if (rc < 0) {
		for (size_t i = 0; i < out.nframes; i++)
			frame_release(&out.frames[i]);
		free(out.frames);
		return rc;
	}
	if (!t->frames_pooled) {
		for (size_t i = 0; !t->pooled && i < t->nframes; i++)
			frame_release(&t->frames[i]);
		free(t->frames);
	}
	t->frames = out.frames;
	t->nframes = out.nframes;
	t->frames_pooled = false;
	return 0;
}
