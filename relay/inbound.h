/* inbound.h: what the relay does with one received email.
 *
 * inbound_email() runs inside the caller's write transaction: it stores the
 * message, threads it, decides (policy.c) and queues what must be sent in the
 * outbox. The caller commits together with its poll cursor and only then
 * acknowledges upstream. Nothing here touches the network. */
#ifndef RELAY_INBOUND_H
#define RELAY_INBOUND_H

#include <stddef.h>

#include "automatic.h"
#include "mime.h"
#include "reference.h"
#include "relay.h"

/* source_key identifies where the message came from (e.g.
 * "imap:INBOX:1700000000:42"); a key seen before is skipped. truncated: raw
 * is only the first [imap] max_message_kb of a larger message. The message is
 * read within [imap] max_parts and max_depth; one cut by any limit is still
 * handled, and its forward says it was cut. Returns 0 when handled (stored,
 * or a known duplicate) and -1 on a database error (roll back). */
int inbound_email(struct relay *r, const char *source_key, const char *raw, size_t len, int truncated);

/* One received text message, in the caller's transaction like inbound_email.
 * provider names the gateway ("twilio"); id is its unique id for the text.
 * Returns 0 when handled, 1 when it was taken in before (skipped), -1 on a
 * database error. */
int inbound_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
                 long long received_at);

/* The conversation a message from contact on channel joins, as a young
 * person's message would (the latest one, reopened within reopen_days, else a
 * new one); c is filled (owned, conversation_free). 0 or -1. */
int inbound_conversation(struct relay *r, const char *channel, const char *contact, struct conversation *c);

/* ---- shared with replies.c (the advisers' side) ---------------------------- */

/* What a received email is, seen from the service. */
enum sender_role {
	ROLE_YOUNG_PERSON,   /* writes to the service */
	ROLE_ADVISER,        /* an allowed adviser answering a forward */
	ROLE_OUTSIDER,       /* anyone else answering the advisers' side of a conversation */
};

/* Where the threads of an email point. */
struct threading {
	long long tagged;           /* conversation named by a valid reply tag, 0 none */
	int bad_tag;                /* a tag whose signature does not verify */
	long long adviser_side;     /* conversation whose adviser-facing mail it answers */
	long long young_side;       /* conversation whose young-person mail it answers */
	char subject_ref[REFERENCE_MAX];
};

/* Stores a received email in conversation c's transcript (kind "inbound",
 * "reply", "held", "automatic"); body overrides the mail's text. */
int inbound_store(struct relay *r, struct conversation *c, const char *kind, const struct mail *m, const char *raw,
                  size_t len, const char *author, const char *body, const char *detail, long long *row);

/* Is m automatic mail (bounce, out-of-office, list, our own loop)? */
enum automatic_reason inbound_classify(struct relay *r, const struct mail *m);

#endif
