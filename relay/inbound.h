/* inbound.h: where one received email goes.
 *
 * Decides here: whether the email was taken in before (its source key, then
 * its identity, identity.h), whether it is the relay's own mail come back,
 * and, from its threads and its sender's role (received.h), who handles it:
 * young.c a young person's message, replies.c the advisers' side. Leaves to
 * them everything that is stored, decided and queued, and to intake.c the
 * savepoint that makes one email's failure its own. Runs inside the caller's
 * write transaction; the caller commits together with its poll cursor and
 * only then acknowledges upstream. Nothing here touches the network. */
#ifndef RELAY_INBOUND_H
#define RELAY_INBOUND_H

#include <stddef.h>

#include "relay.h"

/* source_key identifies where the message came from (e.g.
 * "imap:INBOX:1700000000:42"); a key seen before is skipped. truncated: raw
 * is only the first [imap] max_message_kb of a larger message. The message is
 * read within [imap] max_parts and max_depth; one cut by any limit is still
 * handled, and its forward says it was cut. Returns 0 when handled
 * (stored, or our own mail come back and ignored), 1 when it was taken in
 * before (its key, or the same message under another key: skipped), and -1
 * on a database error (roll back): db.h's convention. */
int inbound_email(struct relay *r, const char *source_key, const char *raw, size_t len, int truncated);

#endif
