/* sms.c: choosing and opening the configured SMS gateway. */
#include "sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One row per provider. Adding a provider: its file, and one row here. */
static const struct {
	const struct sms_provider *provider;
	int needs_account; /* the account goes into its URLs (Twilio) or requests (Esendex) */
} providers[] = {
	{ &sms_twilio, 1 },
	{ &sms_esendex, 1 },
	{ &sms_android, 0 },
};

/* Seconds a send or a look-up may take when none is configured. */
#define DEFAULT_SEND_TIMEOUT 10

static int present(const char *s)
{
	return s != NULL && !str_is_blank(s);
}

int sms_open(const struct sms_settings *s, struct sms_gateway **out, char *err, size_t errlen)
{
	struct http_settings hs;
	struct sms_gateway *g = NULL;
	const struct sms_provider *p = NULL;
	int needs_account = 0;
	size_t i;

	*out = NULL;
	if (!present(s->provider)) {
		snprintf(err, errlen, "no SMS provider configured");
		return -1;
	}
	for (i = 0; i < sizeof providers / sizeof providers[0]; i++) {
		if (str_casecmp_ascii(s->provider, providers[i].provider->name) == 0) {
			p = providers[i].provider;
			needs_account = providers[i].needs_account;
		}
	}
	if (!p) {
		snprintf(err, errlen, "unknown SMS provider \"%.40s\"", s->provider);
		return -1;
	}
	if (!present(s->url)) {
		snprintf(err, errlen, "%s: no gateway URL configured", p->name);
		return -1;
	}
	if (!present(s->number)) {
		snprintf(err, errlen, "%s: the service's own number is not configured", p->name);
		return -1;
	}
	if (needs_account && !present(s->account)) {
		snprintf(err, errlen, "%s: no account configured", p->name);
		return -1;
	}
	/* Twilio's HTTP user is the AccountSid unless an API key is configured. */
	if (!present(s->username) && !(needs_account && present(s->account))) {
		snprintf(err, errlen, "%s: no username configured", p->name);
		return -1;
	}
	if (!present(s->password)) {
		snprintf(err, errlen, "%s: no password configured", p->name);
		return -1;
	}
	if (s->send_timeout < 0) {
		snprintf(err, errlen, "%s: send timeout must not be negative", p->name);
		return -1;
	}
	if (s->page_size < 0) {
		snprintf(err, errlen, "%s: page size must not be negative", p->name);
		return -1;
	}

	memset(&hs, 0, sizeof hs);
	hs.base_url = s->url;
	hs.username = present(s->username) ? s->username : s->account;
	hs.password = s->password;
	hs.ca_file = s->ca_file;
	hs.timeout = s->timeout;

	g = xcalloc(1, sizeof *g);
	g->provider = p;
	g->settings = *s;
	if (g->settings.send_timeout == 0)
		g->settings.send_timeout = DEFAULT_SEND_TIMEOUT;
	if (g->settings.timeout > 0 && g->settings.send_timeout > g->settings.timeout)
		g->settings.send_timeout = g->settings.timeout;
	if (http_open(&hs, &g->http, err, errlen) < 0) {
		free(g);
		return -1;
	}
	*out = g;
	return 0;
}

void sms_close(struct sms_gateway *g)
{
	if (!g)
		return;
	http_close(g->http);
	free(g);
}

void sms_texts_free(struct sms_text *t, size_t n)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < n; i++) {
		free(t[i].id);
		free(t[i].from);
		free(t[i].to);
		free(t[i].body);
		free(t[i].ack);
	}
	free(t);
}

const char *sms_result_name(enum sms_result r)
{
	switch (r) {
	case SMS_OK:
		return "ok";
	case SMS_TEMPORARY:
		return "temporary";
	case SMS_PERMANENT:
		return "permanent";
	case SMS_AUTH:
		return "auth";
	case SMS_OPTED_OUT:
		return "opted-out";
	case SMS_UNKNOWN:
		return "unknown";
	}
	return "unknown";
}

const char *sms_delivery_name(enum sms_delivery d)
{
	switch (d) {
	case SMS_DELIVERY_UNKNOWN:
		return "unknown";
	case SMS_DELIVERY_QUEUED:
		return "queued";
	case SMS_DELIVERY_SENT:
		return "sent";
	case SMS_DELIVERY_DELIVERED:
		return "delivered";
	case SMS_DELIVERY_UNDELIVERED:
		return "undelivered";
	case SMS_DELIVERY_FAILED:
		return "failed";
	}
	return "unknown";
}

enum sms_result sms_classify_status(long status)
{
	if (status >= 200 && status < 300)
		return SMS_OK;
	if (status == 401 || status == 403)
		return SMS_AUTH;
	/* 408 is the server giving up on a slow request: try again. */
	if (status == 429 || status == 408)
		return SMS_TEMPORARY;
	if (status >= 400 && status < 500)
		return SMS_PERMANENT;
	/* 5xx, and anything a gateway should not answer (no status, 1xx, a
	 * redirect we do not follow): the text was not refused, try later. */
	return SMS_TEMPORARY;
}

void sms_texts_oldest_first(struct sms_text *t, size_t n)
{
	size_t i, j;
	struct sms_text tmp;

	/* Gateways list newest first: reverse, then an insertion sort by time,
	 * stable and linear on the nearly sorted input. */
	for (i = 0; i < n / 2; i++) {
		tmp = t[i];
		t[i] = t[n - 1 - i];
		t[n - 1 - i] = tmp;
	}
	for (i = 1; i < n; i++) {
		tmp = t[i];
		for (j = i; j > 0 && t[j - 1].received_at > tmp.received_at; j--)
			t[j] = t[j - 1];
		t[j] = tmp;
	}
}

enum sms_result sms_send(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id, char *err,
                         size_t errlen)
{
	enum sms_result r;

	http_set_timeout(g->http, g->settings.send_timeout);
	r = g->provider->send(g, to, text, unicode, id, err, errlen);
	if (r == SMS_TEMPORARY && http_may_have_arrived(g->http))
		r = SMS_UNKNOWN;
	http_set_timeout(g->http, 0);
	return r;
}

/* Two numbers are the same when their digits are ("+44..." and "44..."). */
static int same_number(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	for (;;) {
		while (*a && !(*a >= '0' && *a <= '9'))
			a++;
		while (*b && !(*b >= '0' && *b <= '9'))
			b++;
		if (*a != *b)
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

long sms_sent_match(const struct sms_text *t, size_t n, const char *from, const char *to, const char *text, long long since,
                    sms_id_known_fn known, void *arg)
{
	long best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!t[i].id || !*t[i].id || !t[i].body || strcmp(t[i].body, text) != 0 || !same_number(t[i].to, to))
			continue;
		if (from && t[i].from && *t[i].from && !same_number(t[i].from, from))
			continue;
		if (t[i].received_at < since)
			continue;
		if (best >= 0 && t[i].received_at >= t[best].received_at)
			continue;
		if (known) {
			int k = known(arg, t[i].id);
			if (k < 0)
				return -2;
			if (k)
				continue;
		}
		best = (long)i;
	}
	return best;
}

enum sms_result sms_find_sent(struct sms_gateway *g, const char *to, const char *text, long long since,
                              sms_id_known_fn known, void *arg, char **id, char *err, size_t errlen)
{
	struct sms_text *t = NULL;
	size_t n = 0;
	enum sms_result r;

	*id = NULL;
	http_set_timeout(g->http, g->settings.send_timeout);
	r = g->provider->list_sent(g, to, text, since, &t, &n, err, errlen);
	if (r == SMS_TEMPORARY && http_may_have_arrived(g->http))
		r = SMS_UNKNOWN;
	http_set_timeout(g->http, 0);
	if (r != SMS_OK) {
		sms_texts_free(t, n);
		return r;
	}
	long k = sms_sent_match(t, n, g->settings.number, to, text, since, known, arg);
	if (k == -2) {
		snprintf(err, errlen, "the database could not say which texts are recorded");
		r = SMS_TEMPORARY;
	} else if (k >= 0) {
		*id = t[k].id;
		t[k].id = NULL;
	}
	sms_texts_free(t, n);
	return r;
}
