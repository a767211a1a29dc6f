/*
 * folded: a snapshot as folded stacks, the input of flamegraph.pl,
 * speedscope and inferno: one line per group, "root;...;leaf COUNT".
 *
 * Frames go outermost first, inline frames as frames of their own, each
 * named as the text output names it (function, else module+offset).  The
 * leaf is what the group waits on in brackets, "[condvar]", or for a
 * goroutine the runtime's words, "[chan receive]", so that a flame graph's
 * tips say what its threads wait for.  A name keeps its spaces (the
 * readers split at the last one) but never a ';' (written ':'), and is
 * escaped as the text output escapes it (escape.h: control bytes, C1
 * controls and bidirectional overrides as \xNN or \uNNNN, none of which
 * holds a ';' or a space): the target's names cannot break a line nor
 * reorder what a viewer shows.  For a Go
 * program the runtime's own entries are left out (group.h
 * thread_go_runtime), as in the pprof export.
 */
#include "export/folded.h"
#include "model/group.h"
#include "base/escape.h"

#include <errno.h>
#include <string.h>

static void put_name(FILE *fp, const char *s)
{
	for (s = esc(s); *s; s++)
		putc(*s == ';' ? ':' : *s, fp);
}

int export_folded(const struct snapshot *snap, FILE *fp)
{
	struct grouping g;
	char label[512];
	int rc = group_snapshot(snap, &g);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < g.ngroups; i++) {
		const struct group *gr = &g.groups[i];
		const struct thread *t = gr->threads[0];
		if (thread_go_runtime(snap, t))
			continue;
		for (size_t k = t->nframes; k-- > 0;) {
			const char *fn = t->frames[k].function;
			/* the root of every goroutine, which pprof leaves out */
			if (t->goid && fn && strcmp(fn, "runtime.goexit") == 0)
				continue;
			frame_label(&t->frames[k], label, sizeof(label));
			put_name(fp, label);
			putc(';', fp);
		}
		putc('[', fp);
		put_name(fp, t->goid && t->go_wait ? t->go_wait :
			     thread_py_wait(t) ? thread_py_wait(t) : wait_kind_name(gr->kind));
		fprintf(fp, "] %zu\n", gr->count);
	}
	grouping_free(&g);
	return ferror(fp) ? -EIO : 0;
}
