/* Reading fields of our own JSON documents (incidents, status): a
 * missing or mistyped field reads as "" or -1, never as NULL. */
#ifndef LIGHTSOUT_JFIELD_H
#define LIGHTSOUT_JFIELD_H

#include <jansson.h>
#include <stdint.h>

/* The string at key, or "" if absent or not a string. */
const char *jfield_str(json_t *o, const char *key);
/* The RFC 3339 time at key in epoch ms, or -1 if absent or malformed. */
int64_t jfield_time(json_t *o, const char *key);

#endif
