/* Event loop in the Redis ae manner, with timers in a binary heap because
 * we keep thousands of probe deadlines. */
#include "core/ev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/timeutil.h"

struct ev_fd {
	ev_io_fn fn;
	void *arg;
	unsigned events;
	bool used;
};

struct ev_timer {
	int64_t deadline;
	uint64_t id;
	ev_timer_fn fn;
	void *arg;
};

/* id -> heap position, open addressing; ids are never reused. */
struct ev_timer_slot {
	uint64_t id; /* 0 = empty, UINT64_MAX = tombstone */
	size_t pos;
};

struct ev_loop {
	int epfd;
	struct ev_fd *fds;
	size_t nfds_alloc;
	size_t nfds_used;
	struct ev_timer *heap;
	size_t nheap, heap_alloc;
	struct ev_timer_slot *slots;
	size_t nslots, slots_used; /* slots_used counts tombstones too */
	uint64_t next_id;
	int64_t now;
	bool stop;
	ev_hook_fn before_sleep;
	void *before_sleep_arg;
};

#define TOMBSTONE UINT64_MAX

struct ev_loop *ev_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->next_id = 1;
	loop->now = mono_now_ns();
	return loop;
}

void ev_free(struct ev_loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->fds);
	free(loop->heap);
	free(loop->slots);
	free(loop);
}

static uint32_t to_epoll(unsigned events)
{
	uint32_t e = 0;
	if (events & EV_READ)
		e |= EPOLLIN;
	if (events & EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

int ev_add_fd(struct ev_loop *loop, int fd, unsigned events, ev_io_fn fn, void *arg)
{
	if (fd < 0)
		return -1;
	if ((size_t)fd >= loop->nfds_alloc) {
		size_t n = loop->nfds_alloc ? loop->nfds_alloc : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct ev_fd *fds = realloc(loop->fds, n * sizeof(*fds));
		if (fds == NULL)
			return -1;
		memset(fds + loop->nfds_alloc, 0, (n - loop->nfds_alloc) * sizeof(*fds));
		loop->fds = fds;
		loop->nfds_alloc = n;
	}
	struct epoll_event ee = {.events = to_epoll(events), .data.fd = fd};
	if (epoll_ctl(loop->epfd, loop->fds[fd].used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ee) < 0)
		return -1;
	if (!loop->fds[fd].used)
		loop->nfds_used++;
	loop->fds[fd] = (struct ev_fd){.fn = fn, .arg = arg, .events = events, .used = true};
	return 0;
}

int ev_mod_fd(struct ev_loop *loop, int fd, unsigned events)
{
	if (fd < 0 || (size_t)fd >= loop->nfds_alloc || !loop->fds[fd].used)
		return -1;
	if (loop->fds[fd].events == events)
		return 0;
	struct epoll_event ee = {.events = to_epoll(events), .data.fd = fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
		return -1;
	loop->fds[fd].events = events;
	return 0;
}

int ev_del_fd(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds_alloc || !loop->fds[fd].used)
		return -1;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->fds[fd].used = false;
	loop->nfds_used--;
	return 0;
}

/* ---- timer id index ---- */

static size_t slot_hash(uint64_t id, size_t n)
{
	id ^= id >> 33;
	id *= UINT64_C(0xff51afd7ed558ccd);
	id ^= id >> 33;
	return (size_t)(id & (n - 1));
}

static struct ev_timer_slot *slot_find(struct ev_loop *loop, uint64_t id)
{
	if (loop->nslots == 0)
		return NULL;
	for (size_t i = slot_hash(id, loop->nslots), probes = 0; probes < loop->nslots;
	     i = (i + 1) & (loop->nslots - 1), probes++) {
		if (loop->slots[i].id == 0)
			return NULL;
		if (loop->slots[i].id == id)
			return &loop->slots[i];
	}
	return NULL;
}

static int slots_grow(struct ev_loop *loop)
{
	size_t n = loop->nslots ? loop->nslots : 256;
	/* rehash (dropping tombstones) into a table at most a quarter full */
	while ((loop->nheap + 1) * 4 > n)
		n *= 2;
	struct ev_timer_slot *slots = calloc(n, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t h = 0; h < loop->nheap; h++) {
		size_t i = slot_hash(loop->heap[h].id, n);
		while (slots[i].id != 0)
			i = (i + 1) & (n - 1);
		slots[i] = (struct ev_timer_slot){.id = loop->heap[h].id, .pos = h};
	}
	free(loop->slots);
	loop->slots = slots;
	loop->nslots = n;
	loop->slots_used = loop->nheap;
	return 0;
}

static int slot_insert(struct ev_loop *loop, uint64_t id, size_t pos)
{
	if ((loop->slots_used + 1) * 2 > loop->nslots && slots_grow(loop) < 0)
		return -1;
	size_t i = slot_hash(id, loop->nslots);
	while (loop->slots[i].id != 0 && loop->slots[i].id != TOMBSTONE)
		i = (i + 1) & (loop->nslots - 1);
	if (loop->slots[i].id == 0)
		loop->slots_used++;
	loop->slots[i] = (struct ev_timer_slot){.id = id, .pos = pos};
	return 0;
}

/* ---- heap ---- */

static void heap_place(struct ev_loop *loop, size_t pos, const struct ev_timer *t)
{
	loop->heap[pos] = *t;
	struct ev_timer_slot *s = slot_find(loop, t->id);
	if (s != NULL)
		s->pos = pos;
}

static bool earlier(const struct ev_timer *a, const struct ev_timer *b)
{
	/* ties broken by id so equal deadlines run in the order they were added */
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->id < b->id);
}

static void sift_up(struct ev_loop *loop, size_t pos)
{
	struct ev_timer t = loop->heap[pos];
	while (pos > 0) {
		size_t parent = (pos - 1) / 2;
		if (!earlier(&t, &loop->heap[parent]))
			break;
		heap_place(loop, pos, &loop->heap[parent]);
		pos = parent;
	}
	heap_place(loop, pos, &t);
}

static void sift_down(struct ev_loop *loop, size_t pos)
{
	struct ev_timer t = loop->heap[pos];
	for (;;) {
		size_t child = 2 * pos + 1;
		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap && earlier(&loop->heap[child + 1], &loop->heap[child]))
			child++;
		if (!earlier(&loop->heap[child], &t))
			break;
		heap_place(loop, pos, &loop->heap[child]);
		pos = child;
	}
	heap_place(loop, pos, &t);
}

static void heap_remove_at(struct ev_loop *loop, size_t pos)
{
	struct ev_timer_slot *s = slot_find(loop, loop->heap[pos].id);
	if (s != NULL)
		s->id = TOMBSTONE;
	loop->nheap--;
	if (pos == loop->nheap)
		return;
	heap_place(loop, pos, &loop->heap[loop->nheap]);
	sift_down(loop, pos);
	sift_up(loop, pos);
}

uint64_t ev_add_timer(struct ev_loop *loop, int64_t delay_ns, ev_timer_fn fn, void *arg)
{
	if (loop->nheap == loop->heap_alloc) {
		size_t n = loop->heap_alloc ? loop->heap_alloc * 2 : 64;
		struct ev_timer *heap = realloc(loop->heap, n * sizeof(*heap));
		if (heap == NULL)
			return 0;
		loop->heap = heap;
		loop->heap_alloc = n;
	}
	uint64_t id = loop->next_id++;
	if (slot_insert(loop, id, loop->nheap) < 0)
		return 0;
	if (delay_ns < 0)
		delay_ns = 0;
	loop->heap[loop->nheap] = (struct ev_timer){.deadline = loop->now + delay_ns, .id = id, .fn = fn, .arg = arg};
	loop->nheap++;
	sift_up(loop, loop->nheap - 1);
	return id;
}

int ev_del_timer(struct ev_loop *loop, uint64_t id)
{
	struct ev_timer_slot *s = slot_find(loop, id);
	if (s == NULL || id == 0)
		return -1;
	heap_remove_at(loop, s->pos);
	return 0;
}

int64_t ev_timer_deadline(struct ev_loop *loop, uint64_t id)
{
	struct ev_timer_slot *s = slot_find(loop, id);
	return s == NULL || id == 0 ? -1 : loop->heap[s->pos].deadline;
}

size_t ev_timer_count(struct ev_loop *loop)
{
	return loop->nheap;
}

void ev_set_before_sleep(struct ev_loop *loop, ev_hook_fn fn, void *arg)
{
	loop->before_sleep = fn;
	loop->before_sleep_arg = arg;
}

int64_t ev_now(struct ev_loop *loop)
{
	return loop->now;
}

void ev_update_now(struct ev_loop *loop)
{
	loop->now = mono_now_ns();
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}

static void run_timers(struct ev_loop *loop)
{
	/* Only timers due at entry run now, so a timer re-armed with delay 0
	 * cannot starve the descriptors. */
	uint64_t last_id = loop->next_id;
	while (loop->nheap > 0 && !loop->stop) {
		struct ev_timer t = loop->heap[0];
		if (t.deadline > loop->now || t.id >= last_id)
			break;
		int64_t again = t.fn(loop, t.id, t.arg);
		struct ev_timer_slot *s = slot_find(loop, t.id);
		if (s == NULL)
			continue; /* the callback deleted it */
		if (again < 0) {
			heap_remove_at(loop, s->pos);
		} else {
			size_t pos = s->pos;
			/* at least 1 ns later, so it waits for the next iteration */
			loop->heap[pos].deadline = loop->now + (again > 0 ? again : 1);
			sift_down(loop, pos);
			sift_up(loop, pos);
		}
	}
}

int ev_run(struct ev_loop *loop)
{
	struct epoll_event events[256];

	loop->stop = false;
	while (!loop->stop && (loop->nfds_used > 0 || loop->nheap > 0)) {
		if (loop->before_sleep != NULL)
			loop->before_sleep(loop, loop->before_sleep_arg);
		if (loop->stop)
			break;
		int timeout_ms = -1;
		if (loop->nheap > 0) {
			ev_update_now(loop);
			int64_t wait = loop->heap[0].deadline - loop->now;
			/* round up so we never wake just before the deadline and spin */
			timeout_ms = wait <= 0 ? 0 : (int)((wait + NS_PER_MS - 1) / NS_PER_MS);
			if (wait > 0 && wait < 2 * NS_PER_MS)
				timeout_ms = wait < NS_PER_MS / 4 ? 0 : 1;
		}
		int n = epoll_wait(loop->epfd, events, (int)(sizeof(events) / sizeof(events[0])), timeout_ms);
		if (n < 0 && errno != EINTR)
			return -1;
		ev_update_now(loop);
		for (int i = 0; i < n && !loop->stop; i++) {
			int fd = events[i].data.fd;
			if ((size_t)fd >= loop->nfds_alloc || !loop->fds[fd].used)
				continue; /* removed by an earlier callback of this batch */
			unsigned ready = 0;
			if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				ready |= EV_READ;
			if (events[i].events & EPOLLOUT)
				ready |= EV_WRITE;
			if (events[i].events & (EPOLLERR | EPOLLHUP))
				ready |= loop->fds[fd].events & EV_WRITE;
			loop->fds[fd].fn(loop, fd, ready, loop->fds[fd].arg);
		}
		run_timers(loop);
	}
	return 0;
}
