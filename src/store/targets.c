/* Targets: registering the configuration's targets (stable ids by
 * (network, name)) and the stored id -> configuration index map readers
 * translate rows with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/timeutil.h"
#include "store/sqlite_int.h"

/* Upserts the targets of cfg in one transaction on db; map[i] = the id of
 * cfg->targets[i]. */
static int sync_on(struct store *st, sqlite3 *db, const struct config *cfg, uint32_t *map, char *err, size_t errlen)
{
	sqlite3_stmt *up = NULL;
	bool in_txn = false;
	int64_t now = wall_now_ms();
	int rc = -1;

	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO targets (network, name, role, kind, cfg_index, first_seen_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (network, name) DO UPDATE SET"
		" role = excluded.role, kind = excluded.kind, cfg_index = excluded.cfg_index RETURNING id",
		-1, &up, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sq_dberr(st, db, "write", err, errlen);
		goto out;
	}
	in_txn = true;
	if (sq_rows(st, db, "write", "UPDATE targets SET cfg_index = NULL WHERE cfg_index IS NOT NULL", SQ_NO_ARGS,
		    NULL, NULL, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target_cfg *t = &cfg->targets[i];
		sqlite3_int64 id;

		sqlite3_bind_text(up, 1, sq_target_network(cfg, t), -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 2, t->name ? t->name : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 3, role_name(t->role), -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 4, kind_name(t->kind), -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 5, (sqlite3_int64)i);
		sqlite3_bind_int64(up, 6, now);
		if (sqlite3_step(up) != SQLITE_ROW) {
			sq_dberr(st, db, "write", err, errlen);
			sqlite3_reset(up);
			goto out;
		}
		id = sqlite3_column_int64(up, 0);
		/* Drain RETURNING so the statement completes. */
		while (sqlite3_step(up) == SQLITE_ROW)
			;
		if (sqlite3_reset(up) != SQLITE_OK) {
			sq_dberr(st, db, "write", err, errlen);
			goto out;
		}
		if (id <= 0 || id > UINT32_MAX) {
			sq_seterr(err, errlen, "cannot write store %s: target id %lld out of range", st->path,
				  (long long)id);
			goto out;
		}
		map[i] = (uint32_t)id;
	}
	if (sq_rows(
		st, db, "write",
		"INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		SQ_ARGS(SQ_TEXT("vantage"), SQ_TEXT(cfg->vantage ? cfg->vantage : "")), NULL, NULL, err, errlen) < 0)
		goto out;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sq_dberr(st, db, "write", err, errlen);
		goto out;
	}
	in_txn = false;
	rc = 0;
out:
	if (in_txn)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(up);
	return rc;
}

int store_sync_targets(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
	uint32_t *map = NULL;
	sqlite3 *db = NULL;
	int rc = -1;

	sq_clearerr(err, errlen);
	/* a (re)synced configuration may reuse the memory of an older one */
	idx_drop(st);
	map = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*map));
	if (!map) {
		sq_seterr(err, errlen, "cannot write store %s: out of memory", st->path);
		goto out;
	}
	db = sq_conn_get(st, err, errlen);
	if (!db || sync_on(st, db, cfg, map, err, errlen) < 0)
		goto out;
	writer_set_ids(st, map, cfg->ntargets);
	map = NULL;
	rc = 0;
out:
	if (db)
		sq_conn_put(st, db);
	free(map);
	return rc;
}

/* ---- the id -> index map ---- */

struct cfg_key {
	const char *network, *name;
	uint32_t index;
};

static int cfg_key_cmp(const void *a, const void *b)
{
	const struct cfg_key *x = a, *y = b;
	int c = strcmp(x->network, y->network);

	return c ? c : strcmp(x->name, y->name);
}

struct build {
	struct idx_map *im;
	const struct cfg_key *keys;
	size_t nkeys;
};

static int build_row(sqlite3_stmt *s, void *arg)
{
	struct build *b = arg;
	sqlite3_int64 id = sqlite3_column_int64(s, 0);
	const unsigned char *net = sqlite3_column_text(s, 1), *name = sqlite3_column_text(s, 2);
	struct cfg_key k;
	const struct cfg_key *hit;

	/* Rows added since maxid was read are left to the next rebuild. */
	if (id < 0 || (size_t)id >= b->im->n || !net || !name || b->nkeys == 0)
		return 0;
	k.network = (const char *)net;
	k.name = (const char *)name;
	hit = bsearch(&k, b->keys, b->nkeys, sizeof(*b->keys), cfg_key_cmp);
	if (hit)
		b->im->of[id] = hit->index;
	return 0;
}

static void idx_free(struct idx_map *im)
{
	if (im) {
		free(im->of);
		free(im);
	}
}

/* The map of cfg over target ids up to maxid, or NULL (err filled). */
static struct idx_map *idx_build(struct store *st, const struct config *cfg, int64_t maxid, char *err, size_t errlen)
{
	struct idx_map *im = calloc(1, sizeof(*im));
	struct cfg_key *keys = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*keys));
	struct build b = {.im = im, .keys = keys, .nkeys = cfg->ntargets};

	if (!im || !keys)
		goto oom;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		keys[i].network = sq_target_network(cfg, &cfg->targets[i]);
		keys[i].name = cfg->targets[i].name ? cfg->targets[i].name : "";
		keys[i].index = (uint32_t)i;
	}
	qsort(keys, cfg->ntargets, sizeof(*keys), cfg_key_cmp);
	im->n = (size_t)maxid + 1;
	im->of = malloc(im->n * sizeof(*im->of));
	if (!im->of)
		goto oom;
	for (size_t i = 0; i < im->n; i++)
		im->of[i] = STORE_NO_INDEX;
	if (sq_rows(st, NULL, "read", "SELECT id, network, name FROM targets", SQ_NO_ARGS, build_row, &b, err, errlen) <
	    0)
		goto fail;
	im->cfg = cfg;
	im->targets = cfg->targets;
	im->ntargets = cfg->ntargets;
	im->maxid = maxid;
	free(keys);
	return im;
oom:
	sq_seterr(err, errlen, "cannot read store %s: out of memory", st->path);
fail:
	idx_free(im);
	free(keys);
	return NULL;
}

static void idx_unref(struct idx_map *im)
{
	if (im && --im->refs == 0)
		idx_free(im);
}

int idx_get(struct store *st, const struct config *cfg, struct idx_map **out, char *err, size_t errlen)
{
	struct idx_map *im;
	int64_t maxid;

	*out = NULL;
	if (sq_int(st, NULL, "read", "SELECT coalesce(max(id), 0) FROM targets", SQ_NO_ARGS, &maxid, err, errlen) < 0)
		return -1;
	if (maxid < 0 || maxid > UINT32_MAX) {
		sq_seterr(err, errlen, "cannot read store %s: target id %lld out of range", st->path, (long long)maxid);
		return -1;
	}
	/* Held while building: readers of the same configuration wait for
	 * this one's map rather than build their own. */
	pthread_mutex_lock(&st->idx_lock);
	im = st->idx;
	if (!im || im->maxid != maxid || im->cfg != cfg || im->targets != cfg->targets ||
	    im->ntargets != cfg->ntargets) {
		im = idx_build(st, cfg, maxid, err, errlen);
		if (!im) {
			pthread_mutex_unlock(&st->idx_lock);
			return -1;
		}
		idx_unref(st->idx);
		im->refs = 1; /* the cache's */
		st->idx = im;
	}
	im->refs++;
	pthread_mutex_unlock(&st->idx_lock);
	*out = im;
	return 0;
}

void idx_put(struct store *st, struct idx_map *im)
{
	pthread_mutex_lock(&st->idx_lock);
	idx_unref(im);
	pthread_mutex_unlock(&st->idx_lock);
}

void idx_drop(struct store *st)
{
	pthread_mutex_lock(&st->idx_lock);
	idx_unref(st->idx);
	st->idx = NULL;
	pthread_mutex_unlock(&st->idx_lock);
}
