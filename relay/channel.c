/* channel.c: a channel's stored word and spoken word (see channel.h). */
#include "channel.h"

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
