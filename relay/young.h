/* young.h: a young person's message, whichever channel brought it.
 *
 * Decides here: which conversation the message joins (the thread it answers,
 * else the sender's latest, reopened within [policy] reopen_days, else a new
 * one naming the old), what is stored in the transcript, what the policy
 * (policy.c) is told about the time, the words and the contact, and what is
 * queued from its answer: the forward to the advisers, an automatic reply, an
 * opt-out or opt-in. Leaves to others: routing an email here (inbound.c), the
 * pieces shared with the advisers' side (received.c), the decisions themselves
 * (policy.c, triage), building what is sent (outgoing.c), and the per-message
 * savepoint and set-aside (intake.c). An email and a text take one path
 * here; they differ only in what their channel reads (an email's sender,
 * threads, automatic signs and notes; a text's number and keyword) and in
 * the templates of the automatic reply. Everything runs in the caller's
 * transaction; nothing here touches the network. */
#ifndef RELAY_YOUNG_H
#define RELAY_YOUNG_H

#include <stddef.h>

#include "db.h"
#include "mime.h"
#include "relay.h"

/* A young person's email m (raw and len as received), routed here by
 * inbound_email. thread is the conversation whose young-person mail its
 * In-Reply-To or References answer (struct threading's young_side), 0 for
 * none. *row gets its transcript row. 0, or -1 on a database error (or a
 * forward or reply that cannot be built). */
int young_email(struct relay *r, const struct mail *m, long long thread, const char *raw, size_t len, long long *row);

/* One received text message. provider names the gateway ("twilio"); id is
 * its unique id for the text; sender, body as received (may be NULL). The
 * key "sms:PROVIDER:ID" says it was taken in. Returns 0 when handled, 1 when
 * it was taken in before (skipped), -1 on a database error. */
int young_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
               long long received_at);

/* The conversation a message from contact on channel joins, as a young
 * person's message would (the latest one, reopened within reopen_days, else a
 * new one); c is filled (owned, conversation_free). 0 or -1. */
int young_conversation(struct relay *r, enum channel channel, const char *contact, struct conversation *c);

#endif
