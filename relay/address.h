/* address.h: the grammar of a mailbox address, in one place.
 *
 * A young person's address comes from a hostile header; it becomes the
 * envelope recipient of our replies (smtp_judge.c) and an address in their To
 * header (compose.c). This file decides, purely, which addresses can be
 * answered and the one form in which we write them.
 *
 * Accepted (RFC 5321 Mailbox): a local part that is a Dot-string or a
 * Quoted-string; a domain name, or an address literal [IPv4] / [IPv6:...].
 * Normalised: a Quoted-string whose content is a Dot-string loses its quotes
 * and other quoting is minimal; a trailing dot on the domain goes; the domain
 * is lowercase; an internationalised domain becomes A-labels (libidn2,
 * IDNA2008 with the UTS #46 non-transitional mapping), since libESMTP cannot
 * send SMTPUTF8; IPv6 literals are written as inet_ntop writes them.
 *
 * Deliberately not RFC 5321:
 * - a local part longer than 64 octets is accepted (Postfix, Exim and
 *   Gmail deliver them; refusing would leave a child without an answer).
 *   The whole address is still at most 254 octets, as a path must be;
 * - general address literals ([tag:content]) are refused: no server
 *   delivers to one.
 * Refused always: any control character (CR, LF, NUL, TAB, DEL), so that no
 * address can add a header line or an SMTP command; a local part in UTF-8
 * (it needs SMTPUTF8 end to end, which we cannot send).
 *
 * Pure functions; no libetpan or libESMTP types. libidn2 is used only here. */
#ifndef RELAY_ADDRESS_H
#define RELAY_ADDRESS_H

#include <stddef.h>

#define ADDRESS_MAX 254 /* octets of local@domain as sent */

enum address_problem {
	ADDRESS_OK = 0,
	ADDRESS_MISSING,     /* NULL or empty */
	ADDRESS_CONTROL,     /* a control character: CR, LF, NUL, TAB, DEL... */
	ADDRESS_SYNTAX,      /* not local@domain as RFC 5321 writes a mailbox */
	ADDRESS_UTF8_LOCAL,  /* a local part with non-ASCII characters (needs SMTPUTF8) */
	ADDRESS_BAD_DOMAIN,  /* a domain IDNA cannot convert, or not a host name */
	ADDRESS_BAD_LITERAL, /* [...] that is not an IPv4 or IPv6 address */
	ADDRESS_TOO_LONG,    /* over ADDRESS_MAX octets once normalised */
};

/* Normalises addr (UTF-8 text of an addr-spec, as read from a header) into
 * the form we send, in the envelope and in headers alike: 7-bit ASCII,
 * printable, at most ADDRESS_MAX octets. Returns ADDRESS_OK with *out owned
 * by the caller, or a problem with *out NULL. out may be NULL (check only). */
enum address_problem address_normalise(const char *addr, char **out);

/* The same into a caller's buffer (ADDRESS_MAX + 1 octets suffice): out
 * holds the normal form on ADDRESS_OK and "" otherwise. */
enum address_problem address_normalise_buf(const char *addr, char *out, size_t outlen);

/* The problem in plain words for a person ("its local part is not in
 * ASCII ..."), never naming the address. Static string. */
const char *address_problem_text(enum address_problem p);

/* 1 when address_normalise(addr) would succeed: a reply can be addressed. */
int address_usable(const char *addr);

/* 1 when addr can be written as it is, between <> in an SMTP command or a
 * header: printable ASCII only and valid by the grammar above (normal or
 * not: "sam@Example.ORG." passes; outgoing.c writes only normal forms).
 * Else 0. NULL and "" are 0. */
int address_sendable(const char *addr);

/* The addr-spec of the first mailbox of the first From field in a header
 * block (raw, len bytes; the block ends at the first empty line), as
 * written: quotes and spaces in a quoted local part kept, comments and the
 * display name dropped, folding undone. For the forms a general header
 * parser loses (a quoted local part with spaces, an IPv6 literal). NULL when
 * there is no From field or no addr-spec in it; caller frees. */
char *address_from_header_block(const char *raw, size_t len);

#endif
