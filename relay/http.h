/* http.h: HTTPS requests to an SMS gateway, an OAuth2 token endpoint and
 * Microsoft Graph (libcurl). The only file that sees
 * libcurl. Certificate verification is always on; plain http is accepted only
 * for a loopback host; response bodies are capped; every request has a
 * connect timeout and a total timeout; VERBOSE is never turned on (it would
 * log credentials). */
#ifndef RELAY_HTTP_H
#define RELAY_HTTP_H

#include <stddef.h>

struct http_settings {
	const char *base_url; /* "https://api.twilio.com" (no trailing slash needed) */
	const char *username; /* HTTP Basic; NULL: no auth */
	const char *password;
	const char *ca_file; /* NULL: system store */
	int timeout;         /* seconds, whole request; connect timeout is min(timeout, 10) */
	size_t max_body;     /* response bodies larger than this fail the request; 0: 4 MiB */
};

struct http; /* opaque: one keep-alive connection pool */

struct http_response {
	long status; /* HTTP status, 0 when no response */
	char *body;  /* owned, NUL-terminated (may contain NULs before len) */
	size_t len;
	char *total_count; /* owned: X-Total-Count header value, NULL when absent */
	char *retry_after; /* owned: Retry-After header value, NULL when absent */
};

/* Validates the settings (https, or http on loopback only). 0 or -1 with err. */
int http_open(const struct http_settings *s, struct http **out, char *err, size_t errlen);
void http_close(struct http *h); /* accepts NULL */

/* The OAuth2 access token sent as "Authorization: Bearer" with every later
 * request on h (Microsoft Graph), or NULL for none. Copied; wiped when
 * replaced and by http_close. Never logged. */
void http_set_bearer(struct http *h, const char *token);

/* One request. path is appended to base_url ("/2010-04-01/..."), query string
 * included. body may be NULL. content_type e.g. "application/x-www-form-urlencoded".
 * Returns 0 when a response arrived (whatever its status: read resp->status),
 * -1 on a transport failure (connect, TLS verification, timeout, dropped
 * connection, body too large) with err. Free resp with http_response_free. */
int http_request(struct http *h, const char *method, const char *path, const char *content_type, const char *body,
                 size_t len, struct http_response *resp, char *err, size_t errlen);
void http_response_free(struct http_response *r);

/* After http_request returned -1: 1 when the request had gone out before it
 * failed (no answer in time, a dropped or over-long answer), so the server
 * may have acted on it; 0 when it never left (no connection, TLS refused) or
 * the last request was answered. A send that fails so must be looked up
 * before it is made again. */
int http_may_have_arrived(const struct http *h);

/* The whole-request limit for the requests that follow, in seconds (the
 * connect timeout stays min(limit, 10)); 0 goes back to the settings' timeout. */
void http_set_timeout(struct http *h, int seconds);

/* Percent-encodes s for a query string or form body. Owned result. */
char *http_urlencode(const char *s);

#endif
