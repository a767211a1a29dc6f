/*
 * symbols: pc -> module, function, inline frames, file:line, with libdw.
 *
 * One symbolizer per target holds the target's Dwfl (modules reported
 * from /proc/PID/maps; ELF files opened through /proc/PID/root or
 * /proc/PID/map_files when the plain path does not work, e.g. a deleted
 * executable or a container).  The unwind-libdw backend attaches its
 * thread state to the same Dwfl.  Each distinct lookup address is resolved
 * once and cached.  Debug files are found as gdb finds them: by build id
 * and .gnu_debuglink under /usr/lib/debug and beside the file, the
 * MiniDebugInfo symbol table (.gnu_debugdata), and from debuginfod when
 * DEBUGINFOD_URLS is set (debuginfod.h: fetched at the open, in a bounded
 * time).  Code in no module is named from its JIT's perf map (perfmap.h).
 */
#ifndef THREADLEAK_SYMBOLS_H
#define THREADLEAK_SYMBOLS_H

#include <elfutils/libdwfl.h>

#include "model/snapshot.h"
#include "stacks/unwind.h"

struct symbolizer;

/* NULL and a message in err when the target's modules cannot be read
 * (errno ESRCH: its memory map is gone, the process exited). */
struct symbolizer *symbols_open(int pid, char *err, size_t errlen);
void symbols_close(struct symbolizer *s);
Dwfl *symbols_dwfl(struct symbolizer *s);

/*
 * Tells the symbolizer the frames about to be resolved, so that what
 * names them is read once for them all (a JIT's perf map, perfmap.h):
 * call it with every thread's frames before the first symbols_resolve()
 * of a snapshot.  Optional: symbols_resolve() does it for its own.
 */
void symbols_expect(struct symbolizer *s, const struct raw_frame *raw, int n);

/*
 * Appends the symbolized frames of raw[0..n) to t, an inline chain
 * expanding to several frames.  Returns 0 or -ENOMEM.
 */
int symbols_resolve(struct symbolizer *s, const struct raw_frame *raw, int n,
		    struct thread *t);

/* Lists the target's modules (path, addresses, build id) in snap->modules,
 * by start address, for exports that say which file a pc is in.  0 or
 * -ENOMEM. */
int symbols_modules(struct symbolizer *s, struct snapshot *snap);

/*
 * Whether a frame is where a stack ends, by the code rather than by names:
 * its CFI marks the caller's return address undefined (glibc's _start and
 * clone3, Rust's threads), it is the function at its module's ELF entry
 * point (a stripped _start), it is in clone/clone3, or for Go code the
 * function table flags it as the top of a traceback (goexit, mstart,
 * rt0_go, mcall...).  A stack unwound from sp and pc alone counts as whole
 * only if it ends here.
 */
bool symbols_is_stack_end(struct symbolizer *s, const struct raw_frame *f);

/* A libc symbol's public name: "__GI___pthread_mutex_lock" ->
 * "pthread_mutex_lock".  Returns a pointer into name. */
const char *symbols_public_name(const char *name);

/* Whether f is in clone or clone3 (glibc's, whose unwind info ends
 * before the system call). */
bool symbols_is_clone(struct symbolizer *s, const struct raw_frame *f);

/*
 * Whether a direct call to target can be a call of the function holding
 * pc: target is that function's start (by its ELF symbol, or where none
 * names it by .eh_frame_hdr, elfcode.h), or a PLT entry,
 * which may lead anywhere.  (fpguess.h checks a guessed frame this way.)
 */
bool symbols_may_call(struct symbolizer *s, uint64_t target, uint64_t pc);

/*
 * For an unwinding that stopped at pc: when pc is in no known module, the
 * process may have mapped code since its modules were read (dlopen).
 * Reads them again (never again for a page a fresh read already left
 * outside every module, as JIT code is; 64 times at most) and
 * returns true when pc now has a module: unwind again.  Invalidates what
 * symbols_resolve() cached, never the frames it gave.
 */
bool symbols_cover(struct symbolizer *s, uint64_t pc);

/* The Go function table (stacks/pclntab.h) of the module holding pc, and in
 * *bias what to subtract from pc for its link-time address; NULL when
 * that module is not a Go binary.  Owned by the symbolizer, valid until
 * its modules are read again (symbols_cover). */
struct go_pcln;
const struct go_pcln *symbols_go_table(struct symbolizer *s, uint64_t pc, uint64_t *bias);
/* The first module that is a Go binary (the executable, mostly): its ELF
 * (for its sections), load bias, Go table and module; NULL when the
 * process runs no Go code.  Owned by the symbolizer; the caller may tell
 * the table what only the process knows (go_pcln_set_gofunc). */
Elf *symbols_go_module(struct symbolizer *s, uint64_t *bias,
		       struct go_pcln **pcln, Dwfl_Module **mod);

#endif
