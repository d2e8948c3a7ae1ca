/* identity.c: the identity of a received email (identity.h). */
#include "identity.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* What the sender wrote and how to read it; trace fields are not here. The
 * order is part of every key kept (identity.h). */
static const char *const fields[] = {
	"message-id", "from", "date", "subject", "content-type", "content-transfer-encoding",
};
#define NFIELDS (sizeof fields / sizeof fields[0])
#define MESSAGE_ID 0 /* indexes in fields[] */
#define DATE 2
#define OTHER_FIELD ((int)NFIELDS)

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The end of the line at p (before CRLF or LF); *next is where the next
 * line starts. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl ? nl : end;

	*next = nl ? nl + 1 : end;
	if (e > p && e[-1] == '\r')
		e--;
	return e;
}

/* The length of the name when [p, e) starts a header field ("Name: ...",
 * blanks tolerated before the colon), else 0. */
static size_t field_name(const char *p, const char *e, const char **colon)
{
	const char *q = p;
	size_t n;

	while (q < e && (unsigned char)*q > 32 && (unsigned char)*q < 127 && *q != ':')
		q++;
	n = (size_t)(q - p);
	while (q < e && is_blank(*q))
		q++;
	if (n == 0 || q == e || *q != ':')
		return 0;
	*colon = q;
	return n;
}

static int field_index(const char *name, size_t n)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i]) == n && strncasecmp(name, fields[i], n) == 0)
			return (int)i;
	return OTHER_FIELD;
}

/* Appends value (unfolded text with its line breaks still in) to out as
 * "<length>:<value>\n", its blank runs made one space and trimmed. Returns
 * that length. */
static size_t add_value(struct buf *out, const struct buf *value)
{
	struct buf v;
	int space = 0;
	size_t n;

	buf_init(&v);
	for (size_t i = 0; i < value->len; i++) {
		char c = value->data[i];
		if (is_blank(c) || c == '\r' || c == '\n') {
			space = v.len > 0;
			continue;
		}
		if (space)
			buf_addc(&v, ' ');
		space = 0;
		buf_addc(&v, c);
	}
	n = v.len;
	buf_printf(out, "%zu:", n);
	buf_add(out, v.data, v.len);
	buf_addc(out, '\n');
	buf_free(&v);
	return n;
}

/* Bytes for the hash, gathered so that it is called per 16 KiB rather than
 * per line. */
struct feed {
	gnutls_hash_hd_t h;
	size_t n;
	int bad;
	char chunk[16384];
};

static void feed(struct feed *f, const char *p, size_t n)
{
	if (f->n + n > sizeof f->chunk) {
		f->bad |= f->n && gnutls_hash(f->h, f->chunk, f->n) < 0;
		f->n = 0;
	}
	if (n > sizeof f->chunk) {
		f->bad |= gnutls_hash(f->h, p, n) < 0;
		return;
	}
	memcpy(f->chunk + f->n, p, n);
	f->n += n;
}

/* Feeds the body, CRLF as LF, to the hash. */
static int hash_body(gnutls_hash_hd_t h, const char *p, const char *end)
{
	struct feed *f = xmalloc(sizeof *f); /* 16 KiB: not on the stack */

	f->h = h;
	f->n = 0;
	f->bad = 0;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		const char *stop = cr ? cr : end;
		int crlf = cr && cr + 1 < end && cr[1] == '\n';
		/* a lone CR is text; the CR of a CRLF is left out */
		feed(f, p, (size_t)(stop - p) + (cr && !crlf));
		p = cr ? cr + 1 : end;
	}
	int bad = f->bad || (f->n && gnutls_hash(h, f->chunk, f->n) < 0);
	free(f);
	return bad ? -1 : 0;
}

int identity_key(const char *raw, size_t len, char *out)
{
	struct buf found[NFIELDS], value;
	const char *p = raw ? raw : "", *end = p + (raw ? len : 0), *body = end;
	int cur = -1, rc = -1, own = 0;
	gnutls_hash_hd_t h;
	unsigned char digest[32];

	out[0] = '\0';
	for (size_t i = 0; i < NFIELDS; i++)
		buf_init(&found[i]);
	buf_init(&value);
	while (p < end) {
		const char *next, *colon = NULL;
		const char *e = line_end(p, end, &next);
		size_t n;

		if (e == p) { /* the empty line between header and body */
			body = next;
			break;
		}
		if (is_blank(*p) && cur >= 0) { /* a folded line goes on the field before */
			if (cur < OTHER_FIELD) {
				buf_addc(&value, ' ');
				buf_add(&value, p, (size_t)(e - p));
			}
			p = next;
			continue;
		}
		n = is_blank(*p) ? 0 : field_name(p, e, &colon);
		if (n == 0) { /* not a header: the text is body from here */
			body = p;
			break;
		}
		if (cur >= 0 && cur < OTHER_FIELD && add_value(&found[cur], &value) && (cur == MESSAGE_ID || cur == DATE))
			own = 1;
		cur = field_index(p, n);
		buf_reset(&value);
		buf_add(&value, colon + 1, (size_t)(e - colon - 1));
		p = next;
	}
	if (cur >= 0 && cur < OTHER_FIELD && add_value(&found[cur], &value) && (cur == MESSAGE_ID || cur == DATE))
		own = 1;
	/* Nothing but the trace tells two sendings of one text apart: all the
	 * bytes count, and a copy costs a second forward rather than a message
	 * lost. */
	if (!own)
		body = raw ? raw : "";

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		goto out;
	int bad = 0;
	for (size_t i = 0; i < NFIELDS; i++) {
		bad |= gnutls_hash(h, fields[i], strlen(fields[i]) + 1) < 0; /* with its NUL */
		bad |= found[i].len && gnutls_hash(h, found[i].data, found[i].len) < 0;
		bad |= gnutls_hash(h, "\n", 1) < 0;
	}
	bad |= gnutls_hash(h, "body\n", 5) < 0;
	bad |= hash_body(h, body, end) < 0;
	gnutls_hash_deinit(h, digest);
	if (bad)
		goto out;
	memcpy(out, IDENTITY_PREFIX, sizeof IDENTITY_PREFIX - 1);
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(out + sizeof IDENTITY_PREFIX - 1 + 2 * i, 3, "%02x", digest[i]);
	rc = 0;
out:
	for (size_t i = 0; i < NFIELDS; i++)
		buf_free(&found[i]);
	buf_free(&value);
	return rc;
}
