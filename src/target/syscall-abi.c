/*
 * syscall-abi: see syscall-abi.h.  The i386 twins are data, generated
 * (syscall-names.c); the two multiplexers are opened here, with tables of
 * their sub-calls (<linux/net.h> SYS_*, <linux/ipc.h> SEMOP...), numbers
 * that the kernel keeps for ever.
 */
#include "target/syscall-abi.h"
#include "target/syscall-i386.h"

#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* socketcall(call, args): call 1..20, its x86_64 twin, its arguments. */
static const struct {
	const char *name;
	long twin;
	int nargs;
} socketcalls[] = {
	[1] = { "socket", SYS_socket, 3 },
	[2] = { "bind", SYS_bind, 3 },
	[3] = { "connect", SYS_connect, 3 },
	[4] = { "listen", SYS_listen, 2 },
	[5] = { "accept", SYS_accept, 3 },
	[6] = { "getsockname", SYS_getsockname, 3 },
	[7] = { "getpeername", SYS_getpeername, 3 },
	[8] = { "socketpair", SYS_socketpair, 4 },
	[9] = { "send", SYS_sendto, 4 },	/* sendto(fd, buf, len, flags, 0, 0) */
	[10] = { "recv", SYS_recvfrom, 4 },	/* recvfrom(fd, buf, len, flags, 0, 0) */
	[11] = { "sendto", SYS_sendto, 6 },
	[12] = { "recvfrom", SYS_recvfrom, 6 },
	[13] = { "shutdown", SYS_shutdown, 2 },
	[14] = { "setsockopt", SYS_setsockopt, 5 },
	[15] = { "getsockopt", SYS_getsockopt, 5 },
	[16] = { "sendmsg", SYS_sendmsg, 3 },
	[17] = { "recvmsg", SYS_recvmsg, 3 },
	[18] = { "accept4", SYS_accept4, 4 },
	[19] = { "recvmmsg", SYS_recvmmsg, 5 },
	[20] = { "sendmmsg", SYS_sendmmsg, 4 },
};

/* ipc(call, first, second, third, ptr, fifth): call's low 16 bits; the
 * x86_64 call's arguments, as indices into ipc's (-1: 0). */
static const struct {
	int call;
	const char *name;
	long twin;
	signed char arg[6];
} ipcs[] = {
	{ 1, "semop", SYS_semop, { 1, 4, 2, -1, -1, -1 } },
	{ 2, "semget", SYS_semget, { 1, 2, 3, -1, -1, -1 } },
	{ 3, "semctl", SYS_semctl, { 1, 2, 3, 4, -1, -1 } },
	{ 4, "semtimedop", SYS_semtimedop, { 1, 4, 2, 5, -1, -1 } },
	{ 11, "msgsnd", SYS_msgsnd, { 1, 4, 2, 3, -1, -1 } },
	{ 12, "msgrcv", SYS_msgrcv, { 1, 4, 2, 5, 3, -1 } },
	{ 13, "msgget", SYS_msgget, { 1, 2, -1, -1, -1, -1 } },
	{ 14, "msgctl", SYS_msgctl, { 1, 2, 4, -1, -1, -1 } },
	{ 21, "shmat", SYS_shmat, { 1, 4, 2, -1, -1, -1 } },
	{ 22, "shmdt", SYS_shmdt, { 4, -1, -1, -1, -1, -1 } },
	{ 23, "shmget", SYS_shmget, { 1, 2, 3, -1, -1, -1 } },
	{ 24, "shmctl", SYS_shmctl, { 1, 2, 4, -1, -1, -1 } },
};

static void decode_socketcall(struct syscall_call *c, const uint64_t *args)
{
	uint64_t call = args ? args[0] : 0, at = args ? (uint32_t)args[1] : 0;

	c->name = "socketcall";
	if (!args || call == 0 || call >= N(socketcalls))
		return;
	c->name = socketcalls[call].name;
	c->x86_64 = socketcalls[call].twin;
	memset(c->args, 0, sizeof(c->args));
	c->mem_args = at;
	c->nmem_args = socketcalls[call].nargs;
}

static void decode_ipc(struct syscall_call *c, const uint64_t *args)
{
	c->name = "ipc";
	if (!args)
		return;
	for (size_t i = 0; i < N(ipcs); i++) {
		if ((args[0] & 0xffff) != (uint64_t)ipcs[i].call)
			continue;
		c->name = ipcs[i].name;
		c->x86_64 = ipcs[i].twin;
		for (int k = 0; k < 6; k++)
			c->args[k] = ipcs[i].arg[k] < 0 ? 0 : args[ipcs[i].arg[k]];
		return;
	}
}

void syscall_decode(enum arch abi, long nr, const uint64_t *args,
		    struct syscall_call *out)
{
	memset(out, 0, sizeof(*out));
	out->abi = abi;
	out->nr = nr < 0 ? -1 : nr;
	out->x86_64 = out->nr;
	if (args)
		memcpy(out->args, args, sizeof(out->args));
	if (nr < 0)
		return;
	if (abi == ARCH_X86_64) {
		out->name = syscall_name(nr);
		return;
	}
	/* i386: 32-bit arguments, whatever the upper halves hold */
	for (int k = 0; k < 6; k++)
		out->args[k] = (uint32_t)out->args[k];
	out->name = syscall_name_i386(nr);
	out->x86_64 = syscall_i386_twin(nr);
	if (nr == NR32_socketcall) {
		out->x86_64 = SYSCALL_NO_TWIN;
		uint64_t a[6];
		memcpy(a, out->args, sizeof(a));
		decode_socketcall(out, args ? a : NULL);
	} else if (nr == NR32_ipc) {
		uint64_t a[6];
		memcpy(a, out->args, sizeof(a));
		out->x86_64 = SYSCALL_NO_TWIN;
		decode_ipc(out, args ? a : NULL);
	}
	if (out->x86_64 < 0)
		out->x86_64 = SYSCALL_NO_TWIN;
}

void syscall_decode_mem(struct syscall_call *c, const uint32_t *words)
{
	for (int k = 0; k < c->nmem_args && k < 6; k++)
		c->args[k] = words[k];
	c->mem_args = 0;
	c->nmem_args = 0;
}
