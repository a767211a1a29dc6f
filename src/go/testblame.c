/*
 * go/testblame: a goroutine's test, from its stack and its ancestors';
 * see testblame.h.
 *
 * Only function names are needed, so each pc is looked up in the
 * binary's own table (stacks/pclntab.h) as the physical function holding
 * it: a test function is called through a func value, never inlined, so
 * the frame called from the runner is a function of its own.  Frames of
 * the testing package itself under a runner (F.Fuzz's closure) are not a
 * test: the search goes on outwards.
 */
#include "go/testblame.h"
#include "go/ancestors.h"
#include "go/goroutines.h"
#include "stacks/pclntab.h"
#include "go/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct go_blamer {
	struct symbolizer *sym;
	struct memory *mem;
	struct go_runtime *rt;
	struct go_cache *cache;
	struct go_goroutine *gs;	/* sorted by goid */
	size_t n;
	bool ancestry;
	struct go_ancestor anc[GO_ANCESTORS_MAX];
};

static int by_goid(const void *a, const void *b)
{
	const struct go_goroutine *x = a, *y = b;

	return (x->goid > y->goid) - (x->goid < y->goid);
}

void go_blamer_close(struct go_blamer *b)
{
	if (!b)
		return;
	go_goroutines_free(b->gs, b->n);
	go_cache_free(b->cache);
	go_runtime_close(b->rt);
	memory_close(b->mem);
	symbols_close(b->sym);
	free(b);
}

int go_blamer_open(int pid, struct go_blamer **out, char *err, size_t errlen)
{
	struct go_blamer *b = calloc(1, sizeof(*b));
	int rc = -ENOMEM;

	*out = NULL;
	if (!b || !(b->cache = go_cache_new()) || !(b->mem = memory_open(pid))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	b->sym = symbols_open(pid, err, errlen);
	if (!b->sym) {
		rc = -ESRCH;
		goto fail;
	}
	rc = go_runtime_open(b->sym, b->mem, &b->rt, err, errlen);
	if (rc < 0)
		goto fail;
	rc = go_read_goroutines(b->rt, b->sym, b->mem, b->cache, &b->gs, &b->n, err, errlen);
	if (rc < 0)
		goto fail;
	qsort(b->gs, b->n, sizeof(*b->gs), by_goid);
	for (size_t i = 0; i < b->n && !b->ancestry; i++)
		b->ancestry = b->gs[i].ancestors != 0;
	*out = b;
	return 0;
fail:
	go_blamer_close(b);
	return rc;
}

bool go_blamer_has_ancestry(const struct go_blamer *b)
{
	return b->ancestry;
}

/* The function holding pc (a return address when ret), or NULL. */
static const char *func_at(struct go_blamer *b, uint64_t pc, bool ret)
{
	uint64_t bias;
	struct go_func f;

	if (ret && pc)
		pc--;
	const struct go_pcln *t = symbols_go_table(b->sym, pc, &bias);
	return t && go_pcln_func(t, pc - bias, &f) ? f.name : NULL;
}

/* The name without its package: "TestX.func1" of "example.com/p.TestX.func1". */
static const char *short_name(const char *fn)
{
	const char *slash = strrchr(fn, '/');
	const char *dot = strchr(slash ? slash : fn, '.');

	return dot ? dot + 1 : fn;
}

static bool is_runner(const char *fn)
{
	return fn && (strcmp(fn, "testing.tRunner") == 0 || strcmp(fn, "testing.fRunner") == 0 ||
		      strcmp(fn, "testing.(*B).runN") == 0 ||
		      strcmp(fn, "testing.runExample") == 0);
}

static bool prefix_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	/* Go's rule (testing's isTest): "Test" alone, or not followed by
	 * a lower-case letter. */
	return strncmp(s, w, n) == 0 && !(s[n] >= 'a' && s[n] <= 'z');
}

/* A top-level test function's short name: TestX, BenchmarkX, ExampleX,
 * FuzzX, with no closure or method part. */
static bool is_top_test(const char *s)
{
	return !strchr(s, '.') && (prefix_word(s, "Test") || prefix_word(s, "Benchmark") ||
				   prefix_word(s, "Example") || prefix_word(s, "Fuzz"));
}

struct walk {
	char top[GO_TEST_NAME];		/* the farthest top-level test */
	char inner[GO_TEST_NAME];	/* the nearest test function */
	char pkg[GO_TEST_NAME];		/* the package of either */
};

/* The package of fn ("example.com/p" of "example.com/p_test.TestX"). */
static void package_of(const char *fn, char *buf, size_t size)
{
	size_t len = (size_t)(short_name(fn) - fn);

	if (len)
		len--;	/* the dot */
	if (len > 5 && strncmp(fn + len - 5, "_test", 5) == 0)
		len -= 5;
	snprintf(buf, size, "%.*s", (int)len, fn);
}

/* Looks at one stack (names of its frames, innermost first). */
static void look(struct walk *w, const char *const *fn, int n)
{
	for (int i = 0; i + 1 < n; i++) {
		if (!fn[i] || !is_runner(fn[i + 1]) || strncmp(fn[i], "testing.", 8) == 0)
			continue;
		const char *s = short_name(fn[i]);
		if (!w->inner[0])
			snprintf(w->inner, sizeof(w->inner), "%s", s);
		if (is_top_test(s))
			snprintf(w->top, sizeof(w->top), "%s", s);
		package_of(fn[i], w->pkg, sizeof(w->pkg));
		return;
	}
}

static void finish(const struct walk *w, struct go_test_blame *out)
{
	snprintf(out->pkg, sizeof(out->pkg), "%s", w->pkg);
	if (w->top[0]) {
		snprintf(out->test, sizeof(out->test), "%s", w->top);
		if (strcmp(w->inner, w->top) != 0)
			snprintf(out->sub, sizeof(out->sub), "%s", w->inner);
	} else if (w->inner[0]) {
		/* The top-level test is past the ancestors kept: a
		 * closure's name starts with its test's. */
		size_t len = strcspn(w->inner, ".");
		snprintf(out->test, sizeof(out->test), "%.*s", (int)len, w->inner);
		if (!is_top_test(out->test))
			snprintf(out->test, sizeof(out->test), "%s", w->inner);
		else if (w->inner[len])
			snprintf(out->sub, sizeof(out->sub), "%s", w->inner);
	}
}

int go_blame(struct go_blamer *b, int64_t goid, struct go_test_blame *out)
{
	struct go_goroutine key = { .goid = goid };
	const struct go_goroutine *g = bsearch(&key, b->gs, b->n, sizeof(*b->gs), by_goid);
	const char *fn[GO_MAX_FRAMES + GO_ANCESTOR_PCS];
	struct walk w = { { 0 }, { 0 }, { 0 } };

	memset(out, 0, sizeof(*out));
	if (!g)
		return -ENOENT;
	/* Its own stack: a test's goroutine itself. */
	int n = 0;
	for (int i = 0; i < g->nraw && n < GO_MAX_FRAMES; i++)
		fn[n++] = func_at(b, g->raw[i].pc, g->raw[i].return_address);
	look(&w, fn, n);
	/* Its ancestors', nearest first, while no top-level test is seen. */
	int na = w.top[0] ? 0 : go_read_ancestors(b->mem, g->ancestors, b->anc, GO_ANCESTORS_MAX);
	for (int k = 0; k < na && !w.top[0]; k++) {
		n = 0;
		for (int i = 0; i < b->anc[k].npcs; i++)
			fn[n++] = func_at(b, b->anc[k].pcs[i], true);
		look(&w, fn, n);
	}
	/* No ancestry: the function with its `go` statement, when it is a
	 * test or one's closure. */
	if (!w.inner[0] && na <= 0 && g->goid != 1) {
		const char *cf = func_at(b, g->gopc, true);
		const char *s = cf && strncmp(cf, "testing.", 8) != 0 ? short_name(cf) : NULL;
		char head[GO_TEST_NAME];
		if (s) {
			snprintf(head, sizeof(head), "%.*s", (int)strcspn(s, "."), s);
			if (is_top_test(head)) {
				snprintf(w.inner, sizeof(w.inner), "%s", s);
				package_of(cf, w.pkg, sizeof(w.pkg));
				out->by_creator = true;
			}
		}
	}
	finish(&w, out);
	return 0;
}

/* A varint of the build info at *p (< end): true and *v. */
static bool uvarint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

int go_blamer_package(struct go_blamer *b, char *buf, size_t size)
{
	static const char magic[] = "\xff Go buildinf:";
	struct go_pcln *pcln;
	uint64_t bias, len;
	GElf_Shdr sh;
	Elf *elf = symbols_go_module(b->sym, &bias, &pcln, NULL);
	Elf_Scn *scn = elf ? go_elf_section(elf, ".go.buildinfo", &sh) : NULL;
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

	if (!d || !d->d_buf || d->d_size < 32 || memcmp(d->d_buf, magic, 14) != 0 ||
	    !(((const unsigned char *)d->d_buf)[15] & 2))
		return -ENOENT;	/* before 1.18: pointers, not read here */
	const unsigned char *p = (const unsigned char *)d->d_buf + 32;
	const unsigned char *end = (const unsigned char *)d->d_buf + d->d_size;
	/* the version, then the module info: 16 bytes of sentinel, then
	 * "path\tPATH\n..." */
	if (!uvarint(&p, end, &len) || len > (uint64_t)(end - p))
		return -ENOENT;
	p += len;
	if (!uvarint(&p, end, &len) || len > (uint64_t)(end - p) || len < 16 + 5)
		return -ENOENT;
	const char *mi = (const char *)p + 16;
	size_t milen = len - 16;
	if (strncmp(mi, "path\t", 5) != 0)
		return -ENOENT;
	size_t plen = 0;
	while (5 + plen < milen && mi[5 + plen] != '\n')
		plen++;
	if (plen > 5 && strncmp(mi + 5 + plen - 5, ".test", 5) == 0)
		plen -= 5;
	if (!plen || plen >= size)
		return -ENOENT;
	memcpy(buf, mi + 5, plen);
	buf[plen] = '\0';
	return 0;
}
