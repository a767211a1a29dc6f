/*
 * fuzz_export: a libFuzzer harness for the exports of a snapshot file
 * (threadleak export): whatever snapshot the reader accepts is written as
 * a pprof profile, as folded stacks and as Prometheus metrics, each into
 * memory.  Each must succeed (there is no input they may refuse), and
 * the folded stacks and the metrics must be lines of printable text with
 * no byte the target or the file chose that could break them: no control
 * byte but the newline ending each line.  ASan, UBSan and LSan report the
 * rest.  Its seeds are the snapshot reader's (tests/fuzz/corpus).
 *
 * Build and run: FUZZ_TARGET=export tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/snapshot.h"
#include "export/folded.h"
#include "export/metrics.h"
#include "export/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *what, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < ' ' && c != '\n') || c == 0x7f) {
			fprintf(stderr, "fuzz_export: %s: byte 0x%02x at %zu\n", what, c, i);
			abort();
		}
	}
	if (len && text[len - 1] != '\n') {
		fprintf(stderr, "fuzz_export: %s: does not end in a newline\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *buf = NULL;
	size_t len = 0;
	struct snapshot *snap = snapshot_from_json((const char *)data, size, err, sizeof(err));
	FILE *fp;

	if (!snap)
		return 0;
	fp = open_memstream(&buf, &len);
	if (!fp || export_pprof(snap, fp) != 0)
		abort();
	fclose(fp);
	free(buf);

	buf = NULL;
	fp = open_memstream(&buf, &len);
	if (!fp || export_folded(snap, fp) != 0)
		abort();
	fclose(fp);
	check_text("folded", buf, len);
	free(buf);

	struct metrics_target t = { snap->pid, snap->comm, snap, snap->capture_ms / 1000 };
	if (metrics_render(&t, 1, 3, 1, &buf, &len) != 0)
		abort();
	check_text("metrics", buf, len);
	free(buf);
	snapshot_free(snap);
	return 0;
}
