/*
 * go/ancestors: a g's ancestorInfo slice read from the target; see
 * ancestors.h.  Two reads for the slice (its header, its elements) and
 * one per ancestor for its pcs; a length past the bounds is cut there
 * (the nearest ancestors are the ones that matter), a slice header whose
 * capacity is below its length is refused.
 */
#include "go/ancestors.h"

#include <errno.h>
#include <string.h>

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

int go_read_ancestors(struct memory *mem, uint64_t addr, struct go_ancestor *out, int max)
{
	unsigned char hdr[24], info[GO_ANCESTORS_MAX * GO_ANCESTOR_SIZE];

	if (!addr)
		return 0;
	if (memory_read(mem, addr, hdr, sizeof(hdr)) < 0)
		return -EFAULT;
	uint64_t arr = u64(hdr), len = u64(hdr + 8), cap = u64(hdr + 16);
	if (cap < len || (len && !arr))
		return -EINVAL;
	if (max > GO_ANCESTORS_MAX)
		max = GO_ANCESTORS_MAX;
	int n = len < (uint64_t)max ? (int)len : max;
	if (n && memory_read(mem, arr, info, (size_t)n * GO_ANCESTOR_SIZE) < 0)
		return -EFAULT;
	for (int i = 0; i < n; i++) {
		const unsigned char *e = info + (size_t)i * GO_ANCESTOR_SIZE;
		uint64_t pcs = u64(e), npcs = u64(e + 8), pcap = u64(e + 16);
		struct go_ancestor *a = &out[i];
		if (pcap < npcs || (npcs && !pcs))
			return -EINVAL;
		a->goid = (int64_t)u64(e + 24);
		a->gopc = u64(e + 32);
		a->npcs = npcs < GO_ANCESTOR_PCS ? (int)npcs : GO_ANCESTOR_PCS;
		if (a->npcs && memory_read(mem, pcs, a->pcs, (size_t)a->npcs * 8) < 0)
			return -EFAULT;
	}
	return n;
}
