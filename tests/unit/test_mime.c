/* Unit tests for mime.c: what the relay reads out of inbound email. */
#include "check.h"
#include "mime.h"
#include "util.h"

#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mail parse(const char *raw)
{
	struct mail m;
	mail_parse(raw, strlen(raw), NULL, &m);
	return m;
}

/* The header decoding as it was before plain values took a short cut:
 * libetpan's encoded-phrase parse, else the raw text with controls blanked. */
static char *decode_reference(const char *value)
{
	size_t idx = 0;
	char *out = NULL, *s;
	if (mailmime_encoded_phrase_parse("windows-1252", value, strlen(value), &idx, "utf-8", &out) ==
	            MAILIMF_NO_ERROR && out && idx >= strlen(value)) {
		s = xstrdup(out);
	} else {
		s = xstrdup(value);
	}
	free(out);
	char *w = s;
	for (char *r = s; *r; r++) {
		if ((unsigned char)*r < 0x20) {
			if (w > s && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return str_trim(s);
}

/* Plain header values (printable ASCII, white space, no encoded-word) must
 * decode exactly as libetpan decodes them. */
static void plain_headers_as_libetpan(int rounds)
{
	static const char *const pieces[] = { "a", "Bc", " ", "  ", "\t", "\r\n\t", "\r\n ", "(", ")", "\"", "<",
	                                      ">", "=", "?", ";", ":", ",", "\\", "@", "x=?", "?=", "[1.2.3.4]" };
	unsigned seed = 8;
	int same = 0, shortcut = 0;
	for (int i = 0; i < rounds; i++) {
		char v[128] = "";
		int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			strcat(v, pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])]);
		}
		char *got = mime_decode_header(v), *want = decode_reference(v);
		if (strcmp(got, want) == 0)
			same++;
		else if (i - same < 6)   /* report the first few differences */
			fprintf(stderr, "plain header [%s]: got [%s], libetpan [%s]\n", v, got, want);
		if (!strstr(v, "=?"))
			shortcut++;
		free(got);
		free(want);
	}
	CHECK_INT("plain header values decode as libetpan does", same, rounds);
	CHECK("most random values took the short cut", shortcut > rounds / 2);
}

int main(void)
{
	struct mail m;

	m = parse("From: Sam Young <Sam.Young@Example.NET>\r\n"
	          "To: R-U-Safe? <rusafe@example.org>\r\n"
	          "Subject: =?UTF-8?B?SGVscCDwn5mP?=\r\n"
	          "Message-ID: <abc@example.net>\r\n"
	          "Date: Thu, 19 Nov 2026 17:31:00 +0000\r\n"
	          "Return-Path: <sam.young@example.net>\r\n"
	          "\r\n"
	          "I need to talk to someone.\r\n");
	CHECK_STR("plain from", m.from_address, "sam.young@example.net");
	CHECK_STR("plain from name", m.from_name, "Sam Young");
	CHECK_STR("plain subject decoded", m.subject, "Help \xF0\x9F\x99\x8F");
	CHECK_STR("plain message-id", m.message_id, "abc@example.net");
	CHECK_INT("plain date", m.date, 1795109460LL);
	CHECK_STR("plain text", m.text, "I need to talk to someone.\r\n");
	CHECK_STR("plain return-path", m.return_path, "sam.young@example.net");
	CHECK("plain parsed", m.parse_error == NULL);
	CHECK_INT("plain recipients", m.nrecipients, 1);
	mail_free(&m);

	m = parse("From: a@example.net\r\nSubject: =?iso-8859-1?Q?caf=E9?=\r\n"
	          "In-Reply-To: <r1@example.org>\r\nReferences: <r0@example.org> <r1@example.org>\r\n"
	          "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	          "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 au lait=\r\n ok\r\n");
	CHECK_STR("latin1 subject", m.subject, "caf\xC3\xA9");
	CHECK_STR("latin1 body", m.text, "Caf\xC3\xA9 au lait ok\r\n");
	CHECK_STR("in-reply-to", m.in_reply_to, "r1@example.org");
	CHECK_INT("references deduped", m.nreferences, 2);
	CHECK_STR("references order", m.nreferences ? m.references[0] : NULL, "r0@example.org");
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\n"
	          "Content-Type: multipart/alternative; boundary=XX\r\n\r\n"
	          "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain words\r\n"
	          "--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html words</p>\r\n--XX--\r\n");
	CHECK("alternative prefers plain", strstr(m.text, "plain words") != NULL && !m.text_from_html);
	CHECK_STR("alternative content type", m.content_type, "multipart/alternative");
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	          "<html><head><style>p{}</style></head><body><p>Hello <b>there</b></p><p>Line&nbsp;two<br>three</p>"
	          "<blockquote>old text</blockquote><script>x()</script></body></html>\r\n");
	CHECK("html converted", m.text_from_html);
	CHECK_STR("html text", m.text, "Hello there\n\nLine two\nthree\n\n> old text\n");
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\n"
	          "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	          "--b1\r\nContent-Type: text/plain\r\n\r\nsee photo\r\n"
	          "--b1\r\nContent-Type: image/jpeg; name=\"p.jpg\"\r\nContent-Disposition: attachment; filename=\"p.jpg\"\r\n"
	          "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b1--\r\n");
	CHECK_STR("mixed text", m.text, "see photo");
	CHECK_INT("one attachment", m.nattachments, 1);
	if (m.nattachments) {
		CHECK_STR("attachment name", m.attachments[0].filename, "p.jpg");
		CHECK_STR("attachment type", m.attachments[0].content_type, "image/jpeg");
		CHECK_INT("attachment size decoded", m.attachments[0].size, 6);
	}
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\n"
	          "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
	          "--r\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n--r--\r\n");
	CHECK_STR("report content type", m.content_type, "multipart/report");
	mail_free(&m);

	m = parse("From: a@example.net\r\nAuto-Submitted: auto-replied\r\nX-Evil: =?UTF-8?Q?a=0D=0ABcc:_x@y?=\r\n\r\nhi\r\n");
	CHECK_STR("optional field kept", mail_field_get(&m, "auto-submitted"), "auto-replied");
	CHECK("decoded header has no CR/LF", strchr(mail_field_get(&m, "X-Evil"), '\n') == NULL &&
	                                             strchr(mail_field_get(&m, "X-Evil"), '\r') == NULL);
	mail_free(&m);

	m = parse("Return-Path: <>\r\nFrom: MAILER-DAEMON@example.org\r\n\r\nbounce\r\n");
	CHECK_STR("null return path", m.return_path, "");
	mail_free(&m);

	/* Garbage is kept raw, never dropped. */
	m = parse("\x01\x02 this is not a mail header\r\n\r\nbody\xff\r\n");
	CHECK("garbage has text", m.text && strstr(m.text, "body") != NULL);
	mail_free(&m);

	m = parse("To: rusafe+RUS-AB234.0123456789ab@example.org, other@example.org\r\nDelivered-To: rusafe+RUS-AB234.0123456789ab@example.org\r\nFrom: x@example.org\r\n\r\n.");
	CHECK_INT("recipients deduped", m.nrecipients, 2);
	mail_free(&m);

	/* Deep nesting stops at the limit without crashing. */
	{
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n");
		for (int i = 0; i < 60; i++)
			buf_printf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i + 1);
		buf_adds(&b, "--b60\r\nContent-Type: text/plain\r\n\r\ndeep\r\n");
		struct mail_limits lim = { 10, 100 };
		mail_parse(b.data, b.len, &lim, &m);
		CHECK("nesting limit hit", m.limits_hit);
		mail_free(&m);
		buf_free(&b);
	}

	char *d = mime_decode_header("=?utf-8?q?R=C3=A9ponse_automatique?=");
	CHECK_STR("decode header Q", d, "R\xC3\xA9ponse automatique");
	free(d);
	d = mime_decode_header("abc =?x def");
	CHECK_STR("malformed encoded-word kept raw", d, "abc =?x def");
	free(d);
	d = mime_decode_header("=?x?Z?y?= hello");
	CHECK("unknown encoding keeps the text", strstr(d, "hello") != NULL);
	free(d);
	d = mime_decode_header("from a.example (a.example [192.0.2.1])\r\n\tby mx.example.org with ESMTPS;  x");
	CHECK_STR("a Received line folds to single spaces", d,
	          "from a.example (a.example [192.0.2.1]) by mx.example.org with ESMTPS; x");
	free(d);
	plain_headers_as_libetpan(getenv("RELAY_TEST_QUICK") ? 2000 : 50000);
	return check_done();
}
