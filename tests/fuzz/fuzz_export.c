/*
 * fuzz_export: a libFuzzer harness for the exports of a snapshot file
 * (threadleak export) and of serve: whatever snapshot the reader accepts
 * is written as a pprof profile, as folded stacks, as Go's goroutine texts
 * (debug=1, 2), as Prometheus metrics and as serve's index page, each
 * into memory.  Each must succeed (there is no input they may refuse),
 * and the texts must be lines of printable text with no byte the target
 * or the file chose that could break them: no control byte but the
 * newline ending each line (and the tabs of Go's texts).  ASan, UBSan and LSan report the
 * rest.  Its seeds are the snapshot reader's (tests/fuzz/corpus).
 *
 * Build and run: FUZZ_TARGET=export tests/fuzz/run.sh.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/snapshot.h"
#include "export/folded.h"
#include "export/gotext.h"
#include "export/index.h"
#include "export/metrics.h"
#include "export/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* text: lines of printable bytes, and tabs where tabs says so (Go's
 * goroutine texts separate their columns with them). */
static void check_text_tabs(const char *what, const char *text, size_t len, bool tabs)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < ' ' && c != '\n' && !(tabs && c == '\t')) || c == 0x7f) {
			fprintf(stderr, "fuzz_export: %s: byte 0x%02x at %zu\n", what, c, i);
			abort();
		}
	}
	if (len && text[len - 1] != '\n') {
		fprintf(stderr, "fuzz_export: %s: does not end in a newline\n", what);
		abort();
	}
}

static void check_text(const char *what, const char *text, size_t len)
{
	check_text_tabs(what, text, len, false);
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

	for (int debug = 1; debug <= 2; debug++) {
		buf = NULL;
		fp = open_memstream(&buf, &len);
		if (!fp || export_gotext(snap, debug, fp) != 0)
			abort();
		fclose(fp);
		check_text_tabs(debug == 1 ? "goroutine text, debug=1" : "goroutine text, debug=2",
				buf, len, true);
		free(buf);
	}

	struct metrics_target t = { snap->pid, snap->comm, snap, snap->capture_ms / 1000,
				    &snap->where };
	if (metrics_render(&t, 1, 3, 1, &buf, &len) != 0)
		abort();
	check_text("metrics", buf, len);
	free(buf);
	if (index_render(&t, 1, 15, &buf, &len) != 0)
		abort();
	check_text("index", buf, len);
	free(buf);
	snapshot_free(snap);
	return 0;
}
