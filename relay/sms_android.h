/* sms_android.h: the pure parts of the "SMS Gateway for Android" provider
 * (sms_android.c, the phone's local-server API), for unit tests and fuzzing:
 * no network, no global state. Bodies need not be NUL-terminated; malformed
 * input is an error, never a crash. Error text never contains a message
 * body or a phone number. */
#ifndef RELAY_SMS_ANDROID_H
#define RELAY_SMS_ANDROID_H

#include <stddef.h>

#include "sms.h"

/* Parses one GET /inbox page, a JSON array of
 * {"id","type","sender","recipient","simNumber","contentPreview","createdAt"}.
 * Keeps entries of type "SMS" (or without a type) that have an id, a sender
 * and a createdAt: id becomes "<id>|<sender>|<createdAt>" (the app's ids
 * repeat for identical texts), body is contentPreview (for an SMS the app
 * stores the whole text there; it has no other body field), to is recipient,
 * received_at from createdAt (0 when unparsable), ack NULL.
 * *created (owned array of n owned strings, may be NULL when not wanted)
 * receives each kept text's createdAt exactly as sent, for the next cursor.
 * *count is the number of entries in the array (kept or not), for paging.
 * 0, or -1 with err when the body is not a JSON array. On 0 free *texts with
 * sms_texts_free and *created with android_strings_free; on -1 nothing is
 * returned. */
int android_parse_inbox(const char *json, size_t len, struct sms_text **texts, size_t *n, char ***created, size_t *count,
                        char *err, size_t errlen);
void android_strings_free(char **s, size_t n); /* accepts NULL */

/* ISO 8601 date-time ("2020-01-01T00:00:00Z", "…T12:34:56.789+03:00",
 * "…+0300"; no zone means UTC) to unix seconds. 0 or -1. */
int android_parse_time(const char *s, long long *out);

/* The answer to POST /message or GET /message/{id}: {"id","state","recipients":
 * [{"phoneNumber","state","error"}]}. *id (owned) and *d from "state" (else
 * from the first recipient's). 0, or -1 with err when there is no id.
 * d may be NULL. */
int android_parse_message(const char *json, size_t len, char **id, enum sms_delivery *d, char *err, size_t errlen);

/* Parses one GET /messages page (the texts the phone was asked to send), a
 * JSON array of {"id","state","createdAt","textMessage":{"text"},
 * "recipients":[{"phoneNumber","state","error"}],...}. One sms_text per
 * recipient of each entry that has an id: id, to = phoneNumber, body =
 * textMessage.text ("" for other kinds), received_at from createdAt (0 when
 * unparsable), from and ack NULL. *count is the number of entries in the
 * array, for paging. 0, or -1 with err when the body is not a JSON array; on
 * 0 free *texts with sms_texts_free. */
int android_parse_sent(const char *json, size_t len, struct sms_text **texts, size_t *n, size_t *count, char *err,
                       size_t errlen);

/* Pending/Processed → QUEUED, Sent → SENT, Delivered → DELIVERED,
 * Failed → FAILED, anything else (or NULL) → UNKNOWN. */
enum sms_delivery android_delivery(const char *state);

/* The JSON body of POST /message for one recipient. Owned. */
char *android_send_body(const char *to, const char *text);

#endif
