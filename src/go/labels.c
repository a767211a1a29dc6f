/*
 * go/labels: a goroutine's pprof labels from its g; see labels.h.
 *
 * Layouts (amd64), from runtime/map.go of 1.19-1.23 and runtime/pprof's
 * label.go of 1.19-1.27: hmap {count int @0, flags u8 @8, B u8 @9, ...,
 * buckets @16, oldbuckets @24}; a map[string]string bucket {tophash [8]u8
 * @0, keys [8]string @8, values [8]string @136, overflow @264}, 272
 * bytes; a Go string {ptr, len}; 1.24's labelMap {List []{Key, Value
 * string}} with the slice {ptr, len, cap} at 0, 32 bytes an element.
 *
 * The memo: an open-addressing table, at most half full, from the g.labels
 * pointer to the pooled array (or to "unreadable").
 */
#include "go/labels.h"
#include "model/labels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HMAP_SIZE 48
#define HMAP_B 9
#define HMAP_FLAGS 8
#define HMAP_BUCKETS 16
#define HMAP_OLDBUCKETS 24
#define SAME_SIZE_GROW 8
#define BUCKET_KEYS 8
#define BUCKET_VALUES (8 + 8 * 16)
#define BUCKET_OVERFLOW (8 + 16 * 16)
#define BUCKET_SIZE (BUCKET_OVERFLOW + 8)
#define MIN_TOPHASH 5
#define LABEL_SIZE 32	/* {Key, Value string} */
#define MAX_GO_STRING (1ull << 30)

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

struct walk {
	struct memory *mem;
	struct label *l;	/* GO_LABELS_WALK of them */
	size_t n;
};

/* The Go string {ptr, len} at p, cleaned (labels.h labels_clean). */
static int read_string(struct memory *mem, const unsigned char *p, char **out)
{
	uint64_t ptr = u64(p), len = u64(p + 8);
	char buf[LABEL_LEN_MAX + 1];

	if (len >= MAX_GO_STRING || (len && !ptr))
		return -EINVAL;
	if (len > LABEL_LEN_MAX)
		len = LABEL_LEN_MAX;
	if (len && memory_read(mem, ptr, buf, len) < 0)
		return -EFAULT;
	buf[len] = '\0';
	*out = labels_clean(buf, len);
	return *out ? 0 : -ENOMEM;
}

/* The key and value strings at k and v, kept while there is room. */
static int take(struct walk *w, const unsigned char *k, const unsigned char *v)
{
	struct label *l = &w->l[w->n];
	int rc;

	if (w->n >= GO_LABELS_WALK)
		return 0;
	if ((rc = read_string(w->mem, k, &l->key)) < 0)
		return rc;
	if ((rc = read_string(w->mem, v, &l->value)) < 0) {
		free(l->key);
		l->key = NULL;
		return rc;
	}
	w->n++;
	return 0;
}

/* The used slots of nb buckets at base and their overflow chains, added
 * to *used (refused past max). */
static int walk_buckets(struct walk *w, uint64_t base, uint64_t nb, uint64_t max,
			uint64_t *used)
{
	unsigned char b[BUCKET_SIZE];
	int rc;

	for (uint64_t i = 0; i < nb; i++) {
		uint64_t at = base + i * BUCKET_SIZE;
		for (int chain = 0; at; chain++) {
			if (chain > GO_MAP_MAX_CHAIN)
				return -EINVAL;
			if (memory_read(w->mem, at, b, sizeof(b)) < 0)
				return -EFAULT;
			for (int s = 0; s < 8; s++) {
				if (b[s] < MIN_TOPHASH)
					continue;
				if (++*used > max)
					return -EINVAL;
				rc = take(w, b + BUCKET_KEYS + 16 * s, b + BUCKET_VALUES + 16 * s);
				if (rc < 0)
					return rc;
			}
			at = u64(b + BUCKET_OVERFLOW);
		}
	}
	return 0;
}

/* Go 1.19-1.23: a map[string]string. */
static int read_map(struct walk *w, uint64_t ptr)
{
	unsigned char h[HMAP_SIZE];
	uint64_t hmap, used = 0;
	int rc;

	if (memory_read(w->mem, ptr, &hmap, 8) < 0)
		return -EFAULT;
	if (!hmap)		/* a nil map: no label */
		return 0;
	if (memory_read(w->mem, hmap, h, sizeof(h)) < 0)
		return -EFAULT;
	int64_t count = (int64_t)u64(h);
	unsigned B = h[HMAP_B];
	uint64_t buckets = u64(h + HMAP_BUCKETS), old = u64(h + HMAP_OLDBUCKETS);
	if (count < 0 || B > GO_MAP_MAX_B || (count && !buckets))
		return -EINVAL;
	if (!count)
		return 0;
	if ((rc = walk_buckets(w, buckets, 1ull << B, (uint64_t)count, &used)) < 0)
		return rc;
	if (old) {
		/* growing: what is not moved yet is still there */
		unsigned oldB = h[HMAP_FLAGS] & SAME_SIZE_GROW || !B ? B : B - 1;
		if ((rc = walk_buckets(w, old, 1ull << oldB, (uint64_t)count, &used)) < 0)
			return rc;
	}
	return used == (uint64_t)count ? 0 : -EINVAL;
}

/* Go 1.24 on: a sorted slice of {key, value}. */
static int read_list(struct walk *w, uint64_t ptr)
{
	unsigned char s[24], e[LABEL_SIZE * 16];
	int rc;

	if (memory_read(w->mem, ptr, s, sizeof(s)) < 0)
		return -EFAULT;
	uint64_t arr = u64(s), len = u64(s + 8), cap = u64(s + 16);
	if (len > cap || len >= (1ull << 32) || (len && !arr))
		return -EINVAL;
	if (len > GO_LABELS_WALK)
		len = GO_LABELS_WALK;
	for (uint64_t i = 0; i < len; i += 16) {
		uint64_t k = len - i < 16 ? len - i : 16;
		if (memory_read(w->mem, arr + i * LABEL_SIZE, e, k * LABEL_SIZE) < 0)
			return -EFAULT;
		for (uint64_t j = 0; j < k; j++)
			if ((rc = take(w, e + j * LABEL_SIZE, e + j * LABEL_SIZE + 16)) < 0)
				return rc;
	}
	return 0;
}

void go_labels_free(struct label *l, size_t n)
{
	for (size_t i = 0; l && i < n; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

int go_read_labels(struct memory *mem, int minor, uint64_t ptr, struct label **out,
		   size_t *n)
{
	struct walk w = { mem, calloc(GO_LABELS_WALK, sizeof(struct label)), 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if (!w.l)
		return -ENOMEM;
	rc = minor <= 23 ? read_map(&w, ptr) : read_list(&w, ptr);
	if (rc < 0 || !w.n) {
		go_labels_free(w.l, w.n);
		return rc;
	}
	w.n = labels_sort(w.l, w.n, true);
	/* the first LABELS_MAX by key */
	for (size_t i = LABELS_MAX; i < w.n; i++) {
		free(w.l[i].key);
		free(w.l[i].value);
	}
	if (w.n > LABELS_MAX)
		w.n = LABELS_MAX;
	struct label *l = realloc(w.l, w.n * sizeof(*l));
	*out = l ? l : w.l;
	*n = w.n;
	return 0;
}

/* ---- the memo ---------------------------------------------------------- */

struct memo_slot {
	uint64_t ptr;		/* 0: free */
	struct label *labels;	/* the pool's */
	size_t n;
	bool ok;		/* read */
};

struct go_labels_memo {
	struct memo_slot *slots;
	size_t mask, count;
};

struct go_labels_memo *go_labels_memo_new(void)
{
	struct go_labels_memo *m = calloc(1, sizeof(*m));

	if (m && !(m->slots = calloc(64, sizeof(*m->slots)))) {
		free(m);
		return NULL;
	}
	if (m)
		m->mask = 63;
	return m;
}

void go_labels_memo_free(struct go_labels_memo *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static size_t slot_of(uint64_t ptr, size_t mask)
{
	uint64_t h = ptr * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 29)) & mask;
}

static int memo_grow(struct go_labels_memo *m)
{
	size_t n = (m->mask + 1) * 2;
	struct memo_slot *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i <= m->mask; i++) {
		if (!m->slots[i].ptr)
			continue;
		size_t j;
		for (j = slot_of(m->slots[i].ptr, n - 1); s[j].ptr; j = (j + 1) & (n - 1))
			;
		s[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = s;
	m->mask = n - 1;
	return 0;
}

int go_entry_labels(struct go_labels_memo *m, const struct go_runtime *rt,
		    struct memory *mem, struct snapshot *snap, uint64_t ptr,
		    struct thread *t)
{
	struct memo_slot *slot;
	size_t i;
	int rc;

	if (!ptr)
		return 0;
	if (!m)
		return -ENOMEM;
	if ((m->count + 1) * 2 > m->mask + 1 && (rc = memo_grow(m)) < 0)
		return rc;
	for (i = slot_of(ptr, m->mask); m->slots[i].ptr; i = (i + 1) & m->mask)
		if (m->slots[i].ptr == ptr)
			break;
	slot = &m->slots[i];
	if (!slot->ptr) {
		struct label *l;
		size_t n;
		slot->ptr = ptr;
		m->count++;
		rc = go_read_labels(mem, rt->minor, ptr, &l, &n);
		if (rc == -ENOMEM)
			return rc;
		if (rc == 0) {
			rc = snapshot_pool_labels(snap, l, n, &slot->labels);
			go_labels_free(l, n);
			if (rc < 0)
				return rc;
			slot->n = n;
			slot->ok = true;
		}
	}
	if (slot->ok) {
		t->labels = slot->labels;
		t->nlabels = slot->n;
		t->labelled = true;
	}
	return 0;
}
