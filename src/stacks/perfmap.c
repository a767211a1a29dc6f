/*
 * perfmap: names for the JIT code a snapshot holds, from its JIT's perf
 * map; see perfmap.h.
 *
 * The map is the target's file and may be of any size: it is never
 * loaded.  The table is the addresses asked about (perfmap_want, or a
 * lookup), sorted, each with the name found for it.  A read streams the
 * file once, line by line in a fixed buffer: a line whose range covers
 * some of the asked addresses (a contiguous run of the sorted table)
 * tags that run with its own offset in a segment tree (a range "max"
 * update, O(log n) a line); since offsets grow down the file, each
 * address ends tagged with the offset of the last line covering it, the
 * one that wins.  The names of those lines only are then read again at
 * their offsets, and checked to still cover their address (the file may
 * change in between).  Memory: the table, its tree (two words an
 * address) and a name of at most 255 bytes an address, whatever the
 * file holds.
 */
#include "stacks/perfmap.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAP_MAX_BYTES (64u << 20)
#define NAME_MAX_BYTES 255
#define LINE_BYTES 1024		/* a longer line: the rest is skipped */
#define MAX_READS 16		/* reads of the file, at most */
#define PCS_MAX (1u << 18)	/* addresses asked about, at most */

struct pm_pc {
	uint64_t pc;		/* first: count_keys_upto() */
	char *name;		/* NULL: no line names it */
};

struct perfmap {
	int pid;
	struct pm_pc *pcs;	/* sorted by pc, unique */
	size_t n, cap;
	uint64_t *pending;	/* asked about since the last read */
	size_t npending, pendcap;
	off_t size_read;	/* the file's size when it was read; -1: never */
	int reads;
};

struct perfmap *perfmap_open(int pid)
{
	struct perfmap *m = calloc(1, sizeof(*m));

	if (m) {
		m->pid = pid;
		m->size_read = -1;
	}
	return m;
}

void perfmap_close(struct perfmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->pcs[i].name);
	free(m->pcs);
	free(m->pending);
	free(m);
}

/* The index of addr in the table, or m->n. */
static size_t find(const struct perfmap *m, uint64_t addr)
{
	size_t k = count_keys_upto(m->pcs, m->n, sizeof(*m->pcs), addr);

	return k > 0 && m->pcs[k - 1].pc == addr ? k - 1 : m->n;
}

int perfmap_want(struct perfmap *m, uint64_t addr)
{
	if (find(m, addr) < m->n)
		return 0;
	if (m->n + m->npending >= PCS_MAX)
		return -E2BIG;
	if (grow_array(&m->pending, &m->pendcap, m->npending + 1, sizeof(*m->pending)) < 0)
		return -ENOMEM;
	m->pending[m->npending++] = addr;
	return 0;
}

static int by_pc(const void *a, const void *b)
{
	const struct pm_pc *x = a, *y = b;

	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* The pending addresses into the table, every name forgotten (a read
 * finds them all again).  -ENOMEM leaves the pending ones pending. */
static int merge_pending(struct perfmap *m)
{
	if (grow_array(&m->pcs, &m->cap, m->n + m->npending, sizeof(*m->pcs)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->npending; i++)
		m->pcs[m->n++] = (struct pm_pc){ m->pending[i], NULL };
	m->npending = 0;
	size_t kept = 0;
	if (m->n > 1)
		qsort(m->pcs, m->n, sizeof(*m->pcs), by_pc);
	for (size_t i = 0; i < m->n; i++) {
		free(m->pcs[i].name);
		if (kept && m->pcs[kept - 1].pc == m->pcs[i].pc)
			continue;
		m->pcs[kept++] = (struct pm_pc){ m->pcs[i].pc, NULL };
	}
	m->n = kept;
	return 0;
}

/* One line "START SIZE NAME": false for a malformed one (no name, a zero
 * size, a range that wraps), else its range and its name, cut. */
static bool parse_line(const char *line, uint64_t *start, uint64_t *size,
		       const char **name, size_t *len)
{
	const char *p = line;
	char *end;

	*start = strtoull(p, &end, 16);
	if (end == p || (*end != ' ' && *end != '\t'))
		return false;
	p = end;
	*size = strtoull(p, &end, 16);
	if (end == p || (*end != ' ' && *end != '\t') || !*size ||
	    *start + *size < *start)
		return false;
	p = end + strspn(end, " \t");
	*len = strcspn(p, "\r\n");
	if (*len > NAME_MAX_BYTES)
		*len = NAME_MAX_BYTES;
	*name = p;
	return *len > 0;
}

/* A line into buf (LINE_BYTES, NUL-terminated; a longer one cut, a NUL
 * byte ends what is parsed); its length in the file, 0 at the end. */
static size_t next_line(FILE *f, char *buf)
{
	size_t len = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF) {
		if (len < LINE_BYTES - 1)
			buf[len] = (char)c;
		len++;
		if (c == '\n')
			break;
	}
	buf[len < LINE_BYTES - 1 ? len : LINE_BYTES - 1] = '\0';
	return len;
}

/* Tags leaves [lo, hi) of the tree (size leaves) with at least v. */
static void tag_range(uint64_t *tree, size_t size, size_t lo, size_t hi, uint64_t v)
{
	for (lo += size, hi += size; lo < hi; lo /= 2, hi /= 2) {
		if (lo & 1) {
			if (tree[lo] < v)
				tree[lo] = v;
			lo++;
		}
		if (hi & 1) {
			hi--;
			if (tree[hi] < v)
				tree[hi] = v;
		}
	}
}

/* The largest tag over leaf i. */
static uint64_t tag_of(const uint64_t *tree, size_t size, size_t i)
{
	uint64_t v = 0;

	for (i += size; i; i /= 2)
		if (tree[i] > v)
			v = tree[i];
	return v;
}

/* The name of the line at offset off of f, if that line holds pc. */
static char *name_at(FILE *f, off_t off, uint64_t pc)
{
	char line[LINE_BYTES];
	uint64_t start, size;
	const char *name;
	size_t len;

	if (fseeko(f, off, SEEK_SET) < 0 || !next_line(f, line) ||
	    !parse_line(line, &start, &size, &name, &len) || pc - start >= size)
		return NULL;
	return strndup(name, len);
}

void perfmap_read(struct perfmap *m, FILE *f)
{
	char line[LINE_BYTES];
	size_t size = 1;

	if (merge_pending(m) < 0 || !m->n)
		return;
	while (size < m->n)
		size *= 2;
	uint64_t *tree = calloc(2 * size, sizeof(*tree));
	if (!tree)
		return;
	off_t base = ftello(f);
	uint64_t off = base > 0 ? (uint64_t)base : 0, end = off + MAP_MAX_BYTES;
	for (size_t len; off < end && (len = next_line(f, line)); off += len) {
		uint64_t start, sz;
		const char *name;
		size_t nlen;
		if (!parse_line(line, &start, &sz, &name, &nlen))
			continue;
		size_t lo = start ? count_keys_upto(m->pcs, m->n, sizeof(*m->pcs), start - 1) : 0;
		size_t hi = count_keys_upto(m->pcs, m->n, sizeof(*m->pcs), start + sz - 1);
		if (lo < hi)
			tag_range(tree, size, lo, hi, off + 1);
	}
	uint64_t prev = 0;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t t = tag_of(tree, size, i);
		if (!t)
			continue;
		/* neighbours are often in one function: its line read once */
		if (t == prev && i && m->pcs[i - 1].name)
			m->pcs[i].name = strdup(m->pcs[i - 1].name);
		else
			m->pcs[i].name = name_at(f, (off_t)(t - 1), m->pcs[i].pc);
		prev = t;
	}
	free(tree);
}

/* The pid the target sees itself as: the last NSpid field, else pid. */
static long own_pid(int pid)
{
	char path[64], buf[4096];
	long v = pid;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file_buf(path, buf, sizeof(buf)) < 0)
		return pid;
	char *p = strstr(buf, "\nNSpid:");
	if (!p)
		return pid;
	p += 7;
	char *end = strchr(p, '\n');
	if (end)
		*end = '\0';
	char *save;
	for (char *tok = strtok_r(p, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save))
		v = strtol(tok, NULL, 10);
	return v > 0 ? v : pid;
}

/* The map, opened safely, and its size; -1 when there is none to trust. */
static int open_map(const struct perfmap *m, struct stat *st)
{
	char path[128];
	struct stat proc;

	snprintf(path, sizeof(path), "/proc/%d", m->pid);
	if (stat(path, &proc) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%ld.map", m->pid,
		 own_pid(m->pid));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    (st->st_uid != proc.st_uid && st->st_uid != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the map for the addresses asked about since, or again when it
 * changed size since the last read. */
static void load(struct perfmap *m)
{
	struct stat st;
	int fd;

	if (m->reads >= MAX_READS || (fd = open_map(m, &st)) < 0)
		return;
	if (st.st_size == m->size_read && !m->npending) {
		close(fd);
		return;
	}
	m->reads++;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	perfmap_read(m, f);
	fclose(f);
	m->size_read = st.st_size;
}

const char *perfmap_lookup(struct perfmap *m, uint64_t addr)
{
	if (!m)
		return NULL;
	size_t i = find(m, addr);
	if (i == m->n) {
		if (perfmap_want(m, addr) < 0)
			return NULL;
	} else if (m->pcs[i].name || m->size_read < 0) {
		return m->pcs[i].name;
	}
	/* new, or named by no line when last read: the file may have grown */
	load(m);
	i = find(m, addr);
	return i < m->n ? m->pcs[i].name : NULL;
}
