/*
 * perfmap: names for JIT code, from the perf map its JIT writes.
 *
 * A JIT that wants profilers to name its code appends one line per
 * compiled function to /tmp/perf-PID.map: "START SIZE NAME", START and
 * SIZE in hex (Node.js with --perf-basic-prof, the JVM through jcmd
 * Compiler.perfmap or -XX:+DumpPerfMapAtExit, CPython 3.12+ with -X perf).
 * perf names samples in anonymous executable memory from it, and so does
 * the symbolizer for frames in no module.
 *
 * The file is the target's, in a world-writable directory: it is opened
 * through /proc/PID/root with the pid the target knows itself by (its
 * last NSpid: a container's), never through a symbolic link, only if it
 * is a regular file owned by the target's user or root, and read to a
 * bound (64 MiB, names cut at 255 bytes).  Later lines win over earlier
 * ones for the same address (code moved or freed and reused).
 *
 * What is kept is bounded by the addresses asked about, not by the file:
 * a read keeps the name of the last line covering each of them and
 * nothing else (at most 262,144 addresses; more are left unnamed).  Ask
 * for all of a snapshot's addresses first (perfmap_want), and the first
 * lookup reads the file once for them all; a lookup of an address not
 * asked for reads it again.  The file grows while the JIT runs: a lookup
 * that finds nothing reads it again when it has grown.  16 reads at most.
 */
#ifndef THREADLEAK_PERFMAP_H
#define THREADLEAK_PERFMAP_H

#include <stdint.h>
#include <stdio.h>

struct perfmap;

/* For the process pid; reads nothing yet.  NULL only without memory. */
struct perfmap *perfmap_open(int pid);
void perfmap_close(struct perfmap *m);

/* Asks for addr's name at the next read.  0, -ENOMEM, or -E2BIG when
 * too many addresses were asked for. */
int perfmap_want(struct perfmap *m, uint64_t addr);

/* Reads a map from f instead of the target's file, for the addresses
 * asked about (their names found again): for the fuzzer, and for what
 * perfmap_lookup() does. */
void perfmap_read(struct perfmap *m, FILE *f);

/* The name of the JIT function holding addr, valid until the next call
 * or the close; NULL when the map has none (or there is no map).  An
 * address not asked for yet is asked for, and the file read again. */
const char *perfmap_lookup(struct perfmap *m, uint64_t addr);

#endif
