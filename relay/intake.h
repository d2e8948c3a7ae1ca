/* intake.h: one received message, handled on its own.
 *
 * The mailbox (mailbox.c) and the SMS gateway's inbox (smsbox.c) hand each
 * received message here, inside their batch's transaction. Its handling
 * (an email routed by inbound.c, a text handed to young.c: store, thread,
 * decide, queue what must be sent) runs in a savepoint of its own, so
 * whatever goes wrong with one message — an address that cannot be used, a
 * template, a database constraint, an outgoing message that cannot be built
 * — undoes that message's work alone. Such a message is then SET ASIDE:
 * stored as received with the reason (kind "setaside"; the email's raw
 * source, the text's body), forwarded to the advisers marked "could not be
 * handled automatically" with what could be read, and acknowledged upstream
 * like every stored message. It is never fetched or retried on its own
 * again; `relay retry REF` hands it back once the cause is fixed.
 *
 * Only the database itself failing (a full or failing disk, which db.c
 * reports) gives up the batch: nothing is acknowledged and the batch is
 * taken again at the next poll. Why savepoints rather than a transaction per
 * message: the batch's commit is what lets the poll cursor and \Seen move
 * (commit before acknowledge), and one durable commit per batch is what keeps
 * a backlog's drain fast (bench/README.md). */
#ifndef RELAY_INTAKE_H
#define RELAY_INTAKE_H

#include <stddef.h>

#include "relay.h"

/* A received email (see inbound_email for the arguments). Returns 0 when it
 * was handled or set aside, 1 when it was taken in before (skipped), -1 when
 * the database failed: the caller rolls the batch back. The same meanings as
 * intake_text's and db.h's. */
int intake_email(struct relay *r, const char *source_key, const char *raw, size_t len, int truncated);

/* A received text (see young_text). Returns 0 when handled or set aside, 1
 * when taken in before (skipped), -1 when the database failed. */
int intake_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
                long long received_at);

/* relay retry REF: hands each set-aside message of conversation ref back to
 * the intake, each in a transaction of its own. A message handled now is
 * marked "retried" (its transcript entry stays); one that fails again stays
 * set aside. Sets *handled and *still to the counts. Returns 0, 1 when there
 * is no such conversation, -1 on a database error (err says which). */
int intake_retry(struct relay *r, const char *ref, int *handled, int *still, char *err, size_t errlen);

#endif
