/*
 * options: one parser for every command's option table (options.h).
 * From the table it builds getopt_long's short string and long options
 * (an option's getopt code is its letter, or 256 + its index, which an
 * alias shares so that an abbreviation of both stays one option), reads
 * each value by its kind, and prints the --help: the command's head,
 * a line per option ("  -o, --output FILE", its help from .column, two
 * spaces at least) and the tail.  The messages are the commands' own:
 * "unknown option", "needs a value" and the kinds' bad values.
 */
#include "options.h"
#include "cmd.h"
#include "base/duration.h"
#include "export/format.h"
#include "stacks/unwind.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS_MAX 32	/* options a command declares, at most */

/* Seconds in [min, max] ("0.5"); false if s is not that. */
static bool parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* getopt's ':' and '?': the one-line error.  A negative number is
 * taken for a pid put where an option was. */
/* A group of letters ("-qz"), whose last one is c when last. */
static bool short_group(const char *w, int c, bool last)
{
	size_t n = strlen(w);

	return n >= 2 && w[0] == '-' && w[1] != '-' &&
	       (last ? w[n - 1] == c : strchr(w + 1, c) != NULL);
}

static int option_error(int opt, int argc, char **argv, const char *cmd)
{
	/* the word the bad option is in: the one getopt read last, or,
	 * when it stopped inside a group of letters ("-12" at its '1'),
	 * the one it is still in (optind not moved past it) */
	const char *arg = argv[optind - 1];
	if (opt == '?' && optopt > 0 && optopt < 256 && !short_group(arg, optopt, true) &&
	    optind < argc && short_group(argv[optind], optopt, false))
		arg = argv[optind];

	if (opt == ':')
		errorf("option '%s' needs a value; try 'threadleak %s --help'",
		       arg, cmd);
	else if (arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9' &&
		 strspn(arg + 1, "0123456789") == strlen(arg + 1))
		errorf("'%s' is not a process id (a pid is a positive number) nor an option; try 'threadleak %s --help'",
		       arg, cmd);
	else
		errorf("unknown option '%s'; try 'threadleak %s --help'",
		       arg, cmd);
	return EXIT_USAGE;
}

static void usage(const struct opts_command *c)
{
	fputs(c->head, stdout);
	for (const struct opt *o = c->opts; o->name; o++) {
		const char *h = o->help, *nl;
		int n;

		if (!h)
			continue;
		if (o->letter)
			n = printf("  -%c, --%s", o->letter, o->name);
		else
			n = printf("      --%s", o->name);
		if (o->arg)
			n += printf(" %s", o->arg);
		if (*h == '\n') {	/* the help under a long option */
			putchar('\n');
			h++;
			n = 0;
		}
		for (;;) {
			nl = strchr(h, '\n');
			printf("%*s%.*s\n", n + 2 > c->column ? 2 : c->column - n, "",
			       nl ? (int)(nl - h) : (int)strlen(h), h);
			if (!nl)
				break;
			h = nl + 1;
			n = 0;
		}
	}
	if (c->tail)
		fputs(c->tail, stdout);
}

static int bad_value(const struct opt *o, const char *arg)
{
	const char *fmt = o->bad;

	if (!fmt && o->kind == OPT_COLOR)
		fmt = "--color wants auto, always or never, not '%s'";
	else if (!fmt && o->kind == OPT_UNWINDER)
		fmt = "unknown unwinder '%s': use libdw or libunwind";
	else if (!fmt && o->kind == OPT_FORMAT)
		fmt = "unknown format '%s': use " FORMAT_NAMES;
	errorf(fmt, arg);
	return EXIT_USAGE;
}

/* One option given, with its argument (NULL for a flag). */
static int apply(const struct opts_command *c, const struct opt *o, const char *arg)
{
	const struct unwind_ops *u;
	char *end;
	long v;
	int i;

	/* OPT_STRING to OPT_FORMAT take an argument: their table rows name
	 * it (.arg), so getopt_long requires one */
	assert(arg || o->kind < OPT_STRING || o->kind > OPT_FORMAT);
	switch (o->kind) {
	case OPT_HELP:
		usage(c);
		return EXIT_OK;
	case OPT_TRUE:
	case OPT_FALSE:
		*(bool *)o->dest = o->kind == OPT_TRUE;
		break;
	case OPT_SET:
		*(int *)o->dest = (int)o->value;
		break;
	case OPT_STRING:
		*(const char **)o->dest = arg;
		break;
	case OPT_LONG:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < o->min || v > o->max)
			return bad_value(o, arg);
		*(long *)o->dest = v;
		break;
	case OPT_SECONDS:
		if (!parse_seconds(arg, o->min, o->max, o->dest))
			return bad_value(o, arg);
		break;
	case OPT_DURATION:
		if (!parse_duration(arg, o->max, o->dest))
			return bad_value(o, arg);
		break;
	case OPT_ENUM:
		for (i = 0; o->names[i] && strcmp(o->names[i], arg); i++)
			;
		if (!o->names[i])
			return bad_value(o, arg);
		*(int *)o->dest = i;
		break;
	case OPT_COLOR:
		if (strcmp(arg, "auto") && strcmp(arg, "always") && strcmp(arg, "never"))
			return bad_value(o, arg);
		*(const char **)o->dest = arg;
		break;
	case OPT_UNWINDER:
		u = unwind_find(arg);
		if (!u)
			return bad_value(o, arg);
		*(const struct unwind_ops **)o->dest = u;
		break;
	case OPT_FORMAT:
		if (!format_from_name(arg, o->dest))
			return bad_value(o, arg);
		break;
	case OPT_CALL:
		return o->call(o, arg);
	}
	if (o->given)
		*o->given = true;
	if (o->text)
		*o->text = arg;
	return OPTS_GO_ON;
}

int opts_parse(const struct opts_command *c, int argc, char **argv)
{
	struct option lo[2 * OPTS_MAX + 1];
	char shorts[2 * OPTS_MAX + 3];
	size_t nlo = 0, ns = 0, n;
	int opt;

	if (c->in_order)
		shorts[ns++] = '+';
	shorts[ns++] = ':';
	for (n = 0; c->opts[n].name; n++) {
		const struct opt *o = &c->opts[n];
		int has = o->arg ? required_argument : no_argument;
		int val = o->letter ? o->letter : 256 + (int)n;

		if (n == OPTS_MAX) {
			errorf("%s declares more than %d options", c->name, OPTS_MAX);
			return EXIT_ERROR;	/* ours: the tables are tested */
		}
		lo[nlo++] = (struct option){ o->name, has, NULL, val };
		if (o->alias)
			lo[nlo++] = (struct option){ o->alias, has, NULL, val };
		if (o->letter) {
			shorts[ns++] = o->letter;
			if (has)
				shorts[ns++] = ':';
		}
	}
	lo[nlo] = (struct option){ 0 };
	shorts[ns] = '\0';

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct opt *o = NULL;

		if (opt >= 256 && (size_t)(opt - 256) < n)
			o = &c->opts[opt - 256];
		for (size_t i = 0; !o && opt < 256 && i < n; i++)
			if (c->opts[i].letter == opt)
				o = &c->opts[i];
		if (!o)	/* ':' or '?' */
			return option_error(opt, argc, argv, c->name);
		int rc = apply(c, o, o->arg ? optarg : NULL);
		if (rc != OPTS_GO_ON)
			return rc;
	}
	return OPTS_GO_ON;
}

int opts_one_operand(const struct opts_command *c, int argc, const char *what)
{
	if (optind == argc - 1)
		return OPTS_GO_ON;
	errorf(optind == argc ? "%s needs a %s; try 'threadleak %s --help'" :
	       "%s takes one %s; try 'threadleak %s --help'", c->name, what, c->name);
	return EXIT_USAGE;
}

int opts_one_pid(const struct opts_command *c, int argc, char **argv, int *pid)
{
	if (opts_one_operand(c, argc, "PID") != OPTS_GO_ON)
		return EXIT_USAGE;
	if (!parse_pid(argv[optind], pid)) {
		errorf("'%s' is not a process id", argv[optind]);
		return EXIT_USAGE;
	}
	return OPTS_GO_ON;
}
