/* compose.h: building outgoing RFC 5322 messages from hostile UTF-8 text.
 *
 * Subjects, display names and bodies come from young people, SMS gateways
 * and advisers. Nothing they write may add a header, a recipient or an SMTP
 * end-of-data: header text loses every control and line separator and is
 * RFC 2047 encoded where needed; bodies are quoted-printable with '.' and
 * "From " at line starts encoded, so "\r\n.\r\n" can never appear. Addresses
 * are refused, not repaired. Output lines end in CRLF and stay under 998
 * octets, as libESMTP wants.
 *
 * Pure functions over our own types; no libetpan or libESMTP types here. */
#ifndef RELAY_COMPOSE_H
#define RELAY_COMPOSE_H

#include <stddef.h>

#include "util.h"

struct compose_address {
	const char *name;    /* display name, UTF-8, may be NULL or hostile */
	const char *address; /* addr-spec, refused unless compose_address_valid() */
};

struct compose_header {
	const char *name;  /* field name; compose_build refuses reserved ones */
	const char *value; /* UTF-8, may be hostile */
};

/* All pointers are borrowed for the duration of compose_build(). */
struct compose_message {
	struct compose_address from;
	const struct compose_address *to;
	size_t nto; /* nto >= 1 */
	const struct compose_address *cc;
	size_t ncc;
	const struct compose_address *reply_to; /* NULL for none */
	const char *subject;                    /* UTF-8, NULL for none */
	const char *message_id;                 /* without <>, from compose_message_id() */
	const char *in_reply_to;                /* without <>, may be NULL */
	const char *const *references;
	size_t nreferences; /* without <>, oldest first */
	long long date;     /* unix seconds, written as +0000 */
	const struct compose_header *extra;
	size_t nextra;    /* e.g. Auto-Submitted */
	const char *body; /* UTF-8, any line ends, NULL = empty */
};

/* Appends the whole message to out: Date, From, Reply-To, To, Cc, Subject,
 * Message-ID, In-Reply-To, References, the extra headers in order, then
 * MIME-Version, Content-Type (text/plain; charset=utf-8),
 * Content-Transfer-Encoding (quoted-printable), an empty line and the body.
 * Every line ends in CRLF; the header block is 7-bit ASCII. Message-ID is
 * always written (libESMTP matches header names without regard to case, so
 * it does not add a second one).
 *
 * In-Reply-To and References usually come from inbound (hostile) mail:
 * entries that are not a plain msg-id are left out rather than failing the
 * message, since threading also rests on the subject tag. Trimming a long
 * References chain is the caller's choice.
 *
 * Returns 0, or -1 with a message in err (naming the field, never its
 * content) and out left as it was, when: an address is not valid, there is no
 * To recipient, message_id is not a valid msg-id, an extra header name is
 * malformed, reserved (one we write ourselves, Bcc, Sender, Content-*, ...)
 * or repeated, or the date cannot be represented. */
int compose_build(const struct compose_message *m, struct buf *out, char *err, size_t errlen);

/* Header text cleaning: invalid UTF-8 becomes U+FFFD; C0 controls (CR, LF,
 * TAB, ...), DEL, C1 controls (including U+0085), U+2028 and U+2029 become a
 * space; runs of spaces collapse to one and leading and trailing spaces go.
 * This is exactly the text a reader decodes back from compose_header().
 * NULL is taken as "". Caller frees. */
char *compose_header_text(const char *utf8);

/* Appends "Name: value\r\n". The value is cleaned with compose_header_text();
 * words that are not plain printable ASCII, contain "=?" or are too long to
 * fold become RFC 2047 encoded-words (UTF-8, Q or B, whichever is shorter),
 * each at most 75 characters and never splitting a UTF-8 sequence. Lines are
 * folded (CRLF + space) at 78 columns where possible; no line can reach 998.
 * Returns 0, or -1 without touching out when name is not a valid field name
 * (1-76 ASCII letters, digits and '-'; narrower than RFC 5322 on purpose). */
int compose_header(struct buf *out, const char *name, const char *value_utf8);

/* Appends text as a quoted-printable body: lines end in CRLF and are at most
 * 76 characters; '=', controls, non-ASCII bytes and trailing whitespace are
 * encoded; a '.' or "From " at the start of any output line is encoded (=2E,
 * =46rom) so no transport sees "\r\n.\r\n" or rewrites it. \n, \r\n and a lone
 * \r each end a line; invalid UTF-8 becomes U+FFFD. A last line without a line
 * end gets one. An empty text appends nothing. */
void compose_qp(struct buf *out, const char *text_utf8);

/* 1 when addr may be written as it is in an address header: printable
 * ASCII, a mailbox by address.h's grammar (dot-string or quoted local part,
 * host name or [IPv4]/[IPv6:...] literal, at most 254 octets) and already
 * in address_normalise()'s form but for letter case (so no trailing dot on
 * the domain, no needless quotes). Nothing is repaired here. Else 0. */
int compose_address_valid(const char *addr);

/* Returns "unique@domain" for a Message-ID (without <>). Characters of
 * unique other than letters, digits, '-', '_' and single inner dots are
 * written as =XX, so distinct uniques give distinct ids. NULL when unique is
 * empty or domain is not a valid domain. Caller frees. */
char *compose_message_id(const char *domain, const char *unique);

#endif
