/*
 * escape: the escaping and its ring of buffers; see escape.h.
 *
 * One pass finds whether anything needs escaping (the common case: no)
 * and returns the text itself; only then is a buffer used, grown to fit
 * (an escaped byte takes at most 6 bytes).
 */
#include "base/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local struct {
	char *buf;
	size_t cap;
} ring[ESC_RING];
static _Thread_local unsigned next;

/* Length of the valid UTF-8 sequence at s (1 to 4), its code point in *cp,
 * or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond Unicode */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool unsafe_cp(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	       c == 0x200e || c == 0x200f || c == 0x061c;
}

/* Writes the escaped form of s to out (which holds 6 * strlen(s) + 1, or
 * is NULL); returns whether anything was escaped. */
static bool escape_to(const char *s, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	bool any = false;
	uint32_t cp;

	while (*p) {
		size_t n = utf8_seq(p, &cp);
		if (n && !unsafe_cp(cp)) {
			if (out) {
				memcpy(out, p, n);
				out += n;
			}
			p += n;
			continue;
		}
		any = true;
		if (out) {
			if (!n || cp < 0x80)
				out += sprintf(out, "\\x%02x", *p);
			else
				out += sprintf(out, "\\u%04x", (unsigned)cp);
		}
		p += n ? n : 1;
	}
	if (out)
		*out = '\0';
	return any;
}

const char *esc(const char *s)
{
	if (!s || !escape_to(s, NULL))
		return s;
	size_t need = strlen(s) * 6 + 1;
	unsigned i = next++ % ESC_RING;
	if (ring[i].cap < need) {
		char *b = realloc(ring[i].buf, need);
		if (!b)
			return "(out of memory)";
		ring[i].buf = b;
		ring[i].cap = need;
	}
	escape_to(s, ring[i].buf);
	return ring[i].buf;
}
