/*
 * render-watch: one frame of `threadleak top -b`, plain text for logs,
 * scripts and tests, like `top -b`.
 *
 *	threadleak top: pid 4242 (leakyserver), 57 threads (+50), cpu 0.3%, 12:00:03, sample 4 after 1.0s, captured in 3.1 ms (12 recaptured), top's own CPU 2.0 ms
 *	trend: 7 17 27 57
 *	kinds: 52 condvar, 3 read, 1 accept, 1 running
 *	   COUNT  CHANGE      RATE  KIND      CPU%   OLDEST  WHERE
 *	*     50     +50  +16.7/s  condvar     0.0     2.9s  wait_for_reply (leakyserver.c:123)  [growing]
 *	       4      +0   +0.0/s  condvar     0.0     3.2s  pool_wait (leakyserver.c:88)
 *
 * A Go program's frame counts goroutines (the trend is theirs), lists
 * their wait reasons, and shows each group's wait reason as its kind:
 *
 *	threadleak top: pid 4243 (leaky), go1.26.8, 57 goroutines (+50), 7 threads, cpu 0.3%, ...
 *	trend: 7 17 27 57
 *	goroutines: 52 chan send, 3 IO wait, 2 select
 *	threads: 5 futex, 1 epoll, 1 sleep
 *	   COUNT  CHANGE      RATE  KIND                     CPU%   OLDEST  WHERE
 *	*     50     +50  +16.7/s  chan send                0.0     2.9s  main.requestWorker (main.go:123)  [growing]
 *
 * (the runtime's own goroutines carry "(runtime)" after WHERE).  The KIND
 * column is as wide as the longest kind of the frame (at least 9, 23 for
 * a Go program, at most KIND_MAX: a longer one is cut with "..."), so that
 * every row's columns stay in line whatever a wait reason's length;
 * widths count characters, not bytes.
 * Every frame starts with the "threadleak top:" line and ends with a blank
 * line; suspects carry a '*' in the first column and their marks at the
 * end of the row.  Groups that have emptied show count 0.
 */
#include "views/render.h"
#include "model/labels.h"
#include "views/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/escape.h"
#include <time.h>

#define TREND_SHOWN 10	/* totals on the trend line */
#define KIND_MAX 40	/* the widest KIND column */
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_WARN "\033[1;31m"
#define C_RESET "\033[0m"

static void marks(unsigned suspect, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", suspect ? "  [" : "",
		 suspect & WATCH_GROWING ? "growing" : "",
		 suspect == (WATCH_GROWING | WATCH_SPINNING) ? ", " : "",
		 suspect & WATCH_SPINNING ? "spinning]" : suspect ? "]" : "");
}

/* Characters (UTF-8 sequences) in s: its width, escaped as it is. */
static int width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The kind label, escaped, cut to kw characters ("..." at the end) into
 * buf; returns its width. */
static int kind_cell(const char *label, int kw, char *buf, size_t size)
{
	const char *s = esc(label);
	size_t len = 0;
	int n = 0;

	if (width(s) <= kw) {
		snprintf(buf, size, "%s", s);
		return width(buf);
	}
	for (; *s && len + 4 < size; s++, len++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && n++ == kw - 3)
			break;
		buf[len] = *s;
	}
	snprintf(buf + len, size - len, "...");
	return width(buf);
}

static void print_header(FILE *fp, const struct watch *w, size_t recaptured,
			 double own_ms, bool color)
{
	const struct snapshot *s = w->snap;
	char when[16] = "", kinds[512];
	time_t t = (time_t)s->taken_at;
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	char where[UNIT_NAME_MAX + POD_UID_MAX + 64], nspid[64];
	render_where(s, where, sizeof(where));
	render_nspid(s, nspid, sizeof(nspid));
	fprintf(fp, "%sthreadleak top:%s pid %d (%s%s%s%s), ", color ? C_BOLD : "",
		color ? C_RESET : "", s->pid, s->comm ? esc(s->comm) : "?", nspid,
		where[0] ? " in " : "", where);
	if (s->runtime)
		fprintf(fp, "%s, %zu goroutine%s (%+ld), %zu thread%s", esc(s->runtime),
			w->goroutines, w->goroutines == 1 ? "" : "s",
			(long)w->goroutines - (long)w->first_goroutines, w->threads,
			w->threads == 1 ? "" : "s");
	else
		fprintf(fp, "%zu thread%s (%+ld)", w->threads, w->threads == 1 ? "" : "s",
			(long)w->threads - (long)w->first_threads);
	fprintf(fp, ", cpu %.1f%%, %s, sample %d", w->cpu * 100, when, w->samples);
	if (w->samples > 1)
		fprintf(fp, " after %.1fs", w->interval);
	fprintf(fp, ", captured in %.1f ms (%zu recaptured", s->capture_ms,
		recaptured);
	if (s->threads_stopped)
		fprintf(fp, ", %d stopped briefly", s->threads_stopped);
	fprintf(fp, "), top's own CPU %.1f ms\n", own_ms);

	fprintf(fp, "trend:");
	size_t first = w->ntrend > TREND_SHOWN ? w->ntrend - TREND_SHOWN : 0;
	for (size_t i = first; i < w->ntrend; i++)
		fprintf(fp, " %zu", w->trend[i]);
	render_kind_counts(w->kinds, kinds, sizeof(kinds));
	if (s->runtime)
		fprintf(fp, "\ngoroutines: %s\nthreads: %s\n", w->go_waits[0] ? esc(w->go_waits) : "-",
			kinds[0] ? kinds : "-");
	else
		fprintf(fp, "\nkinds: %s\n", kinds);
	if (w->suspects)
		fprintf(fp, "%ssuspects: %zu group%s%s\n", color ? C_WARN : "",
			w->suspects, w->suspects == 1 ? "" : "s",
			color ? C_RESET : "");
	if (s->partial)
		fprintf(fp, "partial: %s\n",
			s->note ? esc(s->note) : "some stacks are incomplete");
}

int render_watch(FILE *fp, const struct watch *w, size_t recaptured,
		 double own_ms, const struct render_options *opt)
{
	bool color = opt && opt->color;

	if (!w->snap)
		return 0;
	/* A Go program's wait reasons are longer than the kinds. */
	int kw = w->snap->runtime ? 23 : 9;
	for (size_t i = 0; i < w->ngroups; i++) {
		int n = width(esc(w->groups[i].label));
		kw = n > kw ? n : kw;
	}
	kw = kw < KIND_MAX ? kw : KIND_MAX;

	print_header(fp, w, recaptured, own_ms, color);
	fprintf(fp, "   COUNT  CHANGE      RATE  %-*s  CPU%%   OLDEST  WHERE\n", kw, "KIND");
	for (size_t i = 0; i < w->ngroups; i++) {
		const struct watch_group *g = &w->groups[i];
		char oldest[32] = "-", mark[32], rate[32];

		if (g->max_blocked_sec >= 0) {
			/* "≥": some members were not read yet (capture.h) */
			oldest[0] = g->max_blocked_partial ? '>' : ' ';
			render_duration(g->max_blocked_sec, oldest + 1, sizeof(oldest) - 1);
		}
		snprintf(rate, sizeof(rate), "%+.1f/s", g->rate);
		marks(g->suspect, mark, sizeof(mark));
		char label[KIND_MAX * 4 + 1];
		int lw = kind_cell(g->label, kw, label, sizeof(label));
		/* goroutines split by pprof labels: the set after where */
		const struct thread *t0 = g->group && g->group->count ? g->group->threads[0] : NULL;
		char *labels = t0 && t0->goid && t0->labelled ?
			       labels_text(t0->labels, t0->nlabels) : NULL;
		fprintf(fp, "%s%c %6zu  %+6ld  %8s  %s%*s %5.1f  %7s  %s%s%s%s%s%s\n",
			color ? g->suspect ? C_WARN : g->count ? "" : C_DIM : "",
			g->suspect ? '*' : ' ', g->count, g->change, rate, label,
			kw - lw, "", g->cpu * 100, oldest, esc(g->where), labels ? "  " : "",
			labels ? esc(labels) : "",
			g->go_system ? "  (runtime)" : "", mark, color ? C_RESET : "");
		free(labels);
	}
	fprintf(fp, "\n");
	return ferror(fp) ? -1 : 0;
}
