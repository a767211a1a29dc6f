/*
 * labels: a goroutine's pprof labels (snapshot.h struct label) as pprof
 * shows them, and their order.
 *
 * pprof's goroutine profile at debug=1 prints a group's labels as
 * `# labels: {"k":"v", "k2":"v2"}`: each pair as Go's %q quotes the key
 * and the value, the pairs sorted as those strings sort, joined by ", ".
 * labels_text() makes the same text: the key of a group (group.h: two
 * stacks with different labels are two groups, as debug=1 splits them),
 * what the text output prints, and the value of serve's pprof_labels.
 *
 * Go's quoting (strconv.Quote) is followed for ASCII (\a \b \f \n \r \t
 * \v, \xNN for other control bytes and DEL, \" and \\), for bytes that are
 * not UTF-8 (\xNN each), and for the characters Unicode says do not print
 * that labels may hold (C1 controls, no-break and other spaces than
 * U+0020, format characters such as U+200B-U+200F and the bidirectional
 * controls, line and paragraph separators, private use, U+FEFF,
 * noncharacters: \uNNNN or \UNNNNNNNN).  An unassigned code point, which
 * Go also escapes, is kept as it is: that needs Unicode's tables.  The
 * text is then plain ASCII but for printable UTF-8.
 *
 * Memory: labels_text() returns a string the caller frees.
 */
#ifndef THREADLEAK_LABELS_H
#define THREADLEAK_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "model/snapshot.h"

/* "{...}" for the n labels at l (n may be 0: "{}"); NULL when out of
 * memory. */
char *labels_text(const struct label *l, size_t n);
/* s quoted as Go's %q does, into buf (size > 0), cut to fit; returns the
 * length the whole quoted text has. */
size_t labels_quote(const char *s, char *buf, size_t size);
/* Sorts the n labels at l by key (strcmp) and keeps the first of equal
 * keys; the others' strings are freed when free_dups.  Returns how many
 * remain. */
size_t labels_sort(struct label *l, size_t n, bool free_dups);
/* The len bytes at s (s[len] readable, '\0') as a label's string: valid
 * UTF-8, each byte that is not and each NUL made U+FFFD, cut at a
 * character to LABEL_LEN_MAX bytes; malloc'd, NULL when out of memory. */
char *labels_clean(const char *s, size_t len);
/* Whether two entries have the same label set (none and {} differ). */
bool labels_equal(const struct thread *a, const struct thread *b);

#endif
