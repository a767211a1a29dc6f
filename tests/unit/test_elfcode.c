/*
 * Unit tests of elfcode.c against binutils: every PLT entry objdump names
 * ("<foo@plt>:") in .plt, .plt.sec and .plt.got must get the same name
 * from elfcode_plt_name(), and every function nm lists in .text must be
 * found from its middle by elfcode_function_start().  Run from the
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

#include "elfcode.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plt_names),
		cmocka_unit_test(test_function_starts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
