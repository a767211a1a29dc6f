/*
 * go/layout-types: see layout-types.h.
 *
 * The file's allocated, non-executable sections with contents are the
 * regions looked in, by link-time address (a PIE's descriptors hold
 * link-time addresses in the file, which is what they are compared
 * with).  A structure is found from a field's name: the name's bytes,
 * then a 24-byte StructField whose first word points at them, then the
 * slice header {array, n, n} that covers that field, 56 bytes into a
 * descriptor of kind struct.  Every read is bounded by its region; a
 * name is at most NAME_MAX bytes, a structure at most MAX_FIELDS fields.
 */
#include "go/layout-types.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAX_REGIONS 64
#define MAX_FIELDS 1024
#define NAME_MAX_LEN 64
#define TYPE_SIZE 48		/* abi.Type */
#define KIND_PTR 22
#define KIND_STRUCT 25
#define MAX_HITS 16		/* field arrays pointing at one name */

struct region {
	uint64_t addr;
	size_t size;
	const uint8_t *data;
};

struct image {
	struct region r[MAX_REGIONS];
	size_t n;
};

/* A field wanted: its name, where its offset goes, where its type's
 * descriptor goes (or NULL). */
struct member {
	const char *name;
	unsigned *at;
	uint64_t *type;
	bool found;
};

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The len bytes at link-time address addr, or NULL. */
static const uint8_t *at(const struct image *im, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < im->n; i++) {
		const struct region *r = &im->r[i];
		if (addr >= r->addr && addr - r->addr <= r->size && len <= r->size - (addr - r->addr))
			return r->data + (addr - r->addr);
	}
	return NULL;
}

static void load(Elf *elf, struct image *im)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	im->n = 0;
	while (im->n < MAX_REGIONS && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || (sh.sh_flags & SHF_EXECINSTR) ||
		    (sh.sh_flags & SHF_COMPRESSED) || !sh.sh_addr)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size == 0)
			continue;
		im->r[im->n++] = (struct region){ sh.sh_addr, d->d_size, d->d_buf };
	}
}

/* The abi.Name at addr (flags byte, varint length, bytes) into out. */
static bool name_at(const struct image *im, uint64_t addr, char *out, size_t outlen)
{
	const uint8_t *p = at(im, addr, 3);
	size_t len;

	if (!p || p[0] > 0x0f)
		return false;
	len = p[1] & 0x7f;
	unsigned hdr = 2;
	if (p[1] & 0x80) {
		if (p[2] & 0x80)
			return false;
		len |= (size_t)p[2] << 7;
		hdr = 3;
	}
	if (len == 0 || len >= outlen || !(p = at(im, addr + hdr, len)))
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* The kind of the type descriptor at addr, or -1. */
static int kind_of(const struct image *im, uint64_t addr)
{
	const uint8_t *p = at(im, addr, TYPE_SIZE);

	return p ? p[23] & 0x1f : -1;
}

/* The field array of the struct descriptor at type: *fields, *n. */
static bool fields_of(const struct image *im, uint64_t type, uint64_t *fields, size_t *n)
{
	const uint8_t *p = at(im, type, TYPE_SIZE + 32);

	if (!p || (p[23] & 0x1f) != KIND_STRUCT)
		return false;
	*fields = u64(p + TYPE_SIZE + 8);
	*n = u64(p + TYPE_SIZE + 16);
	return *n && *n <= MAX_FIELDS && *n <= u64(p + TYPE_SIZE + 24) &&
	       at(im, *fields, *n * 24) != NULL;
}

/* Reads the fields of the struct descriptor at type into m: true when it
 * is a struct whose offsets are in order and below its size. */
static bool read_struct(const struct image *im, uint64_t type, struct member *m, size_t nm)
{
	uint64_t fields, size;
	size_t n;
	char name[NAME_MAX_LEN];

	if (!fields_of(im, type, &fields, &n))
		return false;
	size = u64(at(im, type, 8));
	uint64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *f = at(im, fields + 24 * i, 24);
		if (!f)
			return false;
		uint64_t off = u64(f + 16);
		if (off < last || off > size || off >= 65536 || !name_at(im, u64(f), name, sizeof(name)))
			return false;
		last = off;
		for (size_t j = 0; j < nm; j++)
			if (!m[j].found && strcmp(name, m[j].name) == 0) {
				*m[j].at = (unsigned)off;
				if (m[j].type)
					*m[j].type = u64(f + 8);
				m[j].found = true;
			}
	}
	return true;
}

/* The struct that a *T field's type points at. */
static uint64_t pointee(const struct image *im, uint64_t type)
{
	const uint8_t *p = at(im, type, TYPE_SIZE + 8);

	return p && (p[23] & 0x1f) == KIND_PTR ? u64(p + TYPE_SIZE) : 0;
}

static bool all_found(const struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!m[i].found)
			return false;
	return true;
}

/* The struct descriptor that covers the field at w: a slice header
 * {array, n, n} in w's region with array <= w < array + 24n, 56 bytes
 * into a struct descriptor.  0 when none. */
static uint64_t struct_of_field(const struct image *im, uint64_t w)
{
	for (size_t i = 0; i < im->n; i++) {
		const struct region *r = &im->r[i];
		if (w < r->addr || w - r->addr >= r->size)
			continue;
		for (size_t off = (8 - r->addr % 8) % 8; off + 24 <= r->size; off += 8) {
			uint64_t a = u64(r->data + off), n = u64(r->data + off + 8);
			if (a > w || (w - a) % 24 || n == 0 || n > MAX_FIELDS ||
			    n != u64(r->data + off + 16) || (w - a) / 24 >= n ||
			    off < TYPE_SIZE + 8)
				continue;
			uint64_t type = r->addr + off - TYPE_SIZE - 8;
			if (kind_of(im, type) == KIND_STRUCT)
				return type;
		}
	}
	return 0;
}

/*
 * The struct descriptor with a field named field whose other fields
 * include every one of m (read into m): the field's name data, any
 * StructField pointing at it, and the struct that covers that field.
 */
static uint64_t find_struct(const struct image *im, const char *field,
			    struct member *m, size_t nm)
{
	size_t flen = strlen(field);
	uint64_t names[MAX_HITS], hits[MAX_HITS];
	size_t nnames = 0, nhits = 0;

	/* the name: a flags byte, a one-byte length, the bytes */
	for (size_t i = 0; i < im->n && nnames < MAX_HITS; i++) {
		const struct region *r = &im->r[i];
		const uint8_t *p = r->data, *end = r->data + r->size;
		while (nnames < MAX_HITS && (p = memmem(p, end - p, field, flen))) {
			if (p - r->data >= 2 && p[-1] == flen && p[-2] <= 0x0f)
				names[nnames++] = r->addr + (p - r->data) - 2;
			p++;
		}
	}
	/* the fields naming it */
	for (size_t i = 0; i < im->n && nhits < MAX_HITS; i++) {
		const struct region *r = &im->r[i];
		for (size_t off = (8 - r->addr % 8) % 8; off + 24 <= r->size && nhits < MAX_HITS; off += 8) {
			uint64_t v = u64(r->data + off);
			for (size_t k = 0; k < nnames && nhits < MAX_HITS; k++)
				if (v == names[k] && u64(r->data + off + 16) < 65536)
					hits[nhits++] = r->addr + off;
		}
	}
	for (size_t h = 0; h < nhits; h++) {
		uint64_t type = struct_of_field(im, hits[h]);
		for (size_t j = 0; j < nm; j++)
			m[j].found = false;
		if (type && read_struct(im, type, m, nm) && all_found(m, nm))
			return type;
	}
	return 0;
}

int go_layout_from_types(Elf *elf, struct go_layout *l)
{
	struct image im;
	struct go_layout d = *l;
	uint64_t t_stack = 0, t_sched = 0, t_m = 0, t_waiting = 0;
	unsigned stack = 0, lo = 0, hi = 8, status = 0, sched = 0, waiting = 0, parent = 0;
	unsigned fd = 0, seq = 0;
	struct member g[] = {
		{ "stack", &stack, &t_stack }, { "m", &d.m, &t_m },
		{ "sched", &sched, &t_sched },
		{ "syscallsp", &d.syscallsp }, { "syscallpc", &d.syscallpc },
		{ "atomicstatus", &status }, { "goid", &d.goid },
		{ "waitsince", &d.waitsince }, { "waitreason", &d.waitreason },
		{ "gopc", &d.gopc }, { "startpc", &d.startpc },
		{ "ancestors", &d.ancestors }, { "labels", &d.labels },
	}, gopt[] = { { "parentGoid", &parent }, { "waiting", &waiting, &t_waiting } },
	   stk[] = { { "lo", &lo }, { "hi", &hi } },
	   gobuf[] = { { "sp", &d.buf_sp }, { "pc", &d.buf_pc }, { "g", &d.buf_g },
		       { "bp", &d.buf_bp } },
	   m[] = { { "procid", &d.m_procid }, { "curg", &d.m_curg } },
	   sudog[] = { { "g", &d.sudog_g }, { "next", &d.sudog_next }, { "prev", &d.sudog_prev },
		       { "elem", &d.sudog_elem }, { "waitlink", &d.sudog_waitlink } },
	   pd[] = { { "fd", &d.pd_fd }, { "rg", &d.pd_rg }, { "wg", &d.pd_wg },
		    { "atomicInfo", &fd } },
	   root[] = { { "treap", &d.semroot_treap }, { "nwait", &seq } };
#define N(a) (sizeof(a) / sizeof(a[0]))
	load(elf, &im);
	uint64_t tg = find_struct(&im, "waitsince", g, N(g));
	if (!tg || !read_struct(&im, t_stack, stk, N(stk)) || !all_found(stk, N(stk)) ||
	    !read_struct(&im, t_sched, gobuf, N(gobuf)) || !all_found(gobuf, N(gobuf)) ||
	    !read_struct(&im, pointee(&im, t_m), m, N(m)) || !all_found(m, N(m)))
		return -ENOENT;
	read_struct(&im, tg, gopt, N(gopt));
	d.stack_lo = stack + lo;
	d.stack_hi = stack + hi;
	d.sched = sched;
	d.status = status;
	d.parent_goid = gopt[0].found ? parent : 0;
	unsigned last = d.parent_goid;
	for (size_t i = 0; i < N(g); i++)
		if (*g[i].at > last)
			last = *g[i].at;
	d.g_size = (stack + hi > last ? stack + hi : last) + 8;
	/* what a goroutine waits on: kept as they were where not found */
	if (!gopt[1].found || !read_struct(&im, pointee(&im, t_waiting), sudog, N(sudog)) ||
	    !all_found(sudog, N(sudog))) {
		d.sudog_g = l->sudog_g;
		d.sudog_next = l->sudog_next;
		d.sudog_prev = l->sudog_prev;
		d.sudog_elem = l->sudog_elem;
		d.sudog_waitlink = l->sudog_waitlink;
	}
	if (!find_struct(&im, "atomicInfo", pd, N(pd))) {
		d.pd_fd = l->pd_fd;
		d.pd_rg = l->pd_rg;
		d.pd_wg = l->pd_wg;
	}
	if (!find_struct(&im, "treap", root, N(root)))
		d.semroot_treap = l->semroot_treap;
#undef N
	*l = d;
	return 0;
}
