/* outgoing.h: every message the relay sends, in the service's own words.
 *
 * Each function renders its template, builds the message with compose.c and
 * writes it to the outbox in the caller's transaction, with a stable
 * Message-ID that is also its idempotency key. Nothing here touches the network. */
#ifndef RELAY_OUTGOING_H
#define RELAY_OUTGOING_H

#include "db.h"
#include "mime.h"
#include "relay.h"

/* Forwards a young person's message to the advisers. remarks: extra lines for
 * the advisers (e.g. "Automatic message: not answered."), may be NULL. */
int outgoing_forward(struct relay *r, struct conversation *c, const struct mail *m, long long message_row,
                     const char *remarks);

/* The first-contact auto-reply to the young person, threaded on their email. */
int outgoing_autoreply(struct relay *r, struct conversation *c, const struct mail *m);

/* An adviser's cleaned answer to the young person, and the receipt that tells
 * the advisers exactly what was sent. */
int outgoing_reply(struct relay *r, struct conversation *c, const char *adviser, const char *text,
                   long long message_row);

/* Tells the advisers that a reply was held (not relayed); c may be NULL when
 * no conversation could be told. */
int outgoing_held(struct relay *r, struct conversation *c, const char *sender, const char *reason, const char *text);

/* Tells one adviser that their reply was not sent, and why. */
int outgoing_refused(struct relay *r, struct conversation *c, const char *adviser, const char *reason);

#endif
