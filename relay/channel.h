/* channel.h: the two ways a young person reaches the service, as a type.
 *
 * A conversation, a transcript row, an outbox row and a contact each belong
 * to one channel. In memory it is an enum, compared with ==; the database
 * stores it as a word ("email", "sms") and the JSON of relay list, show and
 * export prints that word; people read "email" or "text". Only db_*.c and
 * the JSON writers turn it into a word, through the functions below. */
#ifndef RELAY_CHANNEL_H
#define RELAY_CHANNEL_H

enum channel {
	CHANNEL_EMAIL,
	CHANNEL_SMS,
};

/* The stored word: "email" or "sms". */
const char *channel_stored(enum channel c);

/* The stored word back: "sms" is CHANNEL_SMS, "email" CHANNEL_EMAIL. Any
 * other word, or NULL, is CHANNEL_EMAIL: the relay writes only those two
 * (the conversation table refuses others), and an email address is never
 * sent a text by mistake for a row it did not write. */
enum channel channel_from_stored(const char *word);

/* What a person reads: "email" or "text". */
const char *channel_said(enum channel c);

#endif
