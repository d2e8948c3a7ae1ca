/* smtp_judge.c: the decisions about SMTP, pure functions over plain data:
 * what a server's replies mean for a message (smtp_judge, smtp_describe,
 * smtp_reply_set), and whether a message and its addresses may be offered at
 * all (smtp_message_check, smtp_address_ok). No I/O: smtp_esmtp.c and
 * smtp_etpan.c carry the sessions and bring their replies here. */
#include "smtp.h"
#include "smtp_p.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "util.h"

#define MAX_LINE 998

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void smtp_describe(const struct smtp_reply *r, const char *where, char *out, size_t outlen)
{
	struct buf b;
	const char *p, *end, *w;
	size_t room;

	if (outlen == 0)
		return;
	if (!r || r->code == 0) {
		snprintf(out, outlen, "no reply (%s)", where);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "%d", r->code);
	if (r->enh_class > 0)
		buf_printf(&b, " %d.%d.%d", r->enh_class, r->enh_subject, r->enh_detail);
	/* The first line only; a word holding '@' is an address a log must not see. */
	p = r->text ? r->text : "";
	end = p + strcspn(p, "\r\n");
	while (p < end) {
		while (p < end && is_space((unsigned char)*p))
			p++;
		if (p == end)
			break;
		for (w = p; w < end && !is_space((unsigned char)*w); w++)
			;
		buf_addc(&b, ' ');
		if (memchr(p, '@', (size_t)(w - p))) {
			buf_adds(&b, "<address>");
		} else {
			for (; p < w; p++)
				if ((unsigned char)*p >= 0x20 && *p != 0x7f)
					buf_addc(&b, *p);
		}
		p = w;
	}
	/* Cut the reply, never the "(where)" that says whose reply it is. */
	room = outlen > strlen(where) + 4 ? outlen - strlen(where) - 4 : 0;
	if (b.len > room && room > 0) {
		b.len = room;
		while (b.len > 0 && ((unsigned char)b.data[b.len - 1] & 0xc0) == 0x80)
			b.len--; /* do not split a UTF-8 sequence */
		if (b.len > 0 && (unsigned char)b.data[b.len - 1] >= 0xc0)
			b.len--;
		b.data[b.len] = '\0';
	}
	snprintf(out, outlen, "%s (%s)", buf_str(&b), where);
	buf_free(&b);
}

/* 0 accepted, 1 temporary, 2 permanent. No reply and odd codes are temporary:
 * a retry is the safe answer when we do not know. */
static int reply_class(int code, int accept_code)
{
	if (accept_code ? code == accept_code : code / 100 == 2)
		return 0;
	return code / 100 == 5 ? 2 : 1;
}

enum smtp_outcome smtp_judge(const struct smtp_reply *mail, const struct smtp_reply *rcpt, size_t nrcpt,
                             const struct smtp_reply *data, size_t *accepted, char *detail, size_t detaillen)
{
	const struct smtp_reply *first[3] = { NULL, NULL, NULL };
	char where[3][64];
	struct smtp_reply nodata = { 0, 0, 0, 0, NULL };
	size_t i, ok = 0;
	int c;

	*accepted = 0;
	if (detaillen > 0)
		detail[0] = '\0';

	/* After a refused MAIL FROM the recipients were never offered. */
	c = reply_class(mail->code, 0);
	if (c != 0) {
		first[c] = mail;
		snprintf(where[c], sizeof where[c], "MAIL FROM");
	} else {
		for (i = 0; i < nrcpt; i++) {
			c = reply_class(rcpt[i].code, 0);
			if (c == 0) {
				ok++;
			} else if (!first[c]) {
				first[c] = &rcpt[i];
				snprintf(where[c], sizeof where[c], "recipient %zu of %zu", i + 1, nrcpt);
			}
		}
		/* With no recipient accepted the DATA reply only repeats that. */
		if (ok > 0) {
			c = reply_class(data->code, 250);
			if (c == 0) {
				*accepted = ok;
			} else if (!first[c]) {
				/* 354 and nothing after: the connection broke during the data. */
				first[c] = data->code / 100 == 3 ? &nodata : data;
				snprintf(where[c], sizeof where[c], "DATA");
			}
		} else if (nrcpt == 0 && !first[1]) {
			first[1] = &nodata;
			snprintf(where[1], sizeof where[1], "no recipients");
		}
	}
	if (first[1]) {
		smtp_describe(first[1], where[1], detail, detaillen);
		return SMTP_TEMPORARY;
	}
	if (first[2]) {
		smtp_describe(first[2], where[2], detail, detaillen);
		return SMTP_PERMANENT;
	}
	return SMTP_SENT;
}

static int header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && line[k] == ':' && str_ncasecmp_ascii(line, name, k) == 0;
}

int smtp_message_check(const char *data, size_t len, int *eightbit, char *err, size_t errlen)
{
	size_t i, start = 0, lineno = 1;
	int in_header = 1, has_date = 0, has_from = 0, has_id = 0;

	*eightbit = 0;
	if (!data || len == 0) {
		snprintf(err, errlen, "the message is empty");
		return -1;
	}
	if (len > INT_MAX / 2) { /* libESMTP counts in int */
		snprintf(err, errlen, "the message is too large (%zu octets)", len);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\0') {
			snprintf(err, errlen, "line %zu contains a NUL octet", lineno);
			return -1;
		}
		if (c >= 0x80)
			*eightbit = 1;
		if (c == '\r' && (i + 1 == len || data[i + 1] != '\n')) {
			snprintf(err, errlen, "line %zu contains a CR not followed by LF", lineno);
			return -1;
		}
		if (c != '\n')
			continue;
		if (i == 0 || data[i - 1] != '\r') {
			snprintf(err, errlen, "line %zu ends in a bare LF", lineno);
			return -1;
		}
		if (i - 1 - start > MAX_LINE) {
			snprintf(err, errlen, "line %zu is longer than %d octets", lineno, MAX_LINE);
			return -1;
		}
		if (in_header) {
			const char *line = data + start;
			size_t n = i - 1 - start;

			if (n == 0)
				in_header = 0;
			else if (header_is(line, n, "Date"))
				has_date = 1;
			else if (header_is(line, n, "From"))
				has_from = 1;
			else if (header_is(line, n, "Message-ID"))
				has_id = 1;
			else if (header_is(line, n, "Bcc")) {
				snprintf(err, errlen,
				         "the message has a Bcc header (line %zu), which libESMTP "
				         "would pass to every recipient",
				         lineno);
				return -1;
			}
		}
		start = i + 1;
		lineno++;
	}
	if (start != len) {
		snprintf(err, errlen, "the message does not end with CRLF");
		return -1;
	}
	if (!has_date || !has_from || !has_id) {
		snprintf(err, errlen, "the message has no %s header (libESMTP would invent one)",
		         !has_date   ? "Date"
		         : !has_from ? "From"
		                     : "Message-ID");
		return -1;
	}
	return 0;
}

int smtp_address_ok(const char *addr, int null_ok)
{
	if (!addr)
		return 0;
	if (*addr == '\0')
		return null_ok;
	/* libESMTP writes it raw inside <> and has no SMTPUTF8: printable ASCII
	 * in the grammar of address.h, which has no control character. RFC 5321
	 * also lets a recipient be the bare "Postmaster". */
	if (!null_ok && strcasecmp(addr, "postmaster") == 0)
		return 1;
	return address_sendable(addr);
}

void smtp_reply_set(struct smtp_reply *r, char *store, size_t storelen, int code, const char *text)
{
	const char *p = text;

	memset(r, 0, sizeof *r);
	r->code = code;
	/* Enhanced code "X.Y.Z " at the start, when the server sends one. */
	if (code >= 200 && p[0] >= '2' && p[0] <= '5' && p[1] == '.') {
		int a, b, c, n = 0;

		if (sscanf(p, "%d.%d.%d%n", &a, &b, &c, &n) == 3 && n > 0) {
			r->enh_class = a;
			r->enh_subject = b;
			r->enh_detail = c;
			p += n;
		}
	}
	snprintf(store, storelen, "%s", p);
	r->text = store;
}
