/*
 * modfile: which file a module's names and unwind tables are read from.
 *
 * The file at a module's path is not always the one the process mapped:
 * a package upgrade renames a new file over it while the process runs
 * (maps then says "PATH (deleted)"), and a container's mount namespace
 * has its own file at that path.  The one place that decides is here:
 *
 *   1. /proc/PID/map_files/START-END, the mapped object itself (opening
 *      it needs CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE from Linux 5.9);
 *   2. else the path as the target sees it (/proc/PID/root/PATH), then as
 *      we see it, each trusted only when it is the mapped object: its
 *      build id is the one in the target's memory (the note the loaded
 *      ELF header points at, read with process_vm_readv), or, when either
 *      has none, its device and inode are the ones /proc/PID/maps gives;
 *   3. else nothing: the caller reads the image loaded in memory, and
 *      says the module was replaced on disk.
 *
 * A file found is returned as an Elf mapped from it, its descriptor
 * closed (ELF_C_FDDONE): no descriptor is held per module, so a process
 * with thousands of libraries needs no more than a few.  Debug files found
 * by build id stay with the caller: they are keyed by the mapped build id.
 */
#ifndef THREADLEAK_MODFILE_H
#define THREADLEAK_MODFILE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file mappings of a process, as /proc/PID/maps listed them. */
struct modmap;

/* Reads /proc/PID/maps; NULL with errno set when it cannot. */
struct modmap *modmap_read(int pid);
void modmap_free(struct modmap *m);

/* Where modfile_elf() found a module's file, or why it found none. */
enum modfile_source {
	MODFILE_MAPPED,		/* map_files: the mapped object itself */
	MODFILE_PATH,		/* a path, checked to be the mapped object */
	MODFILE_REPLACED,	/* a file at the path, not the mapped one */
	MODFILE_GONE,		/* no file at the path (deleted) */
	MODFILE_UNKNOWN,	/* no mapping of a file starts at low */
};

/*
 * The ELF of the module named path (as maps names it, " (deleted)" and
 * all) whose first mapping starts at low in pid, with the mappings read
 * in map: NULL when no file is the mapped object (*source says why; an
 * open that failed for lack of descriptors is noted: fdlimit.h).  The
 * caller owns the Elf (elf_end); no descriptor stays open.
 */
Elf *modfile_elf(int pid, const struct modmap *map, const char *path,
		 uint64_t low, enum modfile_source *source);

/* path as maps names it without a trailing " (deleted)"; malloc'd. */
char *modfile_path(const char *path);

/*
 * The GNU build id of the ELF object whose header is mapped at low in
 * pid, read from its memory (its PT_NOTE segments, within the first
 * pages) into id (max bytes); its length, or 0 when there is none to read.
 */
size_t modfile_memory_build_id(int pid, uint64_t low, unsigned char *id, size_t max);

#endif
