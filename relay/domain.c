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
