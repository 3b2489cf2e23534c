/* Helper of store_crash.sh.
 *   store-crashwriter write DB   writes measurements as fast as it can; after
 *                                each flush prints "committed N" (rows known
 *                                committed); on SIGTERM/SIGINT flushes,
 *                                prints "closed N", closes, exits 0.
 *   store-crashwriter check DB   runs PRAGMA integrity_check, reopens with
 *                                store_open (as a writer, so WAL recovery
 *                                runs), prints "integrity ok" and "count N".
 *   store-crashwriter read DB    opens as a reader (while another process
 *                                writes), prints "read ROWS targets N".
 * Exits 1 on any error. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "store/store.h"

#define NTARGETS    100
#define CHUNK       5000
#define MAX_SECONDS 120 /* bounded even if nobody kills us */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct network_cfg net = {.name = (char *)"crash-net"};
static struct target_cfg targets[NTARGETS];
static char names[NTARGETS][16];

static void make_cfg(struct config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < NTARGETS; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		targets[i].name = names[i];
		targets[i].network = 0;
		targets[i].role = ROLE_HOST;
		targets[i].kind = KIND_ICMP;
	}
	cfg->store = (char *)path;
	cfg->vantage = (char *)"crash";
	cfg->networks = &net;
	cfg->nnetworks = 1;
	cfg->targets = targets;
	cfg->ntargets = NTARGETS;
}

static int do_write(const struct config *cfg)
{
	struct sigaction sa;
	struct measurement m;
	struct store *st;
	char err[512];
	uint64_t seq = 0;
	time_t start = time(NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	st = store_open(cfg, true, 0, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		return 1;
	}
	if (store_sync_targets(st, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		store_close(st, err, sizeof(err));
		return 1;
	}
	while (!stop && time(NULL) - start < MAX_SECONDS) {
		for (int i = 0; i < CHUNK && !stop; i++, seq++) {
			memset(&m, 0, sizeof(m));
			m.target = (uint32_t)(seq % NTARGETS);
			m.round = (uint32_t)(seq / NTARGETS);
			m.at_ms = (int64_t)seq;
			m.outcome = seq % 7 ? OUTCOME_OK : OUTCOME_TIMEOUT;
			m.rtt_ms = (double)(seq % 1000) / 7.0;
			m.sent = 3;
			m.received = 3;
			snprintf(m.detail, sizeof(m.detail), "row %llu", (unsigned long long)seq);
			store_put_measurement(st, &m); /* a drop is counted, not an error here */
		}
		if (store_flush(st, err, sizeof(err)) < 0) {
			fprintf(stderr, "store-crashwriter: %s\n", err);
			store_close(st, err, sizeof(err));
			return 1;
		}
		printf("committed %llu\n", (unsigned long long)store_written(st));
		fflush(stdout);
	}
	/* Stopped: what was queued is committed before we say how much. */
	if (store_flush(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		store_close(st, err, sizeof(err));
		return 1;
	}
	printf("closed %llu\n", (unsigned long long)store_written(st));
	fflush(stdout);
	if (store_close(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		return 1;
	}
	return 0;
}

static int count_one(const struct measurement *m, void *arg)
{
	(void)m;
	(*(uint64_t *)arg)++;
	return 0;
}

static int count_target(const struct store_target_row *r, void *arg)
{
	(void)r;
	(*(uint64_t *)arg)++;
	return 0;
}

static int do_check(const struct config *cfg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	struct store *st = NULL;
	const unsigned char *res;
	char err[512];
	uint64_t n = 0;
	int rc = 1;

	if (sqlite3_open_v2(cfg->store, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		fprintf(stderr, "store-crashwriter: integrity_check: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	res = sqlite3_column_text(s, 0);
	if (!res || strcmp((const char *)res, "ok") != 0) {
		fprintf(stderr, "store-crashwriter: integrity_check: %s\n", res ? (const char *)res : "(null)");
		goto out;
	}
	printf("integrity ok\n");
	st = store_open(cfg, true, 0, err, sizeof(err));
	if (!st || store_sync_targets(st, cfg, err, sizeof(err)) < 0 ||
	    store_each_measurement(st, cfg, INT64_MIN, INT64_MAX, count_one, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		goto out;
	}
	printf("count %llu\n", (unsigned long long)n);
	rc = 0;
out:
	if (st && store_close(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		rc = 1;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

/* A second process reading while the writer writes (WAL). */
static int do_read(const struct config *cfg)
{
	struct store *st;
	char err[512];
	uint64_t n = 0, t = 0;
	int rc = 1;

	st = store_open(cfg, false, 0, err, sizeof(err));
	if (!st || store_each_measurement(st, cfg, INT64_MIN, INT64_MAX, count_one, &n, err, sizeof(err)) < 0 ||
	    store_each_target(st, cfg, count_target, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		goto out;
	}
	printf("read %llu targets %llu\n", (unsigned long long)n, (unsigned long long)t);
	rc = 0;
out:
	if (st && store_close(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "store-crashwriter: %s\n", err);
		rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;

	if (argc != 3) {
		fprintf(stderr, "usage: store-crashwriter write|check|read DB\n");
		return 2;
	}
	make_cfg(&cfg, argv[2]);
	if (strcmp(argv[1], "write") == 0)
		return do_write(&cfg);
	if (strcmp(argv[1], "check") == 0)
		return do_check(&cfg);
	if (strcmp(argv[1], "read") == 0)
		return do_read(&cfg);
	fprintf(stderr, "usage: store-crashwriter write|check|read DB\n");
	return 2;
}
