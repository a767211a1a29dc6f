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
 */
#include "check.h"
#include "escape.h"
#include "group.h"
#include "render.h"

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

int render_check(FILE *fp, const struct check *c, const struct render_options *opt)
{
	for (size_t i = 0; i < c->nreports; i++) {
		const struct check_report *r = &c->reports[i];
		struct grouping g;

		size_t ng = 0;
		for (size_t k = 0; k < r->snap->nthreads; k++)
			ng += r->snap->threads[k].goid != 0;
		size_t nt = r->snap->nthreads - ng;
		fprintf(fp, "threadleak: %s (pid %d) exited with ",
			r->snap->comm ? esc(r->snap->comm) : "?", r->snap->pid);
		if (nt || !ng)
			fprintf(fp, "%zu thread%s%s", nt, nt == 1 ? "" : "s", ng ? " and " : "");
		if (ng)
			fprintf(fp, "%zu goroutine%s", ng, ng == 1 ? "" : "s");
		fprintf(fp, " still alive");
		if (r->ignored)
			fprintf(fp, " (and %zu ignored)", r->ignored);
		fprintf(fp, ":\n\n");
		if (group_snapshot(r->snap, &g) < 0)
			return -1;
		for (size_t k = 0; k < g.ngroups; k++) {
			render_group(fp, r->snap, &g.groups[k], opt);
			/* a goroutine's creator is in its group already */
			if (!g.groups[k].threads[0]->goid)
				print_created_by(fp, r, &g.groups[k], opt);
			fprintf(fp, "\n");
		}
		grouping_free(&g);
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
	}
	return ferror(fp) ? -1 : 0;
}
