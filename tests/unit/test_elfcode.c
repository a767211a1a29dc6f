/*
 * Unit tests of elfcode.c against binutils: every PLT entry objdump names
 * ("<foo@plt>:") in .plt, .plt.sec and .plt.got must get the same name
 * from elfcode_plt_name(), and every function nm lists in .text must be
 * found from its middle by elfcode_function_start(), and every function
 * `nm -D` lists as exported under its default version (NAME@@VER, or
 * unversioned) found by elfcode_dynsym_function() at nm's address, those
 * with only a hidden version (NAME@VER) not found.  Run from the
 * repository root (tests/run.sh does) on testdata binaries and the C
 * library, which use the PLT layouts GNU ld writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stacks/elfcode.h"

static const char *const files[] = {
	"testdata/waits",
	"testdata/libtlplugin.so",
	"/lib/x86_64-linux-gnu/libc.so.6",
};

static Elf *open_elf(const char *path, int *fd)
{
	elf_version(EV_CURRENT);
	*fd = open(path, O_RDONLY);
	assert_true(*fd >= 0);
	Elf *elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(elf);
	return elf;
}

static void test_plt_names(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char cmd[512], line[1024], got[300];
		int fd, checked = 0;
		Elf *elf = open_elf(files[f], &fd);

		snprintf(cmd, sizeof(cmd),
			 "objdump -d -j .plt -j .plt.sec -j .plt.got %s 2>/dev/null", files[f]);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p)) {
			uint64_t addr;
			char name[300];
			size_t len;
			if (sscanf(line, "%" SCNx64 " <%299[^>]>:", &addr, name) != 2 ||
			    (len = strlen(name)) < 5 || strcmp(name + len - 4, "@plt") != 0)
				continue;	/* also PLT0, "<recv@plt-0x10>" */
			/* objdump's names carry a version where the symbol has
			 * one ("free@GLIBC_2.2.5@plt" in some binutils). */
			strcpy(strchr(name, '@'), "@plt");
			assert_true(elfcode_in_plt(elf, addr));
			if (!elfcode_plt_name(elf, addr + 2, got, sizeof(got)))
				fail_msg("%s: no name for %s at %#" PRIx64, files[f], name, addr);
			assert_string_equal(got, name);
			checked++;
		}
		pclose(p);
		printf("%s: %d PLT entries\n", files[f], checked);
		assert_true(checked > 0);
		/* Outside the PLT: nothing. */
		assert_false(elfcode_plt_name(elf, 0, got, sizeof(got)));
		elf_end(elf);
		close(fd);
	}
}

static void test_function_starts(void **state)
{
	(void)state;
	char cmd[512], line[1024];
	int fd, checked = 0;
	const char *path = "testdata/waits";	/* not stripped */
	Elf *elf = open_elf(path, &fd);

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		uint64_t addr, size;
		char type, name[256];
		GElf_Addr start;
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %c %255s", &addr, &size, &type,
			   name) != 4 || (type != 'T' && type != 't') || size < 2)
			continue;
		if (!elfcode_function_start(elf, addr + size / 2, &start))
			fail_msg("%s: no start for %s", path, name);
		if (start != addr)
			fail_msg("%s: %s starts at %#" PRIx64 ", not %#" PRIx64,
				 path, name, addr, (uint64_t)start);
		checked++;
	}
	pclose(p);
	assert_true(checked >= 10);
	assert_false(elfcode_function_start(elf, 0, &(GElf_Addr){ 0 }));
	elf_end(elf);
	close(fd);
}

/* name is exported (T or W) only under hidden versions in nm's list */
static bool only_hidden(FILE *p, const char *name)
{
	char line[1024], n[300], type;
	uint64_t addr;
	bool hidden = false;
	size_t len = strlen(name);

	rewind(p);
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%" SCNx64 " %c %299s", &addr, &type, n) != 3 ||
		    strncmp(n, name, len) != 0 || (n[len] != '@' && n[len] != 0))
			continue;
		if (n[len] == 0 || n[len + 1] == '@')
			return false;	/* a default version too */
		hidden = true;
	}
	return hidden;
}

static void test_dynsym_functions(void **state)
{
	(void)state;
	static const char *const libs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6",
		"testdata/libtlplugin.so",
	};
	for (size_t f = 0; f < sizeof(libs) / sizeof(libs[0]); f++) {
		char cmd[512], line[1024], name[300];
		int fd, found = 0, hidden = 0;
		Elf *elf = open_elf(libs[f], &fd);
		FILE *list = tmpfile();

		assert_non_null(list);
		snprintf(cmd, sizeof(cmd), "nm -D --defined-only %s", libs[f]);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p))
			fputs(line, list);
		assert_int_equal(pclose(p), 0);
		rewind(list);
		long at = 0;
		while (fseek(list, at, SEEK_SET) == 0 && fgets(line, sizeof(line), list)) {
			uint64_t addr;
			char type;
			GElf_Addr got = 0;
			at = ftell(list);
			if (sscanf(line, "%" SCNx64 " %c %299s", &addr, &type, name) != 3 ||
			    (type != 'T' && type != 'W'))
				continue;
			char *v = strchr(name, '@');
			if (v && v[1] != '@') {
				*v = 0;
				if (only_hidden(list, name)) {
					if (elfcode_dynsym_function(elf, name, &got))
						fail_msg("%s: %s found at %#" PRIx64 ", but it has only hidden versions",
							 libs[f], name, (uint64_t)got);
					hidden++;
				}
				continue;
			}
			if (v)
				*v = 0;
			if (!elfcode_dynsym_function(elf, name, &got))
				fail_msg("%s: %s (nm: %#" PRIx64 ") not found", libs[f], name, addr);
			if (got != addr)
				fail_msg("%s: %s at %#" PRIx64 ", nm says %#" PRIx64,
					 libs[f], name, (uint64_t)got, addr);
			found++;
		}
		fclose(list);
		/* libc: about 2,700; the plugin a few */
		assert_true(found >= (f == 0 ? 1000 : 1));
		if (f == 0)
			assert_true(hidden >= 1);	/* libc keeps old versions */
		GElf_Addr none;
		assert_false(elfcode_dynsym_function(elf, "no_such_function_here", &none));
		assert_false(elfcode_dynsym_function(elf, "", &none));
		elf_end(elf);
		close(fd);
	}
	/* a program's calls into libc are undefined there, not found */
	int fd;
	GElf_Addr none;
	Elf *elf = open_elf("testdata/waits", &fd);
	assert_false(elfcode_dynsym_function(elf, "pthread_join", &none));
	elf_end(elf);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plt_names),
		cmocka_unit_test(test_function_starts),
		cmocka_unit_test(test_dynsym_functions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
