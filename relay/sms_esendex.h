/* sms_esendex.h: the Esendex REST provider (XML over HTTPS, libxml2).
 *
 * sms_esendex (declared in sms.h) is the provider table. What is declared
 * here are its pure parts, over plain strings and structs, for the unit
 * tests and fuzzers: reading each kind of Esendex answer and writing the
 * dispatcher request. None of them touches the network.
 *
 * Every reader refuses a document that carries a DTD (so no entity is ever
 * defined, let alone expanded or fetched), reads it as UTF-8 whatever it
 * declares, and matches elements by local name in the Esendex namespace
 * (elements with no namespace are accepted too; any other namespace is not
 * Esendex's and is refused). Each returns 0, or -1 with a message in err that
 * never quotes the document (it may hold a young person's text). */
#ifndef RELAY_SMS_ESENDEX_H
#define RELAY_SMS_ESENDEX_H

#include <stddef.h>

#include "sms.h"
#include "util.h"

#define ESENDEX_NS "http://api.esendex.com/ns/"

/* Texts asked for per inbox page when the settings give no page size, and
 * the most ever asked for (a larger page_size is capped). */
#define ESENDEX_PAGE_DEFAULT 100
#define ESENDEX_PAGE_MAX 1000

/* A fetch stops paging after this many inbox headers or pages, whatever
 * totalcount claims, so a wrong or hostile answer cannot keep the relay
 * paging forever. */
#define ESENDEX_MAX_HEADERS 10000
#define ESENDEX_MAX_PAGES 100

/* One <messageheader> of an inbox page. */
struct esendex_header {
	char *id;               /* owned; NULL when the header had no id */
	char *from;             /* owned: from/phonenumber, NULL when absent */
	char *to;               /* owned: to/phonenumber, NULL when absent */
	char *summary;          /* owned: the truncated text, NULL when absent */
	long long received_at;  /* unix seconds from receivedat, 0 unknown */
	long long submitted_at; /* unix seconds from submittedat (a sent text's), 0 unknown */
	int inbound;            /* direction is Inbound (or absent: the inbox holds only received texts) */
	int read;               /* readat holds a date (marked read); empty or 0001-01-01 is unread */
};

/* One inbox page: <messageheaders startindex count totalcount>. */
struct esendex_page {
	long long startindex; /* as the answer gave them; -1 when absent */
	long long count;
	long long totalcount;
	struct esendex_header *headers; /* owned array of n */
	size_t n;
};

/* Reads an inbox page. On success *page is filled (free with
 * esendex_page_free); on failure it is left empty. A totalcount, count or
 * startindex that is not a number in range is a malformed answer. */
int esendex_parse_inbox(const char *xml, size_t len, struct esendex_page *page, char *err, size_t errlen);
void esendex_page_free(struct esendex_page *page);

/* The sent messages (GET /v1.0/messageheaders?startindex&count) come in the
 * same <messageheaders> envelope as the inbox, newest first, each header
 * with direction Outbound: esendex_parse_inbox reads them too (inbound 0,
 * submitted_at set), and esendex_next_page pages them. */   /* accepts NULL; leaves it empty */

/* Where the next inbox page starts, after the page *p that was asked for at
 * start with count asked. Returns 1 and *next when there is more to read; 0
 * when this was the last page: the page was empty, it says it starts
 * somewhere else than start (a server ignoring startindex), start plus the
 * headers it held reaches totalcount (or, with no totalcount, the page was
 * short), or ESENDEX_MAX_HEADERS have been read. Advances by the headers actually
 * present, not by the count the answer claims. */
int esendex_next_page(const struct esendex_page *p, long long start, long long asked, long long *next);

/* Reads <messagebody><bodytext/></messagebody>. *text (owned) is the full
 * text, UTF-8, "" for an empty bodytext. A missing bodytext is an error. */
int esendex_parse_body(const char *xml, size_t len, char **text, char *err, size_t errlen);

/* Reads the dispatcher's answer <messageheaders batchid><messageheader id
 * uri/></messageheaders>. *id (owned) is the first messageheader's id. */
int esendex_parse_dispatch(const char *xml, size_t len, char **id, char *err, size_t errlen);

/* Reads a <messageheader> (GET /v1.0/messageheaders/{id}): *d from its
 * status (an unknown status is SMS_DELIVERY_UNKNOWN, not an error) and
 * *reason (owned, NULL when absent) from failurereason (its description
 * when it has one). A missing status is an error. reason may be NULL. */
int esendex_parse_status(const char *xml, size_t len, enum sms_delivery *d, char **reason, char *err, size_t errlen);

/* Maps an Esendex message status ("Submitted", "Delivered", ...; case
 * ignored) to a delivery state. NULL or unknown: SMS_DELIVERY_UNKNOWN. */
enum sms_delivery esendex_delivery(const char *status);

/* Parses an Esendex timestamp: YYYY-MM-DDTHH:MM:SS, optional fraction,
 * optional Z or +HH:MM / -HH:MM; no zone means UTC. 0 and *out (unix
 * seconds), or -1. */
int esendex_parse_time(const char *s, long long *out);

/* Appends s to b escaped for XML element content: & < > " ' as entities,
 * CR as &#13; (so it survives line-end normalisation). Characters XML 1.0
 * cannot carry at all (C0 controls other than tab, LF and CR; U+FFFE and
 * U+FFFF) become a space, and invalid UTF-8 becomes U+FFFD, so the result is
 * always well-formed. */
void esendex_xml_escape(struct buf *b, const char *s);

/* The dispatcher request for one text. account: the account reference; to:
 * E.164 ("+447700900123"; the + is dropped, Esendex wants digits only);
 * text: UTF-8; unicode: characterset Unicode instead of Auto. Returns an
 * owned document, or NULL with err when to is not a phone number or account
 * is empty. */
char *esendex_build_dispatch(const char *account, const char *to, const char *text, int unicode, char *err, size_t errlen);

/* failurereason made safe for an error message: at most 120 bytes, control
 * characters removed, and any run of five or more digits (a phone number)
 * replaced by "#". Owned result; NULL in, NULL out. */
char *esendex_reason_safe(const char *reason);

/* 1 when a failurereason says the recipient opted out (case ignored):
 * status() then answers SMS_OPTED_OUT with the delivery SMS_DELIVERY_FAILED. */
int esendex_reason_opted_out(const char *reason);

#endif
