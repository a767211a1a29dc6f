/*
 * tui-draw: the interactive screen drawn (see tui.h, tui-impl.h): the
 * header, the table of groups, the help and the status line; the detail
 * view is tui-detail.c's.
 *
 * Every tui_draw() erases the screen and draws what is visible from the
 * watch (ncurses sends only the difference), so drawing costs the size of
 * the terminal, not the size of the process: only the visible rows of the
 * table, the visible lines of the detail view.  The one pass over all the
 * groups is the search for the selected one, by identity (tui.c).  All
 * text goes through one clipping writer, tui_put(), which never writes
 * past the right edge and shows control characters (thread names are the
 * target's) as '?'.
 */
#include <curses.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "views/render.h"
#include "views/tui-impl.h"

#define TREND_WIDTH 8		/* samples in a group's trend column */
#define TREND_MIN_COLS 100	/* narrower screens have no trend column */
#define KIND_MIN 8		/* the KIND column's width at least, */
#define KIND_MAX 16		/* at most under 120 columns ("GC scavenge wait") */
#define KIND_MAX_WIDE 24	/* and at 120 or more */

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

/* Display width of s as tui_put() would show it. */
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
int tui_put(int y, int x, int maxx, attr_t attr, const char *s)
{
	const struct tui *t = &tui_singleton;
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

/* printf into tui_put(). */
__attribute__((format(printf, 5, 6)))
int tui_putf(int y, int x, int maxx, attr_t attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return tui_put(y, x, maxx, attr, buf);
}

/* Paints columns [x, maxx) of row y blank with attr. */
void tui_fill(int y, int x, int maxx, attr_t attr)
{
	if (maxx > COLS)
		maxx = COLS;
	if (y < 0 || y >= LINES || x < 0 || x >= maxx)
		return;
	mvhline(y, x, ' ' | attr, maxx - x);
}

/* Appends to buf (of size) at *len, keeping it terminated. */
__attribute__((format(printf, 4, 5)))
void tui_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
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
			tui_append(buf, size, &len, "%s", blocks[level]);
		else
			tui_append(buf, size, &len, "%c", ascii[level]);
	}
	return (int)(n - from);
}

const char *tui_mark_name(const struct watch_group *g)
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

void tui_duration_or_dash(double sec, char *buf, size_t size)
{
	if (sec < 0)
		snprintf(buf, size, "-");
	else
		render_duration(sec, buf, size);
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
	const struct tui *t = &tui_singleton;
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (*x + text_width(t, buf) > (maxx < COLS ? maxx : COLS))
		return false;
	*x = tui_put(y, *x, maxx, attr, buf);
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
		tui_put(0, rx, COLS, st->paused ? tui_attr.suspect | A_REVERSE : A_NORMAL, right);
		rx -= 2;
	} else {
		rx = COLS;
	}
	x = tui_putf(0, 0, rx, tui_attr.title, "pid %d", st->pid);
	x = tui_putf(0, x, rx, A_BOLD, " %s", snap && snap->comm ? snap->comm : "?");
	if (!snap) {
		tui_put(0, x, rx, A_NORMAL, "  waiting for the first sample");
		return;
	}
	render_nspid(snap, buf, sizeof(buf));
	if (buf[0])	/* ", 1 in its namespace" */
		x = tui_putf(0, x, rx, A_NORMAL, " (%s)", buf + 2);
	render_where(snap, buf, sizeof(buf));
	if (buf[0])
		x = tui_putf(0, x, rx, A_NORMAL, " in %s", buf);
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
			x = tui_put(0, x + 1, rx, tui_attr.title, spark);
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
		field(1, &x, COLS, w->suspects ? tui_attr.suspect : A_NORMAL, "suspects %zu",
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
		x = tui_put(2, 0, COLS, A_NORMAL, "waits ");
		tui_put(2, x, COLS, tui_attr.kind, buf[0] ? buf : "-");
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

	tui_append(buf, size, len, " ");
	if (columns[c].right)
		tui_append(buf, size, len, "%*s%s", pad, "", text);
	else if (c == COL_WHERE)
		tui_append(buf, size, len, "%s", text);
	else
		tui_append(buf, size, len, "%s%*s", text, pad, "");
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

/* label as tui_put() shows it, cut to the KIND column with an ellipsis;
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

	tui_fill(y, 0, COLS, tui_attr.colhead);
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
			tui_put(y, x, COLS, tui_attr.colhead, buf + before);
			tui_put(y, lx, COLS, tui_attr.colhead | A_BOLD | A_UNDERLINE,
			    columns[c].label);
		} else {
			tui_put(y, x, COLS, tui_attr.colhead, buf + before);
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
	tui_duration_or_dash(g->count ? g->max_blocked_sec : -1, cell + !!cell[0],
			 sizeof(cell) - 1);
	append_cell(line, sizeof(line), &len, COL_OLDEST, cell, (int)strlen(cell));
	snprintf(cell, sizeof(cell), "%s", tui_mark_name(g));
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
		attr = selected ? tui_attr.sel_suspect : tui_attr.suspect;
	else if (selected)
		attr = tui_attr.sel;
	else if (g->count == 0)
		attr = A_DIM;
	if (selected)
		tui_fill(y, 0, COLS, attr);
	tui_put(y, 0, COLS, attr, line);
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
		tui_put(y0, 1, COLS, A_DIM, "no threads");
		return;
	}
	if (!rows)
		return;
	for (int r = 0; r < rows && t->top + (size_t)r < n; r++) {
		size_t i = t->top + (size_t)r;
		draw_row(t, &w->groups[i], w->ntrend, y0 + r, i == t->sel);
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
		tui_put(y0 + r, 1, COLS, r == 0 ? tui_attr.title : A_NORMAL, help_lines[r]);
}

/* ---- status ---- */

static void draw_status(const struct tui *t, const struct tui_state *st,
			const struct layout *l)
{
	const char *hints;

	if (l->status_y < 0)
		return;
	tui_fill(l->status_y, 0, COLS, tui_attr.status);
	if (st->message[0]) {
		tui_put(l->status_y, 0, COLS - 1, tui_attr.message, st->message);
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
	tui_put(l->status_y, 0, COLS - 1, tui_attr.status, hints);
}

/* ---- the contract ---- */

void tui_draw(struct tui *t, struct watch *w, const struct tui_state *st)
{
	struct layout l;

	if (!t || !t->active)
		return;
	erase();
	lay_out(&l);
	tui_sync_selection(t, w);
	draw_header(t, w, st, &l);
	if (t->help)
		draw_help(l.body_y, l.body_rows);
	else if (w && w->snap && t->view == VIEW_DETAIL)
		tui_draw_detail(t, w, l.body_y, l.body_rows);
	else if (w && w->snap)
		draw_table(t, w, l.body_y, l.body_rows);
	draw_status(t, st, &l);
	refresh();
	snprintf(t->drawn_message, sizeof(t->drawn_message), "%s", st->message);
	t->drawn_paused = st->paused;
	t->drawn_interval = st->interval;
}
