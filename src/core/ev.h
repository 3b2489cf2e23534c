/* Event loop: epoll for descriptors, a binary heap for timers, a
 * before-sleep hook.  All deadlines are on CLOCK_MONOTONIC in nanoseconds;
 * wall-clock time is only for timestamps (see timeutil.h). */
#ifndef LIGHTSOUT_EV_H
#define LIGHTSOUT_EV_H

#include <stddef.h>
#include <stdint.h>

#define EV_READ  1u
#define EV_WRITE 2u

/* Returned by a timer callback that does not want to run again. */
#define EV_TIMER_DONE (-1)

struct ev_loop;

/* Called when fd is ready; events is EV_READ and/or EV_WRITE (errors and
 * hang-ups are reported as readable so the owner's read sees them). */
typedef void (*ev_io_fn)(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* Called when a timer expires.  Returns the delay in nanoseconds until it
 * should run again, or EV_TIMER_DONE.  The callback may add and delete
 * other timers, including deleting itself (then its return is ignored). */
typedef int64_t (*ev_timer_fn)(struct ev_loop *loop, uint64_t id, void *arg);

typedef void (*ev_hook_fn)(struct ev_loop *loop, void *arg);

struct ev_loop *ev_new(void);
void ev_free(struct ev_loop *loop);

int ev_add_fd(struct ev_loop *loop, int fd, unsigned events, ev_io_fn fn, void *arg);
int ev_mod_fd(struct ev_loop *loop, int fd, unsigned events);
int ev_del_fd(struct ev_loop *loop, int fd);

/* Timer ids are never 0 and never reused. */
uint64_t ev_add_timer(struct ev_loop *loop, int64_t delay_ns, ev_timer_fn fn, void *arg);
/* Returns 0 if the timer was pending, -1 if it was unknown (already ran). */
int ev_del_timer(struct ev_loop *loop, uint64_t id);
int64_t ev_timer_deadline(struct ev_loop *loop, uint64_t id); /* -1 if unknown */
size_t ev_timer_count(struct ev_loop *loop);

void ev_set_before_sleep(struct ev_loop *loop, ev_hook_fn fn, void *arg);

/* Cached monotonic time of the current iteration, refreshed after each wait. */
int64_t ev_now(struct ev_loop *loop);
void ev_update_now(struct ev_loop *loop);

/* Runs until ev_stop() or until nothing (no fd, no timer) is left.
 * Returns 0, or -1 if epoll failed. */
int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);

#endif
