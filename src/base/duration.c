/*
 * duration: DURATION strings; see duration.h.
 *
 * Each part is digits with at most one '.', then a unit; the parts add
 * up (Go's grammar, less the sign).  Digits alone, once, are seconds.
 * strtod is not used on the number: it would take "1e3", "0x10" or
 * " 5", none of which either tool accepts.
 */
#include "base/duration.h"

#include <math.h>
#include <string.h>

static const struct {
	const char *name;
	double sec;
} units[] = {
	/* longest first where one is a prefix of another: "ms" before "m" */
	{ "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "\xce\xbcs", 1e-6 },
	{ "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
};

/* A number "12", "1.5", ".5", "5." at *s (not "."); false if none. */
static bool number(const char **s, double *v)
{
	const char *p = *s;
	double x = 0, scale = 1;
	bool digits = false, dot = false;

	for (;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (dot)
				x += (scale /= 10) * (*p - '0');
			else
				x = x * 10 + (*p - '0');
			digits = true;
		} else if (*p == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (!digits)
		return false;
	*s = p;
	*v = x;
	return true;
}

bool parse_duration(const char *s, double max, double *sec)
{
	double total = 0, v;
	bool units_seen = false;

	if (!s || !*s)
		return false;
	while (*s) {
		if (!number(&s, &v))
			return false;
		if (!*s && !units_seen) {
			total = v;	/* seconds alone */
			break;
		}
		size_t i, n = 0;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			n = strlen(units[i].name);
			if (strncmp(s, units[i].name, n) == 0)
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return false;	/* no unit, or an unknown one */
		s += n;
		total += v * units[i].sec;
		units_seen = true;
	}
	if (!isfinite(total) || total > max)
		return false;
	*sec = total;
	return true;
}
