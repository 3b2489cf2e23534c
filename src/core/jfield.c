#include "core/jfield.h"

#include "core/timeutil.h"

json_t *jfield_parse(const char *text)
{
	return text ? json_loads(text, 0, NULL) : NULL;
}

json_int_t jfield_int(json_t *o, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

double jfield_num(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

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
