/*
 * tui: the interactive screen of `threadleak top`; see tui.h.
 *
 * Every tui_draw() erases the screen and draws what is visible from the
 * watch (ncurses sends only the difference), so drawing costs the size of
 * the terminal, not the size of the process: only the visible rows of the
 * table, the visible lines of the detail view.  The one pass over all the
 * groups is the search for the selected one, by identity.  The view keeps
 * the selected group and the group shown in detail by identity (wait kind
 * and signature, as watch.h matches groups), so a selection survives
 * refreshes and re-sorts.  All text goes through one clipping writer,
 * put(), which never writes past the right edge and shows control
 * characters (thread names are the target's) as '?'.
 *
 * There is one screen per process: the state is a static singleton, which
 * the atexit() and fatal-signal handlers reach.  tui_close() ends curses
 * once; the fatal-signal handlers restore the terminal and hand the signal
 * to whatever handled it before (the default action, or a sanitizer's).
 * The view owns two strings (the selected and the detailed group's
 * signatures), freed by tui_close().
 */
#include "views/tui.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "model/locks.h"
#include "target/ptrace.h"
#include "views/render.h"
#include "base/util.h"

#define KEY_ESC 27
#define CTRL(c) ((c) & 0x1f)
#define WAIT_SLICE_MS 200	/* longest getch wait: how soon a signal is seen */
#define TREND_WIDTH 8		/* samples in a group's trend column */
#define TREND_MIN_COLS 100	/* narrower screens have no trend column */
#define KIND_MIN 8		/* the KIND column's width at least, */
#define KIND_MAX 16		/* at most under 120 columns ("GC scavenge wait") */
#define KIND_MAX_WIDE 24	/* and at 120 or more */

enum view { VIEW_TABLE, VIEW_DETAIL };

struct tui {
	SCREEN *screen;
	bool active;		/* curses is on: endwin() is still due */
	bool color, utf8;
	enum view view;
	bool help;
	/* The table: the selection, as an index and an identity. */
	size_t sel, top;
	enum wait_kind sel_kind;
	char *sel_sig;		/* owned; NULL until a group is selected */
	size_t table_rows;	/* data rows at the last draw */
	/* The detail view: whose, and where it is scrolled. */
	enum wait_kind det_kind;
	char *det_sig;		/* owned */
	size_t det_top;
	size_t det_rows;	/* lines shown at the last draw */
	/* What the last draw showed of the caller's state. */
	char drawn_message[sizeof(((struct tui_state *)0)->message)];
	bool drawn_paused;
	double drawn_interval;
};

static struct tui the_tui;
static volatile sig_atomic_t curses_on;

/* Attributes, set by tui_open() for colour or monochrome. */
enum { PAIR_TITLE = 1, PAIR_COLHEAD, PAIR_SEL, PAIR_SUSPECT, PAIR_KIND,
       PAIR_SEL_SUSPECT };
static attr_t a_title, a_colhead, a_sel, a_sel_suspect, a_suspect, a_kind,
	      a_status, a_message;

static const int fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE };
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction fatal_old[NFATAL];
static bool fatal_installed;

/* ---- text ---- */

/* A byte string of display width `cols`, to copy out. */
struct glyph {
	const char *bytes;
	size_t len;		/* bytes to copy */
	size_t used;		/* bytes consumed from the source */
	int cols;
};

static void next_glyph(const struct tui *t, const char *s, mbstate_t *ps,
		       struct glyph *g)
{
	unsigned char c = (unsigned char)*s;
	wchar_t wc;
	size_t n;
	int width;

	*g = (struct glyph){ s, 1, 1, 1 };
	if (c < 0x80) {
		if (c < 0x20 || c == 0x7f)
			g->bytes = "?";
		return;
	}
	g->bytes = "?";
	if (!t->utf8)
		return;
	n = mbrtowc(&wc, s, MB_CUR_MAX, ps);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		memset(ps, 0, sizeof(*ps));
		return;
	}
	g->used = n;
	width = wcwidth(wc);
	if (width < 1)
		return;		/* one '?' for a combining or unprintable char */
	g->bytes = s;
	g->len = n;
	g->cols = width;
}

/* Display width of s as put() would show it. */
static int text_width(const struct tui *t, const char *s)
{
	mbstate_t ps;
	struct glyph g;
	int cols = 0;

	memset(&ps, 0, sizeof(ps));
	for (; *s; s += g.used) {
		next_glyph(t, s, &ps, &g);
		cols += g.cols;
	}
	return cols;
}

/*
 * Writes s at row y from column x, in columns [x, maxx) of the screen only,
 * with attr.  Returns the column after the text.
 */
static int put(int y, int x, int maxx, attr_t attr, const char *s)
{
	const struct tui *t = &the_tui;
	char buf[1024];
	size_t n = 0;
	int bx = x;
	mbstate_t ps;
	struct glyph g;

	if (maxx > COLS)
		maxx = COLS;
	if (y < 0 || y >= LINES || x < 0 || x >= maxx || !s)
		return x;
	memset(&ps, 0, sizeof(ps));
	attrset(attr);
	for (; *s; s += g.used) {
		next_glyph(t, s, &ps, &g);
		if (x + g.cols > maxx)
			break;
		if (n + g.len > sizeof(buf)) {
			mvaddnstr(y, bx, buf, (int)n);
			bx = x;
			n = 0;
		}
		memcpy(buf + n, g.bytes, g.len);
		n += g.len;
		x += g.cols;
	}
	if (n)
		mvaddnstr(y, bx, buf, (int)n);
	attrset(A_NORMAL);
	return x;
}

/* printf into put(). */
__attribute__((format(printf, 5, 6)))
static int putf(int y, int x, int maxx, attr_t attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put(y, x, maxx, attr, buf);
}

/* Paints columns [x, maxx) of row y blank with attr. */
static void fill(int y, int x, int maxx, attr_t attr)
{
	if (maxx > COLS)
		maxx = COLS;
	if (y < 0 || y >= LINES || x < 0 || x >= maxx)
		return;
	mvhline(y, x, ' ' | attr, maxx - x);
}

/* Appends to buf (of size) at *len, keeping it terminated. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/*
 * The last `width` values of v[0..n) as a sparkline, each scaled between
 * their minimum and maximum (a flat series is all lowest).  Returns the
 * number of glyphs (columns) written.
 */
static int sparkline(const struct tui *t, const size_t *v, size_t n,
		     size_t width, char *buf, size_t size)
{
	static const char *const blocks[] = {
		"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█",
	};
	static const char ascii[] = "_.-:=+*#";
	size_t from = n > width ? n - width : 0, lo = SIZE_MAX, hi = 0, len = 0;

	buf[0] = '\0';
	for (size_t i = from; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	for (size_t i = from; i < n; i++) {
		int level = hi > lo ? (int)((double)(v[i] - lo) * 7.0 / (double)(hi - lo) + 0.5) : 0;
		if (t->utf8)
			append(buf, size, &len, "%s", blocks[level]);
		else
			append(buf, size, &len, "%c", ascii[level]);
	}
	return (int)(n - from);
}

/* "fd 5 pipe:[123]", "0x7f.. held by 1234 (worker)" for one thread. */
static void wait_text(const struct snapshot *snap, const struct wait_info *wi,
		      char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	if (wi->object && wi->kind == WAIT_POLL)
		append(buf, size, &len, "fds %s", wi->object);
	else if (wi->object)
		append(buf, size, &len, "fd %d %s", wi->fd, wi->object);
	else if (wi->fd >= 0)
		append(buf, size, &len, "fd %d", wi->fd);
	else if (wi->address)
		append(buf, size, &len, "0x%llx", (unsigned long long)wi->address);
	if (wi->owner) {
		const struct thread *o = snapshot_find_thread(snap, wi->owner);
		append(buf, size, &len, "%s%s %d%s%s%s", len ? " " : "",
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

static const char *mark_name(const struct watch_group *g)
{
	if ((g->suspect & WATCH_GROWING) && (g->suspect & WATCH_SPINNING))
		return "grow+spin";
	if (g->suspect & WATCH_GROWING)
		return "growing";
	if (g->suspect & WATCH_SPINNING)
		return "spinning";
	if (g->count == 0)
		return "emptied";
	return "";
}

static void duration_or_dash(double sec, char *buf, size_t size)
{
	if (sec < 0)
		snprintf(buf, size, "-");
	else
		render_duration(sec, buf, size);
}

/* ---- selection ---- */

static bool same_group(const struct watch_group *g, enum wait_kind kind,
		       const char *sig)
{
	return sig && g->kind == kind && strcmp(g->signature, sig) == 0;
}

/* Makes *sig and *kind (an owned copy) name g. */
static void remember(char **sig, enum wait_kind *kind, const struct watch_group *g)
{
	if (*sig && same_group(g, *kind, *sig))
		return;
	free(*sig);
	*sig = strdup(g->signature);	/* NULL on ENOMEM: then by position */
	*kind = g->kind;
}

static const struct watch_group *find_group(const struct watch *w,
					    enum wait_kind kind, const char *sig)
{
	for (size_t i = 0; sig && i < w->ngroups; i++)
		if (same_group(&w->groups[i], kind, sig))
			return &w->groups[i];
	return NULL;
}

/*
 * Points t->sel at the selected group in w's current order: the same group
 * if it is still there, else whatever is now at its position.
 */
static void sync_selection(struct tui *t, const struct watch *w)
{
	/* (groups is never NULL with ngroups > 0: watch.c grows it first;
	 * scan-build cannot see that across files) */
	if (!w || !w->ngroups || !w->groups) {
		t->sel = 0;
		return;
	}
	if (t->sel_sig && !(t->sel < w->ngroups &&
			    same_group(&w->groups[t->sel], t->sel_kind, t->sel_sig))) {
		const struct watch_group *g = find_group(w, t->sel_kind, t->sel_sig);
		if (g)
			t->sel = (size_t)(g - w->groups);
	}
	if (t->sel >= w->ngroups)
		t->sel = w->ngroups - 1;
	remember(&t->sel_sig, &t->sel_kind, &w->groups[t->sel]);
}

/* ---- layout ---- */

struct layout {
	int header;		/* rows of header, from row 0 */
	int body_y, body_rows;	/* the table or the detail view */
	int status_y;		/* -1 when there is no room */
};

static void lay_out(struct layout *l)
{
	int avail = LINES > 1 ? LINES - 1 : 0;

	l->status_y = LINES >= 1 ? LINES - 1 : -1;
	l->header = avail - 2 > 3 ? 3 : avail - 2 > 0 ? avail - 2 : 0;
	if (LINES == 2)
		l->header = 1;
	l->body_y = l->header;
	l->body_rows = avail - l->header > 0 ? avail - l->header : 0;
}

/* ---- header ---- */

/*
 * Writes the field fmt at row y from *x only if it fits whole before maxx
 * (a field is never cut, nor written over another); returns whether it
 * did.
 */
__attribute__((format(printf, 5, 6)))
static bool field(int y, int *x, int maxx, attr_t attr, const char *fmt, ...)
{
	const struct tui *t = &the_tui;
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (*x + text_width(t, buf) > (maxx < COLS ? maxx : COLS))
		return false;
	*x = put(y, *x, maxx, attr, buf);
	return true;
}

/*
 * Row 0: the process, its count and trend, its threads, CPU (the interval
 * on the right); row 1: how long it has been watched, samples, groups,
 * suspects, the sort, the capture; row 2: the waits.  Each field is shown
 * whole or not at all, in that order of importance, and the sparkline
 * takes the room left on row 0 (up to 20 samples): at 80 columns no
 * field is written over another.
 */
static void draw_header(struct tui *t, const struct watch *w,
			const struct tui_state *st, const struct layout *l)
{
	const struct snapshot *snap = w ? w->snap : NULL;
	char right[64], spark[WATCH_HISTORY * 4 + 1], buf[512], d[32],
	     count[64], threads[64] = "", cpu[32];
	int x, rx;

	if (l->header < 1)
		return;
	snprintf(right, sizeof(right), "%severy %.1fs", st->paused ? "PAUSED  " : "",
		 st->interval);
	rx = COLS - text_width(t, right);
	if (rx > 20) {
		put(0, rx, COLS, st->paused ? a_suspect | A_REVERSE : A_NORMAL, right);
		rx -= 2;
	} else {
		rx = COLS;
	}
	x = putf(0, 0, rx, a_title, "pid %d", st->pid);
	x = putf(0, x, rx, A_BOLD, " %s", snap && snap->comm ? snap->comm : "?");
	if (!snap) {
		put(0, x, rx, A_NORMAL, "  waiting for the first sample");
		return;
	}
	if (snap->runtime) {
		snprintf(count, sizeof(count), "  goroutines %zu (%+ld)", w->goroutines,
			 (long)w->goroutines - (long)w->first_goroutines);
		snprintf(threads, sizeof(threads), "  threads %zu", w->threads);
	} else {
		snprintf(count, sizeof(count), "  threads %zu (%+ld)", w->threads,
			 (long)w->threads - (long)w->first_threads);
	}
	if (w->samples >= 2)
		snprintf(cpu, sizeof(cpu), "  cpu %.1f%%", w->cpu * 100);
	else
		snprintf(cpu, sizeof(cpu), "  cpu -");
	if (field(0, &x, rx, A_NORMAL, "%s", count)) {
		int room = rx - x - text_width(t, threads) - text_width(t, cpu) - 1;
		if (room >= 4) {
			sparkline(t, w->trend, w->ntrend, room < 20 ? (size_t)room : 20,
				  spark, sizeof(spark));
			x = put(0, x + 1, rx, a_title, spark);
		}
		if (field(0, &x, rx, A_NORMAL, "%s", threads) || !threads[0])
			field(0, &x, rx, A_NORMAL, "%s", cpu);
	}

	/* Row 1: the watch. */
	if (l->header >= 2) {
		render_duration(w->now - w->started, d, sizeof(d));
		x = 0;
		(void)(field(1, &x, COLS, A_NORMAL, "watched %s", d) &&
		field(1, &x, COLS, A_NORMAL, "  samples %d", w->samples) &&
		field(1, &x, COLS, A_NORMAL, "  groups %zu", w->ngroups) &&
		field(1, &x, COLS, A_NORMAL, "  ") &&
		field(1, &x, COLS, w->suspects ? a_suspect : A_NORMAL, "suspects %zu",
		      w->suspects) &&
		field(1, &x, COLS, A_NORMAL, "  sort %s", watch_sort_name(w->sort)) &&
		field(1, &x, COLS, A_NORMAL, "  captured in %.1f ms, %zu recaptured",
		      st->capture_ms, st->recaptured));
	}
	/* Row 2: threads per wait kind (a Go program's goroutines per
	 * wait reason). */
	if (l->header >= 3) {
		if (snap->runtime)
			snprintf(buf, sizeof(buf), "%s", w->go_waits);
		else
			render_kind_counts(w->kinds, buf, sizeof(buf));
		x = put(2, 0, COLS, A_NORMAL, "waits ");
		put(2, x, COLS, a_kind, buf[0] ? buf : "-");
	}
}

/* ---- the table ---- */

struct column {
	const char *label;
	int width;
	bool right;
};

enum { COL_COUNT, COL_CHANGE, COL_RATE, COL_KIND, COL_CPU, COL_OLDEST,
       COL_MARK, COL_TREND, COL_WHERE, NCOLS };

static struct column columns[NCOLS] = {
	[COL_COUNT] = { "COUNT", 6, true },
	[COL_CHANGE] = { "CHANGE", 7, true },
	[COL_RATE] = { "RATE", 8, true },
	[COL_KIND] = { "KIND", KIND_MIN, false },	/* widened: kind_width() */
	[COL_CPU] = { "CPU%", 6, true },
	[COL_OLDEST] = { "OLDEST", 7, true },
	[COL_MARK] = { "MARK", 9, false },
	[COL_TREND] = { "TREND", TREND_WIDTH, false },
	[COL_WHERE] = { "WHERE", 0, false },
};

/* Appends cell text (of display width cols) aligned in column c. */
static void append_cell(char *buf, size_t size, size_t *len, int c,
			const char *text, int cols)
{
	int pad = columns[c].width > cols ? columns[c].width - cols : 0;

	append(buf, size, len, " ");
	if (columns[c].right)
		append(buf, size, len, "%*s%s", pad, "", text);
	else if (c == COL_WHERE)
		append(buf, size, len, "%s", text);
	else
		append(buf, size, len, "%s%*s", text, pad, "");
}

/*
 * The KIND column is as wide as the longest kind on the rows shown (a Go
 * program's wait reasons are longer than the kinds), within KIND_MIN and
 * KIND_MAX (KIND_MAX_WIDE on a wide screen); a longer one is cut with an
 * ellipsis (kind_cell), so every row keeps its columns in line.
 */
static int kind_max(void)
{
	return COLS >= 120 ? KIND_MAX_WIDE : KIND_MAX;
}

static void kind_width(const struct tui *t, const struct watch *w, size_t from,
		       int rows)
{
	int width = KIND_MIN;

	for (int r = 0; r < rows && from + (size_t)r < w->ngroups; r++) {
		const char *label = w->groups[from + (size_t)r].label;
		int cols = label ? text_width(t, label) : 0;
		if (cols > width)
			width = cols;
	}
	columns[COL_KIND].width = width < kind_max() ? width : kind_max();
}

/* label as put() shows it, cut to the KIND column with an ellipsis;
 * returns its display width. */
static int kind_cell(const struct tui *t, const char *label, char *buf,
		     size_t size)
{
	const char *ell = t->utf8 ? "\xe2\x80\xa6" : "~";	/* U+2026 */
	int max = columns[COL_KIND].width, cols = 0;
	size_t len = 0;
	mbstate_t ps;
	struct glyph g;

	buf[0] = '\0';
	if (!label)
		return 0;
	if (text_width(t, label) <= max) {
		snprintf(buf, size, "%s", label);
		return text_width(t, buf);
	}
	memset(&ps, 0, sizeof(ps));
	for (const char *s = label; *s; s += g.used) {
		next_glyph(t, s, &ps, &g);
		if (cols + g.cols > max - 1 || len + g.len + strlen(ell) + 1 > size)
			break;
		memcpy(buf + len, g.bytes, g.len);
		len += g.len;
		cols += g.cols;
	}
	snprintf(buf + len, size - len, "%s", ell);
	return cols + 1;
}

static bool show_column(int c)
{
	return c != COL_TREND || COLS >= TREND_MIN_COLS;
}

static int sort_column(enum watch_sort s)
{
	return s == WATCH_SORT_COUNT ? COL_COUNT : s == WATCH_SORT_CPU ? COL_CPU :
	       COL_CHANGE;
}

static void draw_column_header(const struct watch *w, int y)
{
	char buf[256];
	size_t len = 0;
	int x = 0, sorted = sort_column(w->sort);

	fill(y, 0, COLS, a_colhead);
	for (int c = 0; c < NCOLS; c++) {
		if (!show_column(c))
			continue;
		size_t before = len;
		append_cell(buf, sizeof(buf), &len, c, columns[c].label,
			    (int)strlen(columns[c].label));
		if (c == sorted) {
			/* the sorted column's label stands out */
			int lx = x + 1 + (columns[c].right ?
				columns[c].width - (int)strlen(columns[c].label) : 0);
			put(y, x, COLS, a_colhead, buf + before);
			put(y, lx, COLS, a_colhead | A_BOLD | A_UNDERLINE,
			    columns[c].label);
		} else {
			put(y, x, COLS, a_colhead, buf + before);
		}
		x += (int)(len - before);
	}
}

static void draw_row(const struct tui *t, const struct watch_group *g,
		     size_t ntrend, int y, bool selected)
{
	char line[1024], cell[64], spark[TREND_WIDTH * 4 + 1];
	size_t len = 0;
	attr_t attr = A_NORMAL;

	line[0] = '\0';
	snprintf(cell, sizeof(cell), "%zu", g->count);
	append_cell(line, sizeof(line), &len, COL_COUNT, cell, (int)strlen(cell));
	if (g->change)
		snprintf(cell, sizeof(cell), "%+ld", g->change);
	else
		snprintf(cell, sizeof(cell), "0");
	append_cell(line, sizeof(line), &len, COL_CHANGE, cell, (int)strlen(cell));
	snprintf(cell, sizeof(cell), "%+.1f/s", g->rate);
	append_cell(line, sizeof(line), &len, COL_RATE, cell, (int)strlen(cell));
	int kcols = kind_cell(t, g->label, cell, sizeof(cell));
	append_cell(line, sizeof(line), &len, COL_KIND, cell, kcols);
	snprintf(cell, sizeof(cell), "%.1f", g->cpu * 100);
	append_cell(line, sizeof(line), &len, COL_CPU, cell, (int)strlen(cell));
	/* '>': a lower bound, some members' times not read yet (capture.h) */
	cell[0] = g->count && g->max_blocked_partial && g->max_blocked_sec >= 0 ? '>' : '\0';
	duration_or_dash(g->count ? g->max_blocked_sec : -1, cell + !!cell[0],
			 sizeof(cell) - 1);
	append_cell(line, sizeof(line), &len, COL_OLDEST, cell, (int)strlen(cell));
	snprintf(cell, sizeof(cell), "%s", mark_name(g));
	append_cell(line, sizeof(line), &len, COL_MARK, cell, (int)strlen(cell));
	if (show_column(COL_TREND)) {
		/* A group that appeared later had no members before. */
		size_t v[TREND_WIDTH], n = ntrend < TREND_WIDTH ? ntrend : TREND_WIDTH;
		for (size_t i = 0; i < n; i++) {
			size_t back = n - i;	/* samples from the end, 1: the last */
			v[i] = back <= g->nhistory ? g->history[g->nhistory - back] : 0;
		}
		int cols = sparkline(t, v, n, TREND_WIDTH, spark, sizeof(spark));
		append_cell(line, sizeof(line), &len, COL_TREND, spark, cols);
	}
	append_cell(line, sizeof(line), &len, COL_WHERE, g->where, 0);

	if (g->suspect)
		attr = selected ? a_sel_suspect : a_suspect;
	else if (selected)
		attr = a_sel;
	else if (g->count == 0)
		attr = A_DIM;
	if (selected)
		fill(y, 0, COLS, attr);
	put(y, 0, COLS, attr, line);
}

static void draw_table(struct tui *t, const struct watch *w, int y0, int rows)
{
	size_t n;

	if (rows < 1)
		return;
	rows--;
	t->table_rows = rows > 0 ? (size_t)rows : 0;
	n = w->ngroups;
	if (rows && n) {
		if (t->sel < t->top)
			t->top = t->sel;
		if (t->sel >= t->top + (size_t)rows)
			t->top = t->sel - (size_t)rows + 1;
		if (t->top + (size_t)rows > n)
			t->top = n > (size_t)rows ? n - (size_t)rows : 0;
	}
	kind_width(t, w, t->top, n ? rows : 0);
	draw_column_header(w, y0);
	y0++;
	if (!n) {
		put(y0, 1, COLS, A_DIM, "no threads");
		return;
	}
	if (!rows)
		return;
	for (int r = 0; r < rows && t->top + (size_t)r < n; r++) {
		size_t i = t->top + (size_t)r;
		draw_row(t, &w->groups[i], w->ntrend, y0 + r, i == t->sel);
	}
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
	d->wg = find_group(w, t->det_kind, t->det_sig);
	d->g = d->wg ? d->wg->group : NULL;
	if (d->g && !d->g->count)
		d->g = NULL;
	d->t0 = d->g ? d->g->threads[0] : NULL;

	/* The summary. */
	if (d->wg) {
		const struct watch_group *wg = d->wg;
		const char *mark = mark_name(wg);
		append(buf, sizeof(buf), &len, "%zu %s%s  %s%s", wg->count,
		       wg->go ? "goroutine" : "thread", wg->count == 1 ? "" : "s",
		       wg->label, wg->go_system ? " (the runtime's own)" : "");
		if (d->t0 && d->t0->wait.kind == WAIT_OTHER && d->t0->wait.syscall_name)
			append(buf, sizeof(buf), &len, " (%s)", d->t0->wait.syscall_name);
		append(buf, sizeof(buf), &len, "  change %+ld  rate %+.1f/s  cpu %.1f%%",
		       wg->change, wg->rate, wg->cpu * 100);
		if (d->g && d->g->max_blocked_sec >= 0) {
			render_duration(d->g->min_blocked_sec >= 0 ? d->g->min_blocked_sec : 0,
					d1, sizeof(d1));
			render_duration(d->g->max_blocked_sec, d2, sizeof(d2));
			append(buf, sizeof(buf), &len, "  waiting %s %s %s%s", d1,
			       t->utf8 ? "…" : "...",
			       d->g->max_blocked_partial ? "at least " : "", d2);
		}
		if (*mark)
			append(buf, sizeof(buf), &len, "  [%s]", mark);
		snprintf(d->head[d->nhead], sizeof(d->head[0]), "%s", buf);
		d->head_attr[d->nhead++] = wg->suspect ? a_suspect : A_BOLD;
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
			d->head_attr[d->nhead++] = a_suspect;
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
	putf(y, 2, COLS, A_DIM, "%-*s  %s", (int)d->fn_width, fn, mod);
}

static void draw_frame(const struct detail *d, const struct frame *f, int y)
{
	char name[512], loc[512];
	bool own = f->module && d->snap->exe && strcmp(f->module, d->snap->exe) == 0;
	int x, fw = (int)d->fn_width, lw = (int)d->loc_width;

	frame_label(f, name, sizeof(name));
	frame_location(f, loc, sizeof(loc));
	x = put(y, 2, 2 + fw, own ? A_BOLD : A_DIM, name);
	if (x < 2 + fw)
		x = 2 + fw;
	put(y, x + 2, x + 2 + lw, own ? A_NORMAL : A_DIM, loc);
	x = 2 + fw + 2 + lw + 2;
	if (f->module && !own)
		x = put(y, x, COLS, A_DIM, path_base(f->module)) + 1;
	if (f->inlined)
		put(y, x, COLS, A_DIM, "(inlined)");
}

static void draw_thread(const struct detail *d, const struct thread *th, int y)
{
	char dur[32], obj[512];

	duration_or_dash(th->state == 'R' ? -1 : th->wait.blocked_sec, dur, sizeof(dur));
	wait_text(d->snap, &th->wait, obj, sizeof(obj));
	int x = putf(y, 0, COLS, A_NORMAL, " %8d  ", th->tid);
	put(y, x, x + 16, A_BOLD, thread_name(th) ? thread_name(th) : "?");
	putf(y, 1 + 8 + 2 + 16, COLS, A_NORMAL, "  %c  %8s  %s%s", th->state ? th->state : '?',
	     dur, obj, th->partial ? "  (stack incomplete)" : "");
}

static void draw_detail(struct tui *t, const struct watch *w, int y0, int rows)
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
			put(y, 0, COLS, d.head_attr[i], d.head[i]);
		} else if (i == d.stack_at) {
			put(y, 0, COLS, a_title, d.t0 ? "stack, innermost first" :
			    d.wg ? "stack (from the group's signature)" : "");
		} else if (i > d.stack_at && i <= d.stack_at + d.nframes) {
			size_t k = i - d.stack_at - 1;
			if (d.t0)
				draw_frame(&d, &d.t0->frames[k], y);
			else
				draw_signature_part(&d, t->det_sig, k, y);
		} else if (i == d.threads_at) {
			putf(y, 0, COLS, a_title, "threads (%zu)", d.nthreads);
		} else if (i == d.threads_at + 1) {
			fill(y, 0, COLS, a_colhead);
			putf(y, 0, COLS, a_colhead, " %8s  %-16s  %c  %8s  %s", "TID",
			     "NAME", 'S', "BLOCKED", "WAITS ON");
		} else if (i >= d.threads_at + 2) {
			size_t k = i - d.threads_at - 2;
			if (k < d.nthreads)
				draw_thread(&d, d.g->threads[k], y);
		}
	}
}

/* ---- help ---- */

static const char *const help_lines[] = {
	"threadleak top: threads grouped by stack and wait, followed over time",
	"",
	"  Up Down  j k      move the selection; in the stack view, scroll",
	"  PgUp PgDn         a page up or down",
	"  Home End          the first or the last",
	"  Enter             the selected group's stack and threads",
	"  Esc Enter q       from the stack view, back to the table",
	"  c  g  u           sort by count, by growth since start, by CPU",
	"  <  >  F6          the previous or the next sort order",
	"  p                 pause or resume refreshing",
	"  +  -              refresh less or more often; d: 0.5 1 2 5 10 s",
	"  space             refresh now",
	"  s                 save the current snapshot (for threadleak diff)",
	"  Ctrl-L            redraw the screen",
	"  h  ?  F1          this help",
	"  q  Ctrl-C         quit (q in the stack view goes back)",
	"",
	"MARK  growing: grew at least twice and never shrank over the last 4 samples",
	"      spinning: used half a CPU or more in each of the last 2 intervals",
	"      emptied: no members now; listed for 60 samples",
	"CHANGE since the first sample; RATE threads per second, last 5 intervals;",
	"CPU% of one core over the last interval; OLDEST the longest wait",
	"",
	"press any key to go back",
};

static void draw_help(int y0, int rows)
{
	size_t n = sizeof(help_lines) / sizeof(help_lines[0]);

	for (int r = 0; r < rows && (size_t)r < n; r++)
		put(y0 + r, 1, COLS, r == 0 ? a_title : A_NORMAL, help_lines[r]);
}

/* ---- status ---- */

static void draw_status(const struct tui *t, const struct tui_state *st,
			const struct layout *l)
{
	const char *hints;

	if (l->status_y < 0)
		return;
	fill(l->status_y, 0, COLS, a_status);
	if (st->message[0]) {
		put(l->status_y, 0, COLS - 1, a_message, st->message);
		return;
	}
	if (t->help)
		hints = "any key: back";
	else if (t->view == VIEW_DETAIL)
		hints = "Esc/Enter/q back (q in the table quits)  Up/Down scroll  "
			"s save  p pause  h help";
	else
		hints = "q quit  Up/Down select  Enter stack  c/g/u sort  p pause  "
			"+/- interval  s save  h help";
	put(l->status_y, 0, COLS - 1, a_status, hints);
}

/* ---- the contract ---- */

void tui_draw(struct tui *t, struct watch *w, const struct tui_state *st)
{
	struct layout l;

	if (!t || !t->active)
		return;
	erase();
	lay_out(&l);
	sync_selection(t, w);
	draw_header(t, w, st, &l);
	if (t->help)
		draw_help(l.body_y, l.body_rows);
	else if (w && w->snap && t->view == VIEW_DETAIL)
		draw_detail(t, w, l.body_y, l.body_rows);
	else if (w && w->snap)
		draw_table(t, w, l.body_y, l.body_rows);
	draw_status(t, st, &l);
	refresh();
	snprintf(t->drawn_message, sizeof(t->drawn_message), "%s", st->message);
	t->drawn_paused = st->paused;
	t->drawn_interval = st->interval;
}

static const double intervals[] = { 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60 };
#define NINTERVALS (sizeof(intervals) / sizeof(intervals[0]))

/* The next interval on the ladder up (dir > 0) or down, within [0.2, 60]. */
static double step_interval(double cur, int dir)
{
	if (dir > 0) {
		for (size_t i = 0; i < NINTERVALS; i++)
			if (intervals[i] > cur + 1e-9)
				return intervals[i];
		return intervals[NINTERVALS - 1];
	}
	for (size_t i = NINTERVALS; i-- > 0;)
		if (intervals[i] < cur - 1e-9)
			return intervals[i];
	return intervals[0];
}

/* 'd': 0.5 1 2 5 10 and round. */
static double cycle_interval(double cur)
{
	static const double cycle[] = { 0.5, 1, 2, 5, 10 };

	for (size_t i = 0; i < sizeof(cycle) / sizeof(cycle[0]); i++)
		if (cycle[i] > cur + 1e-9)
			return cycle[i];
	return cycle[0];
}

static void set_sort(struct tui *t, struct watch *w, enum watch_sort key)
{
	if (!w)
		return;
	sync_selection(t, w);	/* the selection's identity, before the order changes */
	watch_sort(w, key);
}

static void move_selection(struct tui *t, const struct watch *w, long delta,
			   bool absolute)
{
	long n, to;

	if (!w || !w->ngroups)
		return;
	sync_selection(t, w);
	n = (long)w->ngroups;
	to = absolute ? delta : (long)t->sel + delta;
	if (to >= n)
		to = n - 1;
	if (to < 0)
		to = 0;
	t->sel = (size_t)to;
	remember(&t->sel_sig, &t->sel_kind, &w->groups[t->sel]);
}

static void scroll_detail(struct tui *t, long delta, bool absolute)
{
	long to = absolute ? delta : (long)t->det_top + delta;

	t->det_top = to > 0 ? (size_t)to : 0;	/* the next draw clamps the end */
}

/* Handles one key; returns an event for the caller, or -1. */
static int handle_key(struct tui *t, struct watch *w, struct tui_state *st, int ch)
{
	long page = t->view == VIEW_DETAIL ? (long)t->det_rows : (long)t->table_rows;
	bool detail = t->view == VIEW_DETAIL;

	if (page < 1)
		page = 1;
	if (ch == KEY_RESIZE)
		return -1;	/* the caller redraws */
	st->message[0] = '\0';
	if (t->help) {
		t->help = false;
		return -1;
	}
	switch (ch) {
	case 'q':
		if (detail) {
			t->view = VIEW_TABLE;
			return -1;
		}
		return TUI_QUIT;
	case 'Q':
		return TUI_QUIT;
	case 's':
	case 'S':
		return TUI_SAVE;
	case ' ':
		return TUI_REFRESH;
	case 'p':
	case 'P':
		st->paused = !st->paused;
		return -1;
	case '+':
	case '=':
		st->interval = step_interval(st->interval, 1);
		return -1;
	case '-':
	case '_':
		st->interval = step_interval(st->interval, -1);
		return -1;
	case 'd':
		st->interval = cycle_interval(st->interval);
		return -1;
	case 'c':
		set_sort(t, w, WATCH_SORT_COUNT);
		return -1;
	case 'g':
		set_sort(t, w, WATCH_SORT_GROWTH);
		return -1;
	case 'u':
		set_sort(t, w, WATCH_SORT_CPU);
		return -1;
	case '>':
	case '.':
	case KEY_F(6):
		if (w)
			set_sort(t, w, (enum watch_sort)((w->sort + 1) % 3));
		return -1;
	case '<':
	case ',':
		if (w)
			set_sort(t, w, (enum watch_sort)((w->sort + 2) % 3));
		return -1;
	case 'h':
	case 'H':
	case '?':
	case KEY_F(1):
		t->help = true;
		return -1;
	case CTRL('l'):
		clearok(curscr, TRUE);
		return -1;
	}
	if (detail) {
		switch (ch) {
		case KEY_ESC:
		case '\n':
		case '\r':
		case KEY_ENTER:
		case KEY_LEFT:
		case KEY_BACKSPACE:
		case 127:
			t->view = VIEW_TABLE;
			break;
		case KEY_UP:
		case 'k':
			scroll_detail(t, -1, false);
			break;
		case KEY_DOWN:
		case 'j':
			scroll_detail(t, 1, false);
			break;
		case KEY_PPAGE:
		case CTRL('b'):
			scroll_detail(t, -page, false);
			break;
		case KEY_NPAGE:
		case CTRL('f'):
			scroll_detail(t, page, false);
			break;
		case KEY_HOME:
			scroll_detail(t, 0, true);
			break;
		case KEY_END:
			scroll_detail(t, LONG_MAX / 2, true);
			break;
		}
		return -1;
	}
	switch (ch) {
	case KEY_UP:
	case 'k':
		move_selection(t, w, -1, false);
		break;
	case KEY_DOWN:
	case 'j':
		move_selection(t, w, 1, false);
		break;
	case KEY_PPAGE:
	case CTRL('b'):
		move_selection(t, w, -page, false);
		break;
	case KEY_NPAGE:
	case CTRL('f'):
		move_selection(t, w, page, false);
		break;
	case KEY_HOME:
		move_selection(t, w, 0, true);
		break;
	case KEY_END:
		move_selection(t, w, LONG_MAX / 2, true);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case KEY_RIGHT:
		if (w && w->ngroups) {
			sync_selection(t, w);
			free(t->det_sig);
			t->det_sig = NULL;
			remember(&t->det_sig, &t->det_kind, &w->groups[t->sel]);
			t->det_top = 0;
			t->view = VIEW_DETAIL;
			return TUI_DETAIL;
		}
		break;
	}
	return -1;
}

bool tui_in_detail(const struct tui *t)
{
	return t && t->active && t->view == VIEW_DETAIL;
}

enum tui_event tui_wait(struct tui *t, struct watch *w, struct tui_state *st,
			double deadline)
{
	int fast_errors = 0;

	if (!t || !t->active)
		return TUI_QUIT;
	/* What changed since the last draw (a message after a save). */
	if (strcmp(st->message, t->drawn_message) || st->paused != t->drawn_paused ||
	    st->interval != t->drawn_interval)
		tui_draw(t, w, st);
	for (;;) {
		double now = now_sec(), began;
		int ms = WAIT_SLICE_MS, ch;

		if (pt_interrupted())
			return TUI_QUIT;
		if (!st->paused) {
			if (now >= deadline)
				return TUI_REFRESH;
			double left = ceil((deadline - now) * 1000);
			if (left < ms)
				ms = left < 1 ? 1 : (int)left;
		}
		timeout(ms);
		began = now;
		ch = getch();
		if (ch == ERR) {
			/*
			 * A timeout or a signal.  Many quick ones in a row with
			 * no signal mean the terminal is gone (EOF on stdin).
			 */
			if (now_sec() - began < 0.002 && ms > 2) {
				if (++fast_errors > 50)
					return TUI_QUIT;
			} else {
				fast_errors = 0;
			}
			continue;
		}
		fast_errors = 0;
		double old = st->interval;
		int ev = handle_key(t, w, st, ch);
		deadline += st->interval - old;
		if (ev >= 0)
			return (enum tui_event)ev;
		tui_draw(t, w, st);
	}
}

/* ---- open and close ---- */

static void restore_fatal_handlers(void)
{
	if (!fatal_installed)
		return;
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &fatal_old[i], NULL);
	fatal_installed = false;
}

/* Restores the terminal, then gives the signal to the previous handler. */
static void fatal_handler(int sig)
{
	if (curses_on) {
		curses_on = 0;
		endwin();
	}
	for (size_t i = 0; i < NFATAL; i++) {
		if (fatal_signals[i] != sig)
			continue;
		if (fatal_old[i].sa_handler == SIG_IGN)
			signal(sig, SIG_DFL);
		else
			sigaction(sig, &fatal_old[i], NULL);
	}
	raise(sig);	/* delivered when the handler returns */
}

static void install_fatal_handlers(void)
{
	struct sigaction sa;

	if (fatal_installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &sa, &fatal_old[i]);
	fatal_installed = true;
}

static void close_at_exit(void)
{
	tui_close(&the_tui);
}

static void set_attributes(struct tui *t)
{
	const char *no_color = getenv("NO_COLOR");

	t->color = has_colors() && !(no_color && *no_color) && start_color() == OK;
	if (t->color) {
		short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
		init_pair(PAIR_TITLE, COLOR_CYAN, bg);
		init_pair(PAIR_COLHEAD, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_SEL, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_SUSPECT, COLOR_RED, bg);
		init_pair(PAIR_KIND, COLOR_YELLOW, bg);
		init_pair(PAIR_SEL_SUSPECT, COLOR_RED, COLOR_CYAN);
		a_title = COLOR_PAIR(PAIR_TITLE) | A_BOLD;
		a_colhead = COLOR_PAIR(PAIR_COLHEAD);
		a_sel = COLOR_PAIR(PAIR_SEL);
		a_sel_suspect = COLOR_PAIR(PAIR_SEL_SUSPECT) | A_BOLD;
		a_suspect = COLOR_PAIR(PAIR_SUSPECT) | A_BOLD;
		a_kind = COLOR_PAIR(PAIR_KIND);
	} else {
		a_title = A_BOLD;
		a_colhead = A_REVERSE;
		a_sel = A_REVERSE;
		a_sel_suspect = A_REVERSE | A_BOLD;
		a_suspect = A_BOLD;
		a_kind = A_NORMAL;
	}
	a_status = A_REVERSE;
	a_message = A_REVERSE | A_BOLD;
}

/*
 * Home and End as terminals send them whatever their terminfo says (tmux
 * and xterm send ESC O H in keypad mode, rxvt ESC [ 7 ~), as htop does.
 */
static void define_extra_keys(void)
{
	static const struct {
		const char *seq;
		int key;
	} keys[] = {
		{ "\033OH", KEY_HOME }, { "\033[H", KEY_HOME }, { "\033[1~", KEY_HOME },
		{ "\033[7~", KEY_HOME }, { "\033OF", KEY_END }, { "\033[F", KEY_END },
		{ "\033[4~", KEY_END }, { "\033[8~", KEY_END },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (key_defined(keys[i].seq) == 0)
			define_key(keys[i].seq, keys[i].key);
}

struct tui *tui_open(char *err, size_t errlen)
{
	static bool registered;
	struct tui *t = &the_tui;
	const char *term = getenv("TERM"), *codeset;
	SCREEN *screen;

	if (t->active) {
		snprintf(err, errlen, "the interactive view is already open");
		return NULL;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "standard %s is not a terminal",
			 isatty(STDIN_FILENO) ? "output" : "input");
		return NULL;
	}
	if (!term || !*term) {
		snprintf(err, errlen, "TERM is not set: cannot drive the terminal");
		return NULL;
	}
	/* The locale's character set, for wide glyphs; numbers stay "1.5". */
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	codeset = nl_langinfo(CODESET);
	fflush(stdout);
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		snprintf(err, errlen, "cannot drive the terminal '%.64s' with curses",
			 term);
		return NULL;
	}
	if (!tigetstr("cup") || tigetstr("cup") == (char *)-1) {
		endwin();
		delscreen(screen);
		snprintf(err, errlen, "the terminal '%.64s' cannot move the cursor",
			 term);
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->utf8 = codeset && strcmp(codeset, "UTF-8") == 0;
	t->screen = screen;
	set_term(screen);
	t->active = true;
	curses_on = 1;
	if (!registered && atexit(close_at_exit) == 0)
		registered = true;
	install_fatal_handlers();

	cbreak();		/* not raw(): Ctrl-C stays SIGINT */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	define_extra_keys();
	set_escdelay(25);
	curs_set(0);
	set_attributes(t);
	t->drawn_interval = -1;
	return t;
}

void tui_close(struct tui *t)
{
	if (!t || !t->active)
		return;
	t->active = false;
	curses_on = 0;
	endwin();
	delscreen(t->screen);
	t->screen = NULL;
	restore_fatal_handlers();
	free(t->sel_sig);
	free(t->det_sig);
	t->sel_sig = t->det_sig = NULL;
	fflush(stdout);
}
