/*
 * escape: text from the target or from a file, made safe for a terminal.
 *
 * Thread names, function and file names from debug info, fd paths, socket
 * descriptions and every string read from a snapshot file are untrusted:
 * printed raw, an ESC sequence in a thread's name could set the
 * terminal's title, clear the screen or forge lines of the report.  The
 * text output escapes every control character as ps and ls do: C0 bytes
 * and DEL as \xNN, C1 controls (U+0080-U+009F) and the bidirectional
 * overrides (which reorder what is shown) as \uNNNN, a byte that is not
 * valid UTF-8 as \xNN.  Everything else, UTF-8 included, is kept.  JSON
 * output keeps the true bytes (escaped as JSON).
 *
 * Memory: esc() returns its argument when nothing needs escaping, else a
 * buffer of a small ring owned by this module (ESC_RING of them, per
 * thread): enough for the arguments of one printf, valid until that many
 * more calls.
 */
#ifndef THREADLEAK_ESCAPE_H
#define THREADLEAK_ESCAPE_H

#include <stddef.h>

#define ESC_RING 16

/* s made safe to print; NULL stays NULL. */
const char *esc(const char *s);
#endif
