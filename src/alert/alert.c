/* Alert delivery; see alert.h.  Why a worker thread rather than watch's
 * event loop: deliveries are rare, may wait minutes between retries and
 * talk to receivers we do not control; keeping them (and libcurl's own
 * name resolution) off the probing loop means a dead or slow receiver can
 * never delay a probe round, and the flush at exit can be bounded on its
 * own.  The thread shares nothing with the loop but this module's queue. */
#include "alert/alert.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/jfield.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "render/render.h"

#define MAX_KNOWN 4096 /* incidents tracked (open ones, in practice) */

struct delivery {
	struct delivery *next;
	int64_t incident;
	char *body;
	int64_t created_ms, next_ms;
	unsigned attempts;
};

struct receiver {
	size_t index;
	const struct alert_cfg *cfg;
	bool am;
	struct delivery *head, *tail;
	size_t qlen;
	CURL *easy;           /* in flight, or NULL */
	bool inflight_resend; /* the transfer is a periodic re-send */
	char *resend_body;
	uint64_t sent, failures, dropped;
	int64_t next_resend_ms;
};

struct known {
	int64_t id;
	char cause[16];
	json_t *firing; /* Alertmanager form, for re-sends */
};

struct alert {
	const struct config *cfg;
	struct alert_clock clock;
	pthread_t thread;
	pthread_mutex_t mu;
	CURLM *multi;
	struct curl_slist *headers;
	struct receiver *rx;
	size_t nrx;
	struct known *known;
	size_t nknown;
	bool stop;
	int64_t flush_deadline_ms;
	char generator_base[128];
};

/* ---------- pure parts ---------- */

int64_t alert_backoff_ms(unsigned attempt)
{
	int64_t d = ALERT_BACKOFF_FIRST_MS;

	for (unsigned i = 1; i < attempt && d < ALERT_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d > ALERT_BACKOFF_MAX_MS ? ALERT_BACKOFF_MAX_MS : d;
}

const char *alert_event_name(enum alert_event e)
{
	switch (e) {
	case ALERT_EVENT_OPEN:
		return "open";
	case ALERT_EVENT_CAUSE:
		return "cause_change";
	case ALERT_EVENT_CLOSE:
		return "close";
	}
	return "?";
}

json_t *alert_webhook_body(const char *vantage, enum alert_event ev, json_t *incident, const char *text, int64_t now_ms)
{
	char now[RFC3339_LEN];

	rfc3339_format(now_ms, now, sizeof(now));
	return json_pack("{s:i, s:s, s:s?, s:s, s:O, s:s}", "version", 1, "event", alert_event_name(ev), "vantage",
			 vantage, "sent", now, "incident", incident, "text", text ? text : "");
}

json_t *alert_am_alert(const char *vantage, json_t *incident, const char *cause, const char *text, bool resolved,
		       int64_t now_ms, const char *generator_url)
{
	const char *net = jfield_str(incident, "network"); /* "" for the vantage */
	const char *start = jfield_str(incident, "start");
	const char *end = jfield_str(incident, "end");
	char ends[RFC3339_LEN], id[32], summary[256];
	json_t *labels, *ann, *o;

	snprintf(id, sizeof(id), "%lld", (long long)jfield_int(incident, "id", 0));
	if (resolved && *end) {
		snprintf(ends, sizeof(ends), "%s", end);
	} else {
		rfc3339_format(resolved ? now_ms : now_ms + 4 * ALERT_RESEND_MS, ends, sizeof(ends));
	}
	if (*net)
		snprintf(summary, sizeof(summary), "%s: outage (%s)%s", net, cause, resolved ? ", resolved" : "");
	else
		snprintf(summary, sizeof(summary), "vantage point %s lost sight (%s)%s", vantage ? vantage : "", cause,
			 resolved ? ", resolved" : "");
	labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", "alertname", "LightsoutIncident", "network", net, "cause",
			   cause, "vantage", vantage ? vantage : "", "incident", id);
	ann = json_pack("{s:s, s:s}", "summary", summary, "description", text ? text : "");
	o = json_pack("{s:o, s:o, s:s, s:s}", "labels", labels, "annotations", ann, "startsAt", *start ? start : ends,
		      "endsAt", ends);
	if (o && generator_url)
		json_object_set_new(o, "generatorURL", json_string(generator_url));
	return o;
}

/* ---------- queue (mutex held) ---------- */

static int64_t wall_clock(void *arg)
{
	(void)arg;
	return wall_now_ms();
}

static int64_t now_ms(const struct alert *a)
{
	return a->clock.now_ms(a->clock.arg);
}

static void drop_head(struct receiver *r)
{
	struct delivery *d = r->head;

	r->head = d->next;
	if (!r->head)
		r->tail = NULL;
	r->qlen--;
	free(d->body);
	free(d);
}

static void enqueue(struct receiver *r, int64_t incident, char *body, int64_t now)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (!d) {
		free(body);
		r->dropped++;
		return;
	}
	d->incident = incident;
	d->body = body;
	d->created_ms = d->next_ms = now;
	if (r->qlen >= ALERT_QUEUE_MAX) {
		/* the oldest not in flight makes room */
		struct delivery **pp = r->easy && !r->inflight_resend ? &r->head->next : &r->head;
		struct delivery *old = *pp;
		if (old) {
			*pp = old->next;
			if (r->tail == old)
				r->tail = pp == &r->head ? NULL : r->head;
			r->qlen--;
			log_warnx("alert receiver %zu: queue full, dropping the notification of incident %lld",
				  r->index, (long long)old->incident);
			free(old->body);
			free(old);
			r->dropped++;
		}
	}
	if (r->tail)
		r->tail->next = d;
	else
		r->head = d;
	r->tail = d;
	r->qlen++;
}

static struct known *find_known(struct alert *a, int64_t id)
{
	for (size_t i = 0; i < a->nknown; i++)
		if (a->known[i].id == id)
			return &a->known[i];
	return NULL;
}

static void forget(struct alert *a, struct known *k)
{
	json_decref(k->firing);
	*k = a->known[--a->nknown];
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)) : NULL;

	json_decref(o);
	return s;
}

void alert_incident(struct alert *a, int64_t id, const char *network, bool open, const char *cause, const json_t *doc)
{
	json_t *inc;
	struct known *k;
	enum alert_event ev;
	char old_cause[16] = "", gen[192] = "", *story = NULL, *text = NULL;
	int64_t now;
	bool send = true;

	(void)network;
	if (!a || !doc || !cause)
		return;
	now = now_ms(a);
	inc = json_deep_copy(doc); /* ours: the bodies hold references to it */
	if (!inc) {
		log_warnx("alert: incident %lld: out of memory", (long long)id);
		return;
	}
	story = render_incident_string(inc, true);
	text = render_incident_string(inc, false);
	if (a->generator_base[0])
		snprintf(gen, sizeof(gen), "%s%lld", a->generator_base, (long long)id);
	pthread_mutex_lock(&a->mu);
	k = find_known(a, id);
	if (!open) {
		ev = ALERT_EVENT_CLOSE;
		if (k) {
			snprintf(old_cause, sizeof(old_cause), "%s", k->cause);
			forget(a, k);
		}
	} else if (!k) {
		ev = ALERT_EVENT_OPEN;
		if (a->nknown < MAX_KNOWN) {
			k = &a->known[a->nknown++];
			memset(k, 0, sizeof(*k));
			k->id = id;
		}
	} else if (strcmp(k->cause, cause) != 0) {
		ev = ALERT_EVENT_CAUSE;
		snprintf(old_cause, sizeof(old_cause), "%s", k->cause);
	} else {
		ev = ALERT_EVENT_OPEN;
		send = false; /* phases or targets changed: only refresh the re-sent text */
	}
	if (open && k) {
		snprintf(k->cause, sizeof(k->cause), "%s", cause);
		json_decref(k->firing);
		k->firing = alert_am_alert(a->cfg->vantage, inc, cause, story, false, now, gen[0] ? gen : NULL);
	}
	for (size_t i = 0; send && i < a->nrx; i++) {
		struct receiver *r = &a->rx[i];
		json_t *body;
		if (!r->am) {
			body = alert_webhook_body(a->cfg->vantage, ev, inc, text, now);
		} else {
			body = json_array();
			/* Alertmanager knows an alert by its labels, cause among
			 * them: a new cause resolves the old alert */
			if (old_cause[0] && (ev == ALERT_EVENT_CAUSE || strcmp(old_cause, cause) != 0))
				json_array_append_new(body, alert_am_alert(a->cfg->vantage, inc, old_cause, story, true,
									   now, gen[0] ? gen : NULL));
			json_array_append_new(
			    body, alert_am_alert(a->cfg->vantage, inc, cause, story, !open, now, gen[0] ? gen : NULL));
		}
		char *s = dump(body);
		if (s)
			enqueue(r, id, s, now);
		else
			r->dropped++;
	}
	pthread_mutex_unlock(&a->mu);
	if (send)
		log_info("alert: incident %lld %s (%s) queued for %zu receiver(s)", (long long)id, alert_event_name(ev),
			 cause, a->nrx);
	curl_multi_wakeup(a->multi);
	free(story);
	free(text);
	json_decref(inc);
}

/* ---------- worker ---------- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n; /* the answer does not matter, only its status */
}

static int start_post(struct alert *a, struct receiver *r, const char *body)
{
	CURL *e = curl_easy_init();

	if (!e)
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, r->cfg->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ALERT_POST_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "lightsout-alert");
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (curl_multi_add_handle(a->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -1;
	}
	r->easy = e;
	return 0;
}

/* A firing-alerts array for a re-send, or NULL when nothing fires. */
static char *resend_body(struct alert *a, int64_t now)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < a->nknown; i++) {
		json_t *f = a->known[i].firing;
		if (!f)
			continue;
		/* fresh endsAt so it stays firing for another four periods */
		json_t *copy = json_deep_copy(f);
		char ends[RFC3339_LEN];
		rfc3339_format(now + 4 * ALERT_RESEND_MS, ends, sizeof(ends));
		json_object_set_new(copy, "endsAt", json_string(ends));
		json_array_append_new(arr, copy);
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return NULL;
	}
	return dump(arr);
}

/* Starts what is due (mutex held); returns ms until the next thing. */
static int64_t start_due(struct alert *a, int64_t now)
{
	int64_t wait = 1000;

	for (size_t i = 0; i < a->nrx; i++) {
		struct receiver *r = &a->rx[i];
		if (r->easy)
			continue;
		while (r->head && now - r->head->created_ms > r->cfg->max_age_ms) {
			log_warnx(
			    "alert receiver %zu: giving up on the notification of incident %lld after %u attempts "
			    "(older than max_age)",
			    r->index, (long long)r->head->incident, r->head->attempts);
			drop_head(r);
			r->dropped++;
		}
		if (r->head) {
			if (r->head->next_ms <= now) {
				r->inflight_resend = false;
				if (start_post(a, r, r->head->body) < 0)
					r->head->next_ms = now + alert_backoff_ms(++r->head->attempts);
			} else if (r->head->next_ms - now < wait) {
				wait = r->head->next_ms - now;
			}
			continue;
		}
		if (r->am && !a->stop && now >= r->next_resend_ms) {
			r->next_resend_ms = now + ALERT_RESEND_MS;
			free(r->resend_body);
			r->resend_body = resend_body(a, now);
			r->inflight_resend = true;
			if (r->resend_body && start_post(a, r, r->resend_body) < 0)
				r->inflight_resend = false;
		}
	}
	return wait < 10 ? 10 : wait;
}

static void finished(struct alert *a, CURL *e, CURLcode res, int64_t now)
{
	struct receiver *r = NULL;
	long code = 0;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(a->multi, e);
	curl_easy_cleanup(e);
	if (!r)
		return;
	r->easy = NULL;
	if (res == CURLE_OK && code >= 200 && code < 300) {
		r->sent++;
		if (!r->inflight_resend && r->head)
			drop_head(r);
		if (r->am && !r->inflight_resend)
			r->next_resend_ms = now + ALERT_RESEND_MS;
	} else {
		r->failures++;
		if (!r->inflight_resend && r->head) {
			struct delivery *d = r->head;
			d->attempts++;
			d->next_ms = now + alert_backoff_ms(d->attempts);
			log_warnx("alert receiver %zu: POST failed (%s, HTTP %ld); retry %u in %lld ms", r->index,
				  res == CURLE_OK ? "bad status" : curl_easy_strerror(res), code, d->attempts,
				  (long long)(d->next_ms - now));
		} else {
			log_warnx("alert receiver %zu: re-send failed (%s, HTTP %ld)", r->index,
				  res == CURLE_OK ? "bad status" : curl_easy_strerror(res), code);
		}
	}
	r->inflight_resend = false;
}

static bool all_idle(struct alert *a)
{
	for (size_t i = 0; i < a->nrx; i++)
		if (a->rx[i].head || a->rx[i].easy)
			return false;
	return true;
}

static void *worker(void *arg)
{
	struct alert *a = arg;

	for (;;) {
		int64_t now = now_ms(a), wait;
		int running = 0, left;
		CURLMsg *m;

		pthread_mutex_lock(&a->mu);
		if (a->stop && (all_idle(a) || now >= a->flush_deadline_ms)) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		wait = start_due(a, now);
		if (a->stop && a->flush_deadline_ms - now < wait)
			wait = a->flush_deadline_ms - now > 10 ? a->flush_deadline_ms - now : 10;
		pthread_mutex_unlock(&a->mu);

		curl_multi_perform(a->multi, &running);
		pthread_mutex_lock(&a->mu);
		while ((m = curl_multi_info_read(a->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE)
				finished(a, m->easy_handle, m->data.result, now_ms(a));
		pthread_mutex_unlock(&a->mu);
		curl_multi_poll(a->multi, NULL, 0, (int)(wait > 1000 ? 1000 : wait), NULL);
	}
	return NULL;
}

int alert_new(const struct config *cfg, const struct alert_clock *clock, struct alert **out, char *err, size_t errlen)
{
	struct alert *a;
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (cfg->nalerts == 0)
		return 0;
	for (size_t i = 0; i < cfg->nalerts; i++) {
		const struct alert_cfg *c = &cfg->alerts[i];
		if (!c->url || (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)) {
			snprintf(err, errlen, "alerts[%zu]: url must be http:// or https://", i);
			return -1;
		}
		if (c->format && strcmp(c->format, "json") != 0 && strcmp(c->format, "alertmanager") != 0) {
			snprintf(err, errlen, "alerts[%zu]: format must be json or alertmanager", i);
			return -1;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	a->cfg = cfg;
	a->clock = clock && clock->now_ms ? *clock : (struct alert_clock){wall_clock, NULL};
	pthread_mutex_init(&a->mu, NULL);
	a->rx = calloc(cfg->nalerts, sizeof(*a->rx));
	a->known = calloc(MAX_KNOWN, sizeof(*a->known));
	a->multi = curl_multi_init();
	a->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!a->rx || !a->known || !a->multi || !a->headers)
		goto nomem;
	a->nrx = cfg->nalerts;
	for (size_t i = 0; i < a->nrx; i++) {
		a->rx[i].index = i;
		a->rx[i].cfg = &cfg->alerts[i];
		a->rx[i].am = cfg->alerts[i].format && strcmp(cfg->alerts[i].format, "alertmanager") == 0;
		a->rx[i].next_resend_ms = now_ms(a) + ALERT_RESEND_MS;
	}
	if (cfg->listen && strcmp(cfg->listen, "off") != 0)
		snprintf(a->generator_base, sizeof(a->generator_base), "http://%s/incident/", cfg->listen);
	/* The worker takes no signals: they belong to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, worker, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "alerts: cannot start the delivery thread");
		goto fail;
	}
	*out = a;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (a) {
		curl_slist_free_all(a->headers);
		if (a->multi)
			curl_multi_cleanup(a->multi);
		free(a->rx);
		free(a->known);
		pthread_mutex_destroy(&a->mu);
		free(a);
	}
	return -1;
}

void alert_stats(struct alert *a, size_t receiver, struct alert_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!a || receiver >= a->nrx)
		return;
	pthread_mutex_lock(&a->mu);
	const struct receiver *r = &a->rx[receiver];
	*st = (struct alert_stats){r->sent, r->failures, r->dropped, r->qlen};
	pthread_mutex_unlock(&a->mu);
}

void alert_wake(struct alert *a)
{
	if (a)
		curl_multi_wakeup(a->multi);
}

size_t alert_stop(struct alert *a, int64_t flush_ms)
{
	size_t undelivered = 0;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	a->flush_deadline_ms = now_ms(a) + (flush_ms > 0 ? flush_ms : 0);
	pthread_mutex_unlock(&a->mu);
	curl_multi_wakeup(a->multi);
	pthread_join(a->thread, NULL);
	for (size_t i = 0; i < a->nrx; i++) {
		struct receiver *r = &a->rx[i];
		if (r->easy) {
			curl_multi_remove_handle(a->multi, r->easy);
			curl_easy_cleanup(r->easy);
		}
		while (r->head) {
			drop_head(r);
			r->dropped++;
			undelivered++;
		}
		free(r->resend_body);
	}
	if (undelivered)
		log_warnx("alert: %zu notification(s) undelivered at exit", undelivered);
	for (size_t i = 0; i < a->nknown; i++)
		json_decref(a->known[i].firing);
	curl_slist_free_all(a->headers);
	curl_multi_cleanup(a->multi);
	free(a->rx);
	free(a->known);
	pthread_mutex_destroy(&a->mu);
	free(a);
	return undelivered;
}
