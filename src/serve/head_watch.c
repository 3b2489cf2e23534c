/* The request-head deadline of the HTTP server: see head_watch.h. */
#include "serve/head_watch.h"

#include <sys/socket.h>
#include <time.h>

#include "core/timeutil.h"

void head_notify(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct head_watch *hw = cls;
	struct head_slot *slot = *socket_context;

	pthread_mutex_lock(&hw->mu);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		for (size_t i = 0; ci && i < SERVE_CONN_LIMIT; i++)
			if (hw->slot[i].fd < 0) {
				hw->slot[i] = (struct head_slot){.fd = ci->connect_fd, .started_ns = mono_now_ns()};
				*socket_context = &hw->slot[i];
				break;
			}
	} else if (slot) {
		slot->fd = -1;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&hw->mu);
}

static struct head_slot *head_slot_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void head_mark(struct head_watch *hw, struct MHD_Connection *c, bool done)
{
	struct head_slot *slot = head_slot_of(c);

	if (!slot)
		return;
	pthread_mutex_lock(&hw->mu);
	slot->head_done = done;
	if (!done) /* a kept-alive connection's next head gets its own deadline */
		slot->started_ns = mono_now_ns();
	pthread_mutex_unlock(&hw->mu);
}

void head_request_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)con_cls;
	(void)toe;
	head_mark(cls, c, false);
}

static void *head_watcher(void *arg)
{
	struct head_watch *hw = arg;
	const int64_t deadline_ns = (int64_t)SERVE_HEAD_DEADLINE_S * 1000000000;

	pthread_mutex_lock(&hw->mu);
	while (!hw->stop) {
		struct timespec ts;
		int64_t now = mono_now_ns();

		for (size_t i = 0; i < SERVE_CONN_LIMIT; i++) {
			struct head_slot *s = &hw->slot[i];
			if (s->fd >= 0 && !s->head_done && now - s->started_ns > deadline_ns) {
				/* MHD sees end of stream and closes it in its own thread */
				shutdown(s->fd, SHUT_RDWR);
				s->head_done = true;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&hw->cv, &hw->mu, &ts);
	}
	pthread_mutex_unlock(&hw->mu);
	return NULL;
}

int head_watch_start(struct head_watch *hw)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&hw->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hw->cv, &ca);
	pthread_condattr_destroy(&ca);
	hw->stop = false;
	for (size_t i = 0; i < SERVE_CONN_LIMIT; i++)
		hw->slot[i].fd = -1;
	return pthread_create(&hw->thread, NULL, head_watcher, hw) == 0 ? 0 : -1;
}

void head_watch_stop(struct head_watch *hw)
{
	pthread_mutex_lock(&hw->mu);
	hw->stop = true;
	pthread_cond_signal(&hw->cv);
	pthread_mutex_unlock(&hw->mu);
	pthread_join(hw->thread, NULL);
	pthread_cond_destroy(&hw->cv);
	pthread_mutex_destroy(&hw->mu);
}
