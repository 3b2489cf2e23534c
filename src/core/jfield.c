#include "core/jfield.h"

#include "core/timeutil.h"

const char *jfield_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int64_t jfield_time(json_t *o, const char *key)
{
	int64_t ms;
	const char *s = json_string_value(json_object_get(o, key));
	if (s == NULL || rfc3339_parse(s, &ms) != 0)
		return -1;
	return ms;
}
