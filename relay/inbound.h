/* inbound.h: what the relay does with one received email.
 *
 * inbound_email() runs inside the caller's write transaction: it stores the
 * message, threads it, decides (policy.c) and queues what must be sent in the
 * outbox. The caller commits together with its poll cursor and only then
 * acknowledges upstream. Nothing here touches the network. */
#ifndef RELAY_INBOUND_H
#define RELAY_INBOUND_H

#include <stddef.h>

#include "relay.h"

/* source_key identifies where the message came from (e.g.
 * "imap:INBOX:1700000000:42"); a key seen before is skipped. Returns 0 when
 * handled (stored, or a known duplicate) and -1 on a database error (roll back). */
int inbound_email(struct relay *r, const char *source_key, const char *raw, size_t len);

/* One received text message, in the caller's transaction like inbound_email.
 * provider names the gateway ("twilio"); id is its unique id for the text. */
int inbound_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
                 long long received_at);

#endif
