/*
 * tui-detail: the detail view of the interactive screen (see tui.h): one
 * group's summary, what its threads wait on, its stack (a member's
 * frames, or the signature's parts once it has no members) and its
 * threads, as numbered lines of which only the visible ones are drawn,
 * with tui-draw.c's writer.  The group is found again by identity at
 * each draw: a group that is gone says so.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "model/locks.h"
#include "views/render.h"
#include "views/tui-impl.h"
#include "base/util.h"

/* "fd 5 pipe:[123]", "0x7f.. held by 1234 (worker)" for one thread. */
static void wait_text(const struct snapshot *snap, const struct wait_info *wi,
		      char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	if (wi->object && wi->kind == WAIT_POLL)
		tui_append(buf, size, &len, "fds %s", wi->object);
	else if (wi->object)
		tui_append(buf, size, &len, "fd %d %s", wi->fd, wi->object);
	else if (wi->fd >= 0)
		tui_append(buf, size, &len, "fd %d", wi->fd);
	else if (wi->address)
		tui_append(buf, size, &len, "0x%llx", (unsigned long long)wi->address);
	if (wi->owner) {
		const struct thread *o = snapshot_find_thread(snap, wi->owner);
		tui_append(buf, size, &len, "%s%s %d%s%s%s", len ? " " : "",
		       wi->kind == WAIT_JOIN ? "joining" : "held by", wi->owner,
		       o && thread_name(o) ? " (" : "", o && thread_name(o) ? thread_name(o) : "",
		       o && thread_name(o) ? ")" : "");
	}
}

/* Whether wait_text() says the same of both. */
static bool same_wait(const struct wait_info *a, const struct wait_info *b)
{
	return a->kind == b->kind && a->fd == b->fd && a->address == b->address &&
	       a->owner == b->owner && (a->object == b->object ||
	       (a->object && b->object && strcmp(a->object, b->object) == 0));
}

/* ---- the detail view ---- */

#define DETAIL_HEAD_MAX 4

/* What the detail view shows, as numbered lines. */
struct detail {
	const struct snapshot *snap;
	const struct watch_group *wg;	/* NULL when the group is gone */
	const struct group *g;		/* NULL when it has no members */
	const struct thread *t0;
	char head[DETAIL_HEAD_MAX][512];
	attr_t head_attr[DETAIL_HEAD_MAX];
	size_t nhead;
	size_t nframes;			/* frames, or signature parts */
	size_t fn_width, loc_width;
	size_t nthreads;
	/* line numbers where each section starts */
	size_t stack_at, threads_at, total;
};

static size_t signature_parts(const char *sig)
{
	size_t n = sig && *sig ? 1 : 0;

	for (; sig && *sig; sig++)
		n += *sig == ';';
	return n;
}


static void frame_location(const struct frame *f, char *buf, size_t size)
{
	if (f->file && f->line)
		snprintf(buf, size, "%s:%d", path_base(f->file), f->line);
	else if (f->file)
		snprintf(buf, size, "%s", path_base(f->file));
	else
		buf[0] = '\0';
}

static void detail_prepare(struct tui *t, const struct watch *w, struct detail *d)
{
	char buf[512], d1[32], d2[32];
	size_t len = 0;

	memset(d, 0, sizeof(*d));
	d->snap = w->snap;
	d->wg = tui_find_group(w, t->det_kind, t->det_sig);
	d->g = d->wg ? d->wg->group : NULL;
	if (d->g && !d->g->count)
		d->g = NULL;
	d->t0 = d->g ? d->g->threads[0] : NULL;

	/* The summary. */
	if (d->wg) {
		const struct watch_group *wg = d->wg;
		const char *mark = tui_mark_name(wg);
		tui_append(buf, sizeof(buf), &len, "%zu %s%s  %s%s", wg->count,
		       wg->go ? "goroutine" : "thread", wg->count == 1 ? "" : "s",
		       wg->label, wg->go_system ? " (the runtime's own)" : "");
		if (d->t0 && d->t0->wait.kind == WAIT_OTHER && d->t0->wait.syscall_name)
			tui_append(buf, sizeof(buf), &len, " (%s)", d->t0->wait.syscall_name);
		tui_append(buf, sizeof(buf), &len, "  change %+ld  rate %+.1f/s  cpu %.1f%%",
		       wg->change, wg->rate, wg->cpu * 100);
		if (d->g && d->g->max_blocked_sec >= 0) {
			render_duration(d->g->min_blocked_sec >= 0 ? d->g->min_blocked_sec : 0,
					d1, sizeof(d1));
			render_duration(d->g->max_blocked_sec, d2, sizeof(d2));
			tui_append(buf, sizeof(buf), &len, "  waiting %s %s %s%s", d1,
			       t->utf8 ? "…" : "...",
			       d->g->max_blocked_partial ? "at least " : "", d2);
		}
		if (*mark)
			tui_append(buf, sizeof(buf), &len, "  [%s]", mark);
		snprintf(d->head[d->nhead], sizeof(d->head[0]), "%s", buf);
		d->head_attr[d->nhead++] = wg->suspect ? tui_attr.suspect : A_BOLD;
	} else {
		snprintf(d->head[d->nhead], sizeof(d->head[0]),
			 "this group is gone: it had no members for %d samples",
			 WATCH_HISTORY);
		d->head_attr[d->nhead++] = A_BOLD;
	}
	if (d->g) {
		char obj[400];
		bool same = true;
		wait_text(d->snap, &d->t0->wait, obj, sizeof(obj));
		for (size_t i = 1; i < d->g->count && same; i++)
			same = same_wait(&d->t0->wait, &d->g->threads[i]->wait);
		if (!same)
			snprintf(d->head[d->nhead], sizeof(d->head[0]),
				 "waits on %zu different objects (see the threads below)",
				 d->g->count);
		else
			snprintf(d->head[d->nhead], sizeof(d->head[0]), "waits on %s%s%s",
				 obj[0] ? obj : "nothing known",
				 d->t0->wait.syscall_name ? "  in " : "",
				 d->t0->wait.syscall_name ? d->t0->wait.syscall_name : "");
		d->head_attr[d->nhead++] = A_NORMAL;
		if (d->t0->partial) {
			snprintf(d->head[d->nhead], sizeof(d->head[0]), "stack incomplete: %s",
				 d->t0->error ? d->t0->error : "?");
			d->head_attr[d->nhead++] = tui_attr.suspect;
		}
	} else if (d->wg) {
		snprintf(d->head[d->nhead], sizeof(d->head[0]),
			 "this group has no members now (empty for %d sample%s); "
			 "its stack when last seen:", d->wg->empty_for,
			 d->wg->empty_for == 1 ? "" : "s");
		d->head_attr[d->nhead++] = A_NORMAL;
	}

	/* The stack: the frames of a member, else the signature's parts. */
	if (d->t0) {
		d->nframes = d->t0->nframes;
		for (size_t i = 0; i < d->nframes; i++) {
			frame_label(&d->t0->frames[i], buf, sizeof(buf));
			size_t n = strlen(buf);
			d->fn_width = n > d->fn_width ? n : d->fn_width;
			frame_location(&d->t0->frames[i], buf, sizeof(buf));
			n = strlen(buf);
			d->loc_width = n > d->loc_width ? n : d->loc_width;
		}
	} else {
		d->nframes = signature_parts(t->det_sig);
		d->fn_width = 30;
	}
	if (d->fn_width > 40)
		d->fn_width = 40;
	if (d->loc_width > 30)
		d->loc_width = 30;
	d->nthreads = d->g ? d->g->count : 0;

	/* head, blank, "stack", frames, blank, "threads", column labels, threads */
	d->stack_at = d->nhead + 1;
	d->threads_at = d->stack_at + 1 + d->nframes + 1;
	d->total = d->nthreads ? d->threads_at + 2 + d->nthreads : d->threads_at;
}

/* The i-th part "module!function" of a signature, as a frame line. */
static void draw_signature_part(const struct detail *d, const char *sig, size_t i,
				int y)
{
	const char *p = sig, *end, *bang;
	char fn[256], mod[256];

	for (; i && p; i--) {
		p = strchr(p, ';');
		p = p ? p + 1 : NULL;
	}
	if (!p)
		return;
	end = strchr(p, ';');
	if (!end)
		end = p + strlen(p);
	bang = memchr(p, '!', (size_t)(end - p));
	if (bang) {
		snprintf(mod, sizeof(mod), "%.*s", (int)(bang - p), p);
		snprintf(fn, sizeof(fn), "%.*s", (int)(end - bang - 1), bang + 1);
	} else {
		mod[0] = '\0';
		snprintf(fn, sizeof(fn), "%.*s", (int)(end - p), p);
	}
	tui_putf(y, 2, COLS, A_DIM, "%-*s  %s", (int)d->fn_width, fn, mod);
}

static void draw_frame(const struct detail *d, const struct frame *f, int y)
{
	char name[512], loc[512];
	bool own = f->module && d->snap->exe && strcmp(f->module, d->snap->exe) == 0;
	int x, fw = (int)d->fn_width, lw = (int)d->loc_width;

	frame_label(f, name, sizeof(name));
	frame_location(f, loc, sizeof(loc));
	x = tui_put(y, 2, 2 + fw, own ? A_BOLD : A_DIM, name);
	if (x < 2 + fw)
		x = 2 + fw;
	tui_put(y, x + 2, x + 2 + lw, own ? A_NORMAL : A_DIM, loc);
	x = 2 + fw + 2 + lw + 2;
	if (f->module && !own)
		x = tui_put(y, x, COLS, A_DIM, path_base(f->module)) + 1;
	if (f->inlined)
		tui_put(y, x, COLS, A_DIM, "(inlined)");
}

static void draw_thread(const struct detail *d, const struct thread *th, int y)
{
	char dur[32], obj[512];

	tui_duration_or_dash(th->state == 'R' ? -1 : th->wait.blocked_sec, dur, sizeof(dur));
	wait_text(d->snap, &th->wait, obj, sizeof(obj));
	int x = tui_putf(y, 0, COLS, A_NORMAL, " %8d  ", th->tid);
	tui_put(y, x, x + 16, A_BOLD, thread_name(th) ? thread_name(th) : "?");
	tui_putf(y, 1 + 8 + 2 + 16, COLS, A_NORMAL, "  %c  %8s  %s%s", th->state ? th->state : '?',
	     dur, obj, th->partial ? "  (stack incomplete)" : "");
}

void tui_draw_detail(struct tui *t, const struct watch *w, int y0, int rows)
{
	struct detail d;

	if (rows < 1 || !w->snap)
		return;
	detail_prepare(t, w, &d);
	t->det_rows = (size_t)rows;
	if (t->det_top + (size_t)rows > d.total)
		t->det_top = d.total > (size_t)rows ? d.total - (size_t)rows : 0;
	for (int r = 0; r < rows; r++) {
		size_t i = t->det_top + (size_t)r;
		int y = y0 + r;

		if (i >= d.total)
			break;
		if (i < d.nhead) {
			tui_put(y, 0, COLS, d.head_attr[i], d.head[i]);
		} else if (i == d.stack_at) {
			tui_put(y, 0, COLS, tui_attr.title, d.t0 ? "stack, innermost first" :
			    d.wg ? "stack (from the group's signature)" : "");
		} else if (i > d.stack_at && i <= d.stack_at + d.nframes) {
			size_t k = i - d.stack_at - 1;
			if (d.t0)
				draw_frame(&d, &d.t0->frames[k], y);
			else
				draw_signature_part(&d, t->det_sig, k, y);
		} else if (i == d.threads_at) {
			tui_putf(y, 0, COLS, tui_attr.title, "threads (%zu)", d.nthreads);
		} else if (i == d.threads_at + 1) {
			tui_fill(y, 0, COLS, tui_attr.colhead);
			tui_putf(y, 0, COLS, tui_attr.colhead, " %8s  %-16s  %c  %8s  %s", "TID",
			     "NAME", 'S', "BLOCKED", "WAITS ON");
		} else if (i >= d.threads_at + 2) {
			size_t k = i - d.threads_at - 2;
			if (k < d.nthreads)
				draw_thread(&d, d.g->threads[k], y);
		}
	}
}
