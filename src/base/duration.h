/*
 * duration: a DURATION as people write it for a timeout: Go's form
 * (time.ParseDuration: 90s, 1m30s, 1.5h, 500ms; units ns, us, µs, ms, s,
 * m, h) or seconds alone ("1.5", as the other options and timeout(1)
 * take them).  No sign, no blanks, no "inf".
 */
#ifndef THREADLEAK_DURATION_H
#define THREADLEAK_DURATION_H

#include <stdbool.h>

/* true and *sec when s is a duration of 0 to max seconds; else false. */
bool parse_duration(const char *s, double max, double *sec);

#endif
