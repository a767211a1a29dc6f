/*
 * ignore: rules, their text form, and matching; see ignore.h.
 *
 * The parser works on a buffer: a file is read whole first (bounded, and
 * only a regular file: /dev/zero or a directory is refused before a byte
 * is parsed), and the default list is a string in the binary.  A line is
 * cut into words (quoted or not), taken two by two as (condition,
 * pattern); a line that does not make whole pairs of known conditions is
 * an error naming the line.
 */
#include "check/ignore.h"
#include "model/group.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_WORDS 16
#define WORD_MAX 1024

static const struct { const char *word; enum ignore_kind kind; } words[] = {
	{ "ignore-top", IGNORE_TOP },
	{ "ignore", IGNORE_FUNCTION },
	{ "ignore-created-by", IGNORE_CREATED_BY },
	{ "ignore-name", IGNORE_NAME },
	{ "ignore-module", IGNORE_MODULE },
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void rule_free(struct ignore_rule *r)
{
	for (size_t i = 0; i < r->nconds; i++)
		free(r->conds[i].pattern);
	free(r->conds);
}

void ignore_free(struct ignore_set *s)
{
	for (size_t i = 0; i < s->nrules; i++)
		rule_free(&s->rules[i]);
	free(s->rules);
	memset(s, 0, sizeof(*s));
}

/* Takes r (its conditions) into the set; frees it on failure. */
static int add_rule(struct ignore_set *s, struct ignore_rule *r)
{
	if (grow_array(&s->rules, &s->cap, s->nrules + 1, sizeof(*s->rules)) < 0) {
		rule_free(r);
		return -ENOMEM;
	}
	s->rules[s->nrules++] = *r;
	return 0;
}

int ignore_add(struct ignore_set *s, enum ignore_kind kind, const char *pattern)
{
	struct ignore_rule r = { .conds = calloc(1, sizeof(*r.conds)) };

	if (!r.conds)
		return -ENOMEM;
	r.conds[0] = (struct ignore_cond){ kind, strdup(pattern) };
	r.nconds = 1;
	if (!r.conds[0].pattern) {
		rule_free(&r);
		return -ENOMEM;
	}
	return add_rule(s, &r);
}

/*
 * The next word of line [*p, end) into out (NUL-terminated): 1, 0 at the
 * end of the line, or -1 with a reason (an open quote, a word too long).
 */
static int next_word(const char **p, const char *end, char *out, const char **why)
{
	const char *q = *p;
	size_t n = 0;

	while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
		q++;
	if (q == end) {
		*p = q;
		return 0;
	}
	if (*q == '"') {
		for (q++;; q++) {
			if (q == end) {
				*why = "a quote is not closed";
				return -1;
			}
			if (*q == '"')
				break;
			if (*q == '\\' && q + 1 < end && (q[1] == '"' || q[1] == '\\'))
				q++;
			if (n + 1 >= WORD_MAX) {
				*why = "a pattern longer than 1023 bytes";
				return -1;
			}
			out[n++] = *q;
		}
		q++;
	} else {
		for (; q < end && *q != ' ' && *q != '\t' && *q != '\r'; q++) {
			if (n + 1 >= WORD_MAX) {
				*why = "a pattern longer than 1023 bytes";
				return -1;
			}
			out[n++] = *q;
		}
	}
	out[n] = '\0';
	*p = q;
	return 1;
}

/* One line into a rule (none for a blank or '#' line): 0, -EINVAL with
 * *why, or -ENOMEM. */
static int parse_line(struct ignore_set *s, const char *line, const char *end,
		      bool by_default, const char **why)
{
	struct ignore_rule r = { .by_default = by_default };
	char word[WORD_MAX], pat[WORD_MAX];
	const char *p = line;
	int rc;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p == end || *p == '#')
		return 0;
	while ((rc = next_word(&p, end, word, why)) == 1) {
		size_t k;
		for (k = 0; k < NWORDS; k++)
			if (strcmp(word, words[k].word) == 0)
				break;
		if (k == NWORDS) {
			*why = "expected 'ignore-top FUNC', 'ignore FUNC', 'ignore-created-by FUNC', 'ignore-name NAME' or 'ignore-module MODULE'";
			goto out_invalid;
		}
		rc = next_word(&p, end, pat, why);
		if (rc < 0)
			goto out_invalid;
		if (rc == 0 || !pat[0]) {
			*why = "a condition without its pattern";
			goto out_invalid;
		}
		if (r.nconds == LINE_MAX_WORDS) {
			*why = "more than 16 conditions on one line";
			goto out_invalid;
		}
		struct ignore_cond *c = realloc(r.conds, (r.nconds + 1) * sizeof(*c));
		if (!c) {
			rule_free(&r);
			return -ENOMEM;
		}
		r.conds = c;
		c[r.nconds] = (struct ignore_cond){ words[k].kind, strdup(pat) };
		if (!c[r.nconds++].pattern) {
			rule_free(&r);
			return -ENOMEM;
		}
	}
	if (rc < 0)
		goto out_invalid;
	return add_rule(s, &r);
out_invalid:
	rule_free(&r);
	return -EINVAL;
}

int ignore_parse(struct ignore_set *s, const char *text, size_t len,
		 const char *name, bool by_default, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int lineno = 0;

	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: not a text file (it holds a NUL byte)", name);
		return -EINVAL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *why = NULL;
		lineno++;
		int rc = parse_line(s, p, eol, by_default, &why);
		if (rc == -EINVAL) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			return rc;
		}
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			return rc;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int ignore_load_file(struct ignore_set *s, const char *path, char *err,
		     size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), rc;
	char *buf;
	ssize_t n;
	size_t len = 0;

	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file: a suppressions file is a text file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > IGNORE_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes: not a suppressions file",
			 path, IGNORE_FILE_MAX);
		close(fd);
		return -EFBIG;
	}
	buf = malloc(IGNORE_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Bounded even if it grows while we read. */
	while (len <= IGNORE_FILE_MAX &&
	       (n = read(fd, buf + len, IGNORE_FILE_MAX + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -errno;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > IGNORE_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes: not a suppressions file",
			 path, IGNORE_FILE_MAX);
		free(buf);
		return -EFBIG;
	}
	rc = ignore_parse(s, buf, len, path, false, err, errlen);
	free(buf);
	return rc;
}

bool ignore_pattern_match(const char *pat, const char *text)
{
	const char *star = NULL, *resume = NULL;

	/* Greedy with one backtrack point: the last '*' seen. */
	while (*text) {
		if (*pat == '*') {
			star = ++pat;
			resume = text;
		} else if (*pat && *pat == *text) {
			pat++;
			text++;
		} else if (star) {
			pat = star;
			text = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

static bool function_matches(const char *pattern, const char *fn)
{
	if (!fn)
		return false;
	return strchr(pattern, '*') ? ignore_pattern_match(pattern, fn) :
				      function_is(fn, pattern);
}

/* A frame against a function pattern; "MODULE!FUNC" (as in a stack
 * signature, group.h) names the module too. */
static bool frame_matches(const char *pattern, const struct frame *f)
{
	const char *bang = strchr(pattern, '!');
	char mod[WORD_MAX];

	if (!bang)
		return function_matches(pattern, f->function);
	if (!f->module || (size_t)(bang - pattern) >= sizeof(mod))
		return false;
	memcpy(mod, pattern, (size_t)(bang - pattern));
	mod[bang - pattern] = '\0';
	return ignore_pattern_match(mod, path_base(f->module)) &&
	       function_matches(bang + 1, f->function);
}

static bool any_frame(const struct thread *t, const char *pattern, bool module)
{
	for (size_t i = 0; t && i < t->nframes; i++) {
		const struct frame *f = &t->frames[i];
		if (module ? f->module && ignore_pattern_match(pattern, path_base(f->module)) :
			     frame_matches(pattern, f))
			return true;
	}
	return false;
}

static bool cond_holds(const struct ignore_cond *c, const struct thread *t,
		       const struct thread *created_by)
{
	const struct frame *top;

	switch (c->kind) {
	case IGNORE_TOP:
		top = thread_top_frame(t);
		return top && frame_matches(c->pattern, top);
	case IGNORE_FUNCTION:
		return any_frame(t, c->pattern, false);
	case IGNORE_CREATED_BY:
		return any_frame(created_by, c->pattern, false);
	case IGNORE_NAME:
		return thread_name(t) && ignore_pattern_match(c->pattern, thread_name(t));
	case IGNORE_MODULE:
		return any_frame(t, c->pattern, true);
	}
	return false;
}

const struct ignore_rule *ignore_match(const struct ignore_set *s,
				       const struct thread *t,
				       const struct thread *created_by)
{
	for (size_t i = 0; i < s->nrules; i++) {
		const struct ignore_rule *r = &s->rules[i];
		size_t k;
		for (k = 0; k < r->nconds; k++)
			if (!cond_holds(&r->conds[k], t, created_by))
				break;
		if (r->nconds && k == r->nconds)
			return r;
	}
	return NULL;
}
