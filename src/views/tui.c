/*
 * tui: the interactive screen of `threadleak top`; see tui.h.  This file
 * holds its state and its keys; tui-draw.c draws it, tui-detail.c draws
 * one group's detail view (tui-impl.h is what they share).
 *
 * The view keeps the selected group and the group shown in detail by
 * identity (wait kind and signature, as watch.h matches groups), so a
 * selection survives refreshes and re-sorts.  A key that only changes the
 * view is handled here and drawn again; the others go back to the caller.
 *
 * There is one screen per process: the state is a singleton, which
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target/ptrace.h"
#include "views/tui-impl.h"
#include "base/util.h"

#define KEY_ESC 27
#define CTRL(c) ((c) & 0x1f)
#define WAIT_SLICE_MS 200	/* longest getch wait: how soon a signal is seen */

struct tui tui_singleton;
struct tui_attrs tui_attr;
static volatile sig_atomic_t curses_on;

enum { PAIR_TITLE = 1, PAIR_COLHEAD, PAIR_SEL, PAIR_SUSPECT, PAIR_KIND,
       PAIR_SEL_SUSPECT };

static const int fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE };
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction fatal_old[NFATAL];
static bool fatal_installed;

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

const struct watch_group *tui_find_group(const struct watch *w,
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
void tui_sync_selection(struct tui *t, const struct watch *w)
{
	/* (groups is never NULL with ngroups > 0: watch.c grows it first;
	 * scan-build cannot see that across files) */
	if (!w || !w->ngroups || !w->groups) {
		t->sel = 0;
		return;
	}
	if (t->sel_sig && !(t->sel < w->ngroups &&
			    same_group(&w->groups[t->sel], t->sel_kind, t->sel_sig))) {
		const struct watch_group *g = tui_find_group(w, t->sel_kind, t->sel_sig);
		if (g)
			t->sel = (size_t)(g - w->groups);
	}
	if (t->sel >= w->ngroups)
		t->sel = w->ngroups - 1;
	remember(&t->sel_sig, &t->sel_kind, &w->groups[t->sel]);
}

/* ---- keys ---- */

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
	tui_sync_selection(t, w);	/* the selection's identity, before the order changes */
	watch_sort(w, key);
}

static void move_selection(struct tui *t, const struct watch *w, long delta,
			   bool absolute)
{
	long n, to;

	if (!w || !w->ngroups)
		return;
	tui_sync_selection(t, w);
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
			tui_sync_selection(t, w);
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
	tui_close(&tui_singleton);
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
		tui_attr.title = COLOR_PAIR(PAIR_TITLE) | A_BOLD;
		tui_attr.colhead = COLOR_PAIR(PAIR_COLHEAD);
		tui_attr.sel = COLOR_PAIR(PAIR_SEL);
		tui_attr.sel_suspect = COLOR_PAIR(PAIR_SEL_SUSPECT) | A_BOLD;
		tui_attr.suspect = COLOR_PAIR(PAIR_SUSPECT) | A_BOLD;
		tui_attr.kind = COLOR_PAIR(PAIR_KIND);
	} else {
		tui_attr.title = A_BOLD;
		tui_attr.colhead = A_REVERSE;
		tui_attr.sel = A_REVERSE;
		tui_attr.sel_suspect = A_REVERSE | A_BOLD;
		tui_attr.suspect = A_BOLD;
		tui_attr.kind = A_NORMAL;
	}
	tui_attr.status = A_REVERSE;
	tui_attr.message = A_REVERSE | A_BOLD;
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
	struct tui *t = &tui_singleton;
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
