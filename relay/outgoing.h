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

/* Forwards a young person's message to the advisers. m (may be NULL for a
 * text) supplies the attachment list. remarks: extra lines for the advisers,
 * may be NULL. */
int outgoing_forward(struct relay *r, struct conversation *c, const char *subject, const char *text, const struct mail *m,
                     long long message_row, const char *remarks, int urgent);

/* Forwards a received message that could not be handled automatically
 * (intake.h) to the advisers: the reason, and text (what could be read and
 * the source as received, made safe by the caller). m may be NULL. */
int outgoing_set_aside(struct relay *r, struct conversation *c, const char *reason, const char *text, const struct mail *m,
                       long long message_row);

/* An auto-reply by email from templates/TMPL.txt ("email/first_contact",
 * "email/out_of_hours", "email/urgent"), threaded on the young person's email. */
int outgoing_autoreply(struct relay *r, struct conversation *c, const char *tmpl);

/* An adviser's cleaned answer to the young person (by the conversation's
 * channel), and the receipt that tells the advisers exactly what was sent and,
 * for a text, in how many parts. adviser: the adviser's address, or who typed
 * it at the server ("operator alice", no '@'), when the receipt goes to
 * forward_to only. For a text, prepared and parts are what
 * outgoing_text_fits() gave when it fitted: a text is rendered and counted
 * once, and what was checked is what is sent. For an email, NULL and 0. */
int outgoing_reply(struct relay *r, struct conversation *c, const char *adviser, const char *text, const char *prepared,
                   int parts, long long message_row);

/* The text an adviser's answer becomes by SMS (template, GSM-7 where possible)
 * and its part count. Returns 1 when it fits in [sms] max_parts, 0 when not,
 * -1 on a template error. *prepared owned (may be NULL on error). */
int outgoing_text_fits(struct relay *r, struct conversation *c, const char *text, char **prepared, int *parts);

/* A text to the young person from a template in templates/sms/ (auto-reply,
 * STOP/START confirmation, HELP). kind names the outbox row (KIND_AUTOREPLY). */
int outgoing_text_template(struct relay *r, struct conversation *c, enum message_kind kind, const char *tmpl);

/* What advisers see of the conversation's contact, by [service] show_contact:
 * masked ("+44 7*** ***123"), full, or none; owned. */
char *outgoing_contact(const struct config *cfg, const struct conversation *c);

/* Tells the advisers that a reply was held (not relayed); c may be NULL when
 * no conversation could be told. */
int outgoing_held(struct relay *r, struct conversation *c, const char *sender, const char *reason, const char *text);

/* Tells the advisers that a message of this kind could not be delivered to the young person. */
int outgoing_undelivered(struct relay *r, struct conversation *c, enum message_kind kind, const char *reason);

/* Tells the advisers that a message to the young person is delayed (still queued). */
int outgoing_delayed(struct relay *r, struct conversation *c, enum message_kind kind, const char *reason);

/* Tells the advisers, in conversation c's thread, that the hour's
 * auto-reply budget (budget replies) is spent: until `until` (unix seconds)
 * messages are forwarded but only urgent ones answered (budget.h). */
int outgoing_budget(struct relay *r, struct conversation *c, int budget, long long until);
/* Tells one adviser that their reply was held because cleaning it was not
 * certain (clean.h), with text, what would have been sent ("" for nothing). */
int outgoing_cleaning_held(struct relay *r, struct conversation *c, const char *adviser, const char *reason,
                           const char *text);

/* Tells one adviser that their reply was not sent, and why. */
int outgoing_refused(struct relay *r, struct conversation *c, const char *adviser, const char *reason);

#endif
