/*
 * jval: a recursive-descent parser over one value's text.  A container's
 * members are read onto the arena's stack (indexes, as the stack may
 * move), then copied into the arena in one piece when it closes.  Every
 * case jansson would refuse, or might read differently, returns 1 so that
 * jansson decides: this parser may be stricter than jansson, never more
 * lenient.
 */
#include "base/jval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 65536
#define MAX_DEPTH 512		/* deeper: jansson's business */

struct jv_chunk {
	struct jv_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

struct parse {
	struct jv_arena *a;
	const unsigned char *p, *end;
	int nomem;
};

static void *arena_alloc(struct jv_arena *a, size_t size)
{
	struct jv_chunk *c = a->chunks;

	size = (size + 15) & ~(size_t)15;
	if (!c || c->size - c->used < size) {
		size_t want = size > CHUNK_MIN ? size : CHUNK_MIN;
		c = malloc(sizeof(*c) + want);
		if (!c)
			return NULL;
		c->size = want;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

void jv_arena_reset(struct jv_arena *a)
{
	/* keep the newest chunk (the largest in use), free the rest */
	struct jv_chunk *c = a->chunks;

	if (!c)
		return;
	while (c->next) {
		struct jv_chunk *n = c->next;
		c->next = n->next;
		free(n);
	}
	c->used = 0;
	a->nstack = 0;
}

void jv_arena_free(struct jv_arena *a)
{
	while (a->chunks) {
		struct jv_chunk *n = a->chunks->next;
		free(a->chunks);
		a->chunks = n;
	}
	free(a->stack);
	memset(a, 0, sizeof(*a));
}

static struct jv *push(struct parse *ps)
{
	struct jv_arena *a = ps->a;

	if (a->nstack == a->stackcap) {
		size_t cap = a->stackcap ? 2 * a->stackcap : 256;
		struct jv *s = realloc(a->stack, cap * sizeof(*s));
		if (!s) {
			ps->nomem = 1;
			return NULL;
		}
		a->stack = s;
		a->stackcap = cap;
	}
	return &a->stack[a->nstack++];
}

/* The values on the stack from base, moved into the arena as v's items. */
static int close_container(struct parse *ps, size_t base, struct jv *v, uint32_t n)
{
	struct jv_arena *a = ps->a;
	size_t count = a->nstack - base;

	v->n = n;
	v->items = NULL;
	if (count) {
		v->items = arena_alloc(a, count * sizeof(struct jv));
		if (!v->items) {
			ps->nomem = 1;
			return -1;
		}
		memcpy(v->items, &a->stack[base], count * sizeof(struct jv));
	}
	a->nstack = base;
	return 0;
}

static void skip_ws(struct parse *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
				   *ps->p == '\r'))
		ps->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A well-formed UTF-8 sequence at p (not overlong, no surrogate, at most
 * U+10FFFF): its length, or 0. */
static size_t utf8_ok(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static size_t put_utf8(unsigned char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The string at p (its opening quote), decoded into the arena. */
static int parse_string(struct parse *ps, struct jv *v)
{
	const unsigned char *s = ps->p + 1, *q = s;
	bool plain = true;

	/* its extent first: the decoded text is never longer */
	while (q < ps->end && *q != '"') {
		if (*q == '\\') {
			plain = false;
			if (++q == ps->end)
				return 1;
		}
		q++;
	}
	if (q == ps->end || q - s > UINT32_MAX / 2)
		return 1;
	unsigned char *o = arena_alloc(ps->a, (size_t)(q - s) + 1), *start = o;
	if (!o) {
		ps->nomem = 1;
		return -1;
	}
	if (plain) {
		for (const unsigned char *p = s; p < q;) {
			size_t len = *p < 0x20 ? 0 : utf8_ok(p, q);
			if (!len)
				return 1;
			p += len;
		}
		memcpy(o, s, (size_t)(q - s));
		o += q - s;
	} else {
		for (const unsigned char *p = s; p < q;) {
			if (*p != '\\') {
				size_t len = *p < 0x20 ? 0 : utf8_ok(p, q);
				if (!len)
					return 1;
				memcpy(o, p, len);
				o += len;
				p += len;
				continue;
			}
			unsigned cp, lo;
			switch (p[1]) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '/': *o++ = '/'; break;
			case 'b': *o++ = '\b'; break;
			case 'f': *o++ = '\f'; break;
			case 'n': *o++ = '\n'; break;
			case 'r': *o++ = '\r'; break;
			case 't': *o++ = '\t'; break;
			case 'u':
				if (q - p < 6 || hex4(p + 2, &cp) || cp == 0)
					return 1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return 1;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (q - p < 12 || p[6] != '\\' || p[7] != 'u' ||
					    hex4(p + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return 1;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
				o += put_utf8(o, cp);
				p += 6;
				continue;
			default:
				return 1;
			}
			p += 2;
		}
	}
	*o = '\0';
	v->type = JV_STRING;
	v->n = (uint32_t)(o - start);
	v->s = (const char *)start;
	ps->p = q + 1;
	return 0;
}

static int parse_number(struct parse *ps, struct jv *v)
{
	const unsigned char *p = ps->p, *start = p;
	bool neg = false, real = false;
	uint64_t acc = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p == ps->end || *p < '0' || *p > '9')
		return 1;
	if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
		return 1;	/* a leading zero */
	for (; p < ps->end && *p >= '0' && *p <= '9'; p++) {
		if (acc > (UINT64_MAX - 9) / 10)
			return 1;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	if (p < ps->end && *p == '.') {
		real = true;
		if (++p == ps->end || *p < '0' || *p > '9')
			return 1;
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		real = true;
		if (++p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p == ps->end || *p < '0' || *p > '9')
			return 1;
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	/* what follows a number must end it */
	if (p < ps->end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    *p == '.' || *p == '+' || *p == '-' || (*p >= '0' && *p <= '9')))
		return 1;
	if (!real) {
		if ((!neg && acc > INT64_MAX) || (neg && acc > (uint64_t)INT64_MAX + 1))
			return 1;
		v->type = JV_INT;
		v->i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	} else {
		char buf[64];
		size_t len = (size_t)(p - start);
		if (len >= sizeof(buf))
			return 1;
		memcpy(buf, start, len);
		buf[len] = '\0';
		double d = strtod(buf, NULL);
		if (!isfinite(d))	/* jansson: "real number overflow" */
			return 1;
		v->type = JV_REAL;
		v->d = d;
	}
	ps->p = p;
	return 0;
}

static int parse_literal(struct parse *ps, const char *word, enum jv_type t, struct jv *v)
{
	size_t len = strlen(word);

	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
		return 1;
	const unsigned char *p = ps->p + len;
	if (p < ps->end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '_'))
		return 1;
	v->type = t;
	ps->p = p;
	return 0;
}

static int parse_value(struct parse *ps, struct jv *v, int depth);

static int parse_array(struct parse *ps, struct jv *v, int depth)
{
	size_t base = ps->a->nstack;
	uint32_t n = 0;
	int rc;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		v->type = JV_ARRAY;
		return close_container(ps, base, v, 0) ? -1 : 0;
	}
	for (;;) {
		struct jv item;
		if ((rc = parse_value(ps, &item, depth + 1)) != 0)
			return rc;
		struct jv *slot = push(ps);
		if (!slot)
			return -1;
		*slot = item;
		n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			break;
		}
		return 1;
	}
	v->type = JV_ARRAY;
	return close_container(ps, base, v, n) ? -1 : 0;
}

static int parse_object(struct parse *ps, struct jv *v, int depth)
{
	size_t base = ps->a->nstack;
	uint32_t n = 0;
	int rc;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		v->type = JV_OBJECT;
		return close_container(ps, base, v, 0) ? -1 : 0;
	}
	for (;;) {
		struct jv key, val;
		if (ps->p == ps->end || *ps->p != '"')
			return 1;
		if ((rc = parse_string(ps, &key)) != 0)
			return rc;
		/* a duplicate key is refused by jansson, with its message */
		for (size_t k = base; k < ps->a->nstack; k += 2) {
			const struct jv *o = &ps->a->stack[k];
			if (o->n == key.n && memcmp(o->s, key.s, key.n) == 0)
				return 1;
		}
		skip_ws(ps);
		if (ps->p == ps->end || *ps->p != ':')
			return 1;
		ps->p++;
		if ((rc = parse_value(ps, &val, depth + 1)) != 0)
			return rc;
		struct jv *slot = push(ps);
		if (!slot)
			return -1;
		*slot = key;
		if (!(slot = push(ps)))
			return -1;
		*slot = val;
		n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			skip_ws(ps);
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		return 1;
	}
	v->type = JV_OBJECT;
	return close_container(ps, base, v, n) ? -1 : 0;
}

static int parse_value(struct parse *ps, struct jv *v, int depth)
{
	if (depth > MAX_DEPTH)
		return 1;
	skip_ws(ps);
	if (ps->p == ps->end)
		return 1;
	switch (*ps->p) {
	case '{':
		return parse_object(ps, v, depth);
	case '[':
		return parse_array(ps, v, depth);
	case '"':
		return parse_string(ps, v);
	case 't':
		return parse_literal(ps, "true", JV_TRUE, v);
	case 'f':
		return parse_literal(ps, "false", JV_FALSE, v);
	case 'n':
		return parse_literal(ps, "null", JV_NULL, v);
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps, v);
		return 1;
	}
}

int jv_parse(struct jv_arena *a, const char *text, size_t len, struct jv **out)
{
	struct parse ps = { a, (const unsigned char *)text, (const unsigned char *)text + len, 0 };
	struct jv v;
	size_t base = a->nstack;
	int rc = parse_value(&ps, &v, 0);

	if (rc == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			rc = 1;
	}
	a->nstack = base;
	if (ps.nomem)
		return -ENOMEM;
	if (rc)
		return rc;
	*out = arena_alloc(a, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	**out = v;
	return 0;
}

struct jv *jv_from_json(struct jv_arena *a, json_t *j)
{
	struct jv *v = arena_alloc(a, sizeof(*v));
	size_t i = 0, n;

	if (!v)
		return NULL;
	memset(v, 0, sizeof(*v));
	switch (json_typeof(j)) {
	case JSON_NULL: v->type = JV_NULL; break;
	case JSON_TRUE: v->type = JV_TRUE; break;
	case JSON_FALSE: v->type = JV_FALSE; break;
	case JSON_INTEGER:
		v->type = JV_INT;
		v->i = json_integer_value(j);
		break;
	case JSON_REAL:
		v->type = JV_REAL;
		v->d = json_real_value(j);
		break;
	case JSON_STRING: {
		size_t len = json_string_length(j);
		char *s = arena_alloc(a, len + 1);
		if (!s || len > UINT32_MAX)
			return NULL;
		memcpy(s, json_string_value(j), len);
		s[len] = '\0';
		v->type = JV_STRING;
		v->n = (uint32_t)len;
		v->s = s;
		break;
	}
	case JSON_ARRAY: {
		json_t *item;
		n = json_array_size(j);
		v->type = JV_ARRAY;
		v->n = (uint32_t)n;
		if (n && !(v->items = arena_alloc(a, n * sizeof(*v->items))))
			return NULL;
		json_array_foreach(j, i, item) {
			struct jv *x = jv_from_json(a, item);
			if (!x)
				return NULL;
			v->items[i] = *x;
		}
		break;
	}
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		n = json_object_size(j);
		v->type = JV_OBJECT;
		v->n = (uint32_t)n;
		if (n && !(v->items = arena_alloc(a, 2 * n * sizeof(*v->items))))
			return NULL;
		json_object_foreach(j, key, val) {
			size_t len = strlen(key);
			char *k = arena_alloc(a, len + 1);
			struct jv *x = jv_from_json(a, val);
			if (!k || !x)
				return NULL;
			memcpy(k, key, len + 1);
			v->items[2 * i] = (struct jv){ .type = JV_STRING, .n = (uint32_t)len, .s = k };
			v->items[2 * i + 1] = *x;
			i++;
		}
		break;
	}
	}
	return v;
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->type != JV_OBJECT)
		return NULL;
	for (uint32_t i = 0; i < obj->n; i++)
		if (strcmp(obj->items[2 * i].s, key) == 0)
			return &obj->items[2 * i + 1];
	return NULL;
}
