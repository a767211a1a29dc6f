/*
 * ignore: which threads `check` does not report, as goleak's options do:
 * rules read from the command line, from a suppressions file, and from
 * the default list of the threads that language runtimes and the C
 * library keep for themselves (share/threadleak/runtimes.supp, built into
 * the binary as ignore_defaults).
 *
 * A rule is one or more conditions that must all hold; each condition
 * tests a thread (or the stack that created it) against a pattern:
 *
 *	ignore-top FUNC		the innermost frame outside the C library
 *	ignore FUNC		any frame
 *	ignore-created-by FUNC	any frame of the creating stack
 *	ignore-name NAME	the thread's name (/proc comm: 15 bytes)
 *	ignore-module MODULE	any frame's module, a file name without its
 *				directory
 *
 * A pattern is text where '*' stands for any run of characters.  A
 * function pattern without '*' also matches the function's compiler clones
 * and C++ signatures (group.h, function_is); "MODULE!FUNC", as in a stack
 * signature, also wants the frame in MODULE ("libc.so*!helper_thread").
 *
 * File format: one rule a line, conditions side by side ("ignore-name
 * "VM Thread" ignore-module libjvm.so"); a pattern with spaces is quoted
 * with '"' (\" and \\ inside); blank lines and '#' lines are skipped.  A
 * file is read whole or rejected: a regular file, at most IGNORE_FILE_MAX
 * bytes, text without NUL bytes.
 *
 * Memory: the set owns its rules; ignore_free() releases them.
 */
#ifndef THREADLEAK_IGNORE_H
#define THREADLEAK_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/snapshot.h"

#define IGNORE_FILE_MAX (1 << 20)

enum ignore_kind {
	IGNORE_TOP,
	IGNORE_FUNCTION,
	IGNORE_CREATED_BY,
	IGNORE_NAME,
	IGNORE_MODULE,
};

struct ignore_cond {
	enum ignore_kind kind;
	char *pattern;
};

struct ignore_rule {
	struct ignore_cond *conds;
	size_t nconds;
	bool by_default;	/* from the default list */
};

struct ignore_set {
	struct ignore_rule *rules;
	size_t nrules, cap;
};

/* The default list's text (runtimes.supp), NUL-terminated. */
extern const char ignore_defaults[];

void ignore_free(struct ignore_set *s);
/* A rule of one condition; 0 or -ENOMEM. */
int ignore_add(struct ignore_set *s, enum ignore_kind kind, const char *pattern);
/* Rules from text (name: for messages); 0, or -EINVAL with "NAME:LINE:
 * reason" in err, or -ENOMEM. */
int ignore_parse(struct ignore_set *s, const char *text, size_t len,
		 const char *name, bool by_default, char *err, size_t errlen);
/* Rules from a file; 0, or -errno with the reason in err. */
int ignore_load_file(struct ignore_set *s, const char *path, char *err,
		     size_t errlen);
/* The rule that ignores thread t (created_by: its creating stack, frames
 * only, may have none), or NULL. */
const struct ignore_rule *ignore_match(const struct ignore_set *s,
				       const struct thread *t,
				       const struct thread *created_by);
/* '*' matches any run of characters, everything else itself. */
bool ignore_pattern_match(const char *pattern, const char *text);

#endif
