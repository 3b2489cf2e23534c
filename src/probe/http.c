/* HTTP(S) probe: one GET per round through libcurl's multi-socket API
 * driven by our event loop (curl tells us which sockets and which timeout
 * to watch; we call curl_multi_socket_action when they fire).
 *
 * Every check makes a fresh connection (no reuse across rounds: a check
 * must see the connect and the TLS handshake), reads at most
 * HTTP_BODY_CAP bytes of body and then cuts the transfer, and reports
 * which phase failed: name resolution, connect, TLS handshake, HTTP
 * status, body check or timeout, with the time of each phase. */
#include "probe/errqueue.h"
#include "probe/probe.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/ev.h"
#include "core/timeutil.h"
#include "lightsout_version.h"

/* `contains` is looked for in the first HTTP_BODY_CAP bytes; the
 * transfer is cut there either way. */
#define HTTP_BODY_CAP     (64 * 1024)
#define HTTP_CONTAINS_MAX 1024
#define HTTP_MAX_REDIRS   5

struct http_slot {
	struct probe_round r; /* no timer or fd of its own: curl has those */
	struct http_state *st;
	uint32_t index;
	bool https;
	double rtt_ms; /* of a completed request, else -1 */
	CURL *easy;
	struct curl_slist *resolve;
	size_t body;   /* bytes of body seen */
	bool cut;      /* we stopped the transfer at the cap */
	bool found;    /* contains was seen */
	size_t ncarry; /* tail of the previous chunk, for matches across chunks */
	char *carry;   /* 2 * HTTP_CONTAINS_MAX when contains is set */
	char errbuf[CURL_ERROR_SIZE];
};

struct http_state {
	struct probe_engine *engine;
	struct ev_loop *loop;
	CURLM *multi;
	uint64_t timer;
	unsigned long started, ok, failed, cut;
	struct http_slot slots[]; /* by target index */
};

static const char user_agent[] = "lightsout/" LIGHTSOUT_VERSION;

static void release(struct http_slot *s)
{
	if (s->easy != NULL) {
		curl_multi_remove_handle(s->st->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->resolve);
	s->resolve = NULL;
}

static void http_fill(struct probe_round *r, struct measurement *m)
{
	struct http_slot *s = PROBE_SLOT(r, struct http_slot);

	release(s);
	m->rtt_ms = s->rtt_ms;
	if (m->failure == FAILURE_NONE)
		s->st->ok++;
	else
		s->st->failed++;
}

static const struct probe_round_hooks http_hooks = {.fill = http_fill};

/* ---- body ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_slot *s = arg;
	const struct target_cfg *cfg = probe_engine_target(s->st->engine, s->index)->cfg;
	size_t n = size * nmemb, room = HTTP_BODY_CAP - s->body, take = n < room ? n : room;

	if (s->carry != NULL && !s->found && take > 0) {
		size_t L = strlen(cfg->contains), head = take < L - 1 ? take : L - 1;
		if (L <= HTTP_CONTAINS_MAX) {
			/* across the boundary: tail of before + head of now */
			memcpy(s->carry + s->ncarry, ptr, head);
			if (memmem(s->carry, s->ncarry + head, cfg->contains, L) != NULL ||
			    memmem(ptr, take, cfg->contains, L) != NULL) {
				s->found = true;
			} else if (take >= L - 1) {
				memcpy(s->carry, ptr + take - (L - 1), L - 1);
				s->ncarry = L - 1;
			} else {
				size_t keep = s->ncarry + take > L - 1 ? L - 1 : s->ncarry + take;
				memmove(s->carry, s->carry + s->ncarry + take - keep, keep);
				s->ncarry = keep;
			}
		}
	}
	s->body += take;
	if (take < n || s->body >= HTTP_BODY_CAP) {
		/* enough: returning less than given makes curl end the transfer */
		s->cut = true;
		return take < n ? take : (n == 0 ? 0 : n - 1);
	}
	return n;
}

/* ---- results ---- */

static double us_to_ms(curl_off_t us)
{
	return (double)us / 1000.0;
}

/* "2027-01-26" from the leaf certificate's notAfter, or "". */
static void cert_expiry(CURL *easy, char *buf, size_t len, bool *expired)
{
	struct curl_certinfo *ci = NULL;
	buf[0] = '\0';
	*expired = false;
	if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL || ci->num_of_certs < 1)
		return;
	for (struct curl_slist *l = ci->certinfo[0]; l != NULL; l = l->next) {
		struct tm tm = {0};
		const char *v;
		if (strncasecmp(l->data, "Expire date:", 12) != 0)
			continue;
		v = l->data + 12;
		if (strptime(v, "%b %d %H:%M:%S %Y", &tm) == NULL && strptime(v, "%Y-%m-%d %H:%M:%S", &tm) == NULL)
			return;
		*expired = (int64_t)timegm(&tm) * 1000 < wall_now_ms();
		strftime(buf, len, "%Y-%m-%d", &tm);
		return;
	}
}

static bool status_ok(const struct target_cfg *cfg, long code)
{
	if (cfg->status == NULL || cfg->nstatus == 0)
		return code >= 200 && code < 400;
	for (size_t i = 0; i < cfg->nstatus; i++)
		if (cfg->status[i] == code)
			return true;
	return false;
}

static bool tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

static void on_done(struct http_slot *s, CURLcode rc)
{
	const struct target_cfg *cfg = probe_engine_target(s->st->engine, s->index)->cfg;
	curl_off_t t_dns = 0, t_conn = 0, t_tls = 0, t_fb = 0, t_total = 0;
	long code = 0, oserr = 0;
	char phases[96], cert[40] = "", expiry[16];
	const char *why = s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(rc);
	bool expired = false;
	enum failure f;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(s->easy, CURLINFO_NAMELOOKUP_TIME_T, &t_dns);
	curl_easy_getinfo(s->easy, CURLINFO_CONNECT_TIME_T, &t_conn);
	curl_easy_getinfo(s->easy, CURLINFO_APPCONNECT_TIME_T, &t_tls);
	curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &t_fb);
	curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &t_total);
	if (rc == CURLE_WRITE_ERROR && s->cut) {
		s->st->cut++;
		rc = CURLE_OK;
	}
	if (rc == CURLE_OK)
		s->rtt_ms = us_to_ms(t_total); /* a completed request, whatever it said */
	if (s->https)
		snprintf(phases, sizeof(phases), "dns %.1f, connect %.1f, tls %.1f, ttfb %.1f", us_to_ms(t_dns),
			 us_to_ms(t_conn), us_to_ms(t_tls), us_to_ms(t_fb));
	else
		snprintf(phases, sizeof(phases), "dns %.1f, connect %.1f, ttfb %.1f", us_to_ms(t_dns), us_to_ms(t_conn),
			 us_to_ms(t_fb));
	if (s->https && t_tls > 0) {
		cert_expiry(s->easy, expiry, sizeof(expiry), &expired);
		if (expiry[0] != '\0')
			snprintf(cert, sizeof(cert), "; cert %s %s", expired ? "EXPIRED" : "expires", expiry);
	}

	switch (rc) {
	case CURLE_OK:
		if (!status_ok(cfg, code)) {
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "HTTP %ld (%s)%s", code, phases, cert);
		} else if (s->carry != NULL && !s->found) {
			probe_round_end(&s->r, FAILURE_CHECK, NULL,
					"body check failed: HTTP %ld, text not in first %d KiB", code,
					HTTP_BODY_CAP / 1024);
		} else {
			probe_round_end(&s->r, FAILURE_NONE, NULL, "HTTP %ld in %.1f ms (%s)%s%s", code,
					us_to_ms(t_total), phases, cert, s->cut ? "; body cut" : "");
		}
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		probe_round_end(&s->r, FAILURE_RESOLVE, NULL, "dns: resolve failed: %.80s", why);
		return;
	case CURLE_COULDNT_CONNECT:
		/* curl may not know the errno: then its text says what it knows */
		f = oserr != 0 ? errno_failure((int)oserr) : FAILURE_LOCAL;
		switch (f) {
		case FAILURE_REFUSED:
			probe_round_end(&s->r, FAILURE_REFUSED, NULL, "connect refused");
			break;
		case FAILURE_TIMEOUT:
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "connect timeout");
			break;
		case FAILURE_LOCAL:
			probe_round_end(&s->r, FAILURE_LOCAL, NULL, "connect failed: %.80s", why);
			break;
		default:
			probe_round_end(&s->r, f, NULL, "connect: %s", strerror((int)oserr));
			break;
		}
		return;
	case CURLE_OPERATION_TIMEDOUT:
		if (t_conn == 0)
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "connect timeout");
		else if (s->https && t_tls == 0)
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "TLS handshake timeout (connect %.1f ms)",
					us_to_ms(t_conn));
		else if (code == 0)
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no response (%s)", phases);
		else
			probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "timeout reading body after HTTP %ld (%s)", code,
					phases);
		return;
	case CURLE_GOT_NOTHING:
		probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "empty reply (%s)", phases);
		return;
	default:
		if (tls_error(rc))
			probe_round_end(&s->r, FAILURE_TLS, NULL, "TLS handshake failed: %.90s", why);
		else
			probe_round_end(&s->r, FAILURE_PROTOCOL, NULL, "%.110s", why);
		return;
	}
}

static void check_done(struct http_state *st)
{
	CURLMsg *msg;
	int left;

	for (;;) {
		msg = curl_multi_info_read(st->multi, &left);
		if (msg == NULL)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		void *p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		struct http_slot *s = p;
		if (s != NULL && s->r.open && s->easy == msg->easy_handle)
			on_done(s, msg->data.result);
	}
}

/* ---- curl on our loop ---- */

static void on_sock(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	struct http_state *st = arg;
	int running = 0, flags = 0;

	if (events & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(st->multi, fd, flags, &running);
	check_done(st);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)easy;
	(void)socketp;
	struct http_state *st = userp;
	unsigned ev = 0;

	if (what == CURL_POLL_REMOVE) {
		ev_del_fd(st->loop, fd);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	return ev_add_fd(st->loop, fd, ev, on_sock, st) < 0 ? -1 : 0;
}

static int64_t on_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	struct http_state *st = arg;
	int running = 0;

	st->timer = 0;
	curl_multi_socket_action(st->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(st);
	return EV_TIMER_DONE;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct http_state *st = userp;

	if (st->timer != 0)
		ev_del_timer(st->loop, st->timer);
	st->timer = 0;
	if (timeout_ms >= 0) {
		st->timer = ev_add_timer(st->loop, (int64_t)timeout_ms * NS_PER_MS, on_timer, st);
		if (st->timer == 0)
			return -1;
	}
	return 0;
}

/* ---- kind ---- */

static int setup(struct http_slot *s, const struct probe_target *t, int64_t timeout_ms)
{
	const struct target_cfg *cfg = t->cfg;
	CURL *e = s->easy;
	int rc = 0;

	/* the engine resolved the URL's host: pin it, curl need not ask again */
	if (t->resolved) {
		CURLU *u = curl_url();
		char *host = NULL, *port = NULL, entry[320], addr[INET6_ADDRSTRLEN];
		if (u != NULL && curl_url_set(u, CURLUPART_URL, cfg->url, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
			addr_format(&t->addr, addr, sizeof(addr));
			snprintf(entry, sizeof(entry), "%s:%s:%s%s%s", host, port,
				 t->addr.ss_family == AF_INET6 ? "[" : "", addr,
				 t->addr.ss_family == AF_INET6 ? "]" : "");
			s->resolve = curl_slist_append(NULL, entry);
		}
		curl_free(host);
		curl_free(port);
		curl_url_cleanup(u);
	}
	rc |= curl_easy_setopt(e, CURLOPT_URL, cfg->url);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)s);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, cfg->follow_redirects ? 1L : 0L);
	rc |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRS);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	/* every check sees its own connect and handshake */
	rc |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	/* we watch availability, not the PKI: report expiry, do not judge */
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_CERTINFO, s->https ? 1L : 0L);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)s);
	if (s->resolve != NULL)
		rc |= curl_easy_setopt(e, CURLOPT_RESOLVE, s->resolve);
	return rc == 0 ? 0 : -1;
}

/* The request (its connection attempt), once the rate cap allows it. */
static void http_send(struct probe_round *r)
{
	struct http_slot *s = PROBE_SLOT(r, struct http_slot);
	const struct probe_target *t = probe_engine_target(r->engine, r->target);
	int64_t timeout_ms = (r->deadline_ns - ev_now(s->st->loop)) / NS_PER_MS;

	if (timeout_ms < 1)
		timeout_ms = 1;
	s->easy = curl_easy_init();
	if (s->easy == NULL || setup(s, t, timeout_ms) < 0) {
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "cannot set up the request");
		return;
	}
	if (curl_multi_add_handle(s->st->multi, s->easy) != CURLM_OK) {
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		probe_round_end(&s->r, FAILURE_LOCAL, NULL, "cannot start the request");
	}
}

static void http_start(struct probe_engine *e, void *ctx, struct probe_target *t, uint32_t round, int64_t at_ms,
		       int64_t deadline_ns)
{
	(void)e;
	struct http_state *st = ctx;
	struct http_slot *s = &st->slots[t->index];

	probe_round_end(&s->r, FAILURE_TIMEOUT, NULL, "no answer before the next round");
	probe_round_open(&s->r, st->engine, t, round, at_ms, &http_hooks);
	s->rtt_ms = -1;
	s->body = 0;
	s->cut = false;
	s->found = false;
	s->ncarry = 0;
	s->errbuf[0] = '\0';
	s->https = strncasecmp(t->cfg->url, "https:", 6) == 0;
	st->started++;
	probe_round_send(&s->r, deadline_ns, http_send);
}

static int http_init(struct probe_engine *e, void *ctx, struct probe_target **targets, size_t n, char *err,
		     size_t errlen)
{
	struct http_state *st = ctx;

	st->engine = e;
	st->loop = probe_engine_loop(e);
	if ((st->multi = curl_multi_init()) == NULL)
		return -1;
	for (size_t i = 0; i < probe_engine_target_count(e); i++) {
		st->slots[i].st = st;
		st->slots[i].index = (uint32_t)i;
	}
	for (size_t i = 0; i < n; i++) {
		const struct target_cfg *c = targets[i]->cfg;
		if (c->url == NULL) {
			snprintf(err, errlen, "target %s: http needs a url", c->name);
			return -1;
		}
		if (c->contains != NULL && strlen(c->contains) > 0) {
			if (strlen(c->contains) > HTTP_CONTAINS_MAX) {
				snprintf(err, errlen, "target %s: contains longer than %d bytes", c->name,
					 HTTP_CONTAINS_MAX);
				return -1;
			}
			st->slots[targets[i]->index].carry = malloc(2 * HTTP_CONTAINS_MAX);
			if (st->slots[targets[i]->index].carry == NULL)
				return -1;
		}
	}
	curl_multi_setopt(st->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(st->multi, CURLMOPT_SOCKETDATA, (void *)st);
	curl_multi_setopt(st->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(st->multi, CURLMOPT_TIMERDATA, (void *)st);
	return 0;
}

static void http_fini(void *ctx)
{
	struct http_state *st = ctx;

	for (size_t i = 0; i < probe_engine_target_count(st->engine); i++)
		free(st->slots[i].carry);
	if (st->multi != NULL)
		curl_multi_cleanup(st->multi);
	if (st->timer != 0)
		ev_del_timer(st->loop, st->timer);
}

static void http_stats(const void *ctx, char *buf, size_t len)
{
	const struct http_state *st = ctx;
	snprintf(buf, len, "http: started %lu, ok %lu, failed %lu, bodies cut %lu", st->started, st->ok, st->failed,
		 st->cut);
}

const struct probe_ops probe_http_ops =
    PROBE_OPS(sizeof(struct http_state), sizeof(struct http_slot), http_init, http_start, http_fini, http_stats, NULL);
