/* Incident documents (SPEC.md "Report (JSON)") rendered for people:
 * a text story, the JSON report, a self-contained HTML page with an SVG
 * timeline per incident.  Everything that came from the network or the
 * configuration is escaped. */
#ifndef LIGHTSOUT_RENDER_RENDER_H
#define LIGHTSOUT_RENDER_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/model.h"

struct config;

/* Per-round signals of one network around one incident, for the SVG. */
struct render_series {
	int64_t t0_ms, step_ms;
	size_t n;
	bool role_present[ROLE_COUNT];
	uint16_t *seen[ROLE_COUNT], *ok[ROLE_COUNT];
	double *loss_sum, *rtt_sum;
	uint32_t *answered;
};

/* Rounds of cfg's interval over [from_ms, to_ms); NULL on bad input. */
struct render_series *render_series_new(const struct config *cfg, size_t network, int64_t from_ms, int64_t to_ms);
/* n empty rounds of step_ms from t0_ms for network's roles (a timeline
 * filled by the caller); NULL on bad input or no memory. */
struct render_series *render_series_alloc(const struct config *cfg, size_t network, int64_t t0_ms, int64_t step_ms,
					  size_t n);
/* Adds one measurement (ignored if outside the window or the network). */
void render_series_add(struct render_series *s, const struct config *cfg, size_t network, const struct measurement *m);
void render_series_free(struct render_series *s);

/* A plot area of an SVG: time across [t0, t1] from left over width, values
 * up [0, ymax] from top + height; the report's timelines and the
 * dashboard's charts place every point through it. */
struct render_plot {
	double left, top, width, height;
	int64_t t0, t1;
	double ymax;
};
/* x of time t, clamped into the plot (left when the span is empty). */
double render_plot_x(const struct render_plot *p, int64_t t);
/* y of value v, clamped to [0, ymax]; NaN (no data) reads as 0. */
double render_plot_y(const struct render_plot *p, double v);

/* The length of a round, so the story tells falls within abrupt_rounds
 * as simultaneous and the rest as progressive.  Set once per process from
 * the configuration (default: 60 s rounds). */
void render_set_round(int64_t round_ms, unsigned abrupt_rounds);
/* The story of one incident: a paragraph, then its timeline. */
void render_incident_text(FILE *out, json_t *incident);
/* render_incident_text as a malloc'd string, or only its first paragraph
 * (the story without the timeline); NULL if out of memory. */
char *render_incident_string(json_t *incident, bool first_paragraph);
/* {"vantage", "generated", "incidents"}; takes a reference to incidents. */
json_t *render_report_json(const char *vantage, int64_t generated_ms, json_t *incidents);
/* One HTML page; series[i] for incidents[i] (NULL entries allowed). */
void render_html(FILE *out, const char *vantage, int64_t generated_ms, json_t *incidents,
		 struct render_series *const *series);
/* HTML text and attribute values: & < > " ' (control bytes dropped); plain
 * runs are written in one call. */
void render_html_escape(FILE *out, const char *s);

#endif
