/*
 * perfmap: the perf map of a JIT, parsed into a table sorted by start
 * address; see perfmap.h.
 */
#include "perfmap.h"
#include "util.h"

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
#define MAX_READS 16		/* re-reads of a growing file */
#define OVERLAP_SCAN 64		/* entries before a hit searched for a newer one */

struct pm_entry {
	uint64_t start, size;	/* start first: count_keys_upto() */
	size_t seq;		/* line number: the later wins */
	char *name;
};

struct perfmap {
	int pid;
	struct pm_entry *e;
	size_t n, cap;
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

static void forget(struct perfmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].name);
	m->n = 0;
}

void perfmap_close(struct perfmap *m)
{
	if (!m)
		return;
	forget(m);
	free(m->e);
	free(m);
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
	for (char *tok = strtok(p, " \t"); tok; tok = strtok(NULL, " \t"))
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

static int by_start(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One line "START SIZE NAME" into the table; bad lines are skipped. */
static int add_line(struct perfmap *m, char *line, size_t seq)
{
	char *p = line, *end;
	uint64_t start = strtoull(p, &end, 16);

	if (end == p || (*end != ' ' && *end != '\t'))
		return 0;
	p = end;
	uint64_t size = strtoull(p, &end, 16);
	if (end == p || (*end != ' ' && *end != '\t') || !size || start + size < start)
		return 0;
	p = end + strspn(end, " \t");
	size_t len = strcspn(p, "\r\n");
	if (!len)
		return 0;
	if (len > NAME_MAX_BYTES)
		len = NAME_MAX_BYTES;
	if (grow_array(&m->e, &m->cap, m->n + 1, sizeof(*m->e)) < 0)
		return -ENOMEM;
	char *name = strndup(p, len);
	if (!name)
		return -ENOMEM;
	m->e[m->n++] = (struct pm_entry){ start, size, seq, name };
	return 0;
}

void perfmap_read(struct perfmap *m, FILE *f)
{
	char line[1024];
	size_t seq = 0, bytes = 0;

	forget(m);
	while (bytes < MAP_MAX_BYTES && fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		bytes += len;
		/* A longer line: its name is cut; the rest is skipped. */
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int c;
			while ((c = getc(f)) != EOF && c != '\n')
				bytes++;
		}
		if (add_line(m, line, seq++) < 0)
			break;
	}
	if (m->n > 1)
		qsort(m->e, m->n, sizeof(*m->e), by_start);
}

/* (Re)reads the map when it changed size since the last read. */
static void load(struct perfmap *m)
{
	struct stat st;
	int fd;

	if (m->reads >= MAX_READS || (fd = open_map(m, &st)) < 0)
		return;
	if (st.st_size == m->size_read) {
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

static const char *find(const struct perfmap *m, uint64_t addr)
{
	size_t lo = count_keys_upto(m->e, m->n, sizeof(*m->e), addr);

	/* m->e[lo - 1] is the last that starts at or before addr; an older
	 * entry starting before it may be the one holding addr, or a newer
	 * one may hold it too: the latest line holding addr wins. */
	const struct pm_entry *best = NULL;
	for (size_t k = lo, seen = 0; k > 0 && seen < OVERLAP_SCAN; k--, seen++) {
		const struct pm_entry *e = &m->e[k - 1];
		if (addr - e->start < e->size && (!best || e->seq > best->seq))
			best = e;
	}
	return best ? best->name : NULL;
}

const char *perfmap_lookup(struct perfmap *m, uint64_t addr)
{
	if (!m)
		return NULL;
	if (m->size_read < 0 && !m->n)
		load(m);
	const char *name = find(m, addr);
	if (!name && m->size_read >= 0) {
		load(m);
		name = find(m, addr);
	}
	return name;
}
