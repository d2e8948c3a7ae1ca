/* sms_twilio.c: the Twilio provider (JSON over HTTPS, json-c).
 *
 * Twilio keeps no read flag: the cursor is a date (DateSent>=, inclusive),
 * so every text of the cursor's day comes again and the caller de-duplicates
 * on the message sid. */
#include "jsonread.h"
#include "sms_twilio.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"
#include "util.h"

#define API "/2010-04-01/Accounts/"
#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE 1000  /* Twilio's own maximum */
#define MAX_PAGES 1000      /* a gateway that pages forever must not hold the relay */
#define MAX_LOOKUP_PAGES 20 /* looking for one text sent a moment ago */


/* --- pure parsing ------------------------------------------------------------ */

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };

static int read_num(const char **p, int min_digits, int max_digits, int *out)
{
	int n = 0, v = 0;

	while (n < max_digits && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n < min_digits)
		return -1;
	*out = v;
	return 0;
}

static void skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

int twilio_parse_date(const char *s, long long *out)
{
	const char *p = s;
	struct tm tm;
	int day, year, hour, min, sec = 0, mon = -1, zone = 0, zh, zm, i;
	time_t t;

	if (!s)
		return -1;
	skip_space(&p);
	if (isalpha((unsigned char)p[0])) { /* optional weekday */
		while (isalpha((unsigned char)*p))
			p++;
		if (*p++ != ',')
			return -1;
		skip_space(&p);
	}
	if (read_num(&p, 1, 2, &day) < 0)
		return -1;
	skip_space(&p);
	for (i = 0; i < 12; i++)
		if (str_ncasecmp_ascii(p, months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		return -1;
	p += 3;
	skip_space(&p);
	if (read_num(&p, 4, 4, &year) < 0)
		return -1;
	skip_space(&p);
	if (read_num(&p, 2, 2, &hour) < 0 || *p++ != ':' || read_num(&p, 2, 2, &min) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if (read_num(&p, 2, 2, &sec) < 0)
			return -1;
	}
	skip_space(&p);
	if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (read_num(&p, 2, 2, &zh) < 0 || read_num(&p, 2, 2, &zm) < 0 || zh > 23 || zm > 59)
			return -1;
		zone = sign * (zh * 3600 + zm * 60);
	} else if (str_ncasecmp_ascii(p, "GMT", 3) == 0 || str_ncasecmp_ascii(p, "UTC", 3) == 0) {
		p += 3;
	} else if (str_ncasecmp_ascii(p, "UT", 2) == 0) {
		p += 2;
	} else if (*p == 'Z' || *p == 'z') {
		p++;
	} else {
		return -1;
	}
	skip_space(&p);
	if (*p != '\0')
		return -1;
	if (day < 1 || day > 31 || year < 1970 || year > 9999 || hour > 23 || min > 59 || sec > 60)
		return -1;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != day) /* 31 Feb normalises to March: refuse */
		return -1;
	*out = (long long)t - zone;
	return 0;
}

char *twilio_cursor(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char date[32];

	if (!gmtime_r(&tt, &tm) || strftime(date, sizeof date, "%Y-%m-%d", &tm) == 0)
		return xstrdup("1970-01-01");
	return xstrdup(date);
}

int twilio_cursor_valid(const char *c)
{
	int i;

	if (!c || strlen(c) != 10)
		return 0;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (c[i] != '-')
				return 0;
		} else if (!isdigit((unsigned char)c[i])) {
			return 0;
		}
	}
	return 1;
}

enum sms_delivery twilio_delivery(const char *status)
{
	static const struct {
		const char *name;
		enum sms_delivery d;
	} map[] = {
		{ "accepted", SMS_DELIVERY_QUEUED }, { "scheduled", SMS_DELIVERY_QUEUED },
		{ "queued", SMS_DELIVERY_QUEUED },   { "sending", SMS_DELIVERY_QUEUED },
		{ "sent", SMS_DELIVERY_SENT },       { "delivered", SMS_DELIVERY_DELIVERED },
		{ "read", SMS_DELIVERY_DELIVERED },  { "undelivered", SMS_DELIVERY_UNDELIVERED },
		{ "failed", SMS_DELIVERY_FAILED },   { "canceled", SMS_DELIVERY_FAILED },
	};
	size_t i;

	if (!status)
		return SMS_DELIVERY_UNKNOWN;
	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(status, map[i].name) == 0)
			return map[i].d;
	return SMS_DELIVERY_UNKNOWN;
}

size_t twilio_length(const char *text)
{
	size_t n = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)text; p && *p; p++)
		if ((*p & 0xC0) != 0x80) /* count lead bytes only */
			n++;
	return n;
}

void twilio_page_free(struct twilio_page *page)
{
	if (!page)
		return;
	sms_texts_free(page->texts, page->n);
	free(page->next_page_uri);
	memset(page, 0, sizeof *page);
}

/* A next_page_uri we are willing to request: a path on the same server. */
static int path_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s[0] != '/' || s[1] == '/')
		return 0;
	for (; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* A list page; keeps the inbound texts, or (sent) the service's own. */
static int parse_page(const char *json, size_t len, struct twilio_page *page, int sent, char *err, size_t errlen)
{
	struct json_object *root, *msgs, *next;
	size_t i, count, skipped = 0;
	char why[128];

	memset(page, 0, sizeof *page);
	root = jsonread_parse(json, len, why, sizeof why);
	if (!root) {
		snprintf(err, errlen, "twilio: message list: %s", why);
		return -1;
	}
	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "messages", &msgs) ||
	    !json_object_is_type(msgs, json_type_array)) {
		snprintf(err, errlen, "twilio: message list has no \"messages\" array");
		goto fail;
	}
	if (json_object_object_get_ex(root, "next_page_uri", &next) && next) {
		if (!json_object_is_type(next, json_type_string) || !path_ok(json_object_get_string(next))) {
			snprintf(err, errlen, "twilio: message list has a bad next_page_uri");
			goto fail;
		}
		page->next_page_uri = xstrdup(json_object_get_string(next));
	}

	count = json_object_array_length(msgs);
	page->texts = xcalloc(count ? count : 1, sizeof *page->texts);
	for (i = 0; i < count; i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i);
		struct sms_text *t = &page->texts[page->n];
		const char *direction = jsonread_str(m, "direction", NULL);
		const char *sid = jsonread_str(m, "sid", NULL), *from = jsonread_str(m, "from", NULL);
		long long when = 0;

		/* outbound-api and outbound-reply are texts; outbound-call is not ours */
		if (!direction || (sent ? strncmp(direction, "outbound-", 9) != 0 || strcmp(direction, "outbound-call") == 0
		                        : strcmp(direction, "inbound") != 0))
			continue;
		if (!sid || *sid == '\0' || (!sent && (from == NULL || *from == '\0'))) {
			skipped++;
			continue;
		}
		t->id = jsonread_dup(m, "sid");
		t->from = jsonread_dup(m, "from");
		t->to = jsonread_dup(m, "to");
		t->body = jsonread_dup(m, "body");
		if (!t->body)
			t->body = xstrdup("");
		/* A sent text is found by when it was made: one still queued has no date_sent. */
		if (sent ? twilio_parse_date(jsonread_str(m, "date_created", NULL), &when) < 0
		         : twilio_parse_date(jsonread_str(m, "date_sent", NULL), &when) < 0 &&
		                    twilio_parse_date(jsonread_str(m, "date_created", NULL), &when) < 0)
			when = 0;
		t->received_at = when;
		page->n++;
	}
	if (skipped)
		log_warn("twilio: skipped %zu %s message(s) without a sid%s", skipped, sent ? "sent" : "inbound",
		         sent ? "" : " or sender");
	json_object_put(root);
	return 0;

fail:
	json_object_put(root);
	twilio_page_free(page);
	return -1;
}

int twilio_parse_page(const char *json, size_t len, struct twilio_page *page, char *err, size_t errlen)
{
	return parse_page(json, len, page, 0, err, errlen);
}

int twilio_parse_sent_page(const char *json, size_t len, struct twilio_page *page, char *err, size_t errlen)
{
	return parse_page(json, len, page, 1, err, errlen);
}

enum sms_result twilio_parse_error(long status, const char *json, size_t len, char *err, size_t errlen)
{
	struct json_object *root, *code;
	long long c = 0;
	int have_code = 0;
	char why[128];
	enum sms_result r;

	root = jsonread_parse(json, len, why, sizeof why);
	if (root && json_object_object_get_ex(root, "code", &code) && json_object_is_type(code, json_type_int)) {
		c = json_object_get_int64(code);
		have_code = 1;
	}
	json_object_put(root);

	if (have_code && c == 21610) {
		snprintf(err, errlen, "twilio: the recipient has opted out (HTTP %ld, error 21610)", status);
		return SMS_OPTED_OUT;
	}
	r = (have_code && c == 20429) || status == 429 ? SMS_TEMPORARY : sms_classify_status(status);
	if (r == SMS_OK) /* an error body with a 2xx status: not a success we understand */
		r = SMS_TEMPORARY;
	if (have_code)
		snprintf(err, errlen, "twilio: %s (HTTP %ld, error %lld, https://www.twilio.com/docs/errors/%lld)",
		         r == SMS_AUTH        ? "credentials refused"
		         : r == SMS_TEMPORARY ? "try later"
		                              : "refused",
		         status, c, c);
	else
		snprintf(err, errlen, "twilio: %s (HTTP %ld)",
		         r == SMS_AUTH        ? "credentials refused"
		         : r == SMS_TEMPORARY ? "try later"
		                              : "refused",
		         status);
	return r;
}

int twilio_parse_message(const char *json, size_t len, char **sid, enum sms_delivery *d, char *err, size_t errlen)
{
	struct json_object *root;
	const char *s;
	char why[128];

	*sid = NULL;
	if (d)
		*d = SMS_DELIVERY_UNKNOWN;
	root = jsonread_parse(json, len, why, sizeof why);
	if (!root) {
		snprintf(err, errlen, "twilio: message: %s", why);
		return -1;
	}
	s = jsonread_str(root, "sid", NULL);
	if (!s || *s == '\0') {
		snprintf(err, errlen, "twilio: message has no sid");
		json_object_put(root);
		return -1;
	}
	*sid = jsonread_dup(root, "sid");
	if (d)
		*d = twilio_delivery(jsonread_str(root, "status", NULL));
	json_object_put(root);
	return 0;
}

/* --- the provider ------------------------------------------------------------- */

/* "/2010-04-01/Accounts/{account}" with the account encoded. Owned. */
static char *account_path(const struct sms_gateway *g)
{
	char *acct = http_urlencode(g->settings.account);
	char *p = xasprintf(API "%s", acct);

	free(acct);
	return p;
}

/* One request; a non-2xx answer becomes a class and err. resp is filled on
 * SMS_OK only (free it with http_response_free either way). */
static enum sms_result call(struct sms_gateway *g, const char *method, const char *path, const char *body,
                            struct http_response *resp, char *err, size_t errlen)
{
	char why[256];
	enum sms_result r;

	if (http_request(g->http, method, path, body ? "application/x-www-form-urlencoded" : NULL, body,
	                 body ? strlen(body) : 0, resp, why, sizeof why) < 0) {
		snprintf(err, errlen, "twilio: %s", why);
		return SMS_TEMPORARY;
	}
	if (sms_classify_status(resp->status) == SMS_OK)
		return SMS_OK;
	r = twilio_parse_error(resp->status, resp->body, resp->len, err, errlen);
	http_response_free(resp);
	return r;
}

static enum sms_result twilio_fetch(struct sms_gateway *g, const char *cursor, struct sms_text **texts, size_t *n,
                                    char **next_cursor, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	struct twilio_page page = { 0 };
	struct sms_text *all = NULL;
	size_t count = 0, cap = 0, pages = 0, i;
	char *path = NULL, *acct = NULL, *to = NULL;
	long long newest = 0;
	int size = g->settings.page_size > 0 ? g->settings.page_size : DEFAULT_PAGE_SIZE;
	enum sms_result r;

	*texts = NULL;
	*n = 0;
	*next_cursor = NULL;
	if (cursor && !twilio_cursor_valid(cursor)) {
		snprintf(err, errlen, "twilio: stored cursor is not a date (YYYY-MM-DD)");
		return SMS_PERMANENT;
	}
	if (size > MAX_PAGE_SIZE)
		size = MAX_PAGE_SIZE;

	acct = account_path(g);
	to = http_urlencode(g->settings.number); /* "+44…": an unencoded + is a space */
	if (cursor)
		path = xasprintf("%s/Messages.json?To=%s&DateSent%%3E=%s&PageSize=%d", acct, to, cursor, size);
	else
		path = xasprintf("%s/Messages.json?To=%s&PageSize=%d", acct, to, size);

	while (path) {
		char why[256];

		if (++pages > MAX_PAGES) {
			log_warn("twilio: message list longer than %d pages: stopped there", MAX_PAGES);
			break;
		}
		r = call(g, "GET", path, NULL, &resp, err, errlen);
		if (r != SMS_OK)
			goto fail;
		if (twilio_parse_page(resp.body, resp.len, &page, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			r = SMS_TEMPORARY;
			goto fail;
		}
		http_response_free(&resp);
		if (count + page.n > cap) {
			cap = (count + page.n) * 2;
			all = xrealloc(all, cap * sizeof *all);
		}
		if (page.n) /* all may still be NULL: memcpy(NULL, .., 0) is undefined */
			memcpy(all + count, page.texts, page.n * sizeof *all);
		count += page.n;
		page.n = 0; /* moved: the page frees only its array */
		if (page.next_page_uri && strcmp(page.next_page_uri, path) == 0) {
			snprintf(err, errlen, "twilio: message list pages loop");
			r = SMS_TEMPORARY;
			goto fail;
		}
		free(path);
		path = page.next_page_uri;
		page.next_page_uri = NULL;
		twilio_page_free(&page);
	}

	sms_texts_oldest_first(all, count);
	for (i = 0; i < count; i++)
		if (all[i].received_at > newest)
			newest = all[i].received_at;
	if (newest > 0)
		*next_cursor = twilio_cursor(newest);
	*texts = all;
	*n = count;
	all = NULL;
	r = SMS_OK;

fail:
	http_response_free(&resp);
	twilio_page_free(&page);
	sms_texts_free(all, count);
	free(path);
	free(acct);
	free(to);
	return r;
}

static enum sms_result twilio_acknowledge(struct sms_gateway *g, const struct sms_text *t, char *err, size_t errlen)
{
	(void)g;
	(void)t;
	(void)err;
	(void)errlen;
	return SMS_OK; /* Twilio has no read flag: the cursor and sid dedupe are enough */
}

static enum sms_result twilio_send(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id,
                                   char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	char *path = NULL, *body = NULL, *eto, *efrom, *etext, why[256];
	size_t chars = twilio_length(text);
	enum sms_result r;

	(void)unicode; /* Twilio chooses GSM-7 or UCS-2 itself */
	*id = NULL;
	if (chars > TWILIO_MAX_BODY) {
		snprintf(err, errlen, "twilio: text too long (%zu characters, at most %d)", chars, TWILIO_MAX_BODY);
		return SMS_PERMANENT;
	}
	eto = http_urlencode(to);
	efrom = http_urlencode(g->settings.number);
	etext = http_urlencode(text);
	body = xasprintf("To=%s&From=%s&Body=%s", eto, efrom, etext);
	free(eto);
	free(efrom);
	free(etext);
	path = account_path(g);
	eto = path;
	path = xasprintf("%s/Messages.json", eto);
	free(eto);

	r = call(g, "POST", path, body, &resp, err, errlen);
	if (r == SMS_OK && twilio_parse_message(resp.body, resp.len, id, NULL, why, sizeof why) < 0) {
		/* Twilio took it (2xx): sending again would send it twice. */
		log_warn("twilio: text accepted (HTTP %ld) but %s: its delivery cannot be followed", resp.status, why);
		*id = NULL;
	}
	http_response_free(&resp);
	free(body);
	free(path);
	return r;
}

static enum sms_result twilio_status(struct sms_gateway *g, const char *id, enum sms_delivery *d, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	char *acct, *sid, *path, *got = NULL, why[256];
	enum sms_result r;

	*d = SMS_DELIVERY_UNKNOWN;
	if (!id || *id == '\0') {
		snprintf(err, errlen, "twilio: no message id to ask about");
		return SMS_PERMANENT;
	}
	acct = account_path(g);
	sid = http_urlencode(id);
	path = xasprintf("%s/Messages/%s.json", acct, sid);
	r = call(g, "GET", path, NULL, &resp, err, errlen);
	if (r == SMS_OK && twilio_parse_message(resp.body, resp.len, &got, d, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		r = SMS_TEMPORARY;
	}
	free(got);
	http_response_free(&resp);
	free(path);
	free(sid);
	free(acct);
	return r;
}

static enum sms_result twilio_check(struct sms_gateway *g, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	char *acct = account_path(g), *path = xasprintf("%s/Messages.json?PageSize=1", acct);
	enum sms_result r;

	r = call(g, "GET", path, NULL, &resp, err, errlen);
	http_response_free(&resp);
	free(path);
	free(acct);
	return r;
}

/* Sent texts to `to`, newest first, paging until the listing is older than
 * since. The list's documented filter is To (and DateSent>, which a text
 * still queued does not match: no date_sent yet), so sent is told from
 * received by direction and from by sms_sent_match. */
static enum sms_result twilio_list_sent(struct sms_gateway *g, const char *to, const char *text, long long since,
                                        struct sms_text **texts, size_t *n, char *err, size_t errlen)
{
	struct http_response resp = { 0 };
	struct twilio_page page = { 0 };
	struct sms_text *all = NULL;
	size_t count = 0, pages = 0;
	char *acct = account_path(g), *eto = http_urlencode(to), *path;
	int size = g->settings.page_size > 0 ? g->settings.page_size : DEFAULT_PAGE_SIZE;
	enum sms_result r = SMS_OK;

	(void)text;
	*texts = NULL;
	*n = 0;
	if (size > MAX_PAGE_SIZE)
		size = MAX_PAGE_SIZE;
	path = xasprintf("%s/Messages.json?To=%s&PageSize=%d", acct, eto, size);
	while (path) {
		char why[256];
		int older = 0;

		if (++pages > MAX_LOOKUP_PAGES)
			break;
		r = call(g, "GET", path, NULL, &resp, err, errlen);
		if (r != SMS_OK)
			goto fail;
		if (twilio_parse_sent_page(resp.body, resp.len, &page, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			r = SMS_TEMPORARY;
			goto fail;
		}
		http_response_free(&resp);
		all = xrealloc(all, (count + page.n + 1) * sizeof *all);
		for (size_t i = 0; i < page.n; i++) {
			older |= page.texts[i].received_at && page.texts[i].received_at < since;
			all[count++] = page.texts[i];
		}
		page.n = 0;
		free(path);
		path = NULL;
		/* Newest first: a page that reaches before since is the last we need. */
		if (!older && page.next_page_uri) {
			path = page.next_page_uri;
			page.next_page_uri = NULL;
		}
		twilio_page_free(&page);
	}
	*texts = all;
	*n = count;
	all = NULL;
	count = 0;
fail:
	http_response_free(&resp);
	twilio_page_free(&page);
	sms_texts_free(all, count);
	free(path);
	free(acct);
	free(eto);
	return r;
}

const struct sms_provider sms_twilio = {
	.name = "twilio",
	.fetch = twilio_fetch,
	.acknowledge = twilio_acknowledge,
	.send = twilio_send,
	.status = twilio_status,
	.check = twilio_check,
	.list_sent = twilio_list_sent,
};
