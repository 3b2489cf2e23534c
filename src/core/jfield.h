/* Reading fields of our own JSON documents (incidents, status): a
 * missing or mistyped field reads as "" or -1, never as NULL. */
#ifndef LIGHTSOUT_JFIELD_H
#define LIGHTSOUT_JFIELD_H

#include <jansson.h>
#include <stdint.h>

/* Our own document's text (an incident, watch's "bgp" status) read; NULL
 * for NULL text or text that is not JSON. */
json_t *jfield_parse(const char *text);
/* The string at key, or "" if absent or not a string. */
const char *jfield_str(json_t *o, const char *key);
/* The integer at key, or dflt if absent or not an integer. */
json_int_t jfield_int(json_t *o, const char *key, json_int_t dflt);
/* The number (integer or real) at key, or dflt if absent or not a number. */
double jfield_num(json_t *o, const char *key, double dflt);
/* The RFC 3339 time at key in epoch ms, or -1 if absent or malformed. */
int64_t jfield_time(json_t *o, const char *key);

#endif
