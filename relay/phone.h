/* phone.h: the young person's number and the gateway's sender, in one form.
 * Gateways hand numbers over as "+447700900123" (Twilio), "447700900123"
 * (Esendex) or whatever the phone shows ("07700 900123", Android); the
 * relay threads a conversation on the E.164 form, so all of them must come
 * out the same. Senders that cannot receive a reply (short codes such as
 * 88440, alphanumeric IDs such as "BANK") are told apart so that the relay
 * never auto-replies to them. Pure functions. */
#ifndef RELAY_PHONE_H
#define RELAY_PHONE_H

#include <stddef.h>

#define PHONE_MAX 32 /* room for any E.164 number, short code or sender ID, and the NUL */

enum phone_kind {
	PHONE_INVALID = 0,
	PHONE_NUMBER,       /* E.164: can be replied to */
	PHONE_SHORT_CODE,   /* 3-8 digits, no + and no leading 0 */
	PHONE_ALPHANUMERIC, /* a sender ID with letters, at most 11 characters */
};

/* Normalises a sender or recipient, reading national forms by UK rules:
 * - spaces, tabs, dots, dashes, slashes, brackets, "(0)", and the no-break
 *   spaces and Unicode dashes of copied text are dropped;
 * - 0<NSN> is UK: 07700 900123 -> +447700900123, 01296 383962 -> +441296383962;
 * - 00<digits> is international: 0044 7700 900123 -> +447700900123;
 * - +<digits> is kept when 8-15 digits; +44 numbers must be valid UK ones and
 *   a stray trunk 0 after +44 is dropped (+44 07700... -> +447700...);
 * - bare digits: 44<valid UK NSN> -> +44... (Esendex's form); 3-8 digits are
 *   a short code; 11-15 digits not starting 0 are international without +
 *   (Esendex's form for other countries); 9-10 bare digits are ambiguous
 *   (a UK number missing its 0?) and invalid.
 * UK national significant numbers: 7xxxxxxxxx exactly 10 digits; 1, 2, 3, 5,
 * 8, 9 then 9 or 10 digits; 800 1111 (Childline) as the one short one.
 * Anything with a letter (and no +) is a sender ID: PHONE_ALPHANUMERIC when 1-11
 * characters of letters, digits, spaces and . - _ & ' ! +; otherwise invalid.
 * out (outlen bytes, PHONE_MAX is always enough) receives the E.164 form for
 * PHONE_NUMBER, the digits for PHONE_SHORT_CODE, the trimmed text for
 * PHONE_ALPHANUMERIC and PHONE_INVALID (cut to fit, on a character
 * boundary); "" for NULL or empty input. A result for a number, short code or
 * sender ID that does not fit outlen is PHONE_INVALID. */
enum phone_kind phone_normalise(const char *in, char *out, size_t outlen);

/* Masks an E.164 number for advisers' eyes: "+44 7*** ***123" for
 * +447700900123 - the country code (ITU prefix rules), the first national
 * digit, stars, the last three digits, with a space after the fourth national
 * character. National numbers shorter than 7 digits show only their first
 * digit. Anything that is not +<8-15 digits> (NULL, short codes, sender IDs)
 * gives "***". Owned result; caller frees. */
char *phone_mask(const char *e164);

#endif
