/* history.h: the texts of a conversation that reply cleaning (clean.h) and
 * urgent triage match a message against: what the relay holds of it, as
 * plain text. */
#ifndef RELAY_HISTORY_H
#define RELAY_HISTORY_H

#include <stddef.h>

#include "relay.h"

struct history_texts {
	char **texts; /* owned, each owned */
	size_t n;
	size_t bytes;
};

/* Everything an adviser may have quoted in a reply on conversation id: the
 * transcript's texts (the young person's messages, replies and auto-replies;
 * not held replies or notes) and the
 * text of every email the relay sent on it (forwards, receipts, notices,
 * replies, auto-replies) as the adviser's mail client received it, oldest
 * first, up to HISTORY_MAX_BYTES in all. Returns 0, or -1 on a database
 * error (h is then empty). */
int history_for_adviser(struct relay *r, long long id, struct history_texts *h);

/* What the relay sent the young person of conversation id (auto-replies and
 * replies, as sent): what they may quote back. 0 or -1 as above. */
int history_sent_to_young(struct relay *r, long long id, struct history_texts *h);

void history_texts_free(struct history_texts *h); /* accepts NULL and an emptied one */

#define HISTORY_MAX_BYTES (4u << 20)

#endif
