/*
 * labels: pprof labels as text and in order; see labels.h.
 *
 * Each pair is quoted into a buffer of its own ("k":"v"), the pairs are
 * sorted as strings, as pprof's labelMap.String() sorts them, then joined:
 * a set holds at most LABELS_MAX pairs of LABEL_LEN_MAX-byte strings, so
 * the whole text is bounded (about 64 * 2 * 10 KiB at the very worst).
 */
#include "model/labels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes the UTF-8 character at s as Go does (no overlong forms, no
 * surrogates, at most U+10FFFF): its length, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *r)
{
	unsigned char c = s[0];

	if (c < 0x80) {
		*r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf && (s[1] & 0xc0) == 0x80) {
		*r = (uint32_t)(c & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		*r = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		*r = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		     (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		return 4;
	}
	return 0;
}

/* A character past ASCII that strconv.IsPrint says does not print (of
 * those named in labels.h). */
static bool unprintable(uint32_t r)
{
	static const struct { uint32_t lo, hi; } ranges[] = {
		{ 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
		{ 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x1680, 0x1680 }, { 0x180e, 0x180e },
		{ 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x2064 }, { 0x2066, 0x206f },
		{ 0x3000, 0x3000 }, { 0xe000, 0xf8ff }, { 0xfdd0, 0xfdef }, { 0xfeff, 0xfeff },
		{ 0xfff9, 0xfffb }, { 0x110bd, 0x110bd }, { 0x1d173, 0x1d17a },
		{ 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f }, { 0xf0000, 0x10ffff },
	};

	if ((r & 0xfffe) == 0xfffe)	/* U+FFFE, U+FFFF and each plane's */
		return true;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (r >= ranges[i].lo && r <= ranges[i].hi)
			return true;
	return false;
}

/* Appends n bytes to buf[*len], as far as size allows; counts them all. */
static void put(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len < size) {
		size_t room = size - 1 - *len;
		memcpy(buf + *len, s, n < room ? n : room);
	}
	*len += n;
}

size_t labels_quote(const char *s, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;
	char tmp[16];

	put(buf, size, &len, "\"", 1);
	while (*p) {
		uint32_t r;
		size_t n = utf8_decode(p, &r);
		const char *e = NULL;

		if (n == 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
			put(buf, size, &len, tmp, 4);
			p++;
			continue;
		}
		switch (r) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\a': e = "\\a"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		case '\v': e = "\\v"; break;
		}
		if (e)
			put(buf, size, &len, e, 2);
		else if (r < ' ' || r == 0x7f)
			put(buf, size, &len, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", r));
		else if (r >= 0x80 && unprintable(r))
			put(buf, size, &len, tmp,
			    (size_t)snprintf(tmp, sizeof(tmp), r < 0x10000 ? "\\u%04x" : "\\U%08x", r));
		else
			put(buf, size, &len, (const char *)p, n);
		p += n;
	}
	put(buf, size, &len, "\"", 1);
	if (size)
		buf[len < size ? len : size - 1] = '\0';
	return len;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "k":"v", malloc'd. */
static char *pair_text(const struct label *l)
{
	size_t kl = labels_quote(l->key, NULL, 0), vl = labels_quote(l->value, NULL, 0);
	char *s = malloc(kl + vl + 2);

	if (!s)
		return NULL;
	labels_quote(l->key, s, kl + 1);
	s[kl] = ':';
	labels_quote(l->value, s + kl + 1, vl + 1);
	return s;
}

char *labels_text(const struct label *l, size_t n)
{
	char **pairs = calloc(n ? n : 1, sizeof(*pairs));
	char *text = NULL;
	size_t len = 2, at = 0;

	if (!pairs)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(pairs[i] = pair_text(&l[i])))
			goto out;
		len += strlen(pairs[i]) + 2;
	}
	qsort(pairs, n, sizeof(*pairs), cmp_str);
	if (!(text = malloc(len + 1)))
		goto out;
	text[at++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i) {
			memcpy(text + at, ", ", 2);
			at += 2;
		}
		size_t pl = strlen(pairs[i]);
		memcpy(text + at, pairs[i], pl);
		at += pl;
	}
	text[at++] = '}';
	text[at] = '\0';
out:
	for (size_t i = 0; i < n; i++)
		free(pairs[i]);
	free(pairs);
	return text;
}

char *labels_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char *out = malloc(LABEL_LEN_MAX + 1);
	size_t at = 0;

	if (!out)
		return NULL;
	while (p < end) {
		uint32_t r;
		size_t n = *p ? utf8_decode(p, &r) : 0;
		if (n > (size_t)(end - p))
			n = 0;
		const char *c = n ? (const char *)p : "\xef\xbf\xbd";
		size_t clen = n ? n : 3;
		if (at + clen > LABEL_LEN_MAX)
			break;
		memcpy(out + at, c, clen);
		at += clen;
		p += n ? n : 1;
	}
	out[at] = '\0';
	char *fit = realloc(out, at + 1);
	return fit ? fit : out;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

size_t labels_sort(struct label *l, size_t n, bool free_dups)
{
	size_t kept = 0;

	/* of equal keys, the one qsort puts first is kept: Go's sets have
	 * none (a map's keys, a deduplicated list), only a reader's cuts
	 * (go/labels.h) can make some */
	qsort(l, n, sizeof(*l), cmp_key);
	for (size_t i = 0; i < n; i++) {
		if (kept && strcmp(l[kept - 1].key, l[i].key) == 0) {
			if (free_dups) {
				free(l[i].key);
				free(l[i].value);
			}
			continue;
		}
		l[kept++] = l[i];
	}
	return kept;
}

bool labels_equal(const struct thread *a, const struct thread *b)
{
	if (a->labelled != b->labelled || a->nlabels != b->nlabels)
		return false;
	if (a->labels == b->labels)
		return true;
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i].key, b->labels[i].key) != 0 ||
		    strcmp(a->labels[i].value, b->labels[i].value) != 0)
			return false;
	return true;
}
