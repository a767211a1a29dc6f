/*
 * render-check: the report of `threadleak check`, like goleak's: for each
 * process that exited with threads still alive, its leaked threads grouped
 * by stack as the snapshot report groups them, each group followed by
 * where its threads were created ("created by", the creating thread's
 * stack at pthread_create); then one summary line.
 *
 *	threadleak: leaky (pid 4242) exited with 1 thread still alive:
 *
 *	1 thread  condvar  waiting 0.5s
 *	  threads: worker [4244]
 *	    …stack…
 *	  created by thread 4242:
 *	    …stack…
 *
 * A Go test binary's report is named by the package it tests, and its
 * goroutines are grouped by the test that started each (check.h), then
 * by stack: "TestPoolLeaks leaked 4 goroutines:", a subtest's function
 * said; what no test started comes last.  Goroutines woken just before
 * the exit are not leaks: their number is said.
 */
#include "check/check.h"
#include "base/escape.h"
#include "model/group.h"
#include "views/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the group's threads come from; a group whose members were
 * created in different places says how many places. */
static void print_created_by(FILE *fp, const struct check_report *r,
			     const struct group *g, const struct render_options *opt)
{
	const struct thread *first = NULL;
	char *sig0 = NULL;
	size_t places = 0;

	for (size_t i = 0; i < g->count; i++) {
		size_t k = (size_t)(g->threads[i] - r->snap->threads);
		const struct thread *cb = &r->created_by[k];
		if (!cb->nframes)
			continue;
		if (!first) {
			first = cb;
			sig0 = stack_signature(cb);
			places = 1;
			continue;
		}
		char *sig = stack_signature(cb);
		if (sig && sig0 && strcmp(sig, sig0) != 0)
			places++;
		free(sig);
	}
	free(sig0);
	if (!first) {
		fprintf(fp, "  created by: not known (created before threadleak was tracing, or by a clone that gives no place for the new thread's id, as Go's runtime does)\n");
		return;
	}
	fprintf(fp, "  created by%s:\n", places > 1 ? " (one of several places)" : "");
	render_stack(fp, r->snap, first, opt);
}

/* The groups of r's threads (all, or those whose index is in idx). */
static int render_groups(FILE *fp, const struct check_report *r, const size_t *idx,
			 size_t n, const struct render_options *opt)
{
	struct snapshot part;
	struct check_report pr = *r;
	struct grouping g;
	int rc = -1;

	if (idx) {
		/* A snapshot of those threads alone: shallow copies, for
		 * grouping and printing only. */
		part = *r->snap;
		part.threads = malloc((n ? n : 1) * sizeof(*part.threads));
		pr.created_by = malloc((n ? n : 1) * sizeof(*pr.created_by));
		if (!part.threads || !pr.created_by)
			goto out;
		part.ngoroutines = 0;
		for (size_t i = 0; i < n; i++) {
			part.threads[i] = r->snap->threads[idx[i]];
			pr.created_by[i] = r->created_by[idx[i]];
			part.ngoroutines += part.threads[i].goid != 0;
		}
		part.nthreads = n;
		pr.snap = &part;
	}
	if (group_snapshot(pr.snap, &g) < 0)
		goto out;
	for (size_t k = 0; k < g.ngroups; k++) {
		render_group(fp, pr.snap, &g.groups[k], opt);
		/* a goroutine's creator is in its group already */
		if (!g.groups[k].threads[0]->goid)
			print_created_by(fp, &pr, &g.groups[k], opt);
		fprintf(fp, "\n");
	}
	grouping_free(&g);
	rc = 0;
out:
	if (idx) {
		free(part.threads);
		free(pr.created_by);
	}
	return rc;
}

static void count_line(FILE *fp, size_t nt, size_t ng)
{
	if (nt || !ng)
		fprintf(fp, "%zu thread%s%s", nt, nt == 1 ? "" : "s", ng ? " and " : "");
	if (ng)
		fprintf(fp, "%zu goroutine%s", ng, ng == 1 ? "" : "s");
}

static bool same_test(const struct check_blame *a, const struct check_blame *b)
{
	return (!a->test && !b->test) || (a->test && b->test && strcmp(a->test, b->test) == 0);
}

/* A Go test binary's leaks, test by test (in the order they are first
 * seen: goroutines are in creation order), then what no test started. */
static int render_by_test(FILE *fp, const struct check_report *r,
			  const struct render_options *opt)
{
	size_t n = r->snap->nthreads;
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	int rc = 0;

	if (!idx || !done) {
		free(idx);
		free(done);
		return -1;
	}
	/* the tests first, then the rest (test NULL) */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			const struct check_blame *b = &r->blame[i];
			if (done[i] || (pass == 0) != (b->test != NULL))
				continue;
			size_t m = 0, ng = 0, nsub = 0;
			bool by_creator = false, subs = false;	/* several */
			const char *sub = NULL;
			for (size_t k = i; k < n; k++) {
				const struct check_blame *o = &r->blame[k];
				if (done[k] || !same_test(b, o))
					continue;
				done[k] = true;
				idx[m++] = k;
				ng += r->snap->threads[k].goid != 0;
				by_creator |= o->by_creator;
				if (o->sub) {
					nsub++;
					if (!sub)
						sub = o->sub;
					subs |= strcmp(sub, o->sub) != 0;
				}
			}
			if (b->test) {
				fprintf(fp, "%s leaked %zu goroutine%s", esc(b->test), ng,
					ng == 1 ? "" : "s");
				if (nsub == ng && sub)
					fprintf(fp, " (in subtest %s", esc(sub));
				else if (sub)
					fprintf(fp, " (%zu in subtest %s", nsub, esc(sub));
				if (sub)
					fprintf(fp, "%s; a subtest is named by its function)",
						subs ? " and others" : "");
				if (by_creator)
					fprintf(fp, " (by the function that started %s: no ancestry)",
						ng == 1 ? "it" : "them");
			} else {
				fprintf(fp, "not started by a test: ");
				count_line(fp, m - ng, ng);
			}
			fprintf(fp, ":\n\n");
			rc = render_groups(fp, r, idx, m, opt);
		}
	}
	free(idx);
	free(done);
	return rc;
}

int render_check(FILE *fp, const struct check *c, const struct render_options *opt)
{
	for (size_t i = 0; i < c->nreports; i++) {
		const struct check_report *r = &c->reports[i];

		size_t ng = 0;
		for (size_t k = 0; k < r->snap->nthreads; k++)
			ng += r->snap->threads[k].goid != 0;
		size_t nt = r->snap->nthreads - ng;
		fprintf(fp, "threadleak: ");
		if (r->package)
			fprintf(fp, "package %s: ", esc(r->package));
		fprintf(fp, "%s (pid %d) exited with ",
			r->snap->comm ? esc(r->snap->comm) : "?", r->snap->pid);
		count_line(fp, nt, ng);
		fprintf(fp, " still alive");
		if (r->ignored)
			fprintf(fp, " (and %zu ignored)", r->ignored);
		fprintf(fp, ":\n\n");
		if (r->snap->python_note)
			fprintf(fp, "Python frames not read: %s\n\n", esc(r->snap->python_note));
		if (r->woken)
			fprintf(fp, "%zu goroutine%s woken just before the exit and not counted (they could not run: the exiting thread keeps its P)\n\n",
				r->woken, r->woken == 1 ? " was" : "s were");
		if (r->blame && ng && !r->ancestry)
			fprintf(fp, "(no goroutine carries its ancestry, GODEBUG has tracebackancestors=0: tests are named by the function that started each goroutine, when it is one)\n\n");
		if ((r->blame && ng ? render_by_test(fp, r, opt) :
				     render_groups(fp, r, NULL, 0, opt)) < 0)
			return -1;
	}
	size_t ng = 0;
	for (size_t i = 0; i < c->nreports; i++)
		for (size_t k = 0; k < c->reports[i].snap->nthreads; k++)
			ng += c->reports[i].snap->threads[k].goid != 0;
	size_t nt = c->leaked - ng;
	if (c->leaked) {
		fprintf(fp, "threadleak: ");
		if (nt || !ng)
			fprintf(fp, "%zu leaked thread%s%s", nt, nt == 1 ? "" : "s", ng ? " and " : "");
		if (ng)
			fprintf(fp, "%s%zu goroutine%s", nt ? "" : "", ng, ng == 1 ? "" : "s");
		fprintf(fp, " in %zu process%s\n", c->nreports, c->nreports == 1 ? "" : "es");
	} else if (c->woken) {
		fprintf(fp, "threadleak: no leak; %zu goroutine%s woken just before an exit and not counted (they could not run: the exiting thread keeps its P)\n",
			c->woken, c->woken == 1 ? " was" : "s were");
	}
	return ferror(fp) ? -1 : 0;
}
