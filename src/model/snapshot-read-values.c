/*
 * snapshot-read-values: the checked accessors of a snapshot's JSON values
 * (jval.h trees), which the document reader (snapshot-read.c) and the
 * converters of its entries (snapshot-read-entries.c) both use, and the
 * messages they fail with.  A value of the wrong type or out of range is
 * refused with a message that names the field ("threads[3].pid: expected
 * a positive integer"), made one line whatever the input put into it;
 * every accessor returns 0, or -1 with the message in the reader's
 * buffer.  Uses nothing of the two readers: they call down to it.
 */
#include "model/snapshot-impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* u64 counters and i64 times travel as JSON integers */
_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "json_int_t is 64-bit");

__attribute__((format(printf, 2, 3)))
int sr_failf(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->err || !r->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	/* One line, whatever the input put into the message. */
	for (char *p = r->err; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	return -1;
}

int sr_fail(struct reader *r, const char *key, const char *what)
{
	return sr_failf(r, "%s%s: %s", r->where, key, what);
}

int sr_get_string(struct reader *r, const struct jv *obj, const char *key,
		      char **out)
{
	const struct jv *v = jv_get(obj, key);

	*out = NULL;
	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_string(v))
		return sr_fail(r, key, "expected a string or null");
	if (r->pool)
		*out = strpool_add(r->pool, v->s,
				   v->n);
	else
		*out = strdup(v->s);
	if (!*out)
		return sr_failf(r, "out of memory");
	return 0;
}

static int type_error(struct reader *r, const char *key, const char *what,
		      enum presence pres)
{
	return sr_failf(r, "%s%s: expected %s%s", r->where, key, what,
		     pres == SR_NULLABLE ? " or null" : "");
}

/* The value of key in obj to check: 1 and *v; 0 when it is absent or a
 * null that pres allows (the default stands); -1 when a required one is
 * missing. */
static int present(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, const struct jv **v)
{
	*v = jv_get(obj, key);
	if (!*v && pres != SR_REQUIRED)
		return 0;
	if (!*v)
		return sr_fail(r, key, "missing");
	if (jv_is_null(*v) && pres == SR_NULLABLE)
		return 0;
	return 1;
}

/* An integer in [min, max]; def when absent (or null if SR_NULLABLE). */
int sr_get_int(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, json_int_t min, json_int_t max,
		   json_int_t def, json_int_t *out)
{
	const struct jv *v;
	const char *what = min == 1 ? "a positive integer" :
			   min == 0 ? "a non-negative integer" : "an integer";

	*out = def;
	int p = present(r, obj, key, pres, &v);
	if (p <= 0)
		return p;
	if (!jv_is_integer(v) || v->i < min ||
	    v->i > max)
		return type_error(r, key, what, pres);
	*out = v->i;
	return 0;
}

int sr_get_u64(struct reader *r, const struct jv *obj, const char *key,
		   uint64_t *out)
{
	json_int_t v;

	if (sr_get_int(r, obj, key, SR_OPTIONAL, 0, INT64_MAX, 0, &v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int sr_get_bool(struct reader *r, const struct jv *obj, const char *key, bool *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = false;
	if (!v)
		return 0;
	if (!jv_is_bool(v))
		return sr_fail(r, key, "expected true or false");
	*out = jv_is(v, JV_TRUE);
	return 0;
}

/* A non-negative number; def when absent or null. */
int sr_get_number(struct reader *r, const struct jv *obj, const char *key,
		      double def, double *out)
{
	const struct jv *v = jv_get(obj, key);

	*out = def;
	if (!v || jv_is_null(v))
		return 0;
	if (!jv_is_number(v) || !(jv_number(v) >= 0) ||
	    !isfinite(jv_number(v)))
		return sr_fail(r, key, "expected a non-negative number or null");
	*out = jv_number(v);
	return 0;
}

/* "0x" then hex digits, the whole string, within 64 bits. */
int sr_parse_hex(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	s += 2;
	/* strtoull would accept spaces, a sign or a second "0x": refuse */
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return -1;
	if (!*s)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int sr_get_hex(struct reader *r, const struct jv *obj, const char *key,
		   enum presence pres, uint64_t *out)
{
	const struct jv *v;

	*out = 0;
	int p = present(r, obj, key, pres, &v);
	if (p <= 0)
		return p;
	if (!jv_is_string(v) || sr_parse_hex(v->s, out))
		return type_error(r, key, "a hex string", pres);
	return 0;
}

int sr_out_of_memory(struct parser *ps)
{
	return sr_failf(&ps->r, "out of memory");
}
