/*
 * fuzz_perfmap: a libFuzzer harness for the JIT perf map reader
 * (src/perfmap.c), which reads a file the target writes.
 *
 * The input is read as a map; then addresses are looked up: every
 * number that starts a line, one past it, and the input's first 8 bytes.
 * A name found must be short (at most 255 bytes) and hold no line end.
 * AddressSanitizer, UBSan and LeakSanitizer report the rest.
 *
 * Build and run: FUZZ_TARGET=perfmap tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
	if (name && (strlen(name) > 255 || strpbrk(name, "\r\n"))) {
		fprintf(stderr, "fuzz_perfmap: bad name\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfmap *m = perfmap_open(0);
	char *copy = malloc(size + 1);

	if (!m || !copy) {
		perfmap_close(m);
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	FILE *f = fmemopen(copy, size ? size : 1, "r");
	if (f) {
		perfmap_read(m, f);
		fclose(f);
	}
	uint64_t first = 0;
	memcpy(&first, data, size < 8 ? size : 8);
	check_name(perfmap_lookup(m, first));
	for (char *line = copy; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		uint64_t start = strtoull(line, NULL, 16);
		check_name(perfmap_lookup(m, start));
		check_name(perfmap_lookup(m, start + 1));
		check_name(perfmap_lookup(m, start - 1));
	}
	perfmap_close(m);
	free(copy);
	return 0;
}
