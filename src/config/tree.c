/* YAML events to a small bounded tree: one document, no aliases, no
 * tags, at most CONFIG_MAX_DEPTH levels, keys plain scalars.  Every node
 * keeps its position so that each error can point at it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/internal.h"
#include "config/values.h"

int fail_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
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

void node_free(struct node *n)
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

const char *type_name(const struct node *n)
{
	return n->type == NODE_SEQ ? "a list" : n->type == NODE_MAP ? "a mapping" : "a scalar";
}

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
	struct value_clip cb;
	struct node *n;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++ > 0)
			return fail_at(c, line, col, "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT: {
		const char *a = (const char *)ev->data.alias.anchor;

		return fail_at(c, line, col, "aliases are not supported (*%s): write the value out",
			       value_clip(&cb, a, strlen(a)));
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

struct node *build_tree(struct ctx *c, const char *buf, size_t len)
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
