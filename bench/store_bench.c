/* Store benchmark: how many measurements per second the writer sustains,
 * and how many bytes one measurement row costs on disk.
 *   bench-store [ROWS [TARGETS]]     defaults: 1000000 rows, 10000 targets
 * Works in a temporary directory under /tmp, removed at the end.  The
 * producer never blocks (as in watch): when the queue is full it retries
 * after 50 us and counts the retries, so the rate is the writer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "store/store.h"

#define NNETS 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_m(const struct measurement *m, void *arg)
{
	(void)m;
	(*(uint64_t *)arg)++;
	return 0;
}

static int count_t(const struct store_target_row *r, void *arg)
{
	(void)r;
	(*(uint64_t *)arg)++;
	return 0;
}

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

int main(int argc, char **argv)
{
	uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	uint64_t ntargets = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000;
	struct network_cfg nets[NNETS];
	char netnames[NNETS][16], dir[] = "/tmp/store-bench.XXXXXX", path[128], wal[160], shm[160], err[512];
	struct target_cfg *targets = NULL;
	char(*names)[16] = NULL;
	struct config cfg;
	struct store *st = NULL;
	struct measurement m;
	uint64_t retries = 0, n = 0, seed = 88172645463325252ULL;
	const int64_t base = INT64_C(1769418000000), interval = 60000;
	double t0, t1, t2;
	int rc = 1;

	if (rows == 0 || ntargets == 0 || ntargets > 1000000) {
		fprintf(stderr, "usage: bench-store [ROWS [TARGETS<=1000000]]\n");
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	targets = calloc(ntargets, sizeof(*targets));
	names = calloc(ntargets, sizeof(*names));
	if (!targets || !names)
		goto out;
	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < NNETS; i++) {
		memset(&nets[i], 0, sizeof(nets[i]));
		snprintf(netnames[i], sizeof(netnames[i]), "net-%d", i);
		nets[i].name = netnames[i];
	}
	for (uint64_t i = 0; i < ntargets; i++) {
		snprintf(names[i], sizeof(names[i]), "t%06llu", (unsigned long long)i);
		targets[i].name = names[i];
		targets[i].network = i % NNETS;
		targets[i].role = (enum role)(i % ROLE_CONTROL);
		targets[i].kind = (enum probe_kind)(i % KIND_COUNT);
	}
	cfg.store = path;
	cfg.vantage = (char *)"bench";
	cfg.networks = nets;
	cfg.nnetworks = NNETS;
	cfg.targets = targets;
	cfg.ntargets = ntargets;

	st = store_open(&cfg, true, 0, err, sizeof(err));
	if (!st || store_sync_targets(st, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	t0 = now_s();
	for (uint64_t i = 0; i < rows; i++) {
		uint64_t round = i / ntargets, t = i % ntargets;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		memset(&m, 0, sizeof(m));
		m.target = (uint32_t)t;
		m.round = (uint32_t)round;
		/* Targets spread over the round, as the scheduler does. */
		m.at_ms = base + (int64_t)round * interval + (int64_t)(t * (uint64_t)interval / ntargets);
		m.sent = 3;
		if (seed % 20 == 0) { /* 5% failures */
			m.outcome = OUTCOME_TIMEOUT;
			m.rtt_ms = -1;
			m.loss = 1;
			snprintf(m.detail, sizeof(m.detail), "timeout after 5000 ms");
		} else {
			m.outcome = OUTCOME_OK;
			m.rtt_ms = 20.0 + (double)(seed % 100000) / 1000.0;
			m.received = 3;
		}
		while (!store_put_measurement(st, &m)) {
			retries++;
			usleep(50);
		}
	}
	if (store_flush(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	t1 = now_s();
	printf("write: %llu rows, %llu targets in %.2f s = %.0f rows/s (queue-full retries %llu, dropped %llu)\n",
	       (unsigned long long)rows, (unsigned long long)ntargets, t1 - t0, (double)rows / (t1 - t0),
	       (unsigned long long)retries, (unsigned long long)(store_dropped(st) - retries));

	t1 = now_s();
	if (store_each_measurement(st, &cfg, INT64_MIN, INT64_MAX, count_m, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	t2 = now_s();
	printf("read: %llu rows in %.2f s = %.0f rows/s\n", (unsigned long long)n, t2 - t1, (double)n / (t2 - t1));
	n = 0;
	t1 = now_s();
	if (store_each_target(st, &cfg, count_t, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	t2 = now_s();
	printf("status: %llu targets in %.3f s\n", (unsigned long long)n, t2 - t1);
	if (store_close(st, err, sizeof(err)) < 0) {
		st = NULL;
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	st = NULL;
	printf("disk: %lld bytes = %.1f bytes per measurement row (all tables and indexes)\n", file_size(path),
	       (double)file_size(path) / (double)rows);

	/* Prune half of it, in chunks. */
	st = store_open(&cfg, true, 0, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	t1 = now_s();
	/* Queued for the writer: the flush waits for it. */
	if (store_prune(st, base + (int64_t)(rows / ntargets / 2) * interval, err, sizeof(err)) < 0 ||
	    store_flush(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-store: %s\n", err);
		goto out;
	}
	t2 = now_s();
	printf("prune: half the rows in %.2f s\n", t2 - t1);
	rc = 0;
out:
	if (st && store_close(st, err, sizeof(err)) < 0)
		fprintf(stderr, "bench-store: %s\n", err);
	unlink(path);
	unlink(wal);
	unlink(shm);
	rmdir(dir);
	free(targets);
	free(names);
	return rc;
}
