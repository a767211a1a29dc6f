/*
 * unwind-libunwind: the libunwind backend, with our own accessors.
 *
 * Stock libunwind-ptrace reads memory one PTRACE_PEEKDATA per word and
 * registers one syscall each, with no caching.  Here an address space with
 * our accessors reads memory from the page cache and registers from the
 * captured struct cpu_regs, and caches unwind info globally.  The unwind
 * table of an ip is its module's .eh_frame_hdr, found through the ELF
 * symbols.c chose for the module (the object mapped, not the file now at
 * its path: modfile.h) and read from the target's memory, searched by
 * libunwind's own search.  A module without one is left to
 * _UPT_find_proc_info (.debug_frame), which reads /proc/PID/maps and the
 * ELF files at their paths, not ptrace.  It caches one ELF image
 * per UPT handle and re-reads the whole maps file whenever the ip leaves
 * it (20,000 lines for 10,000 thread stacks), so we keep one UPT handle per
 * module (found through the shared Dwfl) and each keeps its image.  That
 * function calls back into our access_mem with its own argument, so the
 * thread being unwound is kept in a thread-local pointer rather than in
 * the callback argument.  It unwinds x86_64 code only (libunwind is built
 * for the host): it refuses a 32-bit process at open, in one line.
 */
#include "target/proc.h"
#include "stacks/unwind.h"

#include <gelf.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A module is known by its Dwfl_Module, start and name together: the
 * modules can be read again (symbols_cover(), after a dlopen), and a
 * module unmapped since may leave its pointer to a new one elsewhere. */
struct module_upt {
	Dwfl_Module *mod;
	Dwarf_Addr low;
	char *name;
	void *upt;
	bool has_table;		/* di: its .eh_frame_hdr table, in memory */
	bool no_file;		/* read from its loaded image: the file at
				   its path is not the one mapped */
	unw_dyn_info_t di;
};

struct libunwind_state {
	unw_addr_space_t as;
	int pid;
	Dwfl *dwfl;
	void *upt;			/* for ips outside any module */
	struct module_upt *mods;	/* one _UPT_create(pid) per module */
	size_t nmods;
	struct memory *mem;
	const struct cpu_regs *regs;	/* the thread being unwound */
};

static __thread struct libunwind_state *current;

/* libunwind's own search of an .eh_frame_hdr table (what
 * _UPT_find_proc_info calls once it has found the table), exported but
 * not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/*
 * The .eh_frame_hdr table of m, as _UPT_find_proc_info would set it up,
 * but from the ELF symbols.c chose for the module (modfile.h: the object
 * mapped, or its loaded image) and the target's memory, never from the
 * file now at its path.  Only the layout linkers write (table of sdata4
 * pairs relative to the header, udata4 count), as elfcode.c reads it;
 * false for any other (then _UPT_find_proc_info, and its .debug_frame).
 */
static bool find_table(struct libunwind_state *s, struct module_upt *m)
{
	Dwarf_Addr bias, high;
	Elf *elf = dwfl_module_getelf(m->mod, &bias);
	size_t n;
	unsigned char hdr[12];
	uint32_t count;

	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return false;
	dwfl_module_info(m->mod, NULL, NULL, &high, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		uint64_t at = bias + ph.p_vaddr;
		if (memory_read(s->mem, at, hdr, sizeof(hdr)) < 0 || hdr[0] != 1 ||
		    hdr[2] != 0x03 /* udata4 */ || hdr[3] != 0x3b /* datarel|sdata4 */)
			return false;
		memcpy(&count, hdr + 8, 4);
		m->di = (unw_dyn_info_t){
			.start_ip = m->low,
			.end_ip = high,
			.format = UNW_INFO_FORMAT_REMOTE_TABLE,
			.u.rti = {
				.segbase = at,
				.table_len = (unw_word_t)count * 8 / sizeof(unw_word_t),
				.table_data = at + sizeof(hdr),
			},
		};
		return count > 0;
	}
	return false;
}

static struct module_upt *module_for(struct libunwind_state *s, unw_word_t ip)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, ip);
	Dwarf_Addr low;
	const char *name;

	if (!mod || !(name = dwfl_module_info(mod, NULL, &low, NULL, NULL, NULL,
					      NULL, NULL)))
		return NULL;
	for (size_t i = 0; i < s->nmods; i++)
		if (s->mods[i].mod == mod && s->mods[i].low == low &&
		    strcmp(s->mods[i].name, name) == 0)
			return &s->mods[i];
	struct module_upt *n = realloc(s->mods, (s->nmods + 1) * sizeof(*n));
	if (!n)
		return NULL;
	s->mods = n;
	n[s->nmods] = (struct module_upt){ mod, low, strdup(name), _UPT_create(s->pid) };
	if (!n[s->nmods].name || !n[s->nmods].upt) {
		free(n[s->nmods].name);
		if (n[s->nmods].upt)
			_UPT_destroy(n[s->nmods].upt);
		return NULL;
	}
	n[s->nmods].has_table = find_table(s, &n[s->nmods]);
	/* symbols.c names the file it chose; none for a loaded image. */
	const char *file = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
	n[s->nmods].no_file = name[0] == '/' && !file;
	return &n[s->nmods++];
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip,
			  unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	struct module_upt *m = module_for(current, ip);

	(void)arg;
	if (m && m->has_table) {
		int rc = _Ux86_64_dwarf_search_unwind_table(as, ip, &m->di, pi,
							     need_unwind_info, NULL);
		if (rc != -UNW_ENOINFO)
			return rc;
	}
	/* _UPT_find_proc_info would open the file now at the path. */
	if (m && m->no_file)
		return -UNW_ENOINFO;
	return _UPT_find_proc_info(as, ip, pi, need_unwind_info,
				   m ? m->upt : current->upt);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)arg;
	if (current)
		_UPT_put_unwind_info(as, pi, current->upt);
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap,
				  void *arg)
{
	(void)as;
	(void)dilap;
	(void)arg;
	return -UNW_ENOINFO;	/* no dynamically registered unwind info */
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
		      int write, void *arg)
{
	(void)as;
	(void)arg;
	if (write)
		return -UNW_EINVAL;	/* never write to the target */
	if (memory_read(current->mem, addr, val, sizeof(*val)) < 0)
		return -UNW_EINVAL;
	return 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
		      int write, void *arg)
{
	const struct cpu_regs *r = current->regs;

	(void)as;
	(void)arg;
	if (write || reg < 0 || reg >= REG_DW_COUNT || !(r->valid & (1u << reg)))
		return -UNW_EBADREG;
	*val = r->r[reg];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			unw_fpreg_t *val, int write, void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			 size_t len, unw_word_t *offp, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)offp;
	(void)arg;
	return -UNW_ENOINFO;	/* symbols.c names frames, with DWARF */
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

static void *libunwind_open(int pid, Dwfl *dwfl, struct memory *mem,
			    char *err, size_t errlen)
{
	struct libunwind_state *s;
	enum arch arch;
	const char *what;

	/* libunwind is built for one target, the host's: Debian's unwinds
	 * x86_64 code only. */
	if (proc_read_arch(pid, &arch, &what) == 0 && arch == ARCH_I386) {
		snprintf(err, errlen,
			 "the libunwind unwinder cannot unwind %d: a 32-bit (i386) process, and this libunwind unwinds x86_64 code only; use --unwinder=libdw",
			 pid);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out_nomem;
	s->mem = mem;
	s->pid = pid;
	s->dwfl = dwfl;
	s->as = unw_create_addr_space(&accessors, 0);
	if (!s->as)
		goto out_free;
	unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
	s->upt = _UPT_create(pid);
	if (!s->upt)
		goto out_as;
	return s;
out_as:
	unw_destroy_addr_space(s->as);
out_free:
	free(s);
out_nomem:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static int libunwind_unwind(void *state, int tid, const struct cpu_regs *regs,
			    struct raw_frame *frames, int max, bool *complete)
{
	struct libunwind_state *s = state;
	unw_cursor_t c;
	int n = 0;
	bool next_is_return = false;

	(void)tid;
	s->regs = regs;
	current = s;
	*complete = false;
	if (unw_init_remote(&c, s->as, s) < 0)
		goto out;
	/* libunwind ends "normally" also where it merely found no unwind info
	 * (JIT code) and guessed: a walk is complete only if the last frame
	 * it stepped from had unwind info. */
	bool had_info = false;
	while (n < max) {
		unw_word_t ip;
		unw_proc_info_t pi;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0)
			break;
		if (n > 0 && ip == 0) {
			*complete = had_info;
			break;
		}
		frames[n].pc = ip;
		frames[n].return_address = next_is_return;
		n++;
		/* Without info, libunwind "succeeds" with a one-byte range. */
		had_info = unw_get_proc_info(&c, &pi) == 0 &&
			   !(pi.start_ip == ip && pi.end_ip == ip + 1);
		/* The frame after a signal frame was interrupted, not called;
		 * and the signal frame's own pc is the start of the
		 * trampoline (sa_restorer, glibc's __restore_rt) that the
		 * handler "returns" to: no call precedes it either. */
		next_is_return = unw_is_signal_frame(&c) <= 0;
		if (!next_is_return)
			frames[n - 1].return_address = false;
		int rc = unw_step(&c);
		if (rc <= 0) {
			*complete = rc == 0 && had_info;
			break;
		}
	}
out:
	if (n == 0 && (regs->valid & (1u << REG_DW_RIP))) {
		frames[0].pc = regs->r[REG_DW_RIP];
		frames[0].return_address = false;
		n = 1;
	}
	current = NULL;
	return n;
}

static void libunwind_close(void *state)
{
	struct libunwind_state *s = state;

	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		_UPT_destroy(s->mods[i].upt);
		free(s->mods[i].name);
	}
	free(s->mods);
	_UPT_destroy(s->upt);
	unw_destroy_addr_space(s->as);
	free(s);
}

const struct unwind_ops unwind_libunwind_ops = {
	.name = "libunwind",
	.open = libunwind_open,
	.unwind = libunwind_unwind,
	.close = libunwind_close,
};
