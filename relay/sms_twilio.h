/* sms_twilio.h: the pure parts of the Twilio provider (sms_twilio.c), for
 * unit tests and fuzzing: no network, no global state. Every function takes
 * a response body as the gateway sent it (json, len: need not be
 * NUL-terminated), never crashes on malformed input, and returns an error for
 * it. Error text never contains a message body or a phone number. */
#ifndef RELAY_SMS_TWILIO_H
#define RELAY_SMS_TWILIO_H

#include <stddef.h>

#include "sms.h"

#define TWILIO_MAX_BODY 1600 /* characters Twilio accepts in one Body */

/* One page of GET .../Messages.json. */
struct twilio_page {
	struct sms_text *texts; /* owned: the page's inbound texts, in the page's order (newest first) */
	size_t n;
	char *next_page_uri; /* owned: path of the next page, relative to the base URL; NULL on the last */
};

/* Parses a list page: keeps only direction "inbound" entries that have a sid
 * and a sender (others are skipped with a warning in the log, naming the sid
 * only); body null/missing is ""; received_at from date_sent (else
 * date_created, else 0); ack NULL. 0, or -1 with err when the page is not a
 * JSON object with a "messages" array or next_page_uri is not null / a path
 * starting with "/". Free with twilio_page_free (also after -1). */
int twilio_parse_page(const char *json, size_t len, struct twilio_page *page, char *err, size_t errlen);
/* As twilio_parse_page, keeping instead the texts the account sent
 * (direction "outbound-api" or "outbound-reply") that have a sid;
 * received_at from date_created (a queued text has no date_sent yet). */
int twilio_parse_sent_page(const char *json, size_t len, struct twilio_page *page, char *err, size_t errlen);
void twilio_page_free(struct twilio_page *page); /* accepts NULL; leaves it empty */

/* RFC 2822 date as Twilio writes it ("Wed, 18 Aug 2010 20:01:40 +0000",
 * zone +hhmm/-hhmm/GMT/UT/UTC/Z, weekday optional) to unix seconds. 0 or -1. */
int twilio_parse_date(const char *s, long long *out);

/* The cursor for a time: its UTC date "YYYY-MM-DD". Owned. */
char *twilio_cursor(long long t);
/* 1 when cursor is a date "YYYY-MM-DD" (what twilio_cursor makes), else 0. */
int twilio_cursor_valid(const char *cursor);

/* The class of a refusal: status is the HTTP status, json the error body
 * {"code","message","more_info","status"} (may be absent or garbage).
 * 21610 → SMS_OPTED_OUT; 20429 or HTTP 429 → SMS_TEMPORARY; otherwise by
 * HTTP status (sms_classify_status). err names the HTTP status and Twilio's
 * error code, never Twilio's message (it can quote the phone number). */
enum sms_result twilio_parse_error(long status, const char *json, size_t len, char *err, size_t errlen);

/* One message resource (the 201 answer to a send, or GET Messages/{sid}.json):
 * *sid (owned) and *d from its "status". 0, or -1 with err when there is no
 * sid. d may be NULL. */
int twilio_parse_message(const char *json, size_t len, char **sid, enum sms_delivery *d, char *err, size_t errlen);

/* Twilio's message status to ours: accepted/scheduled/queued/sending → QUEUED,
 * sent → SENT, delivered/read → DELIVERED, undelivered → UNDELIVERED,
 * failed/canceled → FAILED, anything else (or NULL) → UNKNOWN. */
enum sms_delivery twilio_delivery(const char *status);

/* Characters in a UTF-8 text as counted against TWILIO_MAX_BODY (code points). */
size_t twilio_length(const char *text);


#endif
