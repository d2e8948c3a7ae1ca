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
	SMS_TEMPORARY,      /* 429, 5xx, timeout, dropped connection: retry with backoff */
	SMS_PERMANENT,      /* refused for good (4xx other than 401/403/429) */
	SMS_AUTH,           /* 401/403: credentials or account wrong; retry later, report it */
	SMS_OPTED_OUT,      /* the recipient has opted out (Twilio 21610): treat as STOP */
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
	char *id;               /* owned: unique per provider (Android: "id|sender|createdAt", its ids repeat) */
	char *from;             /* owned: the sender as the gateway gave it (normalised by the caller) */
	char *to;               /* owned, may be NULL */
	char *body;             /* owned: UTF-8, the full text (Esendex: fetched from the body URI) */
	long long received_at;  /* unix seconds, 0 unknown */
	char *ack;              /* owned, provider's handle for acknowledge(), may be NULL */
};

struct sms_settings {
	const char *provider;   /* "twilio" | "esendex" | "android" */
	const char *url;        /* base URL */
	const char *account;    /* Twilio AccountSid; Esendex account reference */
	const char *username;
	const char *password;
	const char *number;     /* the service's own number, E.164 */
	const char *ca_file;
	int timeout;
	int page_size;          /* texts per page asked for; 0: provider default */
};

struct sms_gateway {
	const struct sms_provider *provider;
	struct sms_settings settings;   /* strings borrowed from the caller, who keeps them alive */
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
	enum sms_result (*send)(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id,
	                        char *err, size_t errlen);
	enum sms_result (*status)(struct sms_gateway *g, const char *id, enum sms_delivery *d, char *err, size_t errlen);
	/* A cheap authenticated request for `relay check`. */
	enum sms_result (*check)(struct sms_gateway *g, char *err, size_t errlen);
};

/* sms.c: opens the configured provider. 0 or -1 with err (unknown provider, bad URL). */
int sms_open(const struct sms_settings *s, struct sms_gateway **out, char *err, size_t errlen);
void sms_close(struct sms_gateway *g);
void sms_texts_free(struct sms_text *t, size_t n);
/* Puts a newest-first listing oldest first, stable for equal times. */
void sms_texts_oldest_first(struct sms_text *t, size_t n);
const char *sms_result_name(enum sms_result r);
const char *sms_delivery_name(enum sms_delivery d);
/* The class of an HTTP status: 2xx OK, 401/403 AUTH, 429 and 5xx TEMPORARY, other 4xx PERMANENT. */
enum sms_result sms_classify_status(long status);

extern const struct sms_provider sms_twilio;
extern const struct sms_provider sms_esendex;
extern const struct sms_provider sms_android;

#endif
