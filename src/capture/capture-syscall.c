/*
 * capture-syscall: the system call a thread blocks in, as its program's
 * ABI reads it, and what that call tells of the thread.
 *
 * A blocked thread's syscall line (/proc/TID/syscall) gives its number,
 * six arguments, sp and pc: the registers an unwinder starts from without
 * a stop (regs_from_syscall).  Which ABI made the call is read from the
 * code before pc (int 0x80 in a 64-bit program is an i386 call), and a
 * socketcall's arguments from the caller's stack.  The same decoding
 * tells whether a ptrace stop would break the call with EINTR, which
 * decides whether a thread may be stopped at all.
 */
#include "capture/capture-session.h"
#include "capture/classify.h"
#include "target/memory.h"
#include "target/proc.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

int capture_regs_in_syscall(const struct cpu_regs *r)
{
	long ax = r->arch == ARCH_I386 ? (int32_t)r->rax : (long)r->rax;

	/* Stopped inside a blocking call: the kernel will restart it (or
	 * return EINTR).  Anything else means it was in user space. */
	return r->orig_rax >= 0 &&
	       (ax == -512 || ax == -513 || ax == -514 || ax == -516 ||
		ax == -EINTR || ax == -ENOSYS);
}

/*
 * The ABI of the system call a thread blocks in (or was stopped in): a
 * 32-bit program's are i386 calls; a 64-bit one's too where its code made
 * the call with int 0x80 (cd 80, the two bytes before the pc: the kernel
 * then takes i386 numbers and arguments, and shows them so in
 * /proc/TID/syscall).  sysenter and syscall from 32-bit code are i386
 * calls as well, and 64-bit code's syscall (0f 05) is not.
 */
enum arch capture_call_abi(struct capture_session *c, enum arch code, uint64_t pc)
{
	unsigned char insn[2];

	if (code == ARCH_I386 || c->arch == ARCH_I386)
		return ARCH_I386;
	if (pc >= 2 && memory_read(c->mem, pc - 2, insn, sizeof(insn)) == 0 &&
	    insn[0] == 0xcd && insn[1] == 0x80)
		return ARCH_I386;
	return ARCH_X86_64;
}

/* The registers a blocked thread's syscall line gives away. */
void capture_regs_from_syscall(struct capture_session *c, const struct proc_syscall *sc,
			      struct cpu_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->arch = c->arch;
	r->r[REG_DW_RSP] = sc->sp;
	r->r[REG_DW_RIP] = sc->pc;
	r->valid = 1u << REG_DW_RSP | 1u << REG_DW_RIP;
	r->orig_rax = sc->nr;
	if (sc->nr >= 0) {
		/* The syscall arguments are the registers at the syscall
		 * (i386: ebx ecx edx esi edi ebp, callee-saved but ecx, edx:
		 * what unwinds frame-pointer code). */
		const int *argreg = regs_arg_slots(capture_call_abi(c, r->arch, sc->pc));
		for (int k = 0; k < 6; k++) {
			r->r[argreg[k]] = sc->args[k];
			r->valid |= 1u << argreg[k];
			r->args[k] = sc->args[k];
		}
	}
}

/* A socketcall's arguments, from the caller's stack. */
void capture_read_mem_args(struct capture_session *c, struct syscall_call *call)
{
	uint32_t words[6];

	if (call->nmem_args > 0 && call->nmem_args <= 6 &&
	    memory_read(c->mem, call->mem_args, words,
			(size_t)call->nmem_args * sizeof(words[0])) == 0)
		syscall_decode_mem(call, words);
}

/* The call a blocked thread's syscall line shows, decoded in its ABI. */
void capture_syscall_line_call(struct capture_session *c, const struct work *w,
			      struct syscall_call *call)
{
	*call = w->call;
	if (call->nr >= 0 && capture_call_abi(c, c->arch, w->sc.pc) != call->abi)
		syscall_decode(ARCH_I386, w->sc.nr, w->sc.args, call);
	capture_read_mem_args(c, call);
}

/* Would a ptrace stop make this thread's blocking call fail with EINTR? */
bool capture_stop_is_unsafe(struct capture_session *c, const struct work *w)
{
	struct syscall_call call;
	bool sock = false;
	char link[64];

	if (!capture_is_blocked(w) || w->sc.nr < 0)
		return false;
	capture_syscall_line_call(c, w, &call);
	long nr = call.x86_64;
	if (nr == SYS_read || nr == SYS_write || nr == SYS_readv || nr == SYS_writev)
		sock = w->have_fdlink && call.abi == w->call.abi ?
		       strncmp(w->fdlink, "socket:", 7) == 0 :
		       proc_read_fd_link(c->via, (int)call.args[0], link,
					 sizeof(link)) == 0 &&
		       strncmp(link, "socket:", 7) == 0;
	return stop_would_eintr(nr, sock);
}
