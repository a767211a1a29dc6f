/*
 * debugcache: uncompressed copies of compressed debug files, kept on disk.
 *
 * Debian's debug packages (libc6-dbg, the *-dbgsym ones) ship their DWARF
 * sections zlib-compressed, and libdw inflates all of them the first time
 * a module's DWARF is used: about 12 MB for libc, 40-70 ms and 16 MB of
 * fresh memory in every threadleak run that symbolizes a libc frame, and
 * several times that when the machine is cold.  The first run that needs
 * one writes an uncompressed copy, named by its build id, into the cache
 * directory; later runs map that copy: nothing to inflate, pages shared
 * with the page cache.
 *
 * The directory: $THREADLEAK_CACHE_DIR, else $XDG_CACHE_HOME/threadleak,
 * else $HOME/.cache/threadleak; THREADLEAK_CACHE_DIR=off (or empty) turns
 * the cache off.  An entry is used only when it is an ELF file with the
 * wanted build id, no compressed section and every section inside the
 * file; a copy is written under a temporary name and renamed into place,
 * so that no reader sees half a file.  Every failure means: use the
 * original, as if there were no cache.
 */
#ifndef THREADLEAK_DEBUGCACHE_H
#define THREADLEAK_DEBUGCACHE_H

/*
 * The uncompressed copy of the debug file with that build id: from the
 * cache, or made now from /usr/lib/debug/.build-id/ when the file there has
 * compressed sections.  Returns its descriptor and its path in *path
 * (malloc'd), or -1 when there is no such copy to be had (the caller then
 * looks for debug info as usual).
 */
int debugcache_find(const unsigned char *id, int len, char **path);

/* The cache directory in use (malloc'd), or NULL when the cache is off. */
char *debugcache_dir(void);

#endif
