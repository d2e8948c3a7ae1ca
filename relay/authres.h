/* authres.h: is a reply written from an adviser's address really from that
 * address's domain? Read from the Authentication-Results header field
 * (RFC 8601) that the service's own receiving mail server writes after it
 * checked DKIM and DMARC, never from the From header alone.
 *
 * Which field is trusted (the exact rule):
 *
 *  1. Only a field whose authserv-id (its first word) is the configured one
 *     ([advisers] authserv_id, compared without regard to case) is read.
 *     Fields of other servers are ignored, whatever they say.
 *  2. Only the topmost such field counts. A receiving server writes its
 *     field at the top of what arrived (RFC 8601 section 5), so any field
 *     naming our authserv-id below the first one came with the message: the
 *     sender wrote it. It is ignored, pass or not.
 *  3. That field must stand above the message's own header: a field naming
 *     our authserv-id that comes after any of the fields a message's author
 *     writes (From, To, Cc, Subject, Date, Message-ID, In-Reply-To,
 *     References, Reply-To, Sender, MIME-Version, Content-Type) was written
 *     by the sender, and no field is trusted.
 *
 * Receiving servers differ in where their own Received field goes (Postfix
 * with a milter writes Authentication-Results above it, Gmail below it, and
 * a content filter adds hops between), so the Received fields are not used.
 * The rule needs what RFC 8601 section 5 asks of a receiving server: that it
 * write its field on every message it accepts (OpenDMARC, Gmail, rspamd do).
 *
 * What passes, read from the trusted field only, for the domain of the one
 * From address:
 *  - dmarc=pass whose header.from is that domain; or
 *  - dkim=pass whose signing domain (header.d, else the domain of header.i)
 *    is that domain or a parent of it (relaxed alignment, RFC 7489 3.1.1,
 *    taken in its safe half: the relay carries no public-suffix list, so a
 *    signature of a sub-domain does not vouch for its parent).
 * A message with more than one From field never passes.
 *
 * Pure: bytes in, verdict out; nothing here allocates. */
#ifndef RELAY_AUTHRES_H
#define RELAY_AUTHRES_H

#include <stddef.h>

#define AUTHRES_MAX_RESULTS 32
#define AUTHRES_NAME_MAX 64    /* authserv-id, method, result, with the NUL */
#define AUTHRES_DOMAIN_MAX 254 /* a domain name and its NUL */

/* One "method=result" of a field, with the properties the verdict reads. */
struct authres_result {
	char method[AUTHRES_NAME_MAX];        /* "dkim", "dmarc", ...: lower case */
	char result[AUTHRES_NAME_MAX];        /* "pass", "fail", ...: lower case */
	char header_from[AUTHRES_DOMAIN_MAX]; /* dmarc's header.from, lower case; "" none or unusable */
	char signer[AUTHRES_DOMAIN_MAX];      /* dkim's header.d, else header.i's domain; "" none */
};

/* A parsed field value. */
struct authres {
	char authserv_id[AUTHRES_NAME_MAX * 4];             /* lower case */
	struct authres_result results[AUTHRES_MAX_RESULTS]; /* the first AUTHRES_MAX_RESULTS */
	size_t nresults;
};

enum authres_verdict {
	AUTHRES_PASS,    /* DMARC pass, or aligned DKIM pass, for the From domain */
	AUTHRES_MISSING, /* no field of ours that can be trusted */
	AUTHRES_FAIL,    /* our server's field says the From domain was not proved */
};

/* Parses one field's value (the text after "Authentication-Results:",
 * folded or not). 0, or -1 when it has no authserv-id (as Exchange Online
 * writes it) or is not a field value at all; *out is filled either way. */
int authres_parse(const char *value, size_t len, struct authres *out);

/* Is a DKIM signature by signer aligned with from_domain (see above)? Both
 * lower case or not; 1 or 0. */
int authres_aligned(const char *signer, const char *from_domain);

/* The verdict on a message whose From address has domain from_domain. raw
 * and len: the message as received (only its header, up to the first empty
 * line, is read). authserv_id: the configured one. why (may be NULL) gets,
 * in words for the advisers, what was found: it names domains and results,
 * never an address. */
enum authres_verdict authres_verify(const char *raw, size_t len, const char *authserv_id, const char *from_domain, char *why,
                                    size_t whylen);

/* The same question for a mailbox on Exchange Online ([advisers]
 * authentication = exchange), which writes its Authentication-Results
 * field without an authserv-id (so the rule above cannot tell it from a
 * sender's) and writes none on mail sent inside the organisation:
 *  - X-MS-Exchange-Organization-AuthAs: Internal (the first such field)
 *    passes: the message was submitted by a signed-in mailbox of the
 *    organisation, which may send only as addresses it holds Send As rights
 *    for. Exchange's header firewall removes X-MS-Exchange-Organization-*
 *    fields from mail arriving from outside, so a sender cannot write it;
 *  - otherwise the topmost Authentication-Results field, if it stands above
 *    the message's own fields and has no authserv-id (Exchange's form), is
 *    read as in authres_verify: a DMARC pass or an aligned DKIM pass.
 * This rests on Exchange Online's documented behaviour, not on a tenant
 * seen here: check one adviser's reply's headers on the tenant (README). */
enum authres_verdict authres_verify_exchange(const char *raw, size_t len, const char *from_domain, char *why, size_t whylen);

#endif
