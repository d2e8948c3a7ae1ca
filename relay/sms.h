/* sms.h: the SMS gateway interface. Each provider (sms_twilio.c,
 * sms_esendex.c, sms_android.c) fills one struct sms_provider; adding a
 * provider is adding one file and one line in sms.c's table.
 *
 * The relay drives it like this: fetch() the inbound texts after a cursor;
 * store each one and the new cursor in one transaction; only then
 * acknowledge() each (Esendex marks it read; others need nothing). send()
 * a text; later status() it. Errors come back as a class the outbox
 * understands, with a message a person can act on in err (never the text,
 * never a phone number). */
#ifndef RELAY_SMS_H
#define RELAY_SMS_H

#include <stddef.h>

#include "http.h"

enum sms_result {
	SMS_OK = 0,
	SMS_TEMPORARY, /* 429, 5xx, timeout, dropped connection: retry with backoff */
	SMS_PERMANENT, /* refused for good (4xx other than 401/403/429) */
	SMS_AUTH,      /* 401/403: credentials or account wrong; retry later, report it */
	SMS_OPTED_OUT, /* the recipient has opted out (Twilio 21610): treat as STOP */
	SMS_UNKNOWN,   /* send() only: the request went out but no answer came (timeout, dropped,
	                     * over-long): the gateway may have taken it. Look it up before sending again. */
};

enum sms_delivery {
	SMS_DELIVERY_UNKNOWN = 0,
	SMS_DELIVERY_QUEUED,
	SMS_DELIVERY_SENT,
	SMS_DELIVERY_DELIVERED,
	SMS_DELIVERY_UNDELIVERED,
	SMS_DELIVERY_FAILED,
};

/* One inbound text. */
struct sms_text {
	char *id;              /* owned: unique per provider (Android: "id|sender|createdAt", its ids repeat) */
	char *from;            /* owned: the sender as the gateway gave it (normalised by the caller) */
	char *to;              /* owned, may be NULL */
	char *body;            /* owned: UTF-8, the full text (Esendex: fetched from the body URI) */
	long long received_at; /* unix seconds, 0 unknown */
	char *ack;             /* owned, provider's handle for acknowledge(), may be NULL */
};

struct sms_settings {
	const char *provider; /* "twilio" | "esendex" | "android" */
	const char *url;      /* base URL */
	const char *account;  /* Twilio AccountSid; Esendex account reference */
	const char *username;
	const char *password;
	const char *number; /* the service's own number, E.164 */
	const char *ca_file;
	int timeout;
	int send_timeout; /* seconds for a send and a look-up (sms_send, sms_find_sent); 0: 10. Never
	                         * more than timeout. Short: a slow gateway must not hold up the intake, and
	                         * a send that runs out of time is looked up, never simply made again. */
	int page_size;    /* texts per page asked for; 0: provider default */
};

struct sms_gateway {
	const struct sms_provider *provider;
	struct sms_settings settings; /* strings borrowed from the caller, who keeps them alive */
	struct http *http;
};

struct sms_provider {
	const char *name;
	/* Every inbound text after cursor (NULL: from the beginning, or as far as
	 * the provider keeps), oldest first, paging as needed. *next_cursor (owned,
	 * may be NULL = unchanged) is what to pass next time, stored by the caller in
	 * the same transaction as the texts. Texts seen before may come again: the
	 * caller de-duplicates on id. */
	enum sms_result (*fetch)(struct sms_gateway *g, const char *cursor, struct sms_text **texts, size_t *n,
	                         char **next_cursor, char *err, size_t errlen);
	/* Called only after the text is committed. */
	enum sms_result (*acknowledge)(struct sms_gateway *g, const struct sms_text *t, char *err, size_t errlen);
	/* Sends text (UTF-8) to an E.164 number; unicode: the text needs UCS-2.
	 * *id (owned) is the provider's id for status(). */
	enum sms_result (*send)(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id, char *err,
	                        size_t errlen);
	enum sms_result (*status)(struct sms_gateway *g, const char *id, enum sms_delivery *d, char *err, size_t errlen);
	/* A cheap authenticated request for `relay check`. */
	enum sms_result (*check)(struct sms_gateway *g, char *err, size_t errlen);
	/* The texts the service sent to `to` (E.164) that the gateway created at
	 * or after `since` (unix seconds), from its listing of sent messages,
	 * newest first as listed: id, from (may be NULL), to, body (the full
	 * text) and received_at = when the gateway created it. It may return
	 * more than asked (older, other numbers, other texts): the caller
	 * matches with sms_sent_match(). `text` is a hint only (Esendex fetches
	 * the full body only of listed texts whose summary could be it). */
	enum sms_result (*list_sent)(struct sms_gateway *g, const char *to, const char *text, long long since,
	                             struct sms_text **texts, size_t *n, char *err, size_t errlen);
};

/* sms.c: opens the configured provider. 0 or -1 with err (unknown provider, bad URL). */
int sms_open(const struct sms_settings *s, struct sms_gateway **out, char *err, size_t errlen);
void sms_close(struct sms_gateway *g);
void sms_texts_free(struct sms_text *t, size_t n);
/* Puts a newest-first listing oldest first, stable for equal times. */
void sms_texts_oldest_first(struct sms_text *t, size_t n);
const char *sms_result_name(enum sms_result r);
const char *sms_delivery_name(enum sms_delivery d);
/* provider->send within send_timeout. A transport failure after the
 * request went out is SMS_UNKNOWN (never SMS_TEMPORARY): the caller must
 * look the text up (sms_find_sent) before it is sent again. */
enum sms_result sms_send(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id, char *err,
                         size_t errlen);

/* Is there a known provider id? For sms_find_sent: 1 when id is already
 * recorded for another text of ours (it cannot be this one), 0 when not,
 * -1 on error. */
typedef int (*sms_id_known_fn)(void *arg, const char *id);

/* Looks for a text sent earlier to `to` with exactly `text`, created at the
 * gateway at or after `since`, whose provider id `known` does not claim
 * (known may be NULL). SMS_OK with *id (owned) when found, SMS_OK with *id
 * NULL when the gateway has no such text; otherwise the class of the failure
 * (the text must not be sent while it is unknown): SMS_UNKNOWN when the
 * gateway did not answer in time. Within send_timeout per request. */
enum sms_result sms_find_sent(struct sms_gateway *g, const char *to, const char *text, long long since,
                              sms_id_known_fn known, void *arg, char **id, char *err, size_t errlen);

/* Pure: the index in t[0..n-1] of a text from our number `from` (NULL, or
 * a listed from that is absent, passes) to `to` with body exactly `text`,
 * created at or after `since`, for which known() (may be NULL) says 0; the
 * oldest such, so two identical texts pair with two listings in order.
 * Numbers compare by their digits ("+447700900123" = "447700900123").
 * -1 when none, -2 when known() failed. */
long sms_sent_match(const struct sms_text *t, size_t n, const char *from, const char *to, const char *text, long long since,
                    sms_id_known_fn known, void *arg);

/* The class of an HTTP status: 2xx OK, 401/403 AUTH, 429 and 5xx TEMPORARY, other 4xx PERMANENT. */
enum sms_result sms_classify_status(long status);

extern const struct sms_provider sms_twilio;
extern const struct sms_provider sms_esendex;
extern const struct sms_provider sms_android;

#endif
