/*
 * modfile: see modfile.h for the order in which files are tried and why.
 *
 * The maps file is read whole into one array of the file mappings, by
 * start address (the kernel lists them in order), so each module is one
 * binary search.  A candidate file is opened O_NONBLOCK and used only when
 * it is a regular file: a FIFO or a device at a module's path must not
 * hang us.  The build id in memory is read from the first pages mapped at
 * the module's start (its ELF header, program headers and notes are
 * there for every linker's layout); every offset and size in them is
 * checked against what was read.
 */
#include "stacks/modfile.h"

#include "base/fdlimit.h"
#include "target/memory.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"

#define BUILD_ID_MAX 64
#define HEAD_PAGES 2		/* pages read at a module's start */
#define DELETED " (deleted)"

struct mapping {
	uint64_t start, end, offset;
	unsigned int major, minor;
	uint64_t ino;
	char *path;
};

struct modmap {
	struct mapping *v;
	size_t n, cap;
};

void modmap_free(struct modmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m);
}

struct modmap *modmap_read(int pid)
{
	char path[64];
	char *line = NULL;
	size_t len = 0;
	struct modmap *m = calloc(1, sizeof(*m));
	FILE *fp;

	if (!m)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fp = fopen(path, "re");
	if (!fp) {
		fdlimit_note(errno);
		free(m);
		return NULL;
	}
	while (getline(&line, &len, fp) > 0) {
		struct mapping e = { 0 };
		int name = 0;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &e.start, &e.end, &e.offset, &e.major, &e.minor, &e.ino,
			   &name) < 6 || name == 0 || line[name] != '/')
			continue;	/* anonymous memory, [stack], [vdso]... */
		if (grow_array(&m->v, &m->cap, m->n + 1, sizeof(*m->v)) < 0 ||
		    !(e.path = strdup(line + name)))
			goto nomem;
		m->v[m->n++] = e;
	}
	free(line);
	fclose(fp);
	return m;
nomem:
	free(line);
	fclose(fp);
	modmap_free(m);
	errno = ENOMEM;
	return NULL;
}

static const struct mapping *find_mapping(const struct modmap *m, uint64_t start)
{
	size_t lo = 0, hi = m ? m->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < (m ? m->n : 0) && m->v[lo].start == start ? &m->v[lo] : NULL;
}

/* Reads a field of an ELF structure of either class at p. */
static uint64_t field(const unsigned char *p, size_t size)
{
	uint32_t v32;
	uint64_t v64;
	uint16_t v16;

	if (size == 2) {
		memcpy(&v16, p, 2);
		return v16;
	}
	if (size == 4) {
		memcpy(&v32, p, 4);
		return v32;
	}
	memcpy(&v64, p, 8);
	return v64;
}

/* The GNU build id among the notes in buf[0, len); its length or 0. */
static size_t note_build_id(const unsigned char *buf, size_t len, size_t align,
			    unsigned char *id, size_t max)
{
	size_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz = (uint32_t)field(buf + off, 4);
		uint32_t descsz = (uint32_t)field(buf + off + 4, 4);
		uint32_t type = (uint32_t)field(buf + off + 8, 4);
		size_t name = off + 12;
		size_t desc = name + ((namesz + align - 1) & ~(align - 1));
		if (namesz > len || descsz > len || desc > len || len - desc < descsz)
			return 0;
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    memcmp(buf + name, "GNU", 4) == 0 && descsz > 0 && descsz <= max) {
			memcpy(id, buf + desc, descsz);
			return descsz;
		}
		off = desc + ((descsz + align - 1) & ~(align - 1));
		if (off > len)
			return 0;
	}
	return 0;
}

size_t modfile_memory_build_id(int pid, uint64_t low, unsigned char *id, size_t max)
{
	static const size_t size = HEAD_PAGES * MEM_PAGE;
	unsigned char *buf = malloc(size);
	size_t got = 0;

	if (!buf)
		return 0;
	long n = memory_copy_pages(pid, low, size, buf);
	if (n < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0 ||
	    (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) ||
	    buf[EI_DATA] != ELFDATA2LSB)
		goto out;
	bool is64 = buf[EI_CLASS] == ELFCLASS64;
	size_t w = is64 ? 8 : 4;	/* an address or offset */
	/* e_phoff, e_phentsize, e_phnum */
	uint64_t phoff = field(buf + (is64 ? 32 : 28), w);
	size_t phentsize = field(buf + (is64 ? 54 : 42), 2);
	size_t phnum = field(buf + (is64 ? 56 : 44), 2);
	if (phentsize < (is64 ? 56 : 32) || phoff > (uint64_t)n ||
	    phnum > ((uint64_t)n - phoff) / phentsize)
		goto out;
	/* The bias: the load segment at file offset 0 is mapped at low. */
	uint64_t base = UINT64_MAX;
	for (size_t i = 0; i < phnum; i++) {
		const unsigned char *ph = buf + phoff + i * phentsize;
		uint64_t off = field(ph + (is64 ? 8 : 4), w);
		uint64_t vaddr = field(ph + (is64 ? 16 : 8), w);
		if (field(ph, 4) == PT_LOAD && off < MEM_PAGE) {
			base = (vaddr - off) & ~(uint64_t)(MEM_PAGE - 1);
			break;
		}
	}
	if (base == UINT64_MAX)
		goto out;
	for (size_t i = 0; i < phnum && !got; i++) {
		const unsigned char *ph = buf + phoff + i * phentsize;
		uint64_t vaddr = field(ph + (is64 ? 16 : 8), w);
		uint64_t filesz = field(ph + (is64 ? 32 : 16), w);
		uint64_t align = field(ph + (is64 ? 48 : 28), w);
		if (field(ph, 4) != PT_NOTE || vaddr < base)
			continue;
		uint64_t at = vaddr - base;	/* from low */
		if (at > (uint64_t)n || filesz > (uint64_t)n - at)
			continue;
		got = note_build_id(buf + at, filesz, align == 8 ? 8 : 4, id, max);
	}
out:
	free(buf);
	return got;
}

/* An Elf of the regular file at path, its descriptor closed; NULL (and
 * errno) when there is none.  *st its identity. */
static Elf *open_elf(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	Elf *elf = NULL;

	if (fd < 0) {
		fdlimit_note(errno);
		return NULL;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		errno = ENOEXEC;
		goto out;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
	if (elf && (elf_kind(elf) != ELF_K_ELF || elf_cntl(elf, ELF_C_FDDONE) != 0)) {
		elf_end(elf);
		elf = NULL;
	}
	if (!elf)
		errno = ENOEXEC;
out:
	close(fd);
	return elf;
}

/* Whether the file open as elf, st is the object mapped as e whose build
 * id in memory is id (len 0: none read). */
static bool is_mapped(Elf *elf, const struct stat *st, const struct mapping *e,
		      const unsigned char *id, size_t len)
{
	const void *fid;
	ssize_t flen = dwelf_elf_gnu_build_id(elf, &fid);

	if (len > 0 && flen > 0)
		return (size_t)flen == len && memcmp(fid, id, len) == 0;
	return major(st->st_dev) == e->major && minor(st->st_dev) == e->minor &&
	       (uint64_t)st->st_ino == e->ino;
}

char *modfile_path(const char *path)
{
	size_t plen = strlen(path), dlen = strlen(DELETED);

	if (plen > dlen && strcmp(path + plen - dlen, DELETED) == 0)
		plen -= dlen;
	return strndup(path, plen);
}

Elf *modfile_elf(int pid, const struct modmap *map, const char *path,
		 uint64_t low, enum modfile_source *source)
{
	const struct mapping *e = find_mapping(map, low);
	char candidate[4096 + 64];
	unsigned char id[BUILD_ID_MAX];
	struct stat st;
	bool found_file = false;
	Elf *elf;

	*source = MODFILE_UNKNOWN;
	if (!e || strcmp(e->path, path) != 0)
		return NULL;
	/* 1. The mapped object itself. */
	snprintf(candidate, sizeof(candidate), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 pid, e->start, e->end);
	if ((elf = open_elf(candidate, &st))) {
		*source = MODFILE_MAPPED;
		return elf;
	}
	/* 2. The path, as the target sees it, then as we do. */
	char *name = modfile_path(path);
	if (!name)
		return NULL;
	size_t idlen = modfile_memory_build_id(pid, low, id, sizeof(id));
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			snprintf(candidate, sizeof(candidate), "/proc/%d/root%s", pid, name);
		else
			snprintf(candidate, sizeof(candidate), "%s", name);
		if (!(elf = open_elf(candidate, &st))) {
			found_file |= errno == ENOEXEC;
			continue;
		}
		found_file = true;
		if (is_mapped(elf, &st, e, id, idlen)) {
			*source = MODFILE_PATH;
			free(name);
			return elf;
		}
		elf_end(elf);
	}
	free(name);
	*source = found_file ? MODFILE_REPLACED : MODFILE_GONE;
	return NULL;
}
