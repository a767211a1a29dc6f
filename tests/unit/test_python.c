/*
 * Unit tests of src/python/ (runtime.c, threads.c, names.c, the layouts)
 * against CPython's own view: testdata/python/waits.py, run by each
 * Python this machine has under pyenv, prints its waiting threads' names
 * and frames (sys._current_frames()) once they block, and the main
 * thread's name; the reader's names and frames for the same native
 * thread ids must be the same (frames: function, line and file,
 * innermost first), and the object layout the names were read with
 * must be the built-in one (layout-objects.c) and agree with the
 * interpreter's whole DWARF where it has some; and the same in
 * testdata/python/embed, a C program
 * that loads a libpython copied under a name that tells nothing
 * (libembedded.so: 3.13's version from Py_Version, 3.9's and 3.10's from
 * their DWARF).  The built-in layouts (layout-builtin.c): equal to the
 * DWARF's, member by member, for every 3.8-3.12 read with DWARF; and
 * used to read stripped copies of each pyenv Python and Debian's own
 * /usr/bin/python3.11, with the same frames as their own dumps; Debian's
 * 3.11.2 DWARF (python3.11-dbg) equal to them too; a stripped debug build
 * and a stripped 3.9 that tells no version refused with a reason.  A
 * program that never imported threading has its thread read, unnamed.
 * Run from the repository root (tests/run.sh does).  A version not
 * installed is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "python/layout-builtin.h"
#include "python/layout-objects.h"
#include "python/threads.h"
#include "stacks/modsym.h"

#define MAX_ORACLE 64

struct oracle_thread {
	long tid;
	char name[PY_MAX_STR];
	int n;			/* frames; -1: the main thread, its name only */
	struct py_frame f[32];
};

/* Starts argv[0] with argv (with home as PYTHONHOME and libpath as
 * LD_LIBRARY_PATH, unless NULL), its stdout into *in. */
static pid_t spawn(char *const argv[], const char *home, const char *libpath, FILE **in)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (home)
			setenv("PYTHONHOME", home, 1);
		if (libpath)
			setenv("LD_LIBRARY_PATH", libpath, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	*in = fdopen(fds[0], "r");
	assert_non_null(*in);
	return pid;
}

/* Starts prog on waits.py (after lib, unless NULL; with home as
 * PYTHONHOME and libpath as LD_LIBRARY_PATH, unless NULL); its oracle
 * into o, the count into *n. */
static pid_t start(const char *prog, const char *lib, const char *home,
		   const char *libpath, struct oracle_thread *o, int *n)
{
	char line[1024], *waits = "testdata/python/waits.py";
	char *argv[] = { (char *)prog, lib ? (char *)lib : waits, lib ? waits : NULL, NULL };
	FILE *in;
	pid_t pid = spawn(argv, home, libpath, &in);

	*n = 0;
	while (fgets(line, sizeof(line), in) && strcmp(line, "end\n") != 0) {
		line[strcspn(line, "\n")] = 0;
		struct oracle_thread *t = *n ? &o[*n - 1] : NULL;
		bool main = strncmp(line, "main ", 5) == 0;
		if ((main || strncmp(line, "thread ", 7) == 0) && *n < MAX_ORACLE) {
			char *end;
			t = &o[(*n)++];
			t->tid = strtol(line + (main ? 5 : 7), &end, 10);
			snprintf(t->name, sizeof(t->name), "%s", *end ? end + 1 : "");
			t->n = main ? -1 : 0;
		} else if (strncmp(line, "frame ", 6) == 0 && t && t->n >= 0 && t->n < 32) {
			struct py_frame *f = &t->f[t->n++];
			assert_int_equal(sscanf(line + 6, "%255s %d %255[^\n]", f->func,
						&f->line, f->file), 3);
		}
	}
	fclose(in);
	return pid;
}

/* o's frames against got's.  Entries, as the threads' native stacks
 * show them (threadleak snapshot: the _PyEval_EvalFrameDefault frames of
 * each waiting thread): before 3.11 every frame is one; 3.11 evaluates a
 * Python call from Python in the same C call but for Thread.run's
 * self._target(*args, **kwargs) (CALL_FUNCTION_EX, through C): the
 * target and Thread._bootstrap; 3.12 and 3.13 inline that one too:
 * Thread._bootstrap alone.  The target is the 4th frame from the end. */
static void compare(const struct oracle_thread *o, int n, const struct py_threads *got,
		    int minor)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		const struct py_thread *t = NULL;
		for (int j = 0; j < got->n; j++)
			if (got->t[j].tid == o[i].tid)
				t = &got->t[j];
		if (!t) {
			print_error("thread %ld: not found\n", o[i].tid);
			bad++;
			continue;
		}
		if (strcmp(t->name, o[i].name) != 0) {
			print_error("thread %ld: named \"%s\", want \"%s\"\n", o[i].tid,
				    t->name, o[i].name);
			bad++;
		}
		if (o[i].n < 0)		/* the main thread: its name only */
			continue;
		if (t->nframes != o[i].n) {
			print_error("thread %ld: %d frames, want %d\n", o[i].tid, t->nframes, o[i].n);
			bad++;
		}
		for (int k = 0; k < o[i].n && k < t->nframes; k++) {
			const struct py_frame *a = &t->frames[k], *b = &o[i].f[k];
			if (strcmp(a->func, b->func) || strcmp(a->file, b->file) ||
			    a->line != b->line) {
				print_error("thread %ld frame %d: %s %d %s, want %s %d %s\n",
					    o[i].tid, k, a->func, a->line, a->file,
					    b->func, b->line, b->file);
				bad++;
			}
			bool entry = minor < 11 || k == t->nframes - 1 ||
				     (minor == 11 && k == t->nframes - 4);
			if (a->entry != entry) {
				print_error("thread %ld frame %d (%s): entry %d, want %d\n",
					    o[i].tid, k, a->func, a->entry, entry);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* (a) The built-in layout of rt's release equals the one its DWARF
 * gave, every member (a member struct py_layout gains must be built in
 * too: scripts/python-layouts.sh). */
static void same_layout(const struct py_runtime *rt)
{
	struct py_layout b;
	const int64_t *dw = (const int64_t *)&rt->l, *bi = (const int64_t *)&b;
	const char *measured = "";
	int bad = 0;

	_Static_assert(sizeof(struct py_layout) % sizeof(int64_t) == 0,
		       "struct py_layout: int64_t members only");
	assert_int_equal(rt->source, PY_LAYOUT_DWARF);
	assert_int_equal(py_layout_builtin(rt->minor, rt->version_hex, &b, &measured), 0);
	for (size_t i = 0; i < sizeof(b) / sizeof(int64_t); i++) {
		if (dw[i] == bi[i])
			continue;
		print_error("3.%d (built in from %s): struct py_layout member %zu (byte %zu): "
			    "built in %lld, DWARF %lld\n", rt->minor, measured, i,
			    i * sizeof(int64_t), (long long)bi[i], (long long)dw[i]);
		bad++;
	}
	assert_int_equal(bad, 0);
}

static int find_runtime(Dwfl_Module *mod, void **userdata, const char *name,
			Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)name;
	(void)start;
	if (!modsym_address(mod, "_PyRuntime", NULL))
		return DWARF_CB_OK;
	*(Dwfl_Module **)arg = mod;
	return DWARF_CB_ABORT;
}

/* The object layout the names were read with (rt->o) against the
 * built-in one (all a stripped interpreter gets): equal, and equal to
 * every member the interpreter's whole DWARF gives, where it has some.
 * The count of members that differ, each printed. */
static int check_objlayout(struct symbolizer *sym, const struct py_runtime *rt)
{
	struct py_obj_layout b, d;
	Dwfl_Module *mod = NULL;
	const int64_t *bv = (const int64_t *)&b, *dv = (const int64_t *)&d;
	const int64_t *fv = (const int64_t *)&rt->o;
	int bad = 0;

	dwfl_getmodules(symbols_dwfl(sym), find_runtime, &mod, 0);
	if (!mod || py_objlayout_builtin(rt->minor, &b) != 0) {
		print_error("3.%d: no object layout to compare\n", rt->minor);
		return 1;
	}
	py_objlayout_dwarf(rt->minor, mod, true, &d);	/* all -1 without DWARF */
	for (size_t i = 0; i < sizeof(b) / sizeof(int64_t); i++) {
		if (fv[i] != bv[i] || (dv[i] >= 0 && dv[i] != bv[i])) {
			print_error("3.%d object layout member %zu: built in %ld, found %ld, "
				    "DWARF %ld\n", rt->minor, i, (long)bv[i], (long)fv[i],
				    (long)dv[i]);
			bad++;
		}
	}
	return bad;
}

/* Finds the interpreter of pid and reads its threads into got (and
 * checks its object layout, unless bad_layout is NULL: the members that
 * differ counted there), then kills pid.  0 or what failed. */
static int read_and_kill(pid_t pid, struct py_runtime *rt, struct py_threads *got,
			 int *bad_layout)
{
	char err[256];
	struct symbolizer *sym = symbols_open(pid, err, sizeof(err));
	struct memory *mem = memory_open(pid);
	int ret = sym && mem ? py_runtime_find(sym, mem, rt) : -1;

	if (ret == 0)
		ret = py_threads_read(rt, mem, got);
	if (ret == 0 && bad_layout)
		*bad_layout = check_objlayout(sym, rt);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (sym)
		symbols_close(sym);
	if (mem)
		memory_close(mem);
	return ret;
}

struct want {
	int ret;			/* what py_runtime_find returns */
	int minor;
	enum py_layout_source source;	/* 0: DWARF or built in */
	bool inferred;			/* the minor from the DWARF */
};

/* Runs prog (waits.py in Python 3.minor; LD_LIBRARY_PATH libpath unless
 * NULL) and compares; removes tmp (a directory of copies) first, unless
 * NULL.  A 3.8-3.12 read with its DWARF has its built-in layout checked
 * against it too. */
static void run(const char *prog, const char *lib, const char *home, const char *libpath,
		const char *tmp, const struct want *want)
{
	static struct oracle_thread o[MAX_ORACLE];
	struct py_runtime rt;
	struct py_threads got = { 0 };
	int n, ret, bad_layout = 0;

	if (access(prog, X_OK) != 0)
		skip();
	pid_t pid = start(prog, lib, home, libpath, o, &n);
	ret = read_and_kill(pid, &rt, &got, &bad_layout);
	if (tmp) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		assert_int_equal(system(cmd), 0);
	}
	if (ret != 0 && ret != -1)
		print_message("py_runtime_find: %d, %s\n", ret, rt.why ? rt.why : "(no reason)");
	assert_int_equal(ret, want->ret);
	if (ret != 0) {		/* refused: with a reason */
		assert_non_null(rt.why);
		return;
	}
	assert_null(rt.why);
	assert_int_equal(bad_layout, 0);
	assert_int_equal(n, 6);
	assert_int_equal(rt.minor, want->minor);
	if (want->source)
		assert_int_equal(rt.source, want->source);
	else
		assert_true(rt.source == PY_LAYOUT_DWARF || rt.source == PY_LAYOUT_BUILTIN);
	assert_true(rt.minor_inferred == want->inferred);
	if (rt.minor <= 12 && rt.source == PY_LAYOUT_DWARF)
		same_layout(&rt);
	compare(o, n, &got, want->minor);
	py_threads_free(&got);
}

static const char *pyenv(void)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "%s/.pyenv/versions", getenv("HOME") ? getenv("HOME") : "/root");
	return dir;
}

/* A release "3.X.Y"'s minor X; its "3.X" into mm. */
static int minor_of(const char *version, char *mm, size_t size)
{
	snprintf(mm, size, "%.*s", (int)(strrchr(version, '.') - version), version);
	return atoi(version + 2);
}

static void test_version(void **state)
{
	const char *version = *state;
	char python[512], mm[16];
	int minor = minor_of(version, mm, sizeof(mm));
	struct want want = { 0, minor, minor >= 13 ? PY_LAYOUT_DEBUG_OFFSETS : PY_LAYOUT_DWARF };

	snprintf(python, sizeof(python), "%s/%s/bin/python%s", pyenv(), version, mm);
	run(python, NULL, NULL, NULL, NULL, &want);
}

/* Copies version's libpython into a new directory *dir as name (and
 * its python3.X beside it when python is not NULL: *python its path),
 * stripped (strip --strip-all: no DWARF, no .symtab, the .dynsym kept,
 * as distributions ship them) unless !strip.  0, or skip(). */
static void copy_python(const char *version, const char *name, bool strip, char *dir,
			char *python, size_t size)
{
	char lib[600], cmd[2048], mm[16];

	minor_of(version, mm, sizeof(mm));
	snprintf(lib, sizeof(lib), "%s/%s/lib/libpython%s.so.1.0", pyenv(), version, mm);
	if (access(lib, R_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%s'%s%s", lib, dir, name,
		 strip ? " && strip --strip-all " : "", strip ? name : "");
	if (python) {
		snprintf(python, size, "%s/python%s", dir, mm);
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
			 " && cp '%s/%s/bin/python%s' '%s'%s%s", pyenv(), version, mm, python,
			 strip ? " && strip --strip-all " : "", strip ? python : "");
	}
	assert_true(strlen(cmd) < sizeof(cmd) - 1);
	/* strip runs in dir: the library's name is relative */
	char full[2200];
	snprintf(full, sizeof(full), "cd '%s' && %s", dir, cmd);
	assert_int_equal(system(full), 0);
}

/* testdata/python/embed on a copy of version's libpython named
 * libembedded.so. */
static void test_embedded(void **state)
{
	const char *version = *state;
	char home[512], lib[600], dir[] = "/tmp/tl-python-XXXXXX", mm[16];
	int minor = minor_of(version, mm, sizeof(mm));
	struct want want = { 0, minor, minor >= 13 ? PY_LAYOUT_DEBUG_OFFSETS : PY_LAYOUT_DWARF,
			     minor < 11 };

	snprintf(home, sizeof(home), "%s/%s", pyenv(), version);
	copy_python(version, "libembedded.so", false, dir, NULL, 0);
	snprintf(lib, sizeof(lib), "%s/libembedded.so", dir);
	run("testdata/python/embed", lib, home, NULL, dir, &want);
}

/* (b) A stripped copy of version's python3.X and libpython (no DWARF:
 * the built-in layout), run with LD_LIBRARY_PATH on the copy (pyenv's
 * python finds its libpython by RUNPATH, which LD_LIBRARY_PATH comes
 * before) and PYTHONHOME on the original prefix. */
static void test_stripped(void **state)
{
	const char *version = *state;
	char home[512], python[600], dir[] = "/tmp/tl-python-XXXXXX", mm[16], name[64];
	int minor = minor_of(version, mm, sizeof(mm));
	struct want want = { 0, minor, PY_LAYOUT_BUILTIN };

	snprintf(home, sizeof(home), "%s/%s", pyenv(), version);
	snprintf(name, sizeof(name), "libpython%s.so.1.0", mm);
	copy_python(version, name, true, dir, python, sizeof(python));
	run(python, NULL, home, dir, dir, &want);
}

/* A stripped libpython named libembedded.so, in testdata/python/embed:
 * 3.11+ tell their version by Py_Version and are read with the built-in
 * layout; 3.8-3.10 are refused (-ENOTSUP, with a reason), nothing in
 * them telling 3.10 from 3.8-3.9. */
static void test_embedded_stripped(void **state)
{
	const char *version = *state;
	char home[512], lib[600], dir[] = "/tmp/tl-python-XXXXXX", mm[16];
	int minor = minor_of(version, mm, sizeof(mm));
	struct want want = { minor < 11 ? -ENOTSUP : 0, minor, PY_LAYOUT_BUILTIN };

	snprintf(home, sizeof(home), "%s/%s", pyenv(), version);
	copy_python(version, "libembedded.so", true, dir, NULL, 0);
	snprintf(lib, sizeof(lib), "%s/libembedded.so", dir);
	run("testdata/python/embed", lib, home, NULL, dir, &want);
}

/* Changes the build id of the ELF file path (its bytes inverted), so
 * that no debug file is found for it by build id. */
static void new_build_id(const char *path)
{
	int fd = open(path, O_RDWR);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstr;
	bool done = false;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstr), 0);
	while (!done && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		uint8_t id[64];
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstr, sh.sh_name)) ||
		    strcmp(name, ".note.gnu.build-id") != 0)
			continue;
		/* Elf64_Nhdr (12 bytes), "GNU\0", the id */
		assert_true(sh.sh_size > 16 && sh.sh_size - 16 <= sizeof(id));
		size_t n = sh.sh_size - 16;
		assert_int_equal(pread(fd, id, n, sh.sh_offset + 16), (ssize_t)n);
		for (size_t i = 0; i < n; i++)
			id[i] = ~id[i];
		assert_int_equal(pwrite(fd, id, n, sh.sh_offset + 16), (ssize_t)n);
		done = true;
	}
	elf_end(elf);
	close(fd);
	assert_true(done);
}

/* (c) Debian's own python3.11 (3.11.2, stripped): frames equal to its
 * own dump.  Where python3.11-dbg is installed its debug file (found by
 * build id) gives it DWARF, which must then equal the built-in 3.11
 * layout, measured on 3.11.7, member by member (run() checks it): the
 * one check of a second patch release here.  Then a copy whose build id
 * no debug file has: the built-in layout, whatever is installed. */
static void test_debian(void **state)
{
	char dir[] = "/tmp/tl-python-XXXXXX", cmd[256], python[64];
	struct want any = { 0, 11, 0 }, builtin = { 0, 11, PY_LAYOUT_BUILTIN };

	(void)state;
	run("/usr/bin/python3.11", NULL, NULL, NULL, NULL, &any);
	assert_non_null(mkdtemp(dir));
	snprintf(python, sizeof(python), "%s/python3.11", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/python3.11 '%s'", python);
	assert_int_equal(system(cmd), 0);
	new_build_id(python);
	run(python, NULL, "/usr", NULL, dir, &builtin);
}

/* Debian's debug build, python3.11d (python3.11-dbg: 3.11.2, Py_DEBUG,
 * its DWARF inside): read with its DWARF, which gives the built-in 3.11
 * layout member for member (measured on 3.11.7: 3.11.2's layout is the
 * same, and Py_DEBUG moves none of them); stripped, it is refused with a
 * reason: the built-in layouts are of release builds. */
static void test_debian_debug(void **state)
{
	char dir[] = "/tmp/tl-python-XXXXXX", cmd[256], python[64];
	struct want want = { 0, 11, PY_LAYOUT_DWARF }, refused = { -ENOTSUP };

	(void)state;
	run("/usr/bin/python3.11d", NULL, NULL, NULL, NULL, &want);
	assert_non_null(mkdtemp(dir));
	snprintf(python, sizeof(python), "%s/python3.11d", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/python3.11d '%s' && strip --strip-all '%s'",
		 python, python);
	assert_int_equal(system(cmd), 0);
	run(python, NULL, "/usr", NULL, dir, &refused);
}

/* A program that never imported threading: its one thread read, with
 * no name and no error. */
static void test_no_threading(void **state)
{
	const char *version = *state;
	char python[512], line[64] = "", mm[16];
	struct py_runtime rt;
	struct py_threads got = { 0 };
	char *argv[] = { python, "-c",
			 "import sys, time\n"
			 "print('threading' in sys.modules, flush=True)\n"
			 "time.sleep(1000)\n", NULL };
	FILE *in;

	minor_of(version, mm, sizeof(mm));
	snprintf(python, sizeof(python), "%s/%s/bin/python%s", pyenv(), version, mm);
	if (access(python, X_OK) != 0)
		skip();
	pid_t pid = spawn(argv, NULL, NULL, &in);
	if (!fgets(line, sizeof(line), in))
		line[0] = 0;
	fclose(in);
	int ret = read_and_kill(pid, &rt, &got, NULL);
	int n = got.n;
	long tid = n ? got.t[0].tid : 0;
	char name[PY_MAX_STR] = "";
	if (n)
		snprintf(name, sizeof(name), "%s", got.t[0].name);
	py_threads_free(&got);
	assert_string_equal(line, "False\n");
	assert_int_equal(ret, 0);
	assert_int_equal(n, 1);
	assert_int_equal(tid, pid);
	assert_string_equal(name, "");
}

/* A process gone between finding the interpreter and reading it: an
 * error, nothing read, no crash. */
static void test_exited(void **state)
{
	char python[512], err[256];
	static struct oracle_thread o[MAX_ORACLE];
	struct py_runtime rt;
	struct py_threads got = { 0 };
	int n;

	(void)state;
	snprintf(python, sizeof(python), "%s/3.13.0/bin/python3.13", pyenv());
	if (access(python, X_OK) != 0)
		skip();
	pid_t pid = start(python, NULL, NULL, NULL, o, &n);
	struct symbolizer *sym = symbols_open(pid, err, sizeof(err));
	struct memory *mem = memory_open(pid);
	int ret = sym && mem ? py_runtime_find(sym, mem, &rt) : -1;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ret == 0) {
		memory_reset(mem);
		ret = py_threads_read(&rt, mem, &got);
		assert_int_equal(ret, -EFAULT);
		assert_int_equal(got.n, 0);
		py_threads_free(&got);
	}
	if (sym)
		symbols_close(sym);
	if (mem)
		memory_close(mem);
	assert_int_equal(ret, -EFAULT);
}

int main(void)
{
	/* The DWARF of the stripped interpreters must not come back from a
	 * debuginfod server (/etc/profile.d may set one). */
	unsetenv("DEBUGINFOD_URLS");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_version, "3.13.0"),
		cmocka_unit_test_prestate(test_version, "3.12.1"),
		cmocka_unit_test_prestate(test_version, "3.11.7"),
		cmocka_unit_test_prestate(test_version, "3.10.13"),
		cmocka_unit_test_prestate(test_version, "3.9.18"),
		cmocka_unit_test_prestate(test_version, "3.8.18"),
		cmocka_unit_test_prestate(test_embedded, "3.13.0"),
		cmocka_unit_test_prestate(test_embedded, "3.10.13"),
		cmocka_unit_test_prestate(test_embedded, "3.9.18"),
		cmocka_unit_test_prestate(test_stripped, "3.12.1"),
		cmocka_unit_test_prestate(test_stripped, "3.11.7"),
		cmocka_unit_test_prestate(test_stripped, "3.10.13"),
		cmocka_unit_test_prestate(test_stripped, "3.9.18"),
		cmocka_unit_test_prestate(test_stripped, "3.8.18"),
		cmocka_unit_test_prestate(test_embedded_stripped, "3.12.1"),
		cmocka_unit_test_prestate(test_embedded_stripped, "3.9.18"),
		cmocka_unit_test(test_debian),
		cmocka_unit_test(test_debian_debug),
		cmocka_unit_test_prestate(test_no_threading, "3.13.0"),
		cmocka_unit_test_prestate(test_no_threading, "3.8.18"),
		cmocka_unit_test(test_exited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
