/* Alert delivery (SPEC.md `alerts:`): on an incident's open, cause change
 * and close, each receiver gets a POST —
 *   format json (default): the webhook body of docs/http.md, one per event;
 *   format alertmanager:   Alertmanager's v2 API (a JSON array of alerts),
 *                          firing alerts re-sent every ALERT_RESEND_MS.
 *
 * Delivery runs in one worker thread with a libcurl multi handle, so a
 * slow or dead receiver never stalls probing.  Per receiver a bounded FIFO
 * keeps the events in order; a failed POST is retried with exponential
 * back-off until it is older than the receiver's max_age, then dropped and
 * counted.  /metrics reads the counters with alert_stats. */
#ifndef LIGHTSOUT_ALERT_H
#define LIGHTSOUT_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct alert;

#define ALERT_QUEUE_MAX        1024        /* events waiting per receiver */
#define ALERT_RESEND_MS        (60 * 1000) /* Alertmanager: re-send firing alerts */
#define ALERT_BACKOFF_FIRST_MS 1000
#define ALERT_BACKOFF_MAX_MS   (60 * 1000)
#define ALERT_POST_TIMEOUT_MS  10000

/* The time the worker goes by (retries, re-sends, flush deadline, "sent"
 * stamps), in wall-clock ms: tests inject theirs to drive back-off
 * without sleeping; NULL (or now_ms NULL) means wall_now_ms.  Called from
 * the worker and from alert_incident's thread, so it must be thread-safe. */
struct alert_clock {
	int64_t (*now_ms)(void *arg);
	void *arg;
};

/* Starts the worker when cfg has alerts (else *out = NULL, returns 0).
 * cfg must outlive the alert; libcurl must be initialised (main does it
 * before any thread).  -1 with err filled on a bad receiver or a failure
 * to start. */
int alert_new(const struct config *cfg, const struct alert_clock *clock, struct alert **out, char *err, size_t errlen);

/* The detector's on_incident, as is (doc: the incident document, read,
 * not kept): sends on open, cause change and
 * close, and keeps firing alerts' text current for re-sends.  Called from
 * one thread (watch's loop). */
void alert_incident(struct alert *a, int64_t id, const char *network, bool open, const char *cause, const json_t *doc);

/* Delivery counters of receiver i (cfg->alerts[i]), for /metrics; zeros
 * for a NULL alert or an unknown receiver.  Any thread, until alert_stop. */
struct alert_stats {
	uint64_t sent, failures, dropped;
	size_t queued;
};
void alert_stats(struct alert *a, size_t receiver, struct alert_stats *st);

/* Makes the worker look at its clock again (after an injected one moved). */
void alert_wake(struct alert *a);

/* Stops after delivering what is queued, waiting at most flush_ms; what
 * is still undelivered then is logged, and its count returned.  Frees. */
size_t alert_stop(struct alert *a, int64_t flush_ms);

/* ---- pure parts (tested) ---- */

/* Delay before retry number `attempt` (1 = first retry): 1 s, 2 s, 4 s,
 * ... capped at ALERT_BACKOFF_MAX_MS. */
int64_t alert_backoff_ms(unsigned attempt);

enum alert_event { ALERT_EVENT_OPEN, ALERT_EVENT_CAUSE, ALERT_EVENT_CLOSE };
const char *alert_event_name(enum alert_event e);

/* {"version": 1, "event": "open"|"cause_change"|"close", "vantage",
 *  "sent", "incident": {SPEC document}, "text": story} */
json_t *alert_webhook_body(const char *vantage, enum alert_event ev, json_t *incident, const char *text,
			   int64_t now_ms);

/* One Alertmanager alert for incident under cause: labels alertname,
 * network, cause, vantage, incident; annotations summary and description;
 * startsAt; endsAt = the incident's end (or now) when resolved, else
 * now + 4 re-send periods (as Prometheus does).  generator_url may be NULL. */
json_t *alert_am_alert(const char *vantage, json_t *incident, const char *cause, const char *text, bool resolved,
		       int64_t now_ms, const char *generator_url);

#endif
