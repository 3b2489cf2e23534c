/* The request-head deadline of the HTTP server (slowloris). */
#ifndef LIGHTSOUT_SERVE_HEAD_WATCH_H
#define LIGHTSOUT_SERVE_HEAD_WATCH_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "serve/http.h"

/* Slowloris: MHD's idle timeout restarts with every byte, so a client
 * that trickles a header line every few seconds would hold its connection
 * for ever.  Each connection's head has a deadline from when it was
 * accepted (or its previous request finished); a watcher thread shuts down
 * the ones past it.  The slot is freed in MHD's close notification, which
 * comes before the descriptor is closed, under the same mutex, so the
 * watcher never touches a reused descriptor. */
struct head_slot {
	int fd; /* -1: free */
	bool head_done;
	int64_t started_ns;
};

struct head_watch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	pthread_t thread;
	struct head_slot slot[SERVE_CONN_LIMIT];
};

int head_watch_start(struct head_watch *hw);
void head_watch_stop(struct head_watch *hw);
/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_NOTIFY_COMPLETED callbacks (cls: the head_watch) */
void head_notify(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe);
void head_request_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe);
/* done: the head of the connection's current request is complete */
void head_mark(struct head_watch *hw, struct MHD_Connection *c, bool done);

#endif
