/*
 * gotext: Go's goroutine profile text; see gotext.h.
 *
 * debug=1 groups as the pprof export does (model/group.h: one group a
 * distinct stack and wait), then merges groups whose stacks are the same
 * pcs and whose labels are the same, since Go's text counts a stack and
 * label set whatever its goroutines wait on.
 */
#include "export/gotext.h"
#include "base/escape.h"
#include "model/group.h"
#include "model/labels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One distinct stack of debug=1: the first member, and how many. */
struct stack_count {
	const struct thread *t;
	size_t count;
};

static bool same_stack(const struct thread *a, const struct thread *b)
{
	if (a->nframes != b->nframes)
		return false;
	for (size_t i = 0; i < a->nframes; i++) {
		const struct frame *x = &a->frames[i], *y = &b->frames[i];
		if (x->pc != y->pc || x->inlined != y->inlined || x->python != y->python ||
		    ((x->function || y->function) &&
		     (!x->function || !y->function || strcmp(x->function, y->function) != 0)))
			return false;
	}
	return true;
}

static int by_count(const void *a, const void *b)
{
	const struct stack_count *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Go's "# labels: {...}", byte for byte (model/labels.h); an empty set
 * too, as Go prints it. */
static int put_labels(const struct thread *t, FILE *fp)
{
	if (!t->goid || !t->labelled)
		return 0;
	char *text = labels_text(t->labels, t->nlabels);
	if (!text)
		return -ENOMEM;
	fprintf(fp, "# labels: %s\n", esc(text));
	free(text);
	return 0;
}

/* "FILE:LINE"; without a file, a thread's frame says its module and
 * offset, a goroutine's "?:0" as Go's traceback does. */
static void put_where(const struct frame *f, bool go, FILE *fp)
{
	if (f->file)
		fprintf(fp, "%s:%d", esc(f->file), f->line);
	else if (f->module && !go)
		fprintf(fp, "%s+0x%llx", esc(f->module), (unsigned long long)f->offset);
	else
		fputs("?:0", fp);
}

static int debug1_stack(const struct stack_count *s, FILE *fp)
{
	const struct thread *t = s->t;

	fprintf(fp, "%zu @", s->count);
	for (size_t i = 0; i < t->nframes; i++)
		if (!t->frames[i].inlined)	/* an inline frame has the next one's pc */
			fprintf(fp, " 0x%llx", (unsigned long long)t->frames[i].pc);
	fputc('\n', fp);
	if (put_labels(t, fp) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->nframes; i++) {
		const struct frame *f = &t->frames[i];
		fprintf(fp, "#\t0x%llx\t%s\t", (unsigned long long)f->pc,
			f->function ? esc(f->function) : "?");
		put_where(f, t->goid != 0, fp);
		fputc('\n', fp);
	}
	fputc('\n', fp);
	return 0;
}

static int debug1(const struct snapshot *snap, FILE *fp)
{
	struct grouping g = { 0 };
	struct stack_count *s;
	size_t n = 0, total = 0;
	int rc = group_snapshot(snap, &g);

	if (rc < 0)
		return rc;
	if (!(s = calloc(g.ngroups ? g.ngroups : 1, sizeof(*s)))) {
		grouping_free(&g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g.ngroups; i++) {
		const struct group *gr = &g.groups[i];
		if (thread_go_runtime(snap, gr->threads[0]))
			continue;
		total += gr->count;
		size_t k = 0;
		while (k < n && !(same_stack(s[k].t, gr->threads[0]) &&
				  labels_equal(s[k].t, gr->threads[0])))
			k++;
		if (k == n)
			s[n++].t = gr->threads[0];
		s[k].count += gr->count;
	}
	qsort(s, n, sizeof(*s), by_count);
	fprintf(fp, "%s profile: total %zu\n", snap->ngoroutines ? "goroutine" : "thread", total);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = debug1_stack(&s[i], fp);
	free(s);
	grouping_free(&g);
	return rc;
}

static void debug2_frames(const struct frame *frames, size_t n, bool go, FILE *fp)
{
	for (size_t i = 0; i < n; i++) {
		const struct frame *f = &frames[i];
		fprintf(fp, "%s(...)\n\t", f->function ? esc(f->function) : "?");
		put_where(f, go, fp);
		fputc('\n', fp);
	}
}

static void debug2_entry(const struct thread *t, FILE *fp)
{
	if (t->goid) {
		fprintf(fp, "goroutine %lld [%s", (long long)t->goid,
			esc(t->go_wait ? t->go_wait : "?"));
		if (t->go_minutes >= 1)
			fprintf(fp, ", %ld minutes", (long)t->go_minutes);
	} else {
		const char *name = thread_py_name(t) ? thread_py_name(t) : thread_name(t);
		const char *wait = thread_py_wait(t) ? thread_py_wait(t) :
				   wait_kind_name(t->wait.kind);
		fprintf(fp, "thread %d \"%s\" [%s", t->tid, esc(name ? name : "?"), esc(wait));
		if (t->wait.blocked_sec >= 60)
			fprintf(fp, ", %ld minutes", (long)(t->wait.blocked_sec / 60));
	}
	fputs("]:\n", fp);
	debug2_frames(t->frames, t->nframes, t->goid != 0, fp);
	if (t->ncreated) {
		/* Go names the creator on this line, where in the lines after */
		const struct frame *c = &t->created[0];
		fprintf(fp, "created by %s", c->function ? esc(c->function) : "?");
		if (t->go_parent)
			fprintf(fp, " in goroutine %lld", (long long)t->go_parent);
		fputs("\n\t", fp);
		put_where(c, t->goid != 0, fp);
		fputc('\n', fp);
	}
	fputc('\n', fp);
}

int export_gotext(const struct snapshot *snap, int debug, FILE *fp)
{
	int rc;

	if (debug == 1) {
		rc = debug1(snap, fp);
	} else if (debug == 2) {
		for (size_t i = 0; i < snap->nthreads; i++)
			if (!thread_go_runtime(snap, &snap->threads[i]))
				debug2_entry(&snap->threads[i], fp);
		rc = 0;
	} else {
		return -EINVAL;
	}
	if (rc == 0 && (fflush(fp) != 0 || ferror(fp)))
		rc = -EIO;
	return rc;
}
