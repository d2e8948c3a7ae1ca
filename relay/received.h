/* received.h: what a received email is, seen from the service — the pieces
 * every handler of one shares.
 *
 * Decides here: where an email's threads point (reply tags, In-Reply-To,
 * References, a reference in the subject), which role its sender has
 * (young person, adviser, outsider), whether it is automatic mail, and how it
 * is stored in a conversation's transcript. Leaves to others: what is done
 * with it (inbound.c routes, young.c handles a young person's message,
 * replies.c the advisers' side) and every decision of policy. Nothing here
 * queues anything to send or touches the network; all of it runs in the
 * caller's transaction. */
#ifndef RELAY_RECEIVED_H
#define RELAY_RECEIVED_H

#include <stddef.h>

#include "automatic.h"
#include "db.h"
#include "mime.h"
#include "reference.h"
#include "relay.h"

/* Who sent a received email, seen from the service. */
enum sender_role {
	ROLE_YOUNG_PERSON, /* writes to the service */
	ROLE_ADVISER,      /* an allowed adviser answering a forward */
	ROLE_OUTSIDER,     /* anyone else answering the advisers' side of a conversation */
};

/* Where the threads of an email point. */
struct threading {
	long long tagged;       /* conversation named by a valid reply tag, 0 none */
	int bad_tag;            /* a tag whose signature does not verify */
	long long adviser_side; /* conversation whose adviser-facing mail it answers */
	long long young_side;   /* conversation whose young-person mail it answers */
	char subject_ref[REFERENCE_MAX];
};

/* Fills t (caller's storage) from m's recipients (reply tags), In-Reply-To
 * and References (our messages and theirs) and subject. 0, or -1 on a
 * database error. */
int received_threads(struct relay *r, const struct mail *m, struct threading *t);

/* The role of m's sender: an allowed adviser's From is ROLE_ADVISER; anyone
 * else whose mail answers the advisers' side (t) is ROLE_OUTSIDER; the rest
 * write as young people. */
enum sender_role received_role(const struct relay *r, const struct mail *m, const struct threading *t);

/* Is m automatic mail (bounce, out-of-office, list, our own loop)? */
enum automatic_reason received_classify(const struct relay *r, const struct mail *m);

/* Stores a received email in conversation c's transcript as kind
 * (KIND_INBOUND, KIND_REPLY, KIND_HELD, KIND_AUTOMATIC); body (borrowed, may be NULL)
 * overrides the mail's text; author and detail may be NULL. An adviser's
 * reply is recorded on the conversation's channel, everything else as email.
 * *row gets the new row. 0 or -1. */
int received_store(struct relay *r, const struct conversation *c, enum message_kind kind, const struct mail *m,
                   const char *raw, size_t len, const char *author, const char *body, const char *detail, long long *row);

#endif
