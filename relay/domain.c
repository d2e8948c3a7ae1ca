/* domain.c: the service's words as types (see domain.h). */
#include "domain.h"

#include <string.h>

const char *channel_stored(enum channel c)
{
	return c == CHANNEL_SMS ? "sms" : "email";
}

enum channel channel_from_stored(const char *word)
{
	return word && !strcmp(word, "sms") ? CHANNEL_SMS : CHANNEL_EMAIL;
}

const char *channel_said(enum channel c)
{
	return c == CHANNEL_SMS ? "text" : "email";
}

const char *conversation_state_stored(enum conversation_state s)
{
	return s == CONVERSATION_CLOSED ? "closed" : "open";
}

enum conversation_state conversation_state_from_stored(const char *word)
{
	return word && !strcmp(word, "closed") ? CONVERSATION_CLOSED : CONVERSATION_OPEN;
}

const char *outbox_state_stored(enum outbox_state s)
{
	switch (s) {
	case OUTBOX_SENT:
		return "sent";
	case OUTBOX_FAILED:
		return "failed";
	case OUTBOX_PENDING:
		break;
	}
	return "pending";
}

enum outbox_state outbox_state_from_stored(const char *word)
{
	if (word && !strcmp(word, "sent"))
		return OUTBOX_SENT;
	if (word && !strcmp(word, "failed"))
		return OUTBOX_FAILED;
	return OUTBOX_PENDING;
}

static const char *const kind_words[] = {
	[KIND_INBOUND] = "inbound", [KIND_REPLY] = "reply",         [KIND_AUTOREPLY] = "autoreply",
	[KIND_FORWARD] = "forward", [KIND_RECEIPT] = "receipt",     [KIND_NOTICE] = "notice",
	[KIND_HELD] = "held",       [KIND_AUTOMATIC] = "automatic", [KIND_NOTE] = "note",
	[KIND_COMMAND] = "command", [KIND_SETASIDE] = "setaside",   [KIND_RETRIED] = "retried",
	[KIND_OTHER] = "other",
};

const char *kind_stored(enum message_kind k)
{
	return (unsigned)k < sizeof kind_words / sizeof kind_words[0] ? kind_words[k] : "other";
}

enum message_kind kind_from_stored(const char *word)
{
	for (unsigned k = 0; word && k < KIND_OTHER; k++)
		if (!strcmp(word, kind_words[k]))
			return (enum message_kind)k;
	return KIND_OTHER;
}
