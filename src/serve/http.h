/* The HTTP server on cfg->listen (libmicrohttpd, its own threads):
 * dashboard, JSON API, /metrics, /healthz.  Read-only: GET and HEAD only.
 * Bounded: connection limit, per-connection timeout, request header
 * memory limit, no request bodies. */
#ifndef LIGHTSOUT_SERVE_HTTP_H
#define LIGHTSOUT_SERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct config;
struct store;
struct serve_live;
struct serve_http;

#define SERVE_THREADS         2           /* polling threads (thread pool) */
#define SERVE_CONN_LIMIT      64          /* open connections in all */
#define SERVE_CONN_TIMEOUT_S  10          /* idle connection timeout */
#define SERVE_REQUEST_MEMORY  (32 * 1024) /* per connection: request line and headers */
#define SERVE_CONN_PER_IP     16          /* open connections from one address */
#define SERVE_HEAD_DEADLINE_S 10          /* the whole request head, however it trickles in */
#define SERVE_MAX_INCIDENTS   10000       /* per /api/v1/incidents answer */

/* Starts serving cfg->listen.  *out is NULL (and 0 returned) when listen
 * is "off".  st is read (incidents, status rows) from the HTTP threads;
 * cfg, live and st must outlive the server.  -1 with err filled if the
 * address is bad or cannot be bound. */
int serve_http_start(const struct config *cfg, struct serve_live *live, struct store *st, struct serve_http **out,
		     char *err, size_t errlen);
/* serve_http_start in two steps, for a privilege drop in between: bind
 * opens the listening socket (as root, for a low port) and answers no
 * one; run starts the threads that read requests, on that socket. */
int serve_http_bind(const struct config *cfg, struct serve_live *live, struct store *st, struct serve_http **out,
		    char *err, size_t errlen);
int serve_http_run(struct serve_http *h, char *err, size_t errlen);
/* Reload: requests from now on read cfg and live (a request under way
 * finishes with the old ones first, so they may be freed on return). */
void serve_http_swap(struct serve_http *h, const struct config *cfg, struct serve_live *live);
/* The bound port (useful with port 0). */
uint16_t serve_http_port(const struct serve_http *h);
/* Stops accepting, finishes (or times out) open connections, frees. */
void serve_http_stop(struct serve_http *h);

#endif
