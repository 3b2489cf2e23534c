/* The configuration: a file, read whole, into one immutable struct
 * config.  tree.c turns libyaml's events into a tree, schema.c reads the
 * tree by its key tables (scalar.c and values.c check each value), and
 * print.c writes it back out normalised. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/internal.h"
#include "config/values.h"

/* Defaults that depend on the whole file: inherited durations, host name,
 * controls after the networks' targets. */
static int finish(struct ctx *c, struct node *root)
{
	struct config *cfg = c->cfg;
	char host[256];
	size_t i;

	if (!cfg->vantage) {
		if (gethostname(host, sizeof host) != 0)
			host[0] = '\0';
		host[sizeof host - 1] = '\0';
		if (!value_name_valid(host))
			snprintf(host, sizeof host, "localhost");
		cfg->vantage = strdup(host);
	}
	if (!cfg->vantage)
		return fail_at(c, root ? root->line : 1, root ? root->col : 1, "out of memory");
	if (c->nctl > 0) {
		struct target_cfg *t = realloc(cfg->targets, (cfg->ntargets + c->nctl) * sizeof *t);

		if (!t)
			return fail_at(c, 1, 1, "out of memory");
		cfg->targets = t;
		memcpy(t + cfg->ntargets, c->ctl, c->nctl * sizeof *t);
		cfg->ntargets += c->nctl;
		free(c->ctl);
		c->ctl = NULL;
		c->nctl = 0;
	}
	for (i = 0; i < cfg->ntargets; i++) {
		if (cfg->targets[i].interval_ms == 0)
			cfg->targets[i].interval_ms = cfg->interval_ms;
		if (cfg->targets[i].timeout_ms == 0)
			cfg->targets[i].timeout_ms = cfg->timeout_ms;
	}
	return 0;
}

struct config *config_parse(const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
	struct ctx c = {.name = name ? name : "-", .err = err, .errlen = errlen};
	struct node *root = NULL;
	struct config *cfg = NULL;
	size_t i;

	if (err && errlen)
		err[0] = '\0';
	if (len > CONFIG_MAX_BYTES) {
		fail_at(&c, 1, 1, "configuration larger than %u bytes", CONFIG_MAX_BYTES);
		goto out;
	}
	cfg = calloc(1, sizeof *cfg);
	if (!cfg) {
		fail_at(&c, 1, 1, "out of memory");
		goto out;
	}
	c.cfg = cfg;
	cfg->path = strdup(c.name);
	if (!cfg->path) {
		fail_at(&c, 1, 1, "out of memory");
		goto out;
	}
	root = build_tree(&c, buf, len);
	if (c.failed)
		goto out;
	if (schema_parse(&c, root) < 0)
		goto out;
	finish(&c, root);
out:
	node_free(root);
	for (i = 0; i < c.nctl; i++)
		schema_free(&config_target_schema, &c.ctl[i]);
	free(c.ctl);
	if (c.failed) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	if (!err)
		errlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* grow as the file is read, to one byte more than allowed: that tells
	 * "too large" without trusting stat */
	size_t cap = 0;
	while (len <= CONFIG_MAX_BYTES) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64 * 1024;
			if (ncap > CONFIG_MAX_BYTES + 1)
				ncap = CONFIG_MAX_BYTES + 1;
			char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: file larger than %u MiB", path, CONFIG_MAX_BYTES >> 20);
		goto out;
	}
	cfg = config_parse(path, buf, len, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return cfg;
}
void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->ntargets; i++)
		schema_free(&config_target_schema, &cfg->targets[i]);
	free(cfg->targets);
	schema_free(&config_schema, cfg);
	free(cfg->path);
	free(cfg);
}
