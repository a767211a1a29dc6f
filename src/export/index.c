/*
 * index: serve's index page; see index.h.
 */
#include "export/index.h"
#include "base/escape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* s (from the target) as HTML text. */
static void put_html(FILE *fp, const char *s)
{
	for (s = esc(s); s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp); break;
		}
	}
}

/* Where it runs: "docker 3f2a9c1b7e6d", "pod UID", "nginx.service". */
static void put_where(FILE *fp, const struct cgroup_info *w)
{
	fputs("<td>", fp);
	if (w && w->runtime[0]) {
		put_html(fp, w->runtime);
		fputc(' ', fp);
		fprintf(fp, "%.12s", w->id);	/* hex: checked by the parser */
	}
	if (w && w->pod_uid[0]) {
		fputs(w->runtime[0] ? ", pod " : "pod ", fp);
		put_html(fp, w->pod_uid);
	}
	if (w && !w->runtime[0] && !w->pod_uid[0] && w->unit[0])
		put_html(fp, w->unit);
	fputs("</td>", fp);
}

static void row(FILE *fp, const struct metrics_target *t)
{
	size_t threads = 0;

	fprintf(fp, "<tr><td>%d</td><td>", t->pid);
	put_html(fp, t->comm ? t->comm : "?");
	fputs("</td>", fp);
	put_where(fp, t->where);
	if (!t->snap) {
		fputs("<td colspan=\"4\">no capture: see the metrics and serve's messages</td></tr>\n", fp);
		return;
	}
	for (size_t i = 0; i < t->snap->nthreads; i++)
		threads += t->snap->threads[i].goid == 0;
	fprintf(fp, "<td>%zu</td><td>", threads);
	if (t->snap->ngoroutines)
		fprintf(fp, "%zu", t->snap->ngoroutines);
	else if (t->snap->npython)
		fprintf(fp, "%zu Python", t->snap->npython);
	fprintf(fp, "</td><td>%.1f ms</td><td>"
		"<a href=\"/debug/pprof/goroutine?pid=%d\">profile</a> "
		"<a href=\"/debug/pprof/goroutine?pid=%d&amp;debug=1\">debug=1</a> "
		"<a href=\"/debug/pprof/goroutine?pid=%d&amp;debug=2\">debug=2</a>"
		"</td></tr>\n", t->capture_sec * 1e3, t->pid, t->pid, t->pid);
}

int index_render(const struct metrics_target *targets, size_t n, double interval,
		 char **text, size_t *len)
{
	FILE *fp = open_memstream(text, len);

	if (!fp)
		return -ENOMEM;
	fprintf(fp, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		"<title>threadleak serve</title></head><body>\n"
		"<h1>threadleak serve</h1>\n"
		"<p>%zu process%s watched, captured every %g s. "
		"<a href=\"/metrics\">/metrics</a> for Prometheus; each process's "
		"goroutines (a Go program's) or threads as pprof serves them: "
		"<code>go tool pprof http://HOST:PORT/debug/pprof/goroutine?pid=PID</code>.</p>\n"
		"<table>\n<tr><th>pid</th><th>name</th><th>runs in</th><th>threads</th><th>goroutines</th>"
		"<th>capture</th><th>profiles</th></tr>\n",
		n, n == 1 ? "" : "es", interval);
	for (size_t i = 0; i < n; i++)
		row(fp, &targets[i]);
	fputs("</table>\n</body></html>\n", fp);
	bool failed = ferror(fp) != 0;
	if (fclose(fp) != 0 || failed) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}
