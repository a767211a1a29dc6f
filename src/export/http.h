/*
 * http: the HTTP/1.x server a Prometheus scrape needs (libmicrohttpd).
 * Every connection is served at once, up to HTTP_CONNECTIONS and
 * HTTP_CONNECTIONS_PER_ADDRESS from one client address: GET (or HEAD)
 * /metrics and / (also /debug/pprof/) get the pages last published,
 * /debug/pprof/goroutine is a job the caller answers, anything else 404 or
 * 405.  A scrape never waits for a capture and never starts one: it gets
 * what http_publish() was last given.  A client has
 * request_sec (http_start; HTTP_REQUEST_SEC by default) from its
 * connection to send its whole request (of at most HTTP_REQUEST_BYTES),
 * however it trickles it, and the connection is closed HTTP_EXCHANGE_SEC
 * (or request_sec, if longer) after it came, answer taken or not.
 */
#ifndef THREADLEAK_HTTP_H
#define THREADLEAK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_REQUEST_SEC 10
#define HTTP_REQUEST_SEC_MAX 3600
#define HTTP_EXCHANGE_SEC 60
#define HTTP_REQUEST_BYTES (32 * 1024)
#define HTTP_CONNECTIONS 128
#define HTTP_CONNECTIONS_PER_ADDRESS 16

struct http_server;

/* The pages served as the caller last published them. */
enum http_page {
	HTTP_METRICS,	/* /metrics: Prometheus's text */
	HTTP_INDEX,	/* / and /debug/pprof/: HTML */
	HTTP_NPAGES
};

/*
 * A request for /debug/pprof/goroutine, answered by the caller's thread:
 * it waits on http_jobs_fd() (readable when one is queued), takes each
 * with http_take_job() and answers it with http_answer_job() after
 * setting status, type and body.  The query's values are cut to the
 * fields' sizes and not checked: the caller checks them.
 */
struct http_job {
	char pid[16];		/* ?pid=, "" when not given */
	char debug[8];		/* ?debug= */
	unsigned status;	/* the answer: an HTTP status */
	const char *type;	/* its Content-Type (static); NULL: text */
	char *body;		/* malloc'd, the server's from the answer on */
	size_t len;
	bool attachment;	/* a file to save (a binary profile) */
};

/*
 * Listens on addr ("HOST:PORT", "[V6]:PORT", ":PORT" for every address;
 * PORT 0 picks a free one), to serve (http_run) each request due whole
 * request_sec (1 to HTTP_REQUEST_SEC_MAX) after its connection.  NULL and a one-line
 * reason in err when the address is bad or cannot be bound (errno set:
 * EINVAL for what is not an address, ENOENT for a host that does not
 * resolve, else bind's).
 */
struct http_server *http_listen(const char *addr, unsigned request_sec, char *err,
				 size_t errlen);
/* Starts serving what http_listen() bound: its threads are made here (a
 * caller that drops privileges does so between the two).  0, or -errno
 * and why in err; http_stop() frees it either way. */
int http_run(struct http_server *s, char *err, size_t errlen);
/* The address bound, "HOST:PORT" (the port picked for 0). */
const char *http_address(const struct http_server *s);
/* Serves text (malloc'd: the server takes it) as page from now on. */
void http_publish(struct http_server *s, enum http_page page, char *text, size_t len);
/* Readable (an eventfd) while a job is queued. */
int http_jobs_fd(const struct http_server *s);
/* The next job queued, or NULL (the fd then cleared). */
struct http_job *http_take_job(struct http_server *s);
/* Sends job's answer (status, type, body set): the server's from now. */
void http_answer_job(struct http_server *s, struct http_job *job);
/* Answers the jobs still queued (503), stops serving, closes every
 * socket, frees everything. */
void http_stop(struct http_server *s);

#endif
