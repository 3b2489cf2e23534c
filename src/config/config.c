/* YAML configuration: libyaml events -> a small bounded tree -> one
 * validated struct config.  The tree exists so that a mapping can be
 * checked as a whole (a target's kind decides which keys it may have)
 * while every error still points at the key or value that caused it. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "core/timeutil.h"

/* 64 MiB: a generated configuration of every /24 of a country (~1M
 * targets) still fits; larger is a mistake, not a configuration. */
#define CONFIG_MAX_BYTES  (64u << 20)
#define CONFIG_MAX_DEPTH  16
#define CONFIG_MAX_SUBST  (16u << 20) /* bytes that ${} substitution may add per file */
#define CONFIG_MAX_NAME   64
#define CONFIG_MAX_STATUS 100

/* ---- the tree ---- */

enum node_type { NODE_SCALAR, NODE_SEQ, NODE_MAP };

struct node {
	enum node_type type;
	unsigned line, col; /* 1-based */
	char *text;         /* scalar as libyaml unescaped it */
	size_t len;
	bool null;   /* plain "", "~" or "null" */
	char *value; /* text after ${} substitution, made on first use */
	size_t vlen;
	struct node **items; /* seq: items; map: key, value, key, value, ... */
	size_t n, cap;
};

struct ctx {
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
	size_t subst_bytes;
	struct config *cfg;
	/* controls collected apart: they follow every network's targets */
	struct target_cfg *ctl;
	size_t nctl, capctl;
	size_t captargets; /* capacity of cfg->targets */
};

/* A short printable copy of user text for messages. */
struct clipbuf {
	char s[80];
};

static const char *clip(struct clipbuf *b, const char *s, size_t len)
{
	size_t max = 60, i, o = 0;
	bool cut = len > max;

	if (cut) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		b->s[o++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
	}
	if (cut) {
		memcpy(b->s + o, "...", 3);
		o += 3;
	}
	b->s[o] = '\0';
	return b->s;
}

static int fail_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->err && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s:%u:%u: %s", c->name, line, col, msg);
	return -1;
}

#define fail(c, node, ...) fail_at((c), (node)->line, (node)->col, __VA_ARGS__)

static void node_free(struct node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->text);
	free(n->value);
	free(n);
}

static const char *type_name(const struct node *n)
{
	return n->type == NODE_SEQ ? "a list" : n->type == NODE_MAP ? "a mapping" : "a scalar";
}

/* ---- YAML events to tree ---- */

struct builder {
	struct node *root;
	struct node *stack[CONFIG_MAX_DEPTH];
	size_t depth;
	unsigned ndocs;
};

static int attach(struct ctx *c, struct builder *b, struct node *n)
{
	struct node *parent;

	if (b->depth == 0) {
		if (b->root) {
			node_free(n);
			return fail(c, n, "only one YAML document is allowed");
		}
		b->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->type == NODE_MAP && parent->n % 2 == 0 && n->type != NODE_SCALAR) {
		fail(c, n, "mapping keys must be plain words");
		node_free(n);
		return -1;
	}
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct node **items = realloc(parent->items, cap * sizeof *items);

		if (!items) {
			fail(c, n, "out of memory");
			node_free(n);
			return -1;
		}
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = n;
	return 0;
}

static struct node *node_new(struct ctx *c, enum node_type type, const yaml_mark_t *m)
{
	struct node *n = calloc(1, sizeof *n);

	if (!n) {
		fail_at(c, (unsigned)m->line + 1, (unsigned)m->column + 1, "out of memory");
		return NULL;
	}
	n->type = type;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static int on_event(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
	unsigned line = (unsigned)ev->start_mark.line + 1, col = (unsigned)ev->start_mark.column + 1;
	struct clipbuf cb;
	struct node *n;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++ > 0)
			return fail_at(c, line, col, "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT: {
		const char *a = (const char *)ev->data.alias.anchor;

		return fail_at(c, line, col, "aliases are not supported (*%s): write the value out",
			       clip(&cb, a, strlen(a)));
	}
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.tag)
			return fail_at(c, line, col, "YAML tags are not supported");
		n = node_new(c, NODE_SCALAR, &ev->start_mark);
		if (!n)
			return -1;
		n->len = ev->data.scalar.length;
		n->text = malloc(n->len + 1);
		if (!n->text) {
			node_free(n);
			return fail_at(c, line, col, "out of memory");
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
		n->null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			  (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
			   strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0);
		return attach(c, b, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag : ev->data.mapping_start.tag))
			return fail_at(c, line, col, "YAML tags are not supported");
		if (b->depth == CONFIG_MAX_DEPTH)
			return fail_at(c, line, col, "nesting deeper than %d levels", CONFIG_MAX_DEPTH);
		n = node_new(c, ev->type == YAML_SEQUENCE_START_EVENT ? NODE_SEQ : NODE_MAP, &ev->start_mark);
		if (!n)
			return -1;
		if (attach(c, b, n) < 0)
			return -1;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

static void yaml_fail(struct ctx *c, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	if (p->error == YAML_READER_ERROR) {
		/* reader errors carry a byte offset, not a mark */
		size_t i, end = p->problem_offset < len ? p->problem_offset : len;

		line = 1;
		col = 1;
		for (i = 0; i < end; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
				col++;
			}
		}
	}
	if (p->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	if (p->context)
		fail_at(c, line, col, "%s %s", problem, p->context);
	else
		fail_at(c, line, col, "%s", problem);
}

static struct node *build_tree(struct ctx *c, const char *buf, size_t len)
{
	struct builder b = {0};
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		fail_at(c, 1, 1, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		int rc;

		if (!yaml_parser_parse(&p, &ev)) {
			yaml_fail(c, &p, buf, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(c, &b, &ev);
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	if (c->failed) {
		node_free(b.root);
		return NULL;
	}
	return b.root;
}

/* ---- scalars ---- */

static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char ch = s[i];
		size_t n, k;
		uint32_t cp;

		if (ch < 0x80) {
			i++;
			continue;
		}
		if ((ch & 0xE0) == 0xC0) {
			n = 2;
			cp = ch & 0x1F;
		} else if ((ch & 0xF0) == 0xE0) {
			n = 3;
			cp = ch & 0x0F;
		} else if ((ch & 0xF8) == 0xF0) {
			n = 4;
			cp = ch & 0x07;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

static bool env_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap - b->len <= n)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -1;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/* ${NAME} from the environment; $$ is a literal $; any other $ stays. */
static int substitute(struct ctx *c, struct node *n)
{
	struct sbuf b = {0};
	struct clipbuf cb;
	size_t i = 0;
	int rc = -1;

	while (i < n->len) {
		const char *dollar = memchr(n->text + i, '$', n->len - i);
		size_t plain = dollar ? (size_t)(dollar - (n->text + i)) : n->len - i;

		if (sbuf_add(&b, n->text + i, plain) < 0)
			goto nomem;
		i += plain;
		if (!dollar)
			break;
		if (i + 1 < n->len && n->text[i + 1] == '$') {
			if (sbuf_add(&b, "$", 1) < 0)
				goto nomem;
			i += 2;
		} else if (i + 1 < n->len && n->text[i + 1] == '{') {
			const char *start = n->text + i + 2;
			const char *close = memchr(start, '}', n->len - i - 2);
			char name[256];
			const char *val;
			size_t nlen;

			if (!close || !env_name_valid(start, (size_t)(close - start)) ||
			    (size_t)(close - start) >= sizeof name) {
				fail(c, n, "bad variable reference in \"%s\" (write ${NAME}, or $$ for a literal $)",
				     clip(&cb, n->text, n->len));
				goto out;
			}
			nlen = (size_t)(close - start);
			memcpy(name, start, nlen);
			name[nlen] = '\0';
			val = getenv(name);
			if (!val) {
				fail(c, n, "environment variable \"%s\" is not set", name);
				goto out;
			}
			if (strlen(val) > CONFIG_MAX_SUBST - c->subst_bytes) {
				fail(c, n, "too much text from environment variables");
				goto out;
			}
			c->subst_bytes += strlen(val);
			if (sbuf_add(&b, val, strlen(val)) < 0)
				goto nomem;
			i = (size_t)(close - n->text) + 1;
		} else {
			if (sbuf_add(&b, "$", 1) < 0)
				goto nomem;
			i++;
		}
	}
	if (!b.s && sbuf_add(&b, "", 0) < 0)
		goto nomem;
	n->value = b.s;
	n->vlen = b.len;
	b.s = NULL;
	rc = 0;
	goto out;
nomem:
	fail(c, n, "out of memory");
out:
	free(b.s);
	return rc;
}

/* The text of scalar v after substitution, checked to be printable
 * text; want names the expected type for messages. */
static const char *scalar(struct ctx *c, const char *key, struct node *v, const char *want)
{
	size_t i;

	if (v->type != NODE_SCALAR) {
		fail(c, v, "%s: expected %s, got %s", key, want, type_name(v));
		return NULL;
	}
	if (v->null) {
		fail(c, v, "%s: missing value (expected %s)", key, want);
		return NULL;
	}
	if (!v->value && substitute(c, v) < 0)
		return NULL;
	if (strlen(v->value) != v->vlen) {
		fail(c, v, "%s: NUL characters are not allowed", key);
		return NULL;
	}
	if (!utf8_valid((const unsigned char *)v->value, v->vlen)) {
		fail(c, v, "%s: not valid UTF-8", key);
		return NULL;
	}
	for (i = 0; i < v->vlen; i++) {
		unsigned char ch = (unsigned char)v->value[i];

		if (ch < 0x20 || ch == 0x7f) {
			fail(c, v, "%s: control characters are not allowed", key);
			return NULL;
		}
	}
	return v->value;
}

static int get_string(struct ctx *c, const char *key, struct node *v, char **out)
{
	const char *s = scalar(c, key, v, "a string");

	if (!s)
		return -1;
	if (!*s)
		return fail(c, v, "%s: must not be empty", key);
	free(*out);
	*out = strdup(s);
	if (!*out)
		return fail(c, v, "out of memory");
	return 0;
}

/* Decimal digits only, no sign, no leading zero: YAML 1.1 would read
 * 010 as octal, so we refuse to guess. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int get_uint(struct ctx *c, const char *key, struct node *v, uint64_t min, uint64_t max, uint64_t *out)
{
	struct clipbuf cb;
	const char *s = scalar(c, key, v, "an integer");

	if (!s)
		return -1;
	if (parse_u64(s, out) < 0) {
		if (s[0] == '0' && s[1] && s[strspn(s, "0123456789")] == '\0')
			return fail(c, v, "%s: expected an integer without leading zeros, got \"%s\"", key,
				    clip(&cb, s, strlen(s)));
		if (*s && s[strspn(s, "0123456789")] == '\0')
			return fail(c, v, "%s: must be between %llu and %llu, got %s", key, (unsigned long long)min,
				    (unsigned long long)max, clip(&cb, s, strlen(s)));
		return fail(c, v, "%s: expected an integer, got \"%s\"", key, clip(&cb, s, strlen(s)));
	}
	if (*out < min || *out > max)
		return fail(c, v, "%s: must be between %llu and %llu, got %llu", key, (unsigned long long)min,
			    (unsigned long long)max, (unsigned long long)*out);
	return 0;
}

static int get_unsigned(struct ctx *c, const char *key, struct node *v, unsigned min, unsigned max, unsigned *out)
{
	uint64_t x;

	if (get_uint(c, key, v, min, max, &x) < 0)
		return -1;
	*out = (unsigned)x;
	return 0;
}

/* lo_open: lo itself is excluded. */
static int get_double(struct ctx *c, const char *key, struct node *v, double lo, bool lo_open, double hi, double *out)
{
	struct clipbuf cb;
	const char *s = scalar(c, key, v, "a number");
	char *end;
	double x;

	if (!s)
		return -1;
	errno = 0;
	x = strtod(s, &end);
	if (!*s || s[strspn(s, "0123456789.eE+-")] != '\0' || *end != '\0' || errno != 0 || !isfinite(x))
		return fail(c, v, "%s: expected a number, got \"%s\"", key, clip(&cb, s, strlen(s)));
	if ((lo_open ? x <= lo : x < lo) || x > hi)
		return fail(c, v, "%s: must be in %s%g, %g], got %s", key, lo_open ? "(" : "[", lo, hi,
			    clip(&cb, s, strlen(s)));
	*out = x;
	return 0;
}

static int get_bool(struct ctx *c, const char *key, struct node *v, bool *out)
{
	struct clipbuf cb;
	const char *s = scalar(c, key, v, "true or false");

	if (!s)
		return -1;
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		*out = false;
	else
		return fail(c, v, "%s: expected true or false, got \"%s\"", key, clip(&cb, s, strlen(s)));
	return 0;
}

static int get_duration(struct ctx *c, const char *key, struct node *v, int64_t *out)
{
	struct clipbuf cb;
	const char *s = scalar(c, key, v, "a duration");
	size_t zeros;

	if (!s)
		return -1;
	if (duration_parse_ms(s, out) == 0 && *out > 0)
		return 0;
	zeros = strspn(s, "0");
	if (zeros > 0 && (strcmp(s + zeros, "ms") == 0 || strcmp(s + zeros, "s") == 0 || strcmp(s + zeros, "m") == 0 ||
			  strcmp(s + zeros, "h") == 0 || strcmp(s + zeros, "d") == 0))
		return fail(c, v, "%s: must be greater than 0", key);
	return fail(c, v, "%s: bad duration \"%s\" (an integer with unit ms, s, m, h or d)", key,
		    clip(&cb, s, strlen(s)));
}

/* ---- value checks ---- */

/* Names end up in URLs, metric labels and file names: keep them plain. */
static bool name_valid(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= CONFIG_MAX_NAME &&
	       s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] == '\0';
}

static int get_name(struct ctx *c, const char *key, struct node *v, char **out)
{
	struct clipbuf cb;

	if (get_string(c, key, v, out) < 0)
		return -1;
	if (!name_valid(*out))
		return fail(c, v, "%s: bad name \"%s\" (1-%d characters of A-Z a-z 0-9 . _ -)", key,
			    clip(&cb, *out, strlen(*out)), CONFIG_MAX_NAME);
	return 0;
}

enum host_check { HOST_OK, HOST_BAD_V4, HOST_BAD_V6, HOST_BAD_NAME };

static enum host_check host_check(const char *s)
{
	struct sockaddr_storage ss;

	if (strchr(s, ':'))
		return addr_parse(s, &ss) == 0 && ss.ss_family == AF_INET6 ? HOST_OK : HOST_BAD_V6;
	/* all digits and dots: meant as IPv4, never a host name */
	if (*s && s[strspn(s, "0123456789.")] == '\0')
		return addr_parse(s, &ss) == 0 && ss.ss_family == AF_INET ? HOST_OK : HOST_BAD_V4;
	return hostname_valid(s) ? HOST_OK : HOST_BAD_NAME;
}

static const char *host_problem(enum host_check h)
{
	return h == HOST_BAD_V4 ? "bad IPv4 address" : h == HOST_BAD_V6 ? "bad IPv6 address" : "bad host name";
}

static int get_host(struct ctx *c, const char *key, struct node *v, char **out)
{
	struct clipbuf cb;
	enum host_check h;

	if (get_string(c, key, v, out) < 0)
		return -1;
	h = host_check(*out);
	if (h != HOST_OK)
		return fail(c, v, "%s: %s \"%s\"", key, host_problem(h), clip(&cb, *out, strlen(*out)));
	return 0;
}

static int port_parse(const char *s, size_t len, bool allow_zero, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len > 5)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_u64(buf, &v) < 0 || v > 65535 || (v == 0 && !allow_zero))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* ADDR:PORT with a literal address, IPv6 in brackets; port 0 = any. */
static bool listen_valid(const char *s)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN + 1];
	const char *colon;
	uint16_t port;
	size_t alen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		alen = (size_t)(close - s - 1);
		if (alen == 0 || alen >= sizeof addr)
			return false;
		memcpy(addr, s + 1, alen);
		addr[alen] = '\0';
		if (addr_parse(addr, &ss) < 0 || ss.ss_family != AF_INET6)
			return false;
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return false;
		alen = (size_t)(colon - s);
		if (alen == 0 || alen >= sizeof addr)
			return false;
		memcpy(addr, s, alen);
		addr[alen] = '\0';
		if (addr_parse(addr, &ss) < 0 || ss.ss_family != AF_INET)
			return false;
	}
	return port_parse(colon + 1, strlen(colon + 1), true, &port) == 0;
}

/* NULL if u is an acceptable http(s) URL, else why not. */
static const char *url_problem(const char *u)
{
	const char *p, *host, *hend, *end;
	char buf[256];
	size_t alen, i;

	if (strncasecmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return "expected http:// or https://";
	for (i = 0; u[i]; i++) {
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return "spaces are not allowed";
	}
	alen = strcspn(p, "/?#");
	end = p + alen;
	if (alen == 0)
		return "missing host";
	if (memchr(p, '@', alen))
		return "user names in URLs are not supported";
	if (p[0] == '[') {
		struct sockaddr_storage ss;
		const char *close = memchr(p, ']', alen);

		if (!close || (size_t)(close - p - 1) >= sizeof buf)
			return "bad IPv6 address";
		memcpy(buf, p + 1, (size_t)(close - p - 1));
		buf[close - p - 1] = '\0';
		if (addr_parse(buf, &ss) < 0 || ss.ss_family != AF_INET6)
			return "bad IPv6 address";
		hend = close + 1;
	} else {
		enum host_check h;

		host = p;
		hend = memchr(p, ':', alen);
		if (!hend)
			hend = end;
		if (hend == host)
			return "missing host";
		if ((size_t)(hend - host) >= sizeof buf)
			return "bad host name";
		memcpy(buf, host, (size_t)(hend - host));
		buf[hend - host] = '\0';
		h = host_check(buf);
		if (h != HOST_OK)
			return host_problem(h);
	}
	if (hend != end) {
		uint16_t port;

		if (*hend != ':' || port_parse(hend + 1, (size_t)(end - hend - 1), false, &port) < 0)
			return "bad port";
	}
	return NULL;
}

static int get_url(struct ctx *c, const char *key, struct node *v, char **out)
{
	struct clipbuf cb;
	const char *why;

	if (get_string(c, key, v, out) < 0)
		return -1;
	why = url_problem(*out);
	if (why)
		return fail(c, v, "%s: bad URL \"%s\" (%s)", key, clip(&cb, *out, strlen(*out)), why);
	return 0;
}

static bool dname_valid(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 1 && s[0] == '.')
		return true;
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			   ch == '-' || ch == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static int check_query(struct ctx *c, struct node *v, const char *q)
{
	struct clipbuf cb;
	size_t n1 = strcspn(q, " \t"), sp, n2;
	char type[32];
	ldns_rr_type t;

	sp = n1 + strspn(q + n1, " \t");
	n2 = strcspn(q + sp, " \t");
	if (n1 == 0 || sp == n1 || n2 == 0 || q[sp + n2] != '\0')
		return fail(c, v, "query: bad query \"%s\" (expected \"NAME TYPE\", e.g. \"kp. SOA\")",
			    clip(&cb, q, strlen(q)));
	if (!dname_valid(q, n1))
		return fail(c, v, "query: bad domain name \"%s\"", clip(&cb, q, n1));
	if (n2 >= sizeof type)
		return fail(c, v, "query: unknown RR type \"%s\"", clip(&cb, q + sp, n2));
	memcpy(type, q + sp, n2);
	type[n2] = '\0';
	t = ldns_get_rr_type_by_name(type);
	if (t == 0 || t == LDNS_RR_TYPE_AXFR || t == LDNS_RR_TYPE_IXFR || type[strspn(type, "0123456789")] == '\0')
		return fail(c, v, "query: unknown RR type \"%s\"", clip(&cb, type, n2));
	return 0;
}

/* Prefix syntax is checked here so that "host bits set" gets its own
 * message with the network the user probably meant. */
static int parse_prefix(struct ctx *c, struct node *v, struct prefix *out)
{
	struct clipbuf cb;
	const char *s = scalar(c, "prefixes", v, "a prefix");
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN + 1], net[64];
	const char *slash;
	uint16_t len;
	unsigned max, i;
	struct prefix p = {0};

	if (!s)
		return -1;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof addr)
		goto bad;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (addr_parse(addr, &ss) < 0 || port_parse(slash + 1, strlen(slash + 1), true, &len) < 0)
		goto bad;
	max = ss.ss_family == AF_INET ? 32 : 128;
	if (len > max)
		goto bad;
	if (prefix_parse(s, out) == 0)
		return 0;
	p.family = ss.ss_family;
	p.len = (uint8_t)len;
	if (ss.ss_family == AF_INET)
		memcpy(p.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(p.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	for (i = 0; i < max / 8; i++) {
		unsigned keep = len > i * 8 ? len - i * 8 : 0;

		if (keep < 8)
			p.addr[i] &= (uint8_t)(0xFF00u >> keep);
	}
	prefix_format(&p, net, sizeof net);
	return fail(c, v, "prefixes: \"%s\" has host bits set (the network is %s)", clip(&cb, s, strlen(s)), net);
bad:
	return fail(c, v, "prefixes: bad prefix \"%s\" (expected ADDRESS/LENGTH)", clip(&cb, s, strlen(s)));
}

/* ---- mappings ---- */

static int key_index(const char *const names[], size_t n, const struct node *key)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strlen(names[i]) == key->len && memcmp(names[i], key->text, key->len) == 0)
			return (int)i;
	}
	return -1;
}

/* The value of key k in a checked map (the map itself if absent). */
static const struct node *map_value(const struct node *map, const char *const names[], size_t n, int k)
{
	size_t i;

	for (i = 0; i + 1 < map->n; i += 2) {
		if (key_index(names, n, map->items[i]) == k)
			return map->items[i + 1];
	}
	return map;
}

/* Fills vals[] (by key index) from map; unknown and duplicate keys are
 * errors.  where ("" or " in target") completes the message. */
static int map_keys(struct ctx *c, const struct node *map, const char *const names[], size_t n, const char *where,
		    struct node *vals[])
{
	struct clipbuf cb;
	size_t i;

	memset(vals, 0, n * sizeof *vals);
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct node *key = map->items[i];
		int k = key_index(names, n, key);

		if (k < 0)
			return fail(c, key, "unknown key \"%s\"%s", clip(&cb, key->text, key->len), where);
		if (vals[k])
			return fail(c, key, "duplicate key \"%s\"", names[k]);
		vals[k] = map->items[i + 1];
	}
	return 0;
}

static int expect_map(struct ctx *c, const char *key, const struct node *v)
{
	if (v->type != NODE_MAP)
		return fail(c, v, "%s: expected a mapping, got %s", key,
			    v->type == NODE_SCALAR ? (v->null ? "nothing" : "a scalar") : type_name(v));
	return 0;
}

/* Lists: an empty value (key with nothing after it) is an empty list. */
static int expect_seq(struct ctx *c, const char *key, const struct node *v)
{
	if (v->type == NODE_SCALAR && v->null)
		return 0;
	if (v->type != NODE_SEQ)
		return fail(c, v, "%s: expected a list, got %s", key, type_name(v));
	return 0;
}

static size_t seq_len(const struct node *v)
{
	return v->type == NODE_SEQ ? v->n : 0;
}

static int grow(struct ctx *c, const struct node *at, void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	char *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / size)
		return fail(c, at, "out of memory");
	p = realloc(*arr, ncap * size);
	if (!p)
		return fail(c, at, "out of memory");
	memset(p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Duplicate names in a list: the error goes to the second one written. */
struct named {
	const char *name;
	const struct node *at;
	size_t idx;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int check_unique(struct ctx *c, struct named *v, size_t n, const char *what, const char *in)
{
	struct clipbuf cb;
	const struct named *worst = NULL;
	size_t i;

	qsort(v, n, sizeof *v, named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name) == 0 && (!worst || v[i].idx < worst->idx))
			worst = &v[i];
	}
	if (worst)
		return fail(c, worst->at, "duplicate %s \"%s\"%s", what, clip(&cb, worst->name, strlen(worst->name)),
			    in);
	return 0;
}

/* ---- targets ---- */

enum {
	TK_NAME,
	TK_ROLE,
	TK_KIND,
	TK_HOST,
	TK_PORT,
	TK_URL,
	TK_SERVER,
	TK_QUERY,
	TK_INTERVAL,
	TK_TIMEOUT,
	TK_COUNT,
	TK_STATUS,
	TK_CONTAINS,
	TK_FOLLOW,
	TK_RCODE,
	TK_EXPECT,
	TK_RECURSION,
	TK_BANNER,
	TK_N
};

static const char *const target_keys[TK_N] = {
    "name",         "role",     "kind",      "host",          "port",   "url",      "server",
    "query",        "interval", "timeout",   "count",         "status", "contains", "follow_redirects",
    "expect_rcode", "expect",   "recursion", "expect_banner",
};

#define K(k)  (1u << (k))
#define K_ALL (K(KIND_COUNT) - 1)

/* Which kinds may carry each key. */
static const unsigned target_key_kinds[TK_N] = {
    [TK_NAME] = K_ALL,
    [TK_ROLE] = K_ALL,
    [TK_KIND] = K_ALL,
    [TK_HOST] = K(KIND_ICMP) | K(KIND_TCP) | K(KIND_SMTP) | K(KIND_TRACE),
    [TK_PORT] = K(KIND_TCP) | K(KIND_SMTP),
    [TK_URL] = K(KIND_HTTP),
    [TK_SERVER] = K(KIND_DNS),
    [TK_QUERY] = K(KIND_DNS),
    [TK_INTERVAL] = K_ALL,
    [TK_TIMEOUT] = K_ALL,
    [TK_COUNT] = K_ALL,
    [TK_STATUS] = K(KIND_HTTP),
    [TK_CONTAINS] = K(KIND_HTTP),
    [TK_FOLLOW] = K(KIND_HTTP),
    [TK_RCODE] = K(KIND_DNS),
    [TK_EXPECT] = K(KIND_DNS),
    [TK_RECURSION] = K(KIND_DNS),
    [TK_BANNER] = K(KIND_SMTP),
};

/* Keys each kind must have. */
static const unsigned kind_required[KIND_COUNT] = {
    [KIND_ICMP] = K(TK_HOST), [KIND_TCP] = K(TK_HOST) | K(TK_PORT),    [KIND_HTTP] = K(TK_URL),
    [KIND_SMTP] = K(TK_HOST), [KIND_DNS] = K(TK_SERVER) | K(TK_QUERY), [KIND_TRACE] = K(TK_HOST),
};

static void target_free(struct target_cfg *t)
{
	free(t->name);
	free(t->host);
	free(t->url);
	free(t->server);
	free(t->query);
	free(t->status);
	free(t->contains);
	free(t->expect_rcode);
	free(t->expect);
	free(t->expect_banner);
}

static int parse_status(struct ctx *c, struct node *v, struct target_cfg *t)
{
	size_t i, n;

	if (expect_seq(c, "status", v) < 0)
		return -1;
	n = seq_len(v);
	if (n == 0)
		return fail(c, v, "status: must list at least one status code");
	if (n > CONFIG_MAX_STATUS)
		return fail(c, v, "status: at most %d codes", CONFIG_MAX_STATUS);
	t->status = calloc(n, sizeof *t->status);
	if (!t->status)
		return fail(c, v, "out of memory");
	for (i = 0; i < n; i++) {
		unsigned code;

		if (get_unsigned(c, "status", v->items[i], 100, 599, &code) < 0)
			return -1;
		t->status[t->nstatus++] = (int)code;
	}
	return 0;
}

static int parse_rcode(struct ctx *c, struct node *v, struct target_cfg *t)
{
	struct clipbuf cb;
	const char *s = scalar(c, "expect_rcode", v, "an rcode");
	ldns_lookup_table *lt;

	if (!s)
		return -1;
	lt = ldns_lookup_by_name(ldns_rcodes, s);
	if (!lt)
		return fail(c, v, "expect_rcode: unknown rcode \"%s\" (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)",
			    clip(&cb, s, strlen(s)));
	free(t->expect_rcode);
	t->expect_rcode = strdup(lt->name);
	if (!t->expect_rcode)
		return fail(c, v, "out of memory");
	return 0;
}

/* One target mapping into t (already zeroed and counted by the caller,
 * so a failure leaves it for config_free). */
static int parse_target(struct ctx *c, struct node *m, struct target_cfg *t, bool control, size_t network)
{
	struct clipbuf cb;
	struct node *vals[TK_N];
	const char *s;
	unsigned have = 0;
	int kind, role, k;
	size_t i;

	t->network = network;
	t->pos.line = m->line;
	t->pos.col = m->col;
	t->count = 3;
	if (expect_map(c, control ? "controls" : "targets", m) < 0)
		return -1;
	if (map_keys(c, m, target_keys, TK_N, " in target", vals) < 0)
		return -1;
	if (!vals[TK_NAME])
		return fail(c, m, "target: missing key \"name\"");
	if (get_name(c, "name", vals[TK_NAME], &t->name) < 0)
		return -1;
	if (!vals[TK_KIND])
		return fail(c, m, "target \"%s\": missing key \"kind\"", t->name);
	s = scalar(c, "kind", vals[TK_KIND], "a kind");
	if (!s)
		return -1;
	kind = kind_from_name(s);
	if (kind < 0 || kind >= KIND_COUNT)
		return fail(c, vals[TK_KIND], "kind: unknown kind \"%s\" (icmp, tcp, http, smtp, dns, trace)",
			    clip(&cb, s, strlen(s)));
	t->kind = (enum probe_kind)kind;
	if (vals[TK_ROLE]) {
		s = scalar(c, "role", vals[TK_ROLE], "a role");
		if (!s)
			return -1;
		role = role_from_name(s);
		if (role < 0 || role >= ROLE_CONTROL)
			return fail(c, vals[TK_ROLE], "role: unknown role \"%s\" (web, mail, dns, router, host)",
				    clip(&cb, s, strlen(s)));
		t->role = (enum role)role;
	} else if (!control) {
		return fail(c, m, "target \"%s\": missing key \"role\"", t->name);
	}
	if (control)
		t->role = ROLE_CONTROL;
	if (t->kind == KIND_SMTP)
		t->port = 25;
	if (t->kind == KIND_DNS) {
		t->expect_rcode = strdup("NOERROR");
		if (!t->expect_rcode)
			return fail(c, m, "out of memory");
	}
	for (i = 0; i + 1 < m->n; i += 2) {
		struct node *key = m->items[i], *v = m->items[i + 1];
		uint64_t x;

		k = key_index(target_keys, TK_N, key);
		have |= K(k);
		if (!(target_key_kinds[k] & K(t->kind)))
			return fail(c, key, "target \"%s\": key \"%s\" is not valid for kind %s", t->name,
				    target_keys[k], kind_name(t->kind));
		switch (k) {
		case TK_NAME:
		case TK_ROLE:
		case TK_KIND:
			break;
		case TK_HOST:
			if (get_host(c, "host", v, &t->host) < 0)
				return -1;
			break;
		case TK_PORT:
			if (get_uint(c, "port", v, 1, 65535, &x) < 0)
				return -1;
			t->port = (uint16_t)x;
			break;
		case TK_URL:
			if (get_url(c, "url", v, &t->url) < 0)
				return -1;
			break;
		case TK_SERVER:
			if (get_host(c, "server", v, &t->server) < 0)
				return -1;
			break;
		case TK_QUERY:
			if (get_string(c, "query", v, &t->query) < 0 || check_query(c, v, t->query) < 0)
				return -1;
			break;
		case TK_INTERVAL:
			if (get_duration(c, "interval", v, &t->interval_ms) < 0)
				return -1;
			break;
		case TK_TIMEOUT:
			if (get_duration(c, "timeout", v, &t->timeout_ms) < 0)
				return -1;
			break;
		case TK_COUNT:
			if (get_unsigned(c, "count", v, 1, 100, &t->count) < 0)
				return -1;
			break;
		case TK_STATUS:
			if (parse_status(c, v, t) < 0)
				return -1;
			break;
		case TK_CONTAINS:
			if (get_string(c, "contains", v, &t->contains) < 0)
				return -1;
			break;
		case TK_FOLLOW:
			if (get_bool(c, "follow_redirects", v, &t->follow_redirects) < 0)
				return -1;
			break;
		case TK_RCODE:
			if (parse_rcode(c, v, t) < 0)
				return -1;
			break;
		case TK_EXPECT:
			if (get_string(c, "expect", v, &t->expect) < 0)
				return -1;
			break;
		case TK_RECURSION:
			if (get_bool(c, "recursion", v, &t->recursion) < 0)
				return -1;
			break;
		case TK_BANNER:
			if (get_string(c, "expect_banner", v, &t->expect_banner) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	for (k = 0; k < TK_N; k++) {
		if ((kind_required[t->kind] & K(k)) && !(have & K(k)))
			return fail(c, m, "target \"%s\": missing key \"%s\" (required for kind %s)", t->name,
				    target_keys[k], kind_name(t->kind));
	}
	return 0;
}

/* A list of targets: appended to *arr; names unique within the list. */
static int parse_targets(struct ctx *c, const char *key, struct node *v, struct target_cfg **arr, size_t *n,
			 size_t *cap, bool control, size_t network, const char *in)
{
	struct named *names = NULL;
	size_t i, first = *n, count;
	int rc = -1;

	if (expect_seq(c, key, v) < 0)
		return -1;
	count = seq_len(v);
	for (i = 0; i < count; i++) {
		if (grow(c, v->items[i], (void **)arr, cap, *n, sizeof **arr) < 0)
			goto out;
		(*n)++;
		if (parse_target(c, v->items[i], &(*arr)[*n - 1], control, network) < 0)
			goto out;
	}
	if (count > 1) {
		names = calloc(count, sizeof *names);
		if (!names) {
			fail(c, v, "out of memory");
			goto out;
		}
		for (i = 0; i < count; i++) {
			struct node *m = v->items[i];

			names[i].name = (*arr)[first + i].name;
			names[i].idx = i;
			names[i].at = map_value(m, target_keys, TK_N, TK_NAME);
		}
		if (check_unique(c, names, count, "target name", in) < 0)
			goto out;
	}
	rc = 0;
out:
	free(names);
	return rc;
}

/* ---- networks ---- */

enum { NK_NAME, NK_ASN, NK_PREFIXES, NK_TARGETS, NK_N };
static const char *const network_keys[NK_N] = {"name", "asn", "prefixes", "targets"};

static int parse_network(struct ctx *c, struct node *m, size_t idx)
{
	struct config *cfg = c->cfg;
	struct network_cfg *net = &cfg->networks[idx];
	struct node *vals[NK_N];
	char in[CONFIG_MAX_NAME + 32];
	size_t i, j, n;

	net->pos.line = m->line;
	net->pos.col = m->col;
	if (expect_map(c, "networks", m) < 0 || map_keys(c, m, network_keys, NK_N, " in network", vals) < 0)
		return -1;
	if (!vals[NK_NAME])
		return fail(c, m, "network: missing key \"name\"");
	if (get_name(c, "name", vals[NK_NAME], &net->name) < 0)
		return -1;
	snprintf(in, sizeof in, " in network \"%s\"", net->name);
	for (i = 0; i + 1 < m->n; i += 2) {
		struct node *v = m->items[i + 1];

		switch (key_index(network_keys, NK_N, m->items[i])) {
		case NK_ASN:
			if (expect_seq(c, "asn", v) < 0)
				return -1;
			n = seq_len(v);
			net->asn = calloc(n ? n : 1, sizeof *net->asn);
			if (!net->asn)
				return fail(c, v, "out of memory");
			for (j = 0; j < n; j++) {
				uint64_t x;

				if (get_uint(c, "asn", v->items[j], 1, UINT32_MAX, &x) < 0)
					return -1;
				net->asn[net->nasn++] = (uint32_t)x;
			}
			break;
		case NK_PREFIXES:
			if (expect_seq(c, "prefixes", v) < 0)
				return -1;
			n = seq_len(v);
			net->prefixes = calloc(n ? n : 1, sizeof *net->prefixes);
			if (!net->prefixes)
				return fail(c, v, "out of memory");
			for (j = 0; j < n; j++) {
				if (parse_prefix(c, v->items[j], &net->prefixes[j]) < 0)
					return -1;
				net->nprefixes++;
			}
			break;
		case NK_TARGETS:
			/* targets go straight into cfg->targets, in network order */
			if (parse_targets(c, "targets", v, &cfg->targets, &cfg->ntargets, &c->captargets, false, idx,
					  in) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* ---- bgp and alerts ---- */

enum { PK_ADDRESS, PK_REMOTE_AS, PK_LOCAL_AS, PK_PORT, PK_PASSIVE, PK_HOLD, PK_N };
static const char *const peer_keys[PK_N] = {"address", "remote_as", "local_as", "port", "passive", "hold_time"};

static int parse_peer(struct ctx *c, struct node *m, struct bgp_peer_cfg *p)
{
	struct clipbuf cb;
	struct sockaddr_storage ss;
	struct node *vals[PK_N];
	size_t i;
	uint64_t x;

	p->port = 179;
	p->hold_time_ms = 90000;
	p->pos.line = m->line;
	p->pos.col = m->col;
	if (expect_map(c, "peers", m) < 0 || map_keys(c, m, peer_keys, PK_N, " in bgp peer", vals) < 0)
		return -1;
	if (!vals[PK_ADDRESS])
		return fail(c, m, "bgp peer: missing key \"address\"");
	if (!vals[PK_REMOTE_AS])
		return fail(c, m, "bgp peer: missing key \"remote_as\"");
	if (!vals[PK_LOCAL_AS])
		return fail(c, m, "bgp peer: missing key \"local_as\"");
	for (i = 0; i + 1 < m->n; i += 2) {
		struct node *v = m->items[i + 1];

		switch (key_index(peer_keys, PK_N, m->items[i])) {
		case PK_ADDRESS:
			if (get_string(c, "address", v, &p->address) < 0)
				return -1;
			if (addr_parse(p->address, &ss) < 0)
				return fail(c, v, "address: %s \"%s\"",
					    strchr(p->address, ':') ? "bad IPv6 address" : "bad IPv4 address",
					    clip(&cb, p->address, strlen(p->address)));
			break;
		case PK_REMOTE_AS:
			if (get_uint(c, "remote_as", v, 1, UINT32_MAX, &x) < 0)
				return -1;
			p->remote_as = (uint32_t)x;
			break;
		case PK_LOCAL_AS:
			if (get_uint(c, "local_as", v, 1, UINT32_MAX, &x) < 0)
				return -1;
			p->local_as = (uint32_t)x;
			break;
		case PK_PORT:
			if (get_uint(c, "port", v, 1, 65535, &x) < 0)
				return -1;
			p->port = (uint16_t)x;
			break;
		case PK_PASSIVE:
			if (get_bool(c, "passive", v, &p->passive) < 0)
				return -1;
			break;
		case PK_HOLD:
			if (get_duration(c, "hold_time", v, &p->hold_time_ms) < 0)
				return -1;
			/* RFC 4271: whole seconds, at least 3, in 16 bits */
			if (p->hold_time_ms % 1000 != 0 || p->hold_time_ms < 3000 || p->hold_time_ms > 65535000)
				return fail(c, v, "hold_time: must be whole seconds between 3s and 65535s");
			break;
		default:
			break;
		}
	}
	return 0;
}

enum { BK_PEERS, BK_MRT, BK_LISTEN, BK_N };
static const char *const bgp_keys[BK_N] = {"peers", "mrt", "listen"};

static int parse_bgp(struct ctx *c, struct node *m)
{
	struct clipbuf cb;
	struct bgp_cfg *b = &c->cfg->bgp;
	struct node *vals[BK_N];
	struct named *names = NULL;
	size_t i, j, n;
	int rc = -1;

	b->present = true;
	if (m->type == NODE_SCALAR && m->null)
		return 0;
	if (expect_map(c, "bgp", m) < 0 || map_keys(c, m, bgp_keys, BK_N, " in bgp", vals) < 0)
		return -1;
	for (i = 0; i + 1 < m->n; i += 2) {
		struct node *v = m->items[i + 1];

		switch (key_index(bgp_keys, BK_N, m->items[i])) {
		case BK_PEERS:
			if (expect_seq(c, "peers", v) < 0)
				goto out;
			n = seq_len(v);
			b->peers = calloc(n ? n : 1, sizeof *b->peers);
			names = calloc(n ? n : 1, sizeof *names);
			if (!b->peers || !names) {
				fail(c, v, "out of memory");
				goto out;
			}
			for (j = 0; j < n; j++) {
				b->npeers++;
				if (parse_peer(c, v->items[j], &b->peers[j]) < 0)
					goto out;
				names[j].name = b->peers[j].address;
				names[j].idx = j;
				names[j].at = map_value(v->items[j], peer_keys, PK_N, PK_ADDRESS);
			}
			if (check_unique(c, names, n, "bgp peer address", "") < 0)
				goto out;
			break;
		case BK_MRT:
			if (expect_seq(c, "mrt", v) < 0)
				goto out;
			n = seq_len(v);
			b->mrt = calloc(n ? n : 1, sizeof *b->mrt);
			if (!b->mrt) {
				fail(c, v, "out of memory");
				goto out;
			}
			for (j = 0; j < n; j++) {
				b->nmrt++;
				if (get_string(c, "mrt", v->items[j], &b->mrt[j]) < 0)
					goto out;
			}
			break;
		case BK_LISTEN:
			if (get_string(c, "listen", v, &b->listen) < 0)
				goto out;
			if (!listen_valid(b->listen)) {
				fail(c, v, "listen: expected ADDRESS:PORT (IPv6 as [::1]:179), got \"%s\"",
				     clip(&cb, b->listen, strlen(b->listen)));
				goto out;
			}
			break;
		default:
			break;
		}
	}
	rc = 0;
out:
	free(names);
	return rc;
}

enum { AK_KIND, AK_URL, AK_FORMAT, AK_MAX_AGE, AK_N };
static const char *const alert_keys[AK_N] = {"kind", "url", "format", "max_age"};

static int parse_alert(struct ctx *c, struct node *m, struct alert_cfg *a)
{
	struct clipbuf cb;
	struct node *vals[AK_N];
	const char *s;
	size_t i;

	a->max_age_ms = INT64_C(24) * 3600 * 1000;
	a->pos.line = m->line;
	a->pos.col = m->col;
	if (expect_map(c, "alerts", m) < 0 || map_keys(c, m, alert_keys, AK_N, " in alert", vals) < 0)
		return -1;
	if (!vals[AK_KIND])
		return fail(c, m, "alert: missing key \"kind\"");
	if (!vals[AK_URL])
		return fail(c, m, "alert: missing key \"url\"");
	a->format = strdup("json");
	if (!a->format)
		return fail(c, m, "out of memory");
	for (i = 0; i + 1 < m->n; i += 2) {
		struct node *v = m->items[i + 1];

		switch (key_index(alert_keys, AK_N, m->items[i])) {
		case AK_KIND:
			s = scalar(c, "kind", v, "an alert kind");
			if (!s)
				return -1;
			if (strcmp(s, "webhook") != 0)
				return fail(c, v, "kind: unknown alert kind \"%s\" (webhook)", clip(&cb, s, strlen(s)));
			if (get_string(c, "kind", v, &a->kind) < 0)
				return -1;
			break;
		case AK_URL:
			if (get_url(c, "url", v, &a->url) < 0)
				return -1;
			break;
		case AK_FORMAT:
			s = scalar(c, "format", v, "a format");
			if (!s)
				return -1;
			if (strcmp(s, "json") != 0 && strcmp(s, "alertmanager") != 0)
				return fail(c, v, "format: unknown format \"%s\" (json, alertmanager)",
					    clip(&cb, s, strlen(s)));
			if (get_string(c, "format", v, &a->format) < 0)
				return -1;
			break;
		case AK_MAX_AGE:
			if (get_duration(c, "max_age", v, &a->max_age_ms) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* ---- top level ---- */

enum {
	TOP_VANTAGE,
	TOP_STORE,
	TOP_LISTEN,
	TOP_INTERVAL,
	TOP_TIMEOUT,
	TOP_MAX_PPS,
	TOP_RETENTION,
	TOP_DETECT,
	TOP_NETWORKS,
	TOP_CONTROLS,
	TOP_BGP,
	TOP_ALERTS,
	TOP_N
};
static const char *const top_keys[TOP_N] = {"vantage",   "store",  "listen",   "interval", "timeout", "max_pps",
					    "retention", "detect", "networks", "controls", "bgp",     "alerts"};

enum { DK_DOWN, DK_UP, DK_BASELINE, DK_LOSS, DK_RTT_FACTOR, DK_RTT_MIN, DK_STRESS, DK_ABRUPT, DK_FRACTION, DK_N };
static const char *const detect_keys[DK_N] = {
    "down_after",          "up_after",           "baseline_rounds", "degraded_loss",   "degraded_rtt_factor",
    "degraded_rtt_min_ms", "stress_lead_rounds", "abrupt_rounds",   "network_fraction"};

void config_detect_defaults(struct detect_cfg *d)
{
	d->down_after = 3;
	d->up_after = 2;
	d->baseline_rounds = 20;
	d->degraded_loss = 0.2;
	d->degraded_rtt_factor = 4;
	d->degraded_rtt_min_ms = 20;
	d->stress_lead_rounds = 2;
	d->abrupt_rounds = 2;
	d->network_fraction = 0.5;
}

static int parse_detect(struct ctx *c, struct node *m)
{
	struct detect_cfg *d = &c->cfg->detect;
	struct node *vals[DK_N];
	size_t i;
	int rc = 0;

	if (m->type == NODE_SCALAR && m->null)
		return 0;
	if (expect_map(c, "detect", m) < 0 || map_keys(c, m, detect_keys, DK_N, " in detect", vals) < 0)
		return -1;
	for (i = 0; i + 1 < m->n && rc == 0; i += 2) {
		struct node *v = m->items[i + 1];

		switch (key_index(detect_keys, DK_N, m->items[i])) {
		case DK_DOWN:
			rc = get_unsigned(c, "down_after", v, 1, 1000, &d->down_after);
			break;
		case DK_UP:
			rc = get_unsigned(c, "up_after", v, 1, 1000, &d->up_after);
			break;
		case DK_BASELINE:
			rc = get_unsigned(c, "baseline_rounds", v, 1, 100000, &d->baseline_rounds);
			break;
		case DK_LOSS:
			rc = get_double(c, "degraded_loss", v, 0, true, 1, &d->degraded_loss);
			break;
		case DK_RTT_FACTOR:
			rc = get_double(c, "degraded_rtt_factor", v, 0, true, 1000, &d->degraded_rtt_factor);
			break;
		case DK_RTT_MIN:
			rc = get_double(c, "degraded_rtt_min_ms", v, 0, false, 1e6, &d->degraded_rtt_min_ms);
			break;
		case DK_STRESS:
			rc = get_unsigned(c, "stress_lead_rounds", v, 1, 1000, &d->stress_lead_rounds);
			break;
		case DK_ABRUPT:
			rc = get_unsigned(c, "abrupt_rounds", v, 1, 1000, &d->abrupt_rounds);
			break;
		case DK_FRACTION:
			rc = get_double(c, "network_fraction", v, 0, true, 1, &d->network_fraction);
			break;
		default:
			break;
		}
	}
	return rc;
}

static int parse_store(struct ctx *c, struct node *v)
{
	struct clipbuf cb;
	const char *s;

	if (get_string(c, "store", v, &c->cfg->store) < 0)
		return -1;
	s = c->cfg->store;
	/* The one place that refuses what this build cannot do, so that
	 * check-config says it and watch never gets that far.  The URI may
	 * carry a password: it is not echoed. */
	if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0)
		return fail(c, v, "store: this build supports only SQLite stores (a file path), not PostgreSQL");
	if (strstr(s, "://"))
		return fail(c, v, "store: unsupported URI \"%s\" (a file path or postgresql://...)",
			    clip(&cb, s, strlen(s)));
	return 0;
}

static int parse_top(struct ctx *c, struct node *root)
{
	struct config *cfg = c->cfg;
	struct clipbuf cb;
	struct node *vals[TOP_N];
	struct named *names = NULL;
	size_t i, j, n;
	uint64_t x;
	int rc = -1;

	if (root->type == NODE_SCALAR && root->null)
		return 0;
	if (root->type != NODE_MAP)
		return fail(c, root, "the configuration must be a mapping of keys (vantage, networks, ...)");
	if (map_keys(c, root, top_keys, TOP_N, "", vals) < 0)
		return -1;
	for (i = 0; i + 1 < root->n; i += 2) {
		struct node *v = root->items[i + 1];

		switch (key_index(top_keys, TOP_N, root->items[i])) {
		case TOP_VANTAGE:
			if (get_name(c, "vantage", v, &cfg->vantage) < 0)
				goto out;
			break;
		case TOP_STORE:
			if (parse_store(c, v) < 0)
				goto out;
			break;
		case TOP_LISTEN:
			if (get_string(c, "listen", v, &cfg->listen) < 0)
				goto out;
			if (strcmp(cfg->listen, "off") != 0 && !listen_valid(cfg->listen)) {
				fail(c, v, "listen: expected \"off\" or ADDRESS:PORT (IPv6 as [::1]:9470), got \"%s\"",
				     clip(&cb, cfg->listen, strlen(cfg->listen)));
				goto out;
			}
			break;
		case TOP_INTERVAL:
			if (get_duration(c, "interval", v, &cfg->interval_ms) < 0)
				goto out;
			break;
		case TOP_TIMEOUT:
			if (get_duration(c, "timeout", v, &cfg->timeout_ms) < 0)
				goto out;
			break;
		case TOP_MAX_PPS:
			if (get_uint(c, "max_pps", v, 1, 10000000, &x) < 0)
				goto out;
			cfg->max_pps = (unsigned)x;
			break;
		case TOP_RETENTION:
			if (get_duration(c, "retention", v, &cfg->retention_ms) < 0)
				goto out;
			break;
		case TOP_DETECT:
			if (parse_detect(c, v) < 0)
				goto out;
			break;
		case TOP_NETWORKS:
			if (expect_seq(c, "networks", v) < 0)
				goto out;
			n = seq_len(v);
			cfg->networks = calloc(n ? n : 1, sizeof *cfg->networks);
			names = calloc(n ? n : 1, sizeof *names);
			if (!cfg->networks || !names) {
				fail(c, v, "out of memory");
				goto out;
			}
			for (j = 0; j < n; j++) {
				cfg->nnetworks++;
				if (parse_network(c, v->items[j], j) < 0)
					goto out;
				names[j].name = cfg->networks[j].name;
				names[j].idx = j;
				names[j].at = map_value(v->items[j], network_keys, NK_N, NK_NAME);
			}
			if (check_unique(c, names, n, "network name", "") < 0)
				goto out;
			break;
		case TOP_CONTROLS:
			if (parse_targets(c, "controls", v, &c->ctl, &c->nctl, &c->capctl, true, CONFIG_NO_NETWORK,
					  " in controls") < 0)
				goto out;
			break;
		case TOP_BGP:
			if (parse_bgp(c, v) < 0)
				goto out;
			break;
		case TOP_ALERTS:
			if (expect_seq(c, "alerts", v) < 0)
				goto out;
			n = seq_len(v);
			cfg->alerts = calloc(n ? n : 1, sizeof *cfg->alerts);
			if (!cfg->alerts) {
				fail(c, v, "out of memory");
				goto out;
			}
			for (j = 0; j < n; j++) {
				cfg->nalerts++;
				if (parse_alert(c, v->items[j], &cfg->alerts[j]) < 0)
					goto out;
			}
			break;
		default:
			break;
		}
	}
	rc = 0;
out:
	free(names);
	return rc;
}

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
		if (!name_valid(host))
			snprintf(host, sizeof host, "localhost");
		cfg->vantage = strdup(host);
	}
	if (!cfg->store)
		cfg->store = strdup("lightsout.db");
	if (!cfg->listen)
		cfg->listen = strdup("127.0.0.1:9470");
	if (!cfg->vantage || !cfg->store || !cfg->listen)
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
	cfg->interval_ms = 60000;
	cfg->timeout_ms = 5000;
	cfg->max_pps = 1000;
	cfg->retention_ms = INT64_C(30) * 86400 * 1000;
	config_detect_defaults(&cfg->detect);
	cfg->path = strdup(c.name);
	if (!cfg->path) {
		fail_at(&c, 1, 1, "out of memory");
		goto out;
	}
	root = build_tree(&c, buf, len);
	if (c.failed)
		goto out;
	if (root && parse_top(&c, root) < 0)
		goto out;
	finish(&c, root);
out:
	node_free(root);
	for (i = 0; i < c.nctl; i++)
		target_free(&c.ctl[i]);
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
	for (i = 0; i < cfg->nnetworks; i++) {
		free(cfg->networks[i].name);
		free(cfg->networks[i].asn);
		free(cfg->networks[i].prefixes);
	}
	free(cfg->networks);
	for (i = 0; i < cfg->ntargets; i++)
		target_free(&cfg->targets[i]);
	free(cfg->targets);
	for (i = 0; i < cfg->bgp.npeers; i++)
		free(cfg->bgp.peers[i].address);
	free(cfg->bgp.peers);
	for (i = 0; i < cfg->bgp.nmrt; i++)
		free(cfg->bgp.mrt[i]);
	free(cfg->bgp.mrt);
	free(cfg->bgp.listen);
	for (i = 0; i < cfg->nalerts; i++) {
		free(cfg->alerts[i].kind);
		free(cfg->alerts[i].url);
		free(cfg->alerts[i].format);
	}
	free(cfg->alerts);
	free(cfg->path);
	free(cfg->vantage);
	free(cfg->store);
	free(cfg->listen);
	free(cfg);
}

/* ---- printing ---- */

/* Characters libyaml reads back unchanged inside a double-quoted scalar;
 * line breaks (NEL, LS, PS) and the BOM are escaped. */
static bool yaml_printable(uint32_t cp)
{
	return (cp >= 0xA0 && cp <= 0xD7FF && cp != 0x2028 && cp != 0x2029) ||
	       (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* Double-quoted and escaped; $ doubled so ${} substitution gives it back. */
static void print_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len = strlen(str);

	fputc('"', out);
	while (i < len) {
		unsigned char ch = s[i];
		uint32_t cp;
		size_t n, k;

		if (ch == '"' || ch == '\\') {
			fputc('\\', out);
			fputc(ch, out);
			i++;
			continue;
		}
		if (ch == '$') {
			fputs("$$", out);
			i++;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f) {
			fprintf(out, "\\x%02x", ch);
			i++;
			continue;
		}
		if (ch < 0x80) {
			fputc(ch, out);
			i++;
			continue;
		}
		n = (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3 : (ch & 0xF8) == 0xF0 ? 4 : 1;
		cp = n == 2 ? ch & 0x1Fu : n == 3 ? ch & 0x0Fu : ch & 0x07u;
		if (n == 1 || len - i < n) {
			/* not reached: values are checked as UTF-8 */
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		for (k = 1; k < n; k++)
			cp = (cp << 6) | (s[i + k] & 0x3Fu);
		if (yaml_printable(cp))
			fwrite(s + i, 1, n, out);
		else if (cp <= 0xFFFF)
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fprintf(out, "\\U%08x", (unsigned)cp);
		i += n;
	}
	fputc('"', out);
}

static void print_duration(FILE *out, int64_t ms)
{
	char buf[32];

	duration_format(ms, buf, sizeof buf);
	fputs(buf, out);
}

/* Shortest form that reads back as the same double. */
static void print_double(FILE *out, double v)
{
	char buf[40];
	int prec;

	if (v == floor(v) && fabs(v) < 1e15) {
		fprintf(out, "%.0f", v);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, out);
}

static const char *bool_name(bool b)
{
	return b ? "true" : "false";
}

static void print_target(FILE *out, const struct target_cfg *t, const char *indent)
{
	size_t i;

	fprintf(out, "%s- {name: ", indent);
	print_str(out, t->name);
	if (t->role != ROLE_CONTROL)
		fprintf(out, ", role: %s", role_name(t->role));
	fprintf(out, ", kind: %s", kind_name(t->kind));
	switch (t->kind) {
	case KIND_ICMP:
	case KIND_TRACE:
	case KIND_TCP:
	case KIND_SMTP:
		fputs(", host: ", out);
		print_str(out, t->host ? t->host : "");
		if (t->kind == KIND_TCP || t->kind == KIND_SMTP)
			fprintf(out, ", port: %u", (unsigned)t->port);
		break;
	case KIND_HTTP:
		fputs(", url: ", out);
		print_str(out, t->url ? t->url : "");
		break;
	case KIND_DNS:
		fputs(", server: ", out);
		print_str(out, t->server ? t->server : "");
		fputs(", query: ", out);
		print_str(out, t->query ? t->query : "");
		break;
	default:
		break;
	}
	fputs(", interval: ", out);
	print_duration(out, t->interval_ms);
	fputs(", timeout: ", out);
	print_duration(out, t->timeout_ms);
	fprintf(out, ", count: %u", t->count);
	if (t->kind == KIND_HTTP) {
		if (t->nstatus > 0) {
			fputs(", status: [", out);
			for (i = 0; i < t->nstatus; i++)
				fprintf(out, "%s%d", i ? ", " : "", t->status[i]);
			fputc(']', out);
		}
		if (t->contains) {
			fputs(", contains: ", out);
			print_str(out, t->contains);
		}
		fprintf(out, ", follow_redirects: %s", bool_name(t->follow_redirects));
	}
	if (t->kind == KIND_DNS) {
		fprintf(out, ", expect_rcode: %s", t->expect_rcode ? t->expect_rcode : "NOERROR");
		if (t->expect) {
			fputs(", expect: ", out);
			print_str(out, t->expect);
		}
		fprintf(out, ", recursion: %s", bool_name(t->recursion));
	}
	if (t->kind == KIND_SMTP && t->expect_banner) {
		fputs(", expect_banner: ", out);
		print_str(out, t->expect_banner);
	}
	fputs("}\n", out);
}

void config_print(const struct config *cfg, FILE *out)
{
	const struct detect_cfg *d = &cfg->detect;
	size_t i, j;
	bool any;

	fputs("vantage: ", out);
	print_str(out, cfg->vantage);
	fputs("\nstore: ", out);
	print_str(out, cfg->store);
	fputs("\nlisten: ", out);
	print_str(out, cfg->listen);
	fputs("\ninterval: ", out);
	print_duration(out, cfg->interval_ms);
	fputs("\ntimeout: ", out);
	print_duration(out, cfg->timeout_ms);
	fprintf(out, "\nmax_pps: %u\nretention: ", cfg->max_pps);
	print_duration(out, cfg->retention_ms);
	fprintf(out,
		"\ndetect:\n  down_after: %u\n  up_after: %u\n  baseline_rounds: %u\n  degraded_loss: ", d->down_after,
		d->up_after, d->baseline_rounds);
	print_double(out, d->degraded_loss);
	fputs("\n  degraded_rtt_factor: ", out);
	print_double(out, d->degraded_rtt_factor);
	fputs("\n  degraded_rtt_min_ms: ", out);
	print_double(out, d->degraded_rtt_min_ms);
	fprintf(out, "\n  stress_lead_rounds: %u\n  abrupt_rounds: %u\n  network_fraction: ", d->stress_lead_rounds,
		d->abrupt_rounds);
	print_double(out, d->network_fraction);
	fputs(cfg->nnetworks ? "\nnetworks:\n" : "\nnetworks: []\n", out);
	for (i = 0; i < cfg->nnetworks; i++) {
		const struct network_cfg *n = &cfg->networks[i];
		char buf[64];

		fputs("  - name: ", out);
		print_str(out, n->name);
		fputs("\n    asn: [", out);
		for (j = 0; j < n->nasn; j++)
			fprintf(out, "%s%u", j ? ", " : "", (unsigned)n->asn[j]);
		fputs("]\n    prefixes: [", out);
		for (j = 0; j < n->nprefixes; j++) {
			prefix_format(&n->prefixes[j], buf, sizeof buf);
			/* "::/0" would read as a flow-mapping key: quote IPv6 */
			fprintf(out, n->prefixes[j].family == AF_INET6 ? "%s\"%s\"" : "%s%s", j ? ", " : "", buf);
		}
		fputs("]\n", out);
		any = false;
		for (j = 0; j < cfg->ntargets; j++) {
			if (cfg->targets[j].network != i)
				continue;
			if (!any)
				fputs("    targets:\n", out);
			any = true;
			print_target(out, &cfg->targets[j], "      ");
		}
		if (!any)
			fputs("    targets: []\n", out);
	}
	any = false;
	for (j = 0; j < cfg->ntargets; j++) {
		if (cfg->targets[j].network != CONFIG_NO_NETWORK)
			continue;
		if (!any)
			fputs("controls:\n", out);
		any = true;
		print_target(out, &cfg->targets[j], "  ");
	}
	if (!any)
		fputs("controls: []\n", out);
	if (cfg->bgp.present) {
		fputs(cfg->bgp.npeers ? "bgp:\n  peers:\n" : "bgp:\n  peers: []\n", out);
		for (i = 0; i < cfg->bgp.npeers; i++) {
			const struct bgp_peer_cfg *p = &cfg->bgp.peers[i];

			fputs("    - {address: ", out);
			print_str(out, p->address);
			fprintf(out, ", remote_as: %u, local_as: %u, port: %u, passive: %s, hold_time: ",
				(unsigned)p->remote_as, (unsigned)p->local_as, (unsigned)p->port,
				bool_name(p->passive));
			print_duration(out, p->hold_time_ms);
			fputs("}\n", out);
		}
		fputs(cfg->bgp.nmrt ? "  mrt:\n" : "  mrt: []\n", out);
		for (i = 0; i < cfg->bgp.nmrt; i++) {
			fputs("    - ", out);
			print_str(out, cfg->bgp.mrt[i]);
			fputc('\n', out);
		}
		if (cfg->bgp.listen) {
			fputs("  listen: ", out);
			print_str(out, cfg->bgp.listen);
			fputc('\n', out);
		}
	}
	fputs(cfg->nalerts ? "alerts:\n" : "alerts: []\n", out);
	for (i = 0; i < cfg->nalerts; i++) {
		const struct alert_cfg *a = &cfg->alerts[i];

		/* kind and format are checked words */
		fprintf(out, "  - {kind: %s, url: ", a->kind);
		print_str(out, a->url);
		fprintf(out, ", format: %s, max_age: ", a->format);
		print_duration(out, a->max_age_ms);
		fputs("}\n", out);
	}
}
