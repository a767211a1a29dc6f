/*
 * fds: fd links and socket tables; see fds.h.
 *
 * The kernel's net tables print addresses as hex words in host byte order:
 * "0100007F:1F90" is 127.0.0.1:8080.  Each table row becomes one entry
 * (inode -> description) in a small sorted array.
 */
#include "target/fds.h"
#include "target/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sock_entry {
	unsigned long inode;
	char desc[256];
};

struct fd_table {
	int pid;
	int loaded;
	struct sock_entry *socks;
	size_t n, cap;
};

struct fd_table *fds_open(int pid)
{
	struct fd_table *t = calloc(1, sizeof(*t));

	if (t)
		t->pid = pid;
	return t;
}

void fds_close(struct fd_table *t)
{
	if (!t)
		return;
	free(t->socks);
	free(t);
}

void fds_forget(struct fd_table *t)
{
	t->n = 0;
	t->loaded = 0;
}

static struct sock_entry *add_sock(struct fd_table *t)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct sock_entry *n = realloc(t->socks, ncap * sizeof(*n));
		if (!n)
			return NULL;
		t->socks = n;
		t->cap = ncap;
	}
	return &t->socks[t->n++];
}

/* "0100007F:1F90" or a 32-digit IPv6 word string, to "127.0.0.1:8080". */
static void format_addr(const char *hex, int family, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const char *colon = strchr(hex, ':');
	unsigned port = colon ? (unsigned)strtoul(colon + 1, NULL, 16) : 0;

	if (family == AF_INET) {
		struct in_addr a;
		a.s_addr = (uint32_t)strtoul(hex, NULL, 16);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, port);
		return;
	}
	struct in6_addr a6;
	for (int w = 0; w < 4; w++) {
		char word[9];
		memcpy(word, hex + w * 8, 8);
		word[8] = '\0';
		uint32_t v = (uint32_t)strtoul(word, NULL, 16);
		memcpy(&a6.s6_addr[w * 4], &v, 4);
	}
	inet_ntop(AF_INET6, &a6, ip, sizeof(ip));
	snprintf(out, size, "[%s]:%u", ip, port);
}

static void load_inet(struct fd_table *t, const char *file, const char *proto,
		      int family)
{
	char path[64], line[512];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", t->pid, file);
	fp = fopen(path, "re");
	if (!fp)
		return;
	if (!fgets(line, sizeof(line), fp)) {	/* header */
		fclose(fp);
		return;
	}
	while (fgets(line, sizeof(line), fp)) {
		char local[64], remote[64];
		unsigned st;
		unsigned long inode;
		if (sscanf(line, "%*s %63s %63s %x %*s %*s %*s %*s %*s %lu",
			   local, remote, &st, &inode) != 4 || inode == 0)
			continue;
		struct sock_entry *e = add_sock(t);
		if (!e)
			break;
		char l[80], r[80];
		format_addr(local, family, l, sizeof(l));
		format_addr(remote, family, r, sizeof(r));
		e->inode = inode;
		if (st == 0x0A)		/* TCP_LISTEN */
			snprintf(e->desc, sizeof(e->desc), "%s listen %s", proto, l);
		else if (strcmp(proto, "udp") == 0 && strstr(remote, ":0000"))
			/* an unconnected datagram socket has no peer */
			snprintf(e->desc, sizeof(e->desc), "%s %s", proto, l);
		else
			snprintf(e->desc, sizeof(e->desc), "%s %s -> %s", proto, l, r);
	}
	fclose(fp);
}

static void load_unix(struct fd_table *t)
{
	char path[64], line[4096 + 128];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/net/unix", t->pid);
	fp = fopen(path, "re");
	if (!fp)
		return;
	if (!fgets(line, sizeof(line), fp)) {
		fclose(fp);
		return;
	}
	while (fgets(line, sizeof(line), fp)) {
		unsigned long inode;
		unsigned st;
		int pos = 0;
		if (sscanf(line, "%*s %*s %*s %*s %*s %x %lu%n", &st, &inode,
			   &pos) != 2)
			continue;
		struct sock_entry *e = add_sock(t);
		if (!e)
			break;
		char *name = line + pos;
		name += strspn(name, " ");
		name[strcspn(name, "\n")] = '\0';
		e->inode = inode;
		if (*name)
			snprintf(e->desc, sizeof(e->desc), "unix %s", name);
		else
			snprintf(e->desc, sizeof(e->desc), "unix socket:[%lu]", inode);
	}
	fclose(fp);
}

static int cmp_sock(const void *a, const void *b)
{
	unsigned long x = ((const struct sock_entry *)a)->inode;
	unsigned long y = ((const struct sock_entry *)b)->inode;

	return (x > y) - (x < y);
}

static void load_sockets(struct fd_table *t)
{
	load_inet(t, "tcp", "tcp", AF_INET);
	load_inet(t, "tcp6", "tcp", AF_INET6);
	load_inet(t, "udp", "udp", AF_INET);
	load_inet(t, "udp6", "udp", AF_INET6);
	load_unix(t);
	if (t->n)	/* no socket at all: socks is NULL */
		qsort(t->socks, t->n, sizeof(*t->socks), cmp_sock);
	t->loaded = 1;
}

int fds_describe(struct fd_table *t, int fd, char *buf, size_t size)
{
	char link[4096];
	int rc = proc_read_fd_link(t->pid, fd, link, sizeof(link));

	return rc < 0 ? rc : fds_describe_link(t, link, buf, size);
}

int fds_describe_link(struct fd_table *t, const char *link, char *buf, size_t size)
{
	unsigned long inode;

	if (sscanf(link, "socket:[%lu]", &inode) == 1) {
		if (!t->loaded)
			load_sockets(t);
		struct sock_entry key = { .inode = inode };
		struct sock_entry *e = bsearch(&key, t->socks, t->n,
					       sizeof(*t->socks), cmp_sock);
		if (e) {
			snprintf(buf, size, "%s", e->desc);
			return 0;
		}
	}
	snprintf(buf, size, "%s", link);
	return 0;
}
