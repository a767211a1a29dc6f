/*
 * Unit tests for src/base/duration.c: the DURATION forms check --timeout takes
 * (Go's time.ParseDuration's, less the sign, and seconds alone) and what
 * it refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "base/duration.h"

#define MAX (720 * 3600.0)

static void good(const char *s, double want)
{
	double v = -1;

	if (!parse_duration(s, MAX, &v) || fabs(v - want) > 1e-9 * (want > 1 ? want : 1))
		fail_msg("'%s': got %s %g, want %g", s, v < 0 ? "no" : "", v, want);
}

static void bad(const char *s)
{
	double v = -1;

	if (parse_duration(s, MAX, &v))
		fail_msg("'%s' taken as %g", s ? s : "(null)", v);
}

static void test_taken(void **state)
{
	(void)state;
	good("0", 0);
	good("90", 90);
	good("1.5", 1.5);
	good(".5", 0.5);
	good("5.", 5);
	good("90s", 90);
	good("2m", 120);
	good("1m30s", 90);
	good("1.5h", 5400);
	good("1h2m3.5s", 3723.5);
	good("500ms", 0.5);
	good("1500us", 0.0015);
	good("1500\xc2\xb5s", 0.0015);
	good("250000000ns", 0.25);
	good("0s", 0);
	good("720h", MAX);
	good("1s1s", 2);	/* Go adds repeated units too */
}

static void test_refused(void **state)
{
	(void)state;
	bad("");
	bad(NULL);
	bad("abc");
	bad("-1");
	bad("+1");
	bad("-1s");
	bad(" 5");
	bad("5 ");
	bad("5x");
	bad("1m30");	/* a number without its unit after a unit */
	bad("1min");
	bad("1d");
	bad("inf");
	bad("nan");
	bad("1e3");
	bad("0x10");
	bad(".");
	bad("1..5");
	bad("s");
	bad("720h1ns");
	bad("1e400");
	bad("99999999999999999999999999999999999999h");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
