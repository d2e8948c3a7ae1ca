/* replies.h: what the relay does with mail from the advisers' side: an
 * allowed adviser's reply (cleaned, #commands carried out, relayed by the
 * conversation's channel, receipt to the advisers), automatic mail (kept,
 * never relayed), and anything else that answers a forward (held, advisers
 * told). Runs in the caller's transaction, like inbound_email. Leaves to
 * others: which email is a reply and who sent it (inbound.c routes, with
 * received.h's threading and sender role), how it is stored (received.h),
 * building what is sent (outgoing.c). */
#ifndef RELAY_REPLIES_H
#define RELAY_REPLIES_H

#include <stddef.h>

#include "received.h"

/* m answers the advisers' side (a reply tag, or a forward's Message-ID in its
 * threads); role says whether its From is an allowed adviser. raw and len are
 * the message as received: an adviser's reply is relayed only when the
 * receiving server's Authentication-Results proves its From ([advisers]
 * authentication, authres.h), and only while its conversation is open or
 * closed no more than [policy] reopen_days ago (the reply then reopens it);
 * otherwise it is held and the advisers told. *row gets the stored transcript
 * row (0 when none). 0, or -1 on a database error. */
int replies_receive(struct relay *r, const struct mail *m, const struct threading *t, enum sender_role role, const char *raw,
                    size_t len, long long *row);

/* A message to the young person typed at the server (`relay send`) by who
 * ("operator alice"): cleaned and limited like an adviser's emailed reply,
 * recorded, queued by the conversation's channel, receipt to the advisers.
 * In the caller's transaction. 0 queued, 1 refused (err says why, nothing
 * stored), -1 on a database error. */
int replies_from_console(struct relay *r, struct conversation *c, const char *who, const char *typed, char *err,
                         size_t errlen);

#endif
