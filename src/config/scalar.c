/* Scalars: ${NAME} substitution, then text checks (UTF-8, no NUL or
 * control characters), then the plain types every key is made of. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "config/values.h"
#include "core/timeutil.h"

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
	struct value_clip cb;
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
				     value_clip(&cb, n->text, n->len));
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
const char *scalar(struct ctx *c, const char *key, struct node *v, const char *want)
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

int get_string(struct ctx *c, const char *key, struct node *v, char **out)
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

int get_uint(struct ctx *c, const char *key, struct node *v, uint64_t min, uint64_t max, uint64_t *out)
{
	struct value_clip cb;
	const char *s = scalar(c, key, v, "an integer");

	if (!s)
		return -1;
	if (value_u64(s, out) < 0) {
		if (s[0] == '0' && s[1] && s[strspn(s, "0123456789")] == '\0')
			return fail(c, v, "%s: expected an integer without leading zeros, got \"%s\"", key,
				    value_clip(&cb, s, strlen(s)));
		if (*s && s[strspn(s, "0123456789")] == '\0')
			return fail(c, v, "%s: must be between %llu and %llu, got %s", key, (unsigned long long)min,
				    (unsigned long long)max, value_clip(&cb, s, strlen(s)));
		return fail(c, v, "%s: expected an integer, got \"%s\"", key, value_clip(&cb, s, strlen(s)));
	}
	if (*out < min || *out > max)
		return fail(c, v, "%s: must be between %llu and %llu, got %llu", key, (unsigned long long)min,
			    (unsigned long long)max, (unsigned long long)*out);
	return 0;
}

/* lo_open: lo itself is excluded. */
int get_double(struct ctx *c, const char *key, struct node *v, double lo, bool lo_open, double hi, double *out)
{
	struct value_clip cb;
	const char *s = scalar(c, key, v, "a number");
	char *end;
	double x;

	if (!s)
		return -1;
	errno = 0;
	x = strtod(s, &end);
	if (!*s || s[strspn(s, "0123456789.eE+-")] != '\0' || *end != '\0' || errno != 0 || !isfinite(x))
		return fail(c, v, "%s: expected a number, got \"%s\"", key, value_clip(&cb, s, strlen(s)));
	if ((lo_open ? x <= lo : x < lo) || x > hi)
		return fail(c, v, "%s: must be in %s%g, %g], got %s", key, lo_open ? "(" : "[", lo, hi,
			    value_clip(&cb, s, strlen(s)));
	*out = x;
	return 0;
}

int get_bool(struct ctx *c, const char *key, struct node *v, bool *out)
{
	struct value_clip cb;
	const char *s = scalar(c, key, v, "true or false");

	if (!s)
		return -1;
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		*out = false;
	else
		return fail(c, v, "%s: expected true or false, got \"%s\"", key, value_clip(&cb, s, strlen(s)));
	return 0;
}

int get_duration(struct ctx *c, const char *key, struct node *v, int64_t *out)
{
	struct value_clip cb;
	const char *s = scalar(c, key, v, "a duration");
	int rc;

	if (!s)
		return -1;
	if ((rc = duration_parse_ms(s, out)) == 0)
		return 0;
	if (rc == DURATION_ZERO)
		return fail(c, v, "%s: %s", key, duration_why(rc));
	return fail(c, v, "%s: %s \"%s\" (%s)", key, duration_why(rc), value_clip(&cb, s, strlen(s)), DURATION_HINT);
}
