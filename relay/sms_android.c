/* sms_android.c: "SMS Gateway for Android" (capcom6), local-server mode:
 * the service's own phone answers HTTP Basic requests on the local network.
 *
 * The inbox is listed newest first (createdAt DESC) and paged by offset
 * until X-Total-Count (or a short page without it); the "from" filter is
 * inclusive, so the newest text comes again next time and
 * the caller de-duplicates on id. Texts arriving while we page push older
 * ones down a page: we may see some twice, never miss one. */
#include "jsonread.h"
#include "sms_android.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"
#include "util.h"

#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE 500 /* the app refuses larger limits */
#define MAX_PAGES 1000


/* --- pure parsing ------------------------------------------------------------ */

static int read_num(const char **p, int digits, int *out)
{
	int i, v = 0;

	for (i = 0; i < digits; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += digits;
	*out = v;
	return 0;
}

int android_parse_time(const char *s, long long *out)
{
	const char *p = s;
	struct tm tm;
	int year, mon, day, hour, min, sec = 0, zh = 0, zm = 0, zone = 0;
	time_t t;

	if (!s)
		return -1;
	if (read_num(&p, 4, &year) < 0 || *p++ != '-' || read_num(&p, 2, &mon) < 0 || *p++ != '-' ||
	    read_num(&p, 2, &day) < 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (read_num(&p, 2, &hour) < 0 || *p++ != ':' || read_num(&p, 2, &min) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if (read_num(&p, 2, &sec) < 0)
			return -1;
		if (*p == '.' || *p == ',') { /* fractions: kept to the second */
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (read_num(&p, 2, &zh) < 0)
			return -1;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p) && read_num(&p, 2, &zm) < 0)
			return -1;
		if (zh > 23 || zm > 59)
			return -1;
		zone = sign * (zh * 3600 + zm * 60);
	}
	if (*p != '\0')
		return -1;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return -1;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != day) /* 31 Feb normalises into March: refuse */
		return -1;
	*out = (long long)t - zone;
	return 0;
}

enum sms_delivery android_delivery(const char *state)
{
	if (!state)
		return SMS_DELIVERY_UNKNOWN;
	if (strcmp(state, "Pending") == 0 || strcmp(state, "Processed") == 0)
		return SMS_DELIVERY_QUEUED;
	if (strcmp(state, "Sent") == 0)
		return SMS_DELIVERY_SENT;
	if (strcmp(state, "Delivered") == 0)
		return SMS_DELIVERY_DELIVERED;
	if (strcmp(state, "Failed") == 0)
		return SMS_DELIVERY_FAILED;
	return SMS_DELIVERY_UNKNOWN;
}

void android_strings_free(char **s, size_t n)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

int android_parse_inbox(const char *json, size_t len, struct sms_text **texts, size_t *n, char ***created, size_t *count,
                        char *err, size_t errlen)
{
	struct json_object *root;
	struct sms_text *out = NULL;
	char **when = NULL;
	size_t i, total, kept = 0, skipped = 0;
	char why[128];

	*texts = NULL;
	*n = 0;
	*count = 0;
	if (created)
		*created = NULL;
	root = jsonread_parse(json, len, why, sizeof why);
	if (!root) {
		snprintf(err, errlen, "android gateway: inbox: %s", why);
		return -1;
	}
	if (!json_object_is_type(root, json_type_array)) {
		snprintf(err, errlen, "android gateway: inbox is not a JSON array");
		json_object_put(root);
		return -1;
	}
	total = json_object_array_length(root);
	out = xcalloc(total ? total : 1, sizeof *out);
	when = xcalloc(total ? total : 1, sizeof *when);
	for (i = 0; i < total; i++) {
		struct json_object *m = json_object_array_get_idx(root, i), *idv = NULL;
		const char *type = jsonread_str(m, "type", NULL), *sender = jsonread_str(m, "sender", NULL);
		const char *at = jsonread_str(m, "createdAt", NULL);
		char *id = NULL, *raw;
		long long t = 0;

		if (type && strcmp(type, "SMS") != 0)
			continue;
		/* The id is a string in the app; take a number too rather than lose a text. */
		if (!json_object_object_get_ex(m, "id", &idv))
			idv = NULL;
		if (idv && json_object_is_type(idv, json_type_string))
			id = jsonread_dup(m, "id");
		else if (idv && json_object_is_type(idv, json_type_int))
			id = xasprintf("%lld", (long long)json_object_get_int64(idv));
		if (!id || *id == '\0' || !sender || *sender == '\0' || !at || *at == '\0') {
			free(id);
			skipped++;
			continue;
		}
		raw = xasprintf("%s|%s|%s", id, sender, at);
		free(id);
		out[kept].id = utf8_sanitize(raw, strlen(raw));
		free(raw);
		out[kept].from = jsonread_dup(m, "sender");
		out[kept].to = jsonread_dup(m, "recipient");
		out[kept].body = jsonread_dup(m, "contentPreview");
		if (!out[kept].body)
			out[kept].body = xstrdup("");
		if (android_parse_time(at, &t) < 0)
			t = 0;
		out[kept].received_at = t;
		when[kept] = xstrdup(at);
		kept++;
	}
	json_object_put(root);
	if (skipped)
		log_warn("android gateway: skipped %zu inbox entr%s without an id, sender or time", skipped,
		         skipped == 1 ? "y" : "ies");
	*texts = out;
	*n = kept;
	*count = total;
	if (created)
		*created = when;
	else
		android_strings_free(when, kept);
	return 0;
}

int android_parse_sent(const char *json, size_t len, struct sms_text **texts, size_t *n, size_t *count, char *err,
                       size_t errlen)
{
	struct json_object *root;
	struct sms_text *out = NULL;
	size_t total, kept = 0;
	char why[128];

	*texts = NULL;
	*n = 0;
	*count = 0;
	root = jsonread_parse(json, len, why, sizeof why);
	if (!root) {
		snprintf(err, errlen, "android gateway: messages: %s", why);
		return -1;
	}
	if (!json_object_is_type(root, json_type_array)) {
		snprintf(err, errlen, "android gateway: messages is not a JSON array");
		json_object_put(root);
		return -1;
	}
	total = json_object_array_length(root);
	for (size_t i = 0; i < total; i++) {
		struct json_object *m = json_object_array_get_idx(root, i), *tm = NULL, *rcpts = NULL;
		const char *id = jsonread_str(m, "id", NULL);
		long long t = 0;

		if (!id || *id == '\0' || !json_object_object_get_ex(m, "recipients", &rcpts) ||
		    !json_object_is_type(rcpts, json_type_array))
			continue;
		if (android_parse_time(jsonread_str(m, "createdAt", NULL), &t) < 0)
			t = 0;
		if (!json_object_object_get_ex(m, "textMessage", &tm) || !json_object_is_type(tm, json_type_object))
			tm = NULL;
		for (size_t k = 0; k < json_object_array_length(rcpts); k++) {
			char *number = jsonread_dup(json_object_array_get_idx(rcpts, k), "phoneNumber");
			char *body = tm ? jsonread_dup(tm, "text") : NULL;

			if (!number) {
				free(body);
				continue;
			}
			out = xrealloc(out, (kept + 1) * sizeof *out);
			memset(&out[kept], 0, sizeof *out);
			out[kept].id = jsonread_dup(m, "id");
			out[kept].to = number;
			out[kept].body = body ? body : xstrdup("");
			out[kept].received_at = t;
			kept++;
		}
	}
	json_object_put(root);
	*texts = out;
	*n = kept;
	*count = total;
	return 0;
}

int android_parse_message(const char *json, size_t len, char **id, enum sms_delivery *d, char *err, size_t errlen)
{
	struct json_object *root, *recipients;
	const char *s, *state;
	char why[128];

	*id = NULL;
	if (d)
		*d = SMS_DELIVERY_UNKNOWN;
	root = jsonread_parse(json, len, why, sizeof why);
	if (!root) {
		snprintf(err, errlen, "android gateway: message: %s", why);
		return -1;
	}
	s = jsonread_str(root, "id", NULL);
	if (!s || *s == '\0') {
		snprintf(err, errlen, "android gateway: message has no id");
		json_object_put(root);
		return -1;
	}
	*id = jsonread_dup(root, "id");
	state = jsonread_str(root, "state", NULL);
	if (!state && json_object_object_get_ex(root, "recipients", &recipients) &&
	    json_object_is_type(recipients, json_type_array) && json_object_array_length(recipients) > 0)
		state = jsonread_str(json_object_array_get_idx(recipients, 0), "state", NULL);
	if (d)
		*d = android_delivery(state);
	json_object_put(root);
	return 0;
}

char *android_send_body(const char *to, const char *text)
{
	struct json_object *root = json_object_new_object(), *msg = json_object_new_object();
	struct json_object *numbers = json_object_new_array();
	char *out;

	json_object_object_add(msg, "text", json_object_new_string(text ? text : ""));
	json_object_object_add(root, "textMessage", msg);
	json_object_array_add(numbers, json_object_new_string(to ? to : ""));
	json_object_object_add(root, "phoneNumbers", numbers);
	json_object_object_add(root, "withDeliveryReport", json_object_new_boolean(1));
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}

/* --- the provider ------------------------------------------------------------- */

/* The app's {"message": "..."} refusal, when it is short plain text that
 * cannot be quoting a phone number or a text; else "". */
static void refusal_reason(const struct http_response *resp, char *out, size_t outlen)
{
	struct json_object *root;
	const char *m;
	char why[64];
	size_t i, digits = 0;

	out[0] = '\0';
	root = jsonread_parse(resp->body, resp->len, why, sizeof why);
	m = root ? jsonread_str(root, "message", NULL) : NULL;
	if (m && strlen(m) < 100 && strlen(m) + 3 < outlen) {
		for (i = 0; m[i]; i++) {
			digits = isdigit((unsigned char)m[i]) ? digits + 1 : 0;
			if (digits >= 5 || m[i] == '@' || (unsigned char)m[i] < 0x20 || (unsigned char)m[i] > 0x7e)
				break;
		}
		if (m[i] == '\0')
			snprintf(out, outlen, ": %s", m);
	}
	json_object_put(root);
}

/* One request; a non-2xx answer becomes a class and err. resp is kept on
 * SMS_OK only (free it with http_response_free either way). */
static enum sms_result call(struct sms_gateway *g, const char *method, const char *path, const char *body,
                            struct http_response *resp, char *err, size_t errlen)
{
	char why[256], reason[128];
	enum sms_result r;

	if (http_request(g->http, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0, resp, why,
	                 sizeof why) < 0) {
		snprintf(err, errlen, "android gateway: %s", why);
		return SMS_TEMPORARY;
	}
	r = sms_classify_status(resp->status);
	if (r == SMS_OK)
		return SMS_OK;
	refusal_reason(resp, reason, sizeof reason);
	snprintf(err, errlen, "android gateway: %s (HTTP %ld%s)",
	         r == SMS_AUTH        ? "credentials refused"
	         : r == SMS_TEMPORARY ? "try later"
	                              : "refused",
	         resp->status, reason);
	http_response_free(resp);
	return r;
}


static enum sms_result android_fetch(struct sms_gateway *g, const char *cursor, struct sms_text **texts, size_t *n,
                                     char **next_cursor, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	struct sms_text *all = NULL, *page = NULL;
	char **when = NULL, *from = NULL, *path = NULL, *newest_at = NULL;
	size_t count = 0, cap = 0, got = 0, listed = 0, offset = 0, pages = 0, i;
	long long newest = 0, total = -1;
	int limit = g->settings.page_size > 0 ? g->settings.page_size : DEFAULT_PAGE_SIZE;
	enum sms_result r;

	*texts = NULL;
	*n = 0;
	*next_cursor = NULL;
	if (cursor) {
		long long t;

		if (android_parse_time(cursor, &t) < 0) {
			snprintf(err, errlen, "android gateway: stored cursor is not an ISO 8601 time");
			return SMS_PERMANENT;
		}
		from = http_urlencode(cursor); /* "+03:00": an unencoded + is a space */
	}
	if (limit > MAX_PAGE_SIZE)
		limit = MAX_PAGE_SIZE;

	for (;;) {
		char why[256];

		if (++pages > MAX_PAGES) {
			log_warn("android gateway: inbox longer than %d pages: stopped there", MAX_PAGES);
			break;
		}
		free(path);
		if (from)
			path = xasprintf("/inbox?type=SMS&limit=%d&offset=%zu&from=%s", limit, offset, from);
		else
			path = xasprintf("/inbox?type=SMS&limit=%d&offset=%zu", limit, offset);
		r = call(g, "GET", path, NULL, &resp, err, errlen);
		if (r != SMS_OK)
			goto fail;
		if (android_parse_inbox(resp.body, resp.len, &page, &got, &when, &listed, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			r = SMS_TEMPORARY;
			goto fail;
		}
		if (resp.total_count) {
			char *end;
			long long v = strtoll(resp.total_count, &end, 10);

			if (end != resp.total_count && *end == '\0' && v >= 0)
				total = v;
		}
		http_response_free(&resp);

		for (i = 0; i < got; i++) {
			if (page[i].received_at > newest) {
				newest = page[i].received_at;
				free(newest_at);
				newest_at = when[i];
				when[i] = NULL;
			}
		}
		android_strings_free(when, got);
		when = NULL;
		if (count + got > cap) {
			cap = (count + got) * 2;
			all = xrealloc(all, cap * sizeof *all);
		}
		if (got) /* all may still be NULL: memcpy(NULL, .., 0) is undefined */
			memcpy(all + count, page, got * sizeof *all);
		count += got;
		free(page); /* its strings now belong to all */
		page = NULL;

		/* X-Total-Count decides when present: a server may serve less than
		 * the limit asked for. Without it, a short page is the last. */
		offset += listed;
		if (listed == 0 || (total >= 0 && offset >= (unsigned long long)total) ||
		    (total < 0 && listed < (size_t)limit))
			break;
	}

	sms_texts_oldest_first(all, count);
	*texts = all;
	*n = count;
	*next_cursor = newest_at;
	all = NULL;
	newest_at = NULL;
	r = SMS_OK;

fail:
	http_response_free(&resp);
	sms_texts_free(all, count);
	free(newest_at);
	free(path);
	free(from);
	return r;
}

static enum sms_result android_acknowledge(struct sms_gateway *g, const struct sms_text *t, char *err, size_t errlen)
{
	(void)g;
	(void)t;
	(void)err;
	(void)errlen;
	return SMS_OK; /* the local API keeps no read flag */
}

static enum sms_result android_send(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id,
                                    char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	char *body, why[256];
	enum sms_result r;

	(void)unicode; /* the phone picks the encoding */
	*id = NULL;
	body = android_send_body(to, text);
	r = call(g, "POST", "/message", body, &resp, err, errlen);
	if (r == SMS_OK && android_parse_message(resp.body, resp.len, id, NULL, why, sizeof why) < 0) {
		/* The phone took it (2xx): sending again would send it twice. */
		log_warn("android gateway: text accepted (HTTP %ld) but %s: its delivery cannot be followed", resp.status,
		         why);
		*id = NULL;
	}
	http_response_free(&resp);
	free(body);
	return r;
}

static enum sms_result android_status(struct sms_gateway *g, const char *id, enum sms_delivery *d, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	char *eid, *path, *got = NULL, why[256];
	enum sms_result r;

	*d = SMS_DELIVERY_UNKNOWN;
	if (!id || *id == '\0') {
		snprintf(err, errlen, "android gateway: no message id to ask about");
		return SMS_PERMANENT;
	}
	eid = http_urlencode(id);
	path = xasprintf("/message/%s", eid);
	r = call(g, "GET", path, NULL, &resp, err, errlen);
	if (r == SMS_OK && android_parse_message(resp.body, resp.len, &got, d, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		r = SMS_TEMPORARY;
	}
	free(got);
	http_response_free(&resp);
	free(path);
	free(eid);
	return r;
}

static enum sms_result android_check(struct sms_gateway *g, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	enum sms_result r;

	/* /health needs no credentials, so it would not check them. */
	r = call(g, "GET", "/inbox?type=SMS&limit=1", NULL, &resp, err, errlen);
	http_response_free(&resp);
	return r;
}

#define LOOKUP_MAX_PAGES 20

/* GET /messages from since on (the app's from= filter on createdAt), paged
 * by offset as the inbox is, X-Total-Count deciding when present. */
static enum sms_result android_list_sent(struct sms_gateway *g, const char *to, const char *text, long long since,
                                         struct sms_text **texts, size_t *n, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	struct sms_text *all = NULL, *page = NULL;
	size_t count = 0, got = 0, listed = 0, offset = 0;
	int limit = g->settings.page_size > 0 ? g->settings.page_size : DEFAULT_PAGE_SIZE;
	char from[32];
	struct tm tm;
	time_t t = (time_t)(since > 0 ? since : 0);
	enum sms_result r = SMS_OK;

	(void)to;
	(void)text;
	*texts = NULL;
	*n = 0;
	if (limit > MAX_PAGE_SIZE)
		limit = MAX_PAGE_SIZE;
	gmtime_r(&t, &tm);
	strftime(from, sizeof from, "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int pages = 0; pages < LOOKUP_MAX_PAGES; pages++) {
		char why[256], *path = xasprintf("/messages?limit=%d&offset=%zu&from=%s", limit, offset, from);
		long long total = -1;

		r = call(g, "GET", path, NULL, &resp, err, errlen);
		free(path);
		if (r != SMS_OK)
			goto fail;
		if (android_parse_sent(resp.body, resp.len, &page, &got, &listed, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			r = SMS_TEMPORARY;
			goto fail;
		}
		if (resp.total_count) {
			char *end;
			long long v = strtoll(resp.total_count, &end, 10);

			if (end != resp.total_count && *end == '\0' && v >= 0)
				total = v;
		}
		http_response_free(&resp);
		if (got) {
			all = xrealloc(all, (count + got) * sizeof *all);
			memcpy(all + count, page, got * sizeof *all);
			count += got;
		}
		free(page);
		page = NULL;
		offset += listed;
		if (listed == 0 || (total >= 0 && offset >= (unsigned long long)total) ||
		    (total < 0 && listed < (size_t)limit))
			break;
	}
	*texts = all;
	*n = count;
	all = NULL;
	count = 0;
fail:
	http_response_free(&resp);
	sms_texts_free(all, count);
	return r;
}

const struct sms_provider sms_android = {
	.name = "android",
	.fetch = android_fetch,
	.acknowledge = android_acknowledge,
	.send = android_send,
	.status = android_status,
	.check = android_check,
	.list_sent = android_list_sent,
};
