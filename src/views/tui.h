/*
 * tui: the interactive screen of `threadleak top` (ncurses), in the spirit
 * of htop: a header (process, thread total and its trend, totals per wait
 * kind, CPU), a table of the watch's groups with suspects highlighted, a
 * detail view of one group (full stack, its threads), and a status line of
 * keys and messages.
 *
 * The loop is the caller's (cmd/top.c): it refreshes the watch, then calls
 * tui_draw() and tui_wait().  tui_wait() reads keys until the deadline and
 * handles the ones that only change the view itself (moving the selection,
 * Enter/Esc for the detail view, sorting, pause, the refresh interval,
 * terminal resizes), redrawing as needed; it returns to the caller for
 * what the caller must do (refresh, quit, save).
 *
 * The terminal is always restored: tui_close() is idempotent and is also
 * registered with atexit() by tui_open(), and a fatal signal restores it
 * before the process dies.
 */
#ifndef THREADLEAK_TUI_H
#define THREADLEAK_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include "views/watch.h"

/* What the loop shares with the screen. */
struct tui_state {
	int pid;
	double interval;	/* seconds between refreshes; keys change it */
	bool paused;		/* 'p': no refreshes until unpaused */
	char message[256];	/* shown in the status line until the next key */
	double capture_ms;	/* the last refresh's capture time */
	size_t recaptured;	/* threads the last refresh captured again */
};

enum tui_event {
	TUI_REFRESH,	/* the deadline passed (and not paused): refresh now */
	TUI_QUIT,	/* 'q', or SIGINT/SIGTERM/SIGHUP (pt_interrupted()) */
	TUI_SAVE,	/* 's': save the current snapshot for diff */
	TUI_DETAIL,	/* Enter: a group's detail view, where each thread's
			   wait shows: read those not read yet, draw again */
};

struct tui;

/* NULL and a one-line reason in err when stdin/stdout is not a terminal or
 * curses cannot start. */
struct tui *tui_open(char *err, size_t errlen);
/* Restores the terminal; NULL-safe, and safe to call twice. */
void tui_close(struct tui *t);
void tui_draw(struct tui *t, struct watch *w, const struct tui_state *st);
/* Whether a group's detail view is shown (it lists each thread's wait). */
bool tui_in_detail(const struct tui *t);
/* Handles keys until deadline (monotonic seconds, util.h now_sec()). */
enum tui_event tui_wait(struct tui *t, struct watch *w, struct tui_state *st,
			double deadline);

#endif
