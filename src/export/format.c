/*
 * format: a table of names, and a switch to the writers; nothing else.
 */
#include "export/format.h"
#include "export/folded.h"
#include "export/pprof.h"

#include <string.h>

static const char *const names[] = {
	[FORMAT_TEXT] = "text",
	[FORMAT_JSON] = "json",
	[FORMAT_PPROF] = "pprof",
	[FORMAT_FOLDED] = "folded",
	[FORMAT_SNAPSHOT] = "snapshot",
};

bool format_from_name(const char *name, enum format *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum format)i;
			return true;
		}
	return false;
}

bool format_is_binary(enum format f)
{
	return f == FORMAT_PPROF;
}

int format_write(const struct snapshot *snap, enum format f, FILE *fp,
		 const struct render_options *ropt, bool pretty)
{
	switch (f) {
	case FORMAT_JSON:
		return snapshot_write(snap, fp, pretty);
	case FORMAT_PPROF:
		return export_pprof(snap, fp);
	case FORMAT_FOLDED:
		return export_folded(snap, fp);
	case FORMAT_SNAPSHOT:
		return snapshot_write_file(snap, fp);
	case FORMAT_TEXT:
		break;
	}
	return render_snapshot(fp, snap, ropt);
}
