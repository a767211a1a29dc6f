/*
 * http: a listening socket, a thread that polls it and a pipe that wakes
 * the thread to stop; the text served is a reference-counted block that
 * http_publish() swaps under a mutex, so that a slow client holds the old
 * block, never the lock.  Requests are read up to REQUEST_MAX bytes and
 * only their first line is looked at.
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <netinet/in.h>

#define REQUEST_MAX 8192
#define CLIENT_TIMEOUT_SEC 5

struct blob {
	unsigned refs;
	size_t len;
	char *text;
};

struct http_server {
	int fd;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t lock;
	struct blob *current;	/* NULL until the first publish */
	char address[128];
};

static void blob_put(struct http_server *s, struct blob *b)
{
	bool last;

	if (!b)
		return;
	pthread_mutex_lock(&s->lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last) {
		free(b->text);
		free(b);
	}
}

void http_publish(struct http_server *s, char *text, size_t len)
{
	struct blob *b = malloc(sizeof(*b)), *old;

	if (!b) {
		free(text);
		return;
	}
	b->refs = 1;
	b->len = len;
	b->text = text;
	pthread_mutex_lock(&s->lock);
	old = s->current;
	s->current = b;
	pthread_mutex_unlock(&s->lock);
	blob_put(s, old);
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len,
		  bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, type, len);

	if (send_all(fd, hdr, (size_t)n) && !head)
		send_all(fd, body, len);
}

/* Reads until the end of the headers (or REQUEST_MAX): false on a
 * timeout, a close or a request too long. */
static bool read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t r = recv(fd, buf + len, size - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return true;
	}
	return false;
}

static void answer(struct http_server *s, int fd)
{
	static const char text[] = "text/plain; charset=utf-8";
	static const char index_text[] = "threadleak: the metrics are at /metrics\n";
	struct timeval tv = { CLIENT_TIMEOUT_SEC, 0 };
	char req[REQUEST_MAX], method[16], path[256];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!read_request(fd, req, sizeof(req)))
		return;
	if (sscanf(req, "%15s %255s", method, path) != 2) {
		reply(fd, "400 Bad Request", text, "bad request\n", 12, false);
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		reply(fd, "405 Method Not Allowed", text, "GET or HEAD\n", 12, false);
		return;
	}
	path[strcspn(path, "?#")] = '\0';
	if (strcmp(path, "/") == 0) {
		reply(fd, "200 OK", text, index_text, sizeof(index_text) - 1, head);
		return;
	}
	if (strcmp(path, "/metrics") != 0) {
		reply(fd, "404 Not Found", text, "not found: try /metrics\n", 24, head);
		return;
	}
	pthread_mutex_lock(&s->lock);
	struct blob *b = s->current;
	if (b)
		b->refs++;
	pthread_mutex_unlock(&s->lock);
	if (!b) {
		reply(fd, "503 Service Unavailable", text, "no capture yet\n", 15, head);
		return;
	}
	reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", b->text, b->len, head);
	blob_put(s, b);
}

static void *serve(void *arg)
{
	struct http_server *s = arg;
	struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->wake[0], POLLIN, 0 } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;	/* the client gave up, or no fd: next */
		answer(s, fd);
		close(fd);
	}
	return NULL;
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" into host (NULL: any) and port. */
static bool split_address(const char *addr, char *host, size_t hsize, const char **port)
{
	const char *colon;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= hsize)
			return false;
		memcpy(host, addr + 1, (size_t)(end - addr - 1));
		host[end - addr - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= hsize || memchr(addr, ':', (size_t)(colon - addr)))
			return false;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
	}
	*port = colon + 1;
	return **port && strspn(*port, "0123456789") == strlen(*port) && strlen(*port) <= 5 &&
	       atoi(*port) <= 65535;
}

static int listen_on(const char *host, const char *port, char *bound, size_t bsize)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -1, err = EADDRNOTAVAIL, one = 1, zero = 0;

	if (getaddrinfo(*host ? host : NULL, port, &hints, &res) != 0) {
		errno = ENOENT;
		return -1;
	}
	/* Every address: IPv6's, which takes IPv4's too, where there is one. */
	for (int pass = *host ? 1 : 0; pass < 2 && fd < 0; pass++) {
		for (ai = res; ai; ai = ai->ai_next) {
			if (pass == 0 && ai->ai_family != AF_INET6)
				continue;
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd < 0) {
				err = errno;
				continue;
			}
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (pass == 0)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
				break;
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char h[64], p[16];
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(bound, bsize, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, p);
	return fd;
}

struct http_server *http_start(const char *addr, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	char host[128];
	const char *port;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (!split_address(addr, host, sizeof(host), &port)) {
		snprintf(err, errlen, "'%s' is not an address to listen on: give HOST:PORT, "
			 "[IPV6]:PORT or :PORT", addr);
		free(s);
		errno = EINVAL;
		return NULL;
	}
	s->fd = listen_on(host, port, s->address, sizeof(s->address));
	if (s->fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "cannot listen on %s: no such host", addr);
		else
			snprintf(err, errlen, "cannot listen on %s: %s%s", addr, strerror(e),
				 e == EADDRINUSE ? " (pick another port)" :
				 e == EACCES ? " (ports below 1024 need root)" : "");
		free(s);
		errno = e;
		return NULL;
	}
	if (pipe2(s->wake, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		goto out_close;
	}
	pthread_mutex_init(&s->lock, NULL);
	/* Signals are the caller's (its Ctrl-C ends its sleep): the thread
	 * starts with them all blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int prc = pthread_create(&s->thread, NULL, serve, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (prc != 0) {
		snprintf(err, errlen, "cannot start the server's thread");
		close(s->wake[0]);
		close(s->wake[1]);
		pthread_mutex_destroy(&s->lock);
		goto out_close;
	}
	return s;

out_close:
	close(s->fd);
	free(s);
	errno = ENOMEM;
	return NULL;
}

const char *http_address(const struct http_server *s)
{
	return s->address;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	if (write(s->wake[1], "x", 1) < 0) {
		/* a full pipe still wakes the thread */
	}
	pthread_join(s->thread, NULL);
	close(s->wake[0]);
	close(s->wake[1]);
	close(s->fd);
	blob_put(s, s->current);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
