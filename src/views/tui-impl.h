/*
 * tui-impl.h: what the files of the interactive screen share, not an API
 * (that is tui.h).  tui.c holds the state (the one screen, its
 * selection, the keys, opening and closing); tui-draw.c draws the header,
 * the table, the help and the status line through one clipping writer,
 * tui_put(); tui-detail.c draws one group's detail view with it.
 */
#ifndef THREADLEAK_TUI_IMPL_H
#define THREADLEAK_TUI_IMPL_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "views/tui.h"

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

/* The one screen of the process (tui.c): the atexit() and fatal-signal
 * handlers reach it, and tui_put() reads its character set. */
extern struct tui tui_singleton;

/* Attributes, set by tui_open() for colour or monochrome. */
struct tui_attrs {
	attr_t title, colhead, sel, sel_suspect, suspect, kind, status, message;
};
extern struct tui_attrs tui_attr;

/* ---- the clipping writer and text (tui-draw.c) ---- */

/* Writes s at row y from column x, in columns [x, maxx) of the screen
 * only, with attr; control characters show as '?'.  Returns the column
 * after the text. */
int tui_put(int y, int x, int maxx, attr_t attr, const char *s);
__attribute__((format(printf, 5, 6)))
int tui_putf(int y, int x, int maxx, attr_t attr, const char *fmt, ...);
/* Paints columns [x, maxx) of row y blank with attr. */
void tui_fill(int y, int x, int maxx, attr_t attr);
/* Appends to buf (of size) at *len, keeping it terminated. */
__attribute__((format(printf, 4, 5)))
void tui_append(char *buf, size_t size, size_t *len, const char *fmt, ...);
/* A group's MARK: "growing", "spinning", "grow+spin", "emptied" or "". */
const char *tui_mark_name(const struct watch_group *g);
/* render_duration(), or "-" for a negative time. */
void tui_duration_or_dash(double sec, char *buf, size_t size);

/* ---- the selection (tui.c) ---- */

/* The group of w with that identity, NULL when there is none. */
const struct watch_group *tui_find_group(const struct watch *w,
					 enum wait_kind kind, const char *sig);
/* Points t->sel at the selected group in w's current order. */
void tui_sync_selection(struct tui *t, const struct watch *w);

/* ---- the detail view (tui-detail.c) ---- */

void tui_draw_detail(struct tui *t, const struct watch *w, int y0, int rows);

#endif
