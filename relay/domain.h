/* domain.h: the service's words as types: the channel a young person uses,
 * a conversation's state, a message's kind and an outbox row's state.
 *
 * In memory each is an enum, compared with == and switched on; the database
 * stores each as a word and the JSON of relay list, show and export prints
 * that word. Only db_*.c and the JSON writers turn them into words, through
 * the functions below; people read channel_said's words. The schema refuses
 * any other word in the conversation and outbox tables (CHECK constraints). */
#ifndef RELAY_DOMAIN_H
#define RELAY_DOMAIN_H

/* How a young person reaches the service. */
enum channel {
	CHANNEL_EMAIL,
	CHANNEL_SMS,
};

/* The stored word: "email" or "sms". */
const char *channel_stored(enum channel c);

/* The stored word back: "sms" is CHANNEL_SMS, "email" CHANNEL_EMAIL. Any
 * other word, or NULL, is CHANNEL_EMAIL: the relay writes only those two, and
 * an address is never sent a text for a row the relay did not write. */
enum channel channel_from_stored(const char *word);

/* What a person reads: "email" or "text". */
const char *channel_said(enum channel c);

/* A conversation is open until an adviser, the operator or inactivity closes it. */
enum conversation_state {
	CONVERSATION_OPEN,
	CONVERSATION_CLOSED,
};

/* "open" or "closed", stored and printed alike. */
const char *conversation_state_stored(enum conversation_state s);

/* "closed" is CONVERSATION_CLOSED; any other word, or NULL, is open (the
 * schema's default). */
enum conversation_state conversation_state_from_stored(const char *word);

/* Where a message to send stands: waiting for its (next) attempt, taken by a
 * server or gateway, or refused for good. */
enum outbox_state {
	OUTBOX_PENDING,
	OUTBOX_SENT,
	OUTBOX_FAILED,
};

/* "pending", "sent" or "failed", stored and printed alike. */
const char *outbox_state_stored(enum outbox_state s);

/* "sent" and "failed" are themselves; any other word, or NULL, is pending (the
 * schema's default): a row of unknown standing is tried, never dropped. */
enum outbox_state outbox_state_from_stored(const char *word);

/* What a transcript row or an outbox row is. Who each kind is for (a young
 * person, the advisers) is kind.h's. */
enum message_kind {
	KIND_INBOUND,   /* transcript: a young person's message */
	KIND_REPLY,     /* transcript and outbox: an adviser's answer, relayed */
	KIND_AUTOREPLY, /* outbox: the relay's own answer, the signposting included */
	KIND_FORWARD,   /* outbox: a young person's message to the advisers */
	KIND_RECEIPT,   /* outbox: exactly what a young person was sent, to the advisers */
	KIND_NOTICE,    /* outbox: the relay telling the advisers something */
	KIND_HELD,      /* transcript: a reply not relayed, and why */
	KIND_AUTOMATIC, /* transcript: recognised automatic mail, kept */
	KIND_NOTE,      /* transcript: an adviser's #note */
	KIND_COMMAND,   /* transcript: an adviser's or the operator's #command */
	KIND_SETASIDE,  /* transcript: received, could not be handled (intake.h) */
	KIND_RETRIED,   /* transcript: a set-aside message handed back by relay retry */
	KIND_OTHER,     /* a stored word the relay does not write */
};

/* The stored word: "inbound", "reply", ... ("other" for KIND_OTHER). */
const char *kind_stored(enum message_kind k);

/* The stored word back; any word the relay does not write, or NULL, is
 * KIND_OTHER, which reaches nobody and counts in no figure. */
enum message_kind kind_from_stored(const char *word);

#endif
