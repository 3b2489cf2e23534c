/* Shared by the files of src/config, not by the rest of the program:
 * the tree libyaml's events are built into, the parse context with its
 * one error, and the scalar readers every key goes through. */
#ifndef LIGHTSOUT_CONFIG_INTERNAL_H
#define LIGHTSOUT_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* 64 MiB: a generated configuration of every /24 of a country (~1M
 * targets) still fits; larger is a mistake, not a configuration. */
#define CONFIG_MAX_BYTES  (64u << 20)
#define CONFIG_MAX_DEPTH  16
#define CONFIG_MAX_SUBST  (16u << 20) /* bytes that ${} substitution may add per file */
#define CONFIG_MAX_STATUS 100

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

/* tree.c */
int fail_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define fail(c, node, ...) fail_at((c), (node)->line, (node)->col, __VA_ARGS__)
struct node *build_tree(struct ctx *c, const char *buf, size_t len);
void node_free(struct node *n);
const char *type_name(const struct node *n);

/* scalar.c: each reads scalar v of key, or fails at v and returns -1 */
const char *scalar(struct ctx *c, const char *key, struct node *v, const char *want);
int get_string(struct ctx *c, const char *key, struct node *v, char **out);
int get_uint(struct ctx *c, const char *key, struct node *v, uint64_t min, uint64_t max, uint64_t *out);
/* lo_open: lo itself is excluded. */
int get_double(struct ctx *c, const char *key, struct node *v, double lo, bool lo_open, double hi, double *out);
int get_bool(struct ctx *c, const char *key, struct node *v, bool *out);
int get_duration(struct ctx *c, const char *key, struct node *v, int64_t *out);

/* ---- the schema (schema.c): one descriptor per key ---- */

enum ftype {
	T_STRING,   /* char *, not empty, and as .check accepts it */
	T_WORD,     /* char *, the canonical spelling of one of .words or of .canon */
	T_ENUM,     /* int, .from_name below .max (.to_name prints it) */
	T_UINT,     /* unsigned of .size bytes in [.min, .max] */
	T_DOUBLE,   /* double in [.lo or (.lo with .lo_open, .hi] */
	T_BOOL,     /* bool */
	T_DURATION, /* int64_t ms; with .max: whole seconds in [.min, .max] */
	T_PREFIX,   /* struct prefix */
	T_LIST,     /* items as .item, array at .offset, size_t count at .count */
	T_MAP,      /* the struct at .offset, keys as .sub */
	T_TARGETS,  /* a network's targets or the controls, into cfg->targets */
};

enum {
	F_REQ = 1u << 0,     /* a missing key is an error */
	F_EARLY = 1u << 1,   /* read before the other keys (identity, kind) */
	F_LABEL = 1u << 2,   /* names the mapping in messages */
	F_KIND = 1u << 3,    /* the target kind: decides the other keys */
	F_FLOW = 1u << 4,    /* T_LIST: printed in flow style */
	F_OMIT = 1u << 5,    /* T_LIST: not printed when empty */
	F_CONTROL = 1u << 6, /* T_TARGETS: the controls */
};

struct schema;

struct field {
	const char *key;
	enum ftype type;
	unsigned flags;
	unsigned kinds;    /* targets: kinds that may have the key, 0 = all */
	unsigned required; /* targets: kinds that must have it */
	size_t offset, size;
	uint64_t min, max; /* T_UINT, T_DURATION; T_LIST: number of items */
	double lo, hi;     /* T_DOUBLE */
	bool lo_open;
	uint64_t def;             /* default of T_UINT, T_DURATION, T_ENUM (0 = none) */
	const uint64_t *def_kind; /* targets' T_UINT: the default by kind (KIND_COUNT of them, 0 = none) */
	double defd;              /* of T_DOUBLE */
	const char *defs;         /* of strings */
	const char *want;         /* in "expected WANT": T_WORD, T_ENUM */
	const char *noun;         /* "unknown NOUN": T_WORD, T_ENUM; T_LIST: item, for "duplicate NOUN" too */
	const char *hint;         /* T_WORD, T_ENUM: the words, in "unknown NOUN \"x\" (HINT)" */
	int (*check)(const char *s, char *why, size_t len); /* T_STRING: values.h's checks */
	const char *const *words;                           /* T_WORD */
	const char *(*canon)(const char *);                 /* T_WORD without words */
	int (*from_name)(const char *);                     /* T_ENUM */
	const char *(*to_name)(int);                        /* T_ENUM */
	const struct field *item;                           /* T_LIST */
	size_t count;                                       /* T_LIST */
	const struct schema *sub;                           /* T_MAP, and T_LIST of mappings */
};

enum {
	S_NULL_OK = 1u << 0, /* an empty value is an empty mapping */
	S_FLOW = 1u << 1,    /* items printed in flow style, one per line */
};

struct schema {
	const char *what; /* "target": "target \"x\": missing key ...", "unknown key \"k\" in target" */
	const struct field *fields;
	size_t n;
	size_t size;        /* of one item of a list */
	unsigned flags;     /* S_* */
	size_t pos;         /* of its struct config_pos, 0 = none */
	size_t present;     /* of a bool set when the mapping is written, 0 = none */
	const char *unique; /* key whose value is unique within a list */
	/* after the early keys, before the others */
	int (*early)(struct ctx *c, const struct node *m, void *obj, struct node *const vals[], bool control);
};

#define SCHEMA_MAX_FIELDS 24 /* keys of the largest mapping (a target's 18) and room */

extern const struct schema config_schema, config_target_schema;

/* Fills the defaults of s into obj (strings only where NULL); kind < 0:
 * every key, else only those of that target kind. */
int schema_defaults(const struct schema *s, void *obj, int kind);
/* T_UINT and T_DURATION values of f's size at at. */
void field_set_uint(const struct field *f, void *at, uint64_t v);
uint64_t field_get_uint(const struct field *f, const void *at);
/* Reads root (a mapping, or null) into cfg. */
int schema_parse(struct ctx *c, struct node *root);
/* Frees what s's keys own in obj. */
void schema_free(const struct schema *s, void *obj);

#endif
