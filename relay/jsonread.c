/* jsonread.c: reading gateway JSON with json-c, strictly. */
#include "jsonread.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>

#include "util.h"

/* Parses exactly len bytes as one JSON value; trailing bytes other than
 * white space are an error. Owned result (json_object_put), NULL with err. */
struct json_object *jsonread_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t end;

	if (!s || len == 0) {
		snprintf(err, errlen, "empty response");
		return NULL;
	}
	if (len > INT_MAX) {
		snprintf(err, errlen, "response too large");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, s, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || e != json_tokener_success) {
		snprintf(err, errlen, "response is not JSON (%s)",
		         e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
		json_object_put(o);
		return NULL;
	}
	for (; end < len; end++) {
		if (!isspace((unsigned char)s[end])) {
			snprintf(err, errlen, "response has data after the JSON");
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* The string member key of o, or NULL when absent, null or not a string
 * (json_object_get_string would turn a number or object into text). */
const char *jsonread_str(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* An owned, valid-UTF-8 copy of a string member (NULs dropped), or NULL. */
char *jsonread_dup(struct json_object *o, const char *key)
{
	size_t len = 0;
	const char *s = jsonread_str(o, key, &len);

	return s ? utf8_sanitize(s, len) : NULL;
}
