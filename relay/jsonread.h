/* jsonread.h: strict reading of gateway JSON responses (json-c), shared by
 * the JSON providers (sms_twilio.c, sms_android.c). */
#ifndef RELAY_JSONREAD_H
#define RELAY_JSONREAD_H

#include <json-c/json.h>
#include <stddef.h>

/* Parses exactly len bytes as one JSON value; trailing bytes other than white
 * space are an error. Owned result (json_object_put), NULL with err. */
struct json_object *jsonread_parse(const char *s, size_t len, char *err, size_t errlen);

/* The string member key of o, or NULL when absent, null or not a string
 * (json_object_get_string would turn a number or object into text). Borrowed;
 * *len (may be NULL) gets its length. */
const char *jsonread_str(struct json_object *o, const char *key, size_t *len);

/* An owned, valid-UTF-8 copy of a string member (NULs dropped), or NULL. */
char *jsonread_dup(struct json_object *o, const char *key);

#endif
