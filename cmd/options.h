/*
 * options: how a command declares its options, in one table read by one
 * parser (getopt_long underneath), which also prints the command's --help
 * from the same table.  An option is one line: its names, its kind (which
 * says how its value is read and checked), where the value goes, the
 * message for a bad value, and its help text.
 */
#ifndef THREADLEAK_OPTIONS_H
#define THREADLEAK_OPTIONS_H

#include <stdbool.h>

enum opt_kind {
	OPT_HELP,	/* prints the usage; the command ends with 0 */
	OPT_TRUE,	/* bool *: set */
	OPT_FALSE,	/* bool *: cleared */
	OPT_SET,	/* int *: set to .value */
	OPT_STRING,	/* const char **: the argument */
	OPT_LONG,	/* long *: a whole number in [min, max] */
	OPT_SECONDS,	/* double *: seconds ("0.5") in [min, max] */
	OPT_DURATION,	/* double *: a duration ("1m30s"), 0 to max */
	OPT_ENUM,	/* int *: the index of the argument in .names */
	OPT_COLOR,	/* const char **: auto, always or never */
	OPT_UNWINDER,	/* const struct unwind_ops **: libdw, libunwind */
	OPT_FORMAT,	/* enum format *: an export format's name */
	OPT_CALL,	/* .call(opt, argument) does what the option asks */
};

/* The value of OPT_CALL's function, and of opts_parse, to go on. */
#define OPTS_GO_ON (-1)

struct opt {
	const char *name;	/* long name */
	char letter;		/* short option, or 0 */
	enum opt_kind kind;
	void *dest;		/* where the value goes (see the kinds) */
	const char *arg;	/* the argument's name in the help (NULL: none) */
	const char *help;	/* lines; a leading '\n' puts them under the
				   option; NULL: left out of the help */
	const char *bad;	/* a bad value's message: one %s, the value */
	double min, max;	/* OPT_LONG, OPT_SECONDS; OPT_DURATION's max */
	long value;		/* OPT_SET's value; OPT_CALL's as it likes */
	const char *const *names;	/* OPT_ENUM's, NULL-ended */
	const char *alias;	/* a second long name, not in the help */
	bool *given;		/* set when the option is given, or NULL */
	const char **text;	/* the argument as given, or NULL */
	/* OPT_CALL: OPTS_GO_ON, or the exit status to end with. */
	int (*call)(const struct opt *o, const char *arg);
};

struct opts_command {
	const char *name;	/* "snapshot", for the messages */
	const char *head;	/* the help before the options */
	const char *tail;	/* after them, or NULL */
	int column;		/* where the options' help texts begin */
	bool in_order;		/* the options end at the first operand */
	const struct opt *opts;	/* ends with { 0 } */
};

/* Reads argv's options into their places.  Returns OPTS_GO_ON with
 * optind at the first operand, or the exit status to end with (0 after
 * --help, EXIT_USAGE after an error, said in one line). */
int opts_parse(const struct opts_command *c, int argc, char **argv);
/* The one operand a command takes: optind's, said if it is missing or
 * not alone ("snapshot needs a PID").  OPTS_GO_ON, or EXIT_USAGE. */
int opts_one_operand(const struct opts_command *c, int argc, const char *what);
/* The same for one pid, into *pid. */
int opts_one_pid(const struct opts_command *c, int argc, char **argv, int *pid);

#endif
