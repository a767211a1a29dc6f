/*
 * debugcache: see debugcache.h for what is cached and why.
 *
 * The copy is made the way eu-elfcompress -t none does it, with libelf on
 * a byte copy of the original: each SHF_COMPRESSED section is decompressed
 * in place (elf_compress with type 0) and elf_update() lays the file out
 * again.  Only section offsets move; addresses, program headers and notes
 * stay, so libdwfl places the copy exactly as it placed the original.
 */
#include "stacks/debugcache.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILD_ID_MAX 64	/* bytes; GNU build ids are 20 */
#define DEBUG_DIR "/usr/lib/debug"	/* libdwfl's default debuginfo_path */

char *debugcache_dir(void)
{
	const char *env = getenv("THREADLEAK_CACHE_DIR");
	char *dir = NULL;

	if (env)
		return *env && strcmp(env, "off") != 0 ? strdup(env) : NULL;
	if ((env = getenv("XDG_CACHE_HOME")) && *env == '/') {
		if (asprintf(&dir, "%s/threadleak", env) < 0)
			return NULL;
	} else if ((env = getenv("HOME")) && *env == '/') {
		if (asprintf(&dir, "%s/.cache/threadleak", env) < 0)
			return NULL;
	}
	return dir;
}

static bool has_compressed(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &shdr) && (shdr.sh_flags & SHF_COMPRESSED))
			return true;
	return false;
}

/* The build id as hex into hex (2 * BUILD_ID_MAX + 1); false if none. */
static bool build_id_hex(Elf *elf, char *hex)
{
	const void *id;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &id);

	if (n <= 0 || n > BUILD_ID_MAX)
		return false;
	for (ssize_t i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", ((const unsigned char *)id)[i]);
	return true;
}

/* A usable entry: the same build id, DWARF, nothing compressed, nothing
 * beyond the end of the file. */
static bool valid_entry(int fd, const char *hex)
{
	struct stat st;
	char got[2 * BUILD_ID_MAX + 1];
	bool ok = false;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return false;
	GElf_Ehdr eh;
	size_t shstrndx;
	/* The section header table first: a file cut short keeps its ELF
	 * header, program headers and build-id note, and loses the rest. */
	if (elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &eh) &&
	    eh.e_shoff <= (uint64_t)st.st_size &&
	    (uint64_t)eh.e_shnum * eh.e_shentsize <= (uint64_t)st.st_size - eh.e_shoff &&
	    elf_getshdrstrndx(elf, &shstrndx) == 0 && !has_compressed(elf) &&
	    build_id_hex(elf, got) && strcmp(got, hex) == 0) {
		Elf_Scn *scn = NULL;
		GElf_Shdr shdr;
		bool info = false;
		ok = true;
		while (ok && (scn = elf_nextscn(elf, scn))) {
			if (!gelf_getshdr(scn, &shdr)) {
				ok = false;
				break;
			}
			const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
			info |= name && strcmp(name, ".debug_info") == 0;
			if (shdr.sh_type != SHT_NOBITS &&
			    (shdr.sh_offset > (uint64_t)st.st_size ||
			     shdr.sh_size > (uint64_t)st.st_size - shdr.sh_offset))
				ok = false;
		}
		ok = ok && info;
	}
	elf_end(elf);
	return ok;
}

static int mkdir_parents(const char *dir)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int copy_bytes(int from, int to)
{
	char buf[1 << 16];
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(from, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			done += w;
		}
		off += n;
	}
}

/* Decompresses every compressed section of the file open at fd, in place. */
static int decompress_file(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_RDWR, NULL);
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	int rc = 0;

	if (!elf)
		return -EIO;
	while (rc == 0 && (scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &shdr) && (shdr.sh_flags & SHF_COMPRESSED) &&
		    elf_compress(scn, 0, 0) < 0)
			rc = -EIO;
	if (rc == 0) {
		off_t size = elf_update(elf, ELF_C_WRITE);
		if (size < 0 || ftruncate(fd, size) < 0)
			rc = -EIO;
	}
	elf_end(elf);
	return rc;
}

/* Writes dir/hex.debug, an uncompressed copy of src; returns its fd. */
static int make_entry(int src, const char *dir, const char *path)
{
	char tmp[4200];
	int fd;

	if (mkdir_parents(dir) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -1;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (copy_bytes(src, fd) < 0 || decompress_file(fd) < 0 ||
	    fchmod(fd, 0644) < 0 || rename(tmp, path) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	return fd;
}

/* An open entry if it is usable, else -1. */
static int open_entry(const char *entry, const char *hex)
{
	int fd = open(entry, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && !valid_entry(fd, hex)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The installed debug file of that build id, if it has compressed sections. */
static int open_compressed(const char *hex)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", DEBUG_DIR, hex,
		 hex + 2);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	bool compressed = elf && elf_kind(elf) == ELF_K_ELF && has_compressed(elf);
	elf_end(elf);
	if (!compressed) {
		close(fd);
		return -1;
	}
	return fd;
}

int debugcache_find(const unsigned char *id, int len, char **path)
{
	char hex[2 * BUILD_ID_MAX + 1];
	char *dir, *entry = NULL;
	int fd;

	*path = NULL;
	if (len < 2 || len > BUILD_ID_MAX || !(dir = debugcache_dir()))
		return -1;
	for (int i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
	if (asprintf(&entry, "%s/%s.debug", dir, hex) < 0) {
		free(dir);
		return -1;
	}
	elf_version(EV_CURRENT);
	fd = open_entry(entry, hex);
	if (fd < 0) {
		int orig = open_compressed(hex);
		if (orig >= 0) {
			int made = make_entry(orig, dir, entry);
			close(orig);
			/* Read back what was written: the same test as for any
			 * entry. */
			if (made >= 0) {
				close(made);
				fd = open_entry(entry, hex);
			}
		}
	}
	free(dir);
	if (fd < 0) {
		free(entry);
		return -1;
	}
	*path = entry;
	return fd;
}
