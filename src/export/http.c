/*
 * http: the HTTP side of serve, on libmicrohttpd.  We bind the socket
 * ourselves (our messages for a bad address, the port picked for 0) and
 * hand it to an MHD daemon whose one internal thread serves every
 * connection at once (epoll): an idle or slow client delays no one.
 *
 * MHD's own timeout is an idle one: a client that trickles a byte now and
 * then would keep its connection for ever.  So each connection is also on
 * our list from MHD's "started" notice to its "closed" one, with the time
 * it came; a watchdog thread shuts down (shutdown(2), which MHD then sees
 * as the peer's close) any that has not sent its whole request within
 * the request deadline, or is still open the exchange's after it came.
 * MHD calls "closed" before it closes the descriptor, and the watchdog
 * holds the list's lock while it shuts one down, so it never touches a
 * descriptor that was reused.
 *
 * threadleak does not link libmicrohttpd: with GnuTLS and its eight
 * libraries it would load at every command's start (9 ms more to
 * `threadleak --version`).  http_start() loads it and looks up the few
 * functions used here.
 *
 * The pages served as they are (/metrics, the index) are reference-counted
 * blocks that http_publish() swaps under the lock: a response holds its
 * block until MHD is done with it, never the lock, and a scrape costs no
 * copy.
 *
 * A profile (/debug/pprof/goroutine) is made from the caller's snapshots,
 * which only the caller's thread may read, and only when asked (Go's
 * debug=2 of a million goroutines is hundreds of MB): the request becomes
 * a job on a queue, its connection is suspended (MHD serves the others
 * meanwhile), an eventfd wakes the caller, which answers it
 * (http_take_job, http_answer_job) between its captures; the answer
 * resumes the connection and MHD's thread sends it.  A job is freed when
 * MHD says its request is done, whichever way it ends.
 */
#include "export/http.h"
#include "base/util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <sys/eventfd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

struct blob {
	unsigned refs;		/* atomic */
	size_t len;
	char *text;
};

/* One open connection, from MHD's "started" notice to its "closed". */
struct conn {
	struct conn *prev, *next;
	int fd;
	double came;		/* now_sec(): CLOCK_MONOTONIC */
	bool asked;		/* its whole request arrived */
	bool cut;		/* shut down by the watchdog */
};

/* A profile asked for: http.h's part, then the server's. */
struct job {
	struct http_job pub;
	struct MHD_Connection *conn;
	struct job *next;	/* on the queue */
};

struct http_server {
	struct MHD_Daemon *daemon;
	int listen_fd;		/* bound, until http_run() gives it to MHD */
	bool running;		/* http_run() was called: the lock and the
				   condition are made */
	int jobfd;		/* eventfd: jobs queued */
	struct job *jobs, **jobs_tail;	/* queued, not yet taken */
	bool jobs_closed;	/* stopping: no more are queued */
	pthread_t watchdog;
	bool watching;		/* the watchdog thread runs */
	pthread_mutex_t lock;	/* page, conns, jobs, stopping */
	pthread_cond_t wake;	/* a new connection, or stop */
	bool stopping;
	unsigned request_sec;	/* a request's deadline from its connection */
	unsigned exchange_sec;	/* a connection's, answer taken or not */
	struct conn *conns;
	struct blob *page[HTTP_NPAGES];	/* NULL until the first publish */
	char address[128];
};

/* libmicrohttpd's functions, from the copy http_start() loads */
#define MHD_SONAME "libmicrohttpd.so.12"
static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_create_response_from_buffer) *from_buffer;
	__typeof__(MHD_create_response_from_buffer_with_free_callback_cls) *from_blob;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_value;
	__typeof__(MHD_suspend_connection) *suspend;
	__typeof__(MHD_resume_connection) *resume;
} mhd;
static char mhd_error[256];

static void mhd_load(void)
{
	void *h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(mhd_error, sizeof(mhd_error), "%s", dlerror());
		return;
	}
	/* kept loaded: GnuTLS is not made to be unloaded */
	*(void **)&mhd.start_daemon = dlsym(h, "MHD_start_daemon");
	*(void **)&mhd.stop_daemon = dlsym(h, "MHD_stop_daemon");
	*(void **)&mhd.get_connection_info = dlsym(h, "MHD_get_connection_info");
	*(void **)&mhd.from_buffer = dlsym(h, "MHD_create_response_from_buffer");
	*(void **)&mhd.from_blob = dlsym(h, "MHD_create_response_from_buffer_with_free_callback_cls");
	*(void **)&mhd.add_response_header = dlsym(h, "MHD_add_response_header");
	*(void **)&mhd.queue_response = dlsym(h, "MHD_queue_response");
	*(void **)&mhd.destroy_response = dlsym(h, "MHD_destroy_response");
	*(void **)&mhd.lookup_value = dlsym(h, "MHD_lookup_connection_value");
	*(void **)&mhd.suspend = dlsym(h, "MHD_suspend_connection");
	*(void **)&mhd.resume = dlsym(h, "MHD_resume_connection");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.get_connection_info ||
	    !mhd.from_buffer || !mhd.from_blob || !mhd.add_response_header ||
	    !mhd.queue_response || !mhd.destroy_response || !mhd.lookup_value ||
	    !mhd.suspend || !mhd.resume) {
		snprintf(mhd_error, sizeof(mhd_error), "%s lacks a function threadleak needs "
			 "(0.9.73 or later)", MHD_SONAME);
		mhd.start_daemon = NULL;
	}
}

static void blob_put(struct blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(b->text);
		free(b);
	}
}

static void blob_put_cb(void *cls)
{
	blob_put(cls);
}

void http_publish(struct http_server *s, enum http_page page, char *text, size_t len)
{
	struct blob *b = malloc(sizeof(*b)), *old;

	if (!b || page < 0 || page >= HTTP_NPAGES) {
		free(b);
		free(text);
		return;
	}
	b->refs = 1;
	b->len = len;
	b->text = text;
	pthread_mutex_lock(&s->lock);
	old = s->page[page];
	s->page[page] = b;
	pthread_mutex_unlock(&s->lock);
	blob_put(old);
}

/* Queues status with body: static, a held blob (released by MHD), or a
 * malloc'd one (freed by MHD: owned). */
static enum MHD_Result reply_with(struct MHD_Connection *c, unsigned status, const char *type,
				  const char *body, size_t len, struct blob *held, char *owned,
				  bool attachment)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	if (held)
		r = mhd.from_blob(len, (void *)body, blob_put_cb, held);
	else if (owned)
		r = mhd.from_blob(len, owned, free, owned);
	else
		r = mhd.from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		blob_put(held);
		free(owned);
		return MHD_NO;	/* MHD closes the connection */
	}
	if (mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    mhd.add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES ||
	    mhd.add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    (attachment && mhd.add_response_header(r, "Content-Disposition",
						    "attachment; filename=\"goroutine\"") != MHD_YES)) {
		mhd.destroy_response(r);
		return MHD_NO;
	}
	ok = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ok;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len, struct blob *held)
{
	return reply_with(c, status, type, body, len, held, NULL, false);
}

/* A query argument of c into buf, cut to its size; "" when not given. */
static void argument(struct MHD_Connection *c, const char *key, char *buf, size_t size)
{
	const char *v = mhd.lookup_value(c, MHD_GET_ARGUMENT_KIND, key);

	snprintf(buf, size, "%s", v ? v : "");
}

/* A profile's request: queued for the caller's thread (its connection
 * suspended) the first time MHD calls, answered when it calls again. */
static enum MHD_Result profile(struct http_server *s, struct MHD_Connection *c, void **req)
{
	struct job *j = *req;

	if (j) {	/* resumed: the caller answered */
		char *body = j->pub.body;
		j->pub.body = NULL;
		return reply_with(c, j->pub.status, j->pub.type, body, j->pub.len, NULL,
				  body, j->pub.attachment);
	}
	if (!(j = calloc(1, sizeof(*j))))
		return MHD_NO;
	argument(c, "pid", j->pub.pid, sizeof(j->pub.pid));
	argument(c, "debug", j->pub.debug, sizeof(j->pub.debug));
	j->conn = c;
	*req = j;	/* freed when the request is done (completed()) */
	pthread_mutex_lock(&s->lock);
	bool closed = s->jobs_closed;
	if (!closed) {
		*s->jobs_tail = j;
		s->jobs_tail = &j->next;
		mhd.suspend(c);
	}
	pthread_mutex_unlock(&s->lock);
	if (closed)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
			     "shutting down\n", 14, NULL);
	uint64_t one = 1;
	if (write(s->jobfd, &one, sizeof(one)) < 0) {
		/* the counter is full: the caller has jobs to read anyway */
	}
	return MHD_YES;
}

/* MHD's notice that a request is done, answered or not: its job goes. */
static void completed(void *cls, struct MHD_Connection *c, void **req,
		      enum MHD_RequestTerminationCode why)
{
	struct job *j = *req;

	(void)cls;
	(void)c;
	(void)why;
	if (j) {
		free(j->pub.body);
		free(j);
		*req = NULL;
	}
}

int http_jobs_fd(const struct http_server *s)
{
	return s->jobfd;
}

struct http_job *http_take_job(struct http_server *s)
{
	uint64_t n;
	struct job *j;

	pthread_mutex_lock(&s->lock);
	j = s->jobs;
	if (j) {
		s->jobs = j->next;
		if (!s->jobs)
			s->jobs_tail = &s->jobs;
		j->next = NULL;
	} else if (read(s->jobfd, &n, sizeof(n)) < 0) {
		/* nonblocking: nothing to clear */
	}
	pthread_mutex_unlock(&s->lock);
	return j ? &j->pub : NULL;
}

void http_answer_job(struct http_server *s, struct http_job *pub)
{
	struct job *j = (struct job *)pub;	/* pub is its first member */

	(void)s;
	if (!j->pub.type)
		j->pub.type = "text/plain; charset=utf-8";
	mhd.resume(j->conn);
}

static bool path_is(const char *url, size_t n, const char *path)
{
	return n == strlen(path) && strncmp(url, path, n) == 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **req)
{
	static const char text[] = "text/plain; charset=utf-8";
	static const char not_found[] =
		"not found: threadleak serves /metrics, /debug/pprof/goroutine?pid=PID and its index at /\n";
	struct http_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	(void)version;
	(void)upload;
	(void)upload_size;
	/* the request is whole: the watchdog gives it until the exchange's
	 * deadline now */
	ci = mhd.get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context) {
		pthread_mutex_lock(&s->lock);
		((struct conn *)ci->socket_context)->asked = true;
		pthread_mutex_unlock(&s->lock);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET or HEAD\n", 12, NULL);
	/* MHD took the query off; a fragment is no part of the path */
	size_t n = strcspn(url, "#");
	enum http_page page;
	const char *type;
	if (path_is(url, n, "/metrics")) {
		page = HTTP_METRICS;
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else if (path_is(url, n, "/") || path_is(url, n, "/debug/pprof") ||
		   path_is(url, n, "/debug/pprof/")) {
		page = HTTP_INDEX;
		type = "text/html; charset=utf-8";
	} else if (path_is(url, n, "/debug/pprof/goroutine")) {
		return profile(s, c, req);
	} else {
		return reply(c, MHD_HTTP_NOT_FOUND, text, not_found, sizeof(not_found) - 1, NULL);
	}
	pthread_mutex_lock(&s->lock);
	struct blob *b = s->page[page];
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&s->lock);
	if (!b)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, text, "no capture yet\n", 15, NULL);
	return reply(c, MHD_HTTP_OK, type, b->text, b->len, b);
}

/* MHD's notices (its thread): a connection on our list while it is open. */
static void notify(void *cls, struct MHD_Connection *c, void **ctx,
		   enum MHD_ConnectionNotificationCode what)
{
	struct http_server *s = cls;
	struct conn *k = *ctx;

	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci)
			return;
		k = calloc(1, sizeof(*k));
		if (!k) {
			/* no room to time it: not served */
			shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		k->fd = ci->connect_fd;
		k->came = now_sec();
		pthread_mutex_lock(&s->lock);
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		*ctx = k;
	} else if (what == MHD_CONNECTION_NOTIFY_CLOSED && k) {
		pthread_mutex_lock(&s->lock);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&s->lock);
		free(k);
		*ctx = NULL;
	}
}

/* Shuts down the connections past their deadline, then sleeps until the
 * next deadline or a new connection. */
static void *watchdog(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		double now = now_sec(), next = 0;
		for (struct conn *k = s->conns; k; k = k->next) {
			if (k->cut)
				continue;
			double due = k->came + (k->asked ? s->exchange_sec : s->request_sec);
			if (due <= now) {
				shutdown(k->fd, SHUT_RDWR);
				k->cut = true;
			} else if (next == 0 || due < next) {
				next = due;
			}
		}
		if (next == 0) {
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		/* a request answered moves its deadline later, never earlier:
		 * waking at the earliest one known is never late */
		struct timespec ts;
		next += 0.01;
		ts.tv_sec = (time_t)next;
		ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
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

struct http_server *http_listen(const char *addr, unsigned request_sec, char *err,
				 size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	char host[128];
	const char *port;
	int fd;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (request_sec < 1 || request_sec > HTTP_REQUEST_SEC_MAX) {
		snprintf(err, errlen, "a request's deadline is 1 to %d seconds, not %u",
			 HTTP_REQUEST_SEC_MAX, request_sec);
		free(s);
		errno = EINVAL;
		return NULL;
	}
	s->jobs_tail = &s->jobs;
	s->jobfd = -1;
	s->listen_fd = -1;
	s->request_sec = request_sec;
	s->exchange_sec = request_sec > HTTP_EXCHANGE_SEC ? request_sec : HTTP_EXCHANGE_SEC;
	if (!split_address(addr, host, sizeof(host), &port)) {
		snprintf(err, errlen, "'%s' is not an address to listen on: give HOST:PORT, "
			 "[IPV6]:PORT or :PORT", addr);
		free(s);
		errno = EINVAL;
		return NULL;
	}
	fd = listen_on(host, port, s->address, sizeof(s->address));
	if (fd < 0) {
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
	s->listen_fd = fd;
	return s;
}

int http_run(struct http_server *s, char *err, size_t errlen)
{
	int fd = s->listen_fd;

	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, mhd_load);
	if (!mhd.start_daemon) {
		snprintf(err, errlen, "cannot serve HTTP: %s (install libmicrohttpd12)", mhd_error);
		return -ENOSYS;
	}
	s->jobfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->jobfd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot serve HTTP: eventfd: %s", strerror(e));
		return -e;
	}
	s->listen_fd = -1;	/* MHD's from here on */
	s->running = true;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	/* Signals are the caller's (its Ctrl-C ends its sleep): MHD's thread
	 * and the watchdog start with them all blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	s->watching = pthread_create(&s->watchdog, NULL, watchdog, s) == 0;
	if (s->watching)
		s->daemon = mhd.start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
					     MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
					     answer, s,
					     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
					     MHD_OPTION_NOTIFY_CONNECTION, notify, s,
					     MHD_OPTION_NOTIFY_COMPLETED, completed, s,
					     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS,
					     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					     (unsigned)HTTP_CONNECTIONS_PER_ADDRESS,
					     MHD_OPTION_CONNECTION_TIMEOUT, s->request_sec,
					     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					     (size_t)HTTP_REQUEST_BYTES,
					     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot start the HTTP server on %s", s->address);
		/* MHD closes the socket it was given on some of its failures
		 * only; no other thread opens a descriptor meanwhile */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		return -ENOMEM;
	}
	return 0;
}

const char *http_address(const struct http_server *s)
{
	return s->address;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (!s->running) {
		free(s);
		return;
	}
	/* No job is queued from now on; those queued are answered, which
	 * resumes their connections: MHD stops none suspended. */
	pthread_mutex_lock(&s->lock);
	s->jobs_closed = true;
	struct job *pending = s->jobs;
	s->jobs = NULL;
	s->jobs_tail = &s->jobs;
	pthread_mutex_unlock(&s->lock);
	while (pending) {
		struct job *j = pending;
		pending = j->next;
		j->pub.status = MHD_HTTP_SERVICE_UNAVAILABLE;
		j->pub.body = strdup("shutting down\n");
		j->pub.len = j->pub.body ? strlen(j->pub.body) : 0;
		http_answer_job(s, &j->pub);
	}
	/* MHD next: its "closed" notices empty our list, and it closes the
	 * listening socket */
	if (s->daemon)
		mhd.stop_daemon(s->daemon);
	if (s->watching) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->watchdog, NULL);
	}
	for (int i = 0; i < HTTP_NPAGES; i++)
		blob_put(s->page[i]);
	if (s->jobfd >= 0)
		close(s->jobfd);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
