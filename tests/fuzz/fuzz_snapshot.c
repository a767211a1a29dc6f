/*
 * fuzz_snapshot: a libFuzzer harness for the snapshot file reader.
 *
 * Every input goes through snapshot_from_json(), which must either refuse
 * it with a one-line message or return a snapshot.  A snapshot it accepts
 * must survive a round trip: snapshot_to_json() writes it (compact), the
 * reader must accept that text, and writing the second snapshot must give
 * the very same text.  (The first text may differ from the input: the
 * writer drops unknown fields and normalises spelling, so the fixed point
 * is what is compared.)  The indented form must read back to the same
 * snapshot too.  Any broken promise calls abort(), which libFuzzer
 * reports as a crash with its reproducer; AddressSanitizer, UBSan and
 * LeakSanitizer report the rest.
 *
 * Memory: every snapshot and text made here is freed before returning, so
 * a leak report always points into src/snapshot*.c.
 *
 * Build and run: tests/fuzz/run.sh (or make fuzz).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Says what broke, with the texts involved, and aborts: a finding. */
__attribute__((noreturn))
static void broken(const char *what, const char *text, const char *detail)
{
	fprintf(stderr, "fuzz_snapshot: %s\n", what);
	if (detail)
		fprintf(stderr, "fuzz_snapshot: detail: %s\n", detail);
	if (text)
		fprintf(stderr, "fuzz_snapshot: text: %.4000s\n", text);
	abort();
}

/* The first position where a and b differ, for the message. */
static void first_difference(const char *a, const char *b, char *out,
			     size_t outlen)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	snprintf(out, outlen, "texts differ at byte %zu: first '%.60s', "
		 "second '%.60s'", i, a + i, b + i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot *snap, *again;
	char err[512], err2[512], diff[256];
	char *text, *text2, *pretty, *text3;

	memset(err, 'x', sizeof(err));
	snap = snapshot_from_json((const char *)data, size, err, sizeof(err));
	if (!snap) {
		/* a refusal always says why, on one terminated line */
		if (!memchr(err, '\0', sizeof(err)) || !err[0] ||
		    strchr(err, '\n'))
			broken("refused the input without a one-line message",
			       NULL, NULL);
		return 0;
	}

	text = snapshot_to_json(snap, false);
	if (!text) {
		/* the writer must be able to write whatever the reader read */
		if (errno == ENOMEM)
			goto out_snap;
		broken("snapshot_to_json failed on a snapshot the reader "
		       "accepted", NULL, strerror(errno));
	}
	again = snapshot_from_json(text, strlen(text), err2, sizeof(err2));
	if (!again)
		broken("the reader refused what the writer wrote", text, err2);
	text2 = snapshot_to_json(again, false);
	if (!text2) {
		if (errno == ENOMEM)
			goto out_again;
		broken("snapshot_to_json failed on a re-read snapshot", text,
		       strerror(errno));
	}
	if (strcmp(text, text2) != 0) {
		first_difference(text, text2, diff, sizeof(diff));
		broken("write, read, write gave a different text", text, diff);
	}

	/* the same through the indented form */
	pretty = snapshot_to_json(again, true);
	if (!pretty) {
		if (errno == ENOMEM)
			goto out_text2;
		broken("snapshot_to_json (pretty) failed on a re-read snapshot",
		       text, strerror(errno));
	}
	snapshot_free(again);
	again = snapshot_from_json(pretty, strlen(pretty), err2, sizeof(err2));
	if (!again)
		broken("the reader refused what the writer wrote indented",
		       pretty, err2);
	text3 = snapshot_to_json(again, false);
	if (!text3) {
		if (errno == ENOMEM)
			goto out_pretty;
		broken("snapshot_to_json failed after the indented round trip",
		       pretty, strerror(errno));
	}
	if (strcmp(text, text3) != 0) {
		first_difference(text, text3, diff, sizeof(diff));
		broken("the indented round trip changed the snapshot", pretty,
		       diff);
	}

	free(text3);
out_pretty:
	free(pretty);
out_text2:
	free(text2);
out_again:
	snapshot_free(again);
	free(text);
out_snap:
	snapshot_free(snap);
	return 0;
}
