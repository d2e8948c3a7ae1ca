/* mime.h: an inbound email as plain data, parsed with libetpan.
 *
 * This is the only place that sees libetpan's MIME and RFC 5322 types. A
 * message that cannot be parsed is still returned: its text is the raw
 * message (made valid UTF-8) and parse_error says why, so that it is kept
 * and forwarded raw, never dropped. A message over a limit (struct
 * mail_limits) is returned too, with what could be read of it and `cut`
 * saying which limit stopped the reading. */
#ifndef RELAY_MIME_H
#define RELAY_MIME_H

#include <stddef.h>

struct mail_field {
	char *name;  /* owned, as written */
	char *value; /* owned, decoded to UTF-8, unfolded */
};

struct mail_attachment {
	char *filename;     /* owned, decoded; "" when none */
	char *content_type; /* owned, "type/subtype" lowercase */
	size_t size;        /* decoded bytes */
};

/* What a hostile message may cost. Depth: the message's own body is at 0, the
 * parts of a multipart at 1, and so on; parts deeper than max_depth are not
 * read. Parts: every MIME part counts, multiparts included; those after the
 * first max_parts are not read, and a message that declares more than
 * max_parts multipart or message parts is not handed to the MIME parser at
 * all (its nesting could exhaust the stack) but kept raw. Size: only the
 * first max_size bytes are read (0: all). */
struct mail_limits {
	int max_depth;
	int max_parts;
	size_t max_size;
};

#define MAIL_MAX_DEPTH 20 /* the defaults, as [imap] max_depth and max_parts */
#define MAIL_MAX_PARTS 100
/* Kept of a header with very many entries; the rest are ignored. Each new
 * entry is compared with those kept, so an unbounded list would make a
 * megabyte of To: addresses cost minutes. */
#define MAIL_MAX_ADDRESSES 1000 /* recipients, and references */
#define MAIL_MAX_FIELDS 1000    /* header fields in fields[] */

struct mail {
	char *message_id;  /* owned, without <>, NULL if absent */
	char *in_reply_to; /* owned, the first id, without <> */
	char **references; /* owned: References ids then In-Reply-To ids, de-duplicated (at most MAIL_MAX_ADDRESSES) */
	size_t nreferences;
	char *from_address; /* owned, lowercase; NULL if absent */
	char *from_name;    /* owned, decoded; NULL if absent */
	char **recipients;  /* owned, lowercase: To, Cc, Delivered-To, X-Original-To (at most MAIL_MAX_ADDRESSES) */
	size_t nrecipients;
	char *subject;             /* owned, decoded, control characters removed; NULL if absent */
	long long date;            /* unix seconds from Date:, 0 if absent or unreadable */
	char *return_path;         /* owned: NULL if absent, "" for <> */
	char *content_type;        /* owned, top-level "type/subtype" lowercase */
	struct mail_field *fields; /* owned: the headers other than the address and id headers (the first MAIL_MAX_FIELDS) */
	size_t nfields;
	char *text;                          /* owned, UTF-8: the message's text (never NULL): its text
	                         * parts in order, a blank line between; of a
	                         * multipart/alternative only the plain version (else
	                         * the HTML one); a text part is text unless its
	                         * disposition is "attachment", file name or not */
	int text_from_html;                  /* some of text was converted from HTML */
	struct mail_attachment *attachments; /* owned */
	size_t nattachments;
	char *cut;         /* owned: why only part of the message was read (which
	                         * limit); NULL when it was read whole */
	char *parse_error; /* owned; NULL when parsed */
};

/* Parses raw (len bytes, need not be NUL-terminated) within lim (NULL: the
 * defaults above, no size limit). Always fills *m (free with mail_free);
 * returns 0 when parsed, -1 when kept raw (m->parse_error). When a limit cut
 * the reading (m->cut) and no text was found in what was read, the text is
 * the raw message, so that the young person's words still reach an adviser. */
int mail_parse(const char *raw, size_t len, const struct mail_limits *lim, struct mail *m);
void mail_free(struct mail *m);

/* Value of the first field with this name (any case), or NULL. */
const char *mail_field_get(const struct mail *m, const char *name);

/* Decodes RFC 2047 encoded-words in a header value to UTF-8. Owned result. */
char *mime_decode_header(const char *value);

/* Converts text in charset to valid UTF-8 (unknown charsets are read as
 * Windows-1252, invalid bytes become U+FFFD). Owned result. */
char *mime_to_utf8(const char *charset, const char *data, size_t len);

#endif
