/*
 * fuzz_perfmap: a libFuzzer harness for the JIT perf map reader
 * (src/stacks/perfmap.c), which reads a file the target writes.
 *
 * The input is read as a map, for these addresses, asked for first
 * (perfmap_want), then looked up: every number that starts a line, one
 * before and one past it, and the input's first 8 bytes.
 * A name found must be short (at most 255 bytes) and hold no line end.
 * AddressSanitizer, UBSan and LeakSanitizer report the rest.
 *
 * Build and run: FUZZ_TARGET=perfmap tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
	if (name && (strlen(name) > 255 || strpbrk(name, "\r\n"))) {
		fprintf(stderr, "fuzz_perfmap: bad name\n");
		abort();
	}
}

static const char *want(struct perfmap *m, uint64_t addr)
{
	perfmap_want(m, addr);
	return NULL;
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
	uint64_t first = 0;
	memcpy(&first, data, size < 8 ? size : 8);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			FILE *f = fmemopen(copy, size ? size : 1, "r");
			if (f) {
				perfmap_read(m, f);
				fclose(f);
			}
		}
		const char *(*ask)(struct perfmap *, uint64_t) = pass ? perfmap_lookup : want;
		check_name(ask(m, first));
		for (char *line = copy; line; line = strchr(line, '\n')) {
			if (*line == '\n')
				line++;
			uint64_t start = strtoull(line, NULL, 16);
			check_name(ask(m, start));
			check_name(ask(m, start + 1));
			check_name(ask(m, start - 1));
		}
	}
	perfmap_close(m);
	free(copy);
	return 0;
}
