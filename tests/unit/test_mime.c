/* Unit tests for mime.c: what the relay reads out of inbound email. */
#include "check.h"
#include "mime.h"
#include "util.h"

#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	if (mailmime_encoded_phrase_parse("windows-1252", value, strlen(value), &idx, "utf-8", &out) == MAILIMF_NO_ERROR &&
	    out && idx >= strlen(value)) {
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
	static const char *const pieces[] = { "a", "Bc", " ", "  ", "\t", "\r\n\t", "\r\n ", "(", ")",   "\"", "<",
		                              ">", "=",  "?", ";",  ":",  ",",      "\\",    "@", "x=?", "?=", "[1.2.3.4]" };
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
		else if (i - same < 6) /* report the first few differences */
			fprintf(stderr, "plain header [%s]: got [%s], libetpan [%s]\n", v, got, want);
		if (!strstr(v, "=?"))
			shortcut++;
		free(got);
		free(want);
	}
	CHECK_INT("plain header values decode as libetpan does", same, rounds);
	CHECK("most random values took the short cut", shortcut > rounds / 2);
}

/* A message whose words sit at MIME depth k: k nested multiparts. */
static char *nested(int k)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "From: a@example.net\r\nMIME-Version: 1.0\r\n");
	for (int i = 0; i < k; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%03d\r\n\r\n--b%03d\r\n", i, i);
	buf_adds(&b, "Content-Type: text/plain\r\n\r\ndeep words\r\n");
	for (int i = k - 1; i >= 0; i--)
		buf_printf(&b, "--b%03d--\r\n", i);
	return buf_take(&b);
}

/* A multipart/mixed of k parts in all: itself, the words, k - 2 attachments
 * (or k - 2 forwarded emails, each a message/rfc822 part). */
static char *parts(int k, int forwarded)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
	             "--p\r\nContent-Type: text/plain\r\n\r\nfirst words\r\n");
	for (int i = 2; i < k; i++) {
		if (forwarded)
			buf_printf(&b, "--p\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.net\r\n\r\nold %d\r\n",
			           i);
		else
			buf_printf(&b,
			           "--p\r\nContent-Type: application/octet-stream\r\n"
			           "Content-Disposition: attachment; filename=a%d.bin\r\n\r\nxx\r\n",
			           i);
	}
	buf_adds(&b, "--p--\r\n");
	return buf_take(&b);
}

static void test_limits(void)
{
	struct mail m;
	struct mail_limits lim = { 5, 12, 0 };
	char *raw;

	/* Depth: words at the limit are read; one level deeper they are not,
	 * and the raw message stands in for them. */
	for (int k = 4; k <= 6; k++) {
		raw = nested(k);
		mail_parse(raw, strlen(raw), &lim, &m);
		if (k <= 5) {
			CHECK("depth under/at limit: not cut", m.cut == NULL);
			CHECK_STR("depth under/at limit: words read", m.text, "deep words");
		} else {
			CHECK("depth over limit: cut", m.cut && strstr(m.cut, "nest deeper than 5 levels"));
			CHECK("depth over limit: raw kept",
			      m.text && strstr(m.text, "boundary=b005") && strstr(m.text, "deep words"));
			CHECK("depth over limit: parsed, not an error", m.parse_error == NULL);
		}
		mail_free(&m);
		free(raw);
	}

	/* Parts: 11, 12 and 13 parts against a limit of 12. */
	for (int k = 11; k <= 13; k++) {
		raw = parts(k, 0);
		mail_parse(raw, strlen(raw), &lim, &m);
		CHECK_STR("parts: words read", m.text, "first words");
		if (k <= 12) {
			CHECK("parts under/at limit: not cut", m.cut == NULL);
			CHECK_INT("parts under/at limit: every attachment", m.nattachments, k - 2);
		} else {
			CHECK("parts over limit: cut", m.cut && strstr(m.cut, "more than 12 MIME parts"));
			CHECK_INT("parts over limit: the first ones read", m.nattachments, 10);
		}
		mail_free(&m);
		free(raw);
	}

	/* Declared multipart/message parts (the multipart and one per forwarded
	 * email): 11 and 12 are parsed (12 is then cut by the part count), 13
	 * never reach libetpan and are kept raw, headers read. */
	for (int k = 12; k <= 14; k++) {
		raw = parts(k, 1);
		mail_parse(raw, strlen(raw), &lim, &m);
		CHECK_STR("declared: sender read", m.from_address, "a@example.net");
		if (k <= 13) {
			CHECK("declared under/at limit: parsed", !m.cut || !strstr(m.cut, "declares"));
			CHECK_STR("declared under/at limit: words read", m.text, "first words");
			CHECK_INT("declared under/at limit: forwarded emails listed", m.nattachments, 10);
		} else {
			CHECK("declared over limit: cut", m.cut && strstr(m.cut, "declares more than 12 multipart"));
			CHECK("declared over limit: raw", strstr(m.text, "Content-Type: message/rfc822") != NULL);
			CHECK_STR("declared over limit: type from the header", m.content_type, "multipart/mixed");
			CHECK("declared over limit: not an error", m.parse_error == NULL);
		}
		mail_free(&m);
		free(raw);
	}

	/* Size: the first max_size bytes are read. */
	raw = parts(3, 0);
	size_t len = strlen(raw);
	for (size_t extra = 0; extra <= 2; extra++) {
		struct mail_limits sized = { 5, 12, len - 1 + extra };
		mail_parse(raw, len, &sized, &m);
		CHECK_STR("size: words read", m.text, "first words");
		if (extra >= 1) {
			CHECK("size under/at limit: not cut", m.cut == NULL);
			CHECK_INT("size under/at limit: attachment whole", m.nattachments ? m.attachments[0].size : 0, 2);
		} else {
			CHECK("size over limit: cut", m.cut && strstr(m.cut, "larger than"));
		}
		mail_free(&m);
	}
	free(raw);
	struct mail_limits kib = { 5, 12, 64 * 1024 };
	struct buf big;
	buf_init(&big);
	buf_adds(&big, "From: a@example.net\r\n\r\n");
	while (big.len < 100 * 1024)
		buf_adds(&big, "the same line over and over again, a long message\r\n");
	mail_parse(big.data, big.len, &kib, &m);
	CHECK("size in KiB: cut", m.cut && strstr(m.cut, "larger than 64 KiB"));
	CHECK_INT("size in KiB: text is the first 64 KiB less the headers", strlen(m.text), 64 * 1024 - 23);
	mail_free(&m);
	buf_free(&big);

	/* 100,000 forwarded emails, each inside the last: 3 MB, well under
	 * max_message_kb, and enough to overflow the stack in libetpan's
	 * recursive parser. Kept raw instead, with the default limits. */
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "From: a@example.net\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
	for (int i = 0; i < 100000; i++)
		buf_adds(&b, "Content-Type: message/rfc822\r\n\r\n");
	buf_adds(&b, "Content-Type: text/plain\r\n\r\nhelp\r\n");
	CHECK_INT("nested forwards: parsed", mail_parse(b.data, b.len, NULL, &m), 0);
	CHECK("nested forwards: cut", m.cut && strstr(m.cut, "more than 100 multipart"));
	CHECK_STR("nested forwards: subject read", m.subject, "deep");
	CHECK("nested forwards: raw kept", strlen(m.text) == b.len);
	mail_free(&m);
	buf_free(&b);

	/* A plain message is never cut. */
	m = parse("From: a@example.net\r\n\r\nhi\r\n");
	CHECK("plain: not cut", m.cut == NULL);
	mail_free(&m);
}

/* A header with n entries: To addresses, References ids or fields. Before
 * the caps, 30,000 To addresses (260 KB) took six seconds to parse and a
 * megabyte of them minutes: each was compared with every one kept. */
static void test_long_headers(void)
{
	static const char *what[] = { "To addresses", "References ids", "header fields" };
	int n = getenv("RELAY_TEST_QUICK") ? 5000 : 50000;

	for (int kind = 0; kind < 3; kind++) {
		struct buf b;
		struct mail m;
		buf_init(&b);
		buf_adds(&b, "From: a@example.net\r\n");
		if (kind == 0) {
			buf_adds(&b, "To: ");
			for (int i = 0; i < n; i++)
				buf_printf(&b, "a%d@example.org, ", i);
			buf_adds(&b, "last@example.org\r\n");
		} else if (kind == 1) {
			buf_adds(&b, "References:");
			for (int i = 0; i < n; i++)
				buf_printf(&b, " <%d@example.org>", i);
			buf_adds(&b, "\r\n");
		} else {
			for (int i = 0; i < n; i++)
				buf_printf(&b, "X-Field-%d: %d\r\n", i, i);
		}
		buf_adds(&b, "Subject: many\r\n\r\nwords\r\n");
		clock_t t0 = clock();
		mail_parse(b.data, b.len, NULL, &m);
		double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
		printf("  %d %s: parsed in %.2f s\n", n, what[kind], secs);
		CHECK("long header: parsed in linear time", secs < (getenv("RELAY_TEST_QUICK") ? 30.0 : 5.0));
		CHECK_STR("long header: words read", m.text, "words\r\n");
		CHECK_STR("long header: subject read", m.subject, "many");
		if (kind == 0) {
			CHECK_INT("recipients capped", m.nrecipients, MAIL_MAX_ADDRESSES);
			CHECK_STR("the first recipients kept", m.nrecipients ? m.recipients[0] : NULL, "a0@example.org");
		} else if (kind == 1) {
			CHECK_INT("references capped", m.nreferences, MAIL_MAX_ADDRESSES);
		} else {
			CHECK_INT("fields capped", m.nfields, MAIL_MAX_FIELDS);
		}
		mail_free(&m);
		buf_free(&b);
	}
}

/* libetpan leaked the address of an unclosed Return-Path (found by
 * fuzz_mime; the valgrind and ASan runs of this test catch a leak). */
static void test_return_path(void)
{
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "Return-Path: <H\r\nFrom: a@example.net\r\n\r\nx", NULL },
		{ "Return-Path: <a@example.net\r\nFrom: a@example.net\r\n\r\nx", NULL },
		{ "Return-Path: (<) <a@example.net\r\n\r\nx", NULL },
		{ "return-path:<a@example.net;x>\r\n\r\nx", NULL },
		{ "Return-Path: <a@example.net>\r\n\r\nx", "a@example.net" },
		{ "Return-Path: <<A@Example.net>\r\n\r\nx", "<a@example.net" },
		{ "Return-Path: <>\r\n\r\nx", "" },
		{ "From: a@example.net\r\n\r\nReturn-Path: <x in the body\r\n", NULL },
	};
	struct mail m;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mail_parse(cases[i].raw, strlen(cases[i].raw), NULL, &m);
		if (cases[i].want)
			CHECK_STR("return path read", m.return_path, cases[i].want);
		else
			CHECK("unclosed return path not read", m.return_path == NULL);
		CHECK("return path: the body is read", m.text && strchr(m.text, 'x'));
		mail_free(&m);
	}
	/* A megabyte of address, unclosed, and the sender still read. */
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "Return-Path: <");
	for (int i = 0; i < 100000; i++)
		buf_adds(&b, "aaaaaaaaaa");
	buf_adds(&b, "\r\nFrom: Sam <sam@example.net>\r\n\r\nhelp\r\n");
	mail_parse(b.data, b.len, NULL, &m);
	CHECK("long unclosed return path not read", m.return_path == NULL);
	CHECK_STR("long unclosed return path: sender read", m.from_address, "sam@example.net");
	CHECK_STR("long unclosed return path: words read", m.text, "help\r\n");
	mail_free(&m);
	buf_free(&b);
}

/* An attachment's size is counted, not decoded: it must be what libetpan's
 * decoder gives for the same part, for base64 in any shape (line lengths,
 * padding or none, stray characters, truncated groups) and for the rest. */
static void attachment_sizes_as_libetpan(int rounds)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char *const stray[] = { " ", "\t", "!", "=", "-", "\xc3\xa9", "==", "\r\n" };
	static const char *const encodings[] = { "base64", "base64", "base64", "quoted-printable",
		                                 "7bit",   "8bit",   "binary", "x-unknown" };
	unsigned seed = 20261121;
	int bad = 0;

	for (int round = 0; round < rounds; round++) {
		struct buf body = { 0 }, raw = { 0 };
		const char *enc = encodings[(seed = seed * 1103515245u + 12345u) >> 16 & 7];
		size_t n = (seed = seed * 1103515245u + 12345u) >> 16 & 511;
		size_t line = 4 + ((seed = seed * 1103515245u + 12345u) >> 16) % 90, col = 0;

		for (size_t i = 0; i < n; i++) {
			unsigned r = (seed = seed * 1103515245u + 12345u) >> 16;
			if (r % 53 == 0)
				buf_add(&body, stray[r / 53 % 8], strlen(stray[r / 53 % 8]));
			else if (!strcmp(enc, "quoted-printable") && r % 7 == 0)
				buf_printf(&body, "=%02X", r / 7 & 0xff);
			else
				buf_add(&body, &b64[r % 64], 1);
			if (++col == line) {
				buf_add(&body, "\r\n", 2);
				col = 0;
			}
		}
		if (!strcmp(enc, "base64") && seed % 3 == 0)
			buf_add(&body, "==", 2);
		buf_printf(&raw,
		           "From: a@example.net\r\nMIME-Version: 1.0\r\n"
		           "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		           "--b1\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
		           "--b1\r\nContent-Type: application/octet-stream\r\n"
		           "Content-Disposition: attachment; filename=\"f.bin\"\r\n"
		           "Content-Transfer-Encoding: %s\r\n\r\n",
		           enc);
		buf_add(&raw, body.data ? body.data : "", body.len);
		buf_printf(&raw, "\r\n--b1--\r\n");

		struct mail m;
		mail_parse(raw.data, raw.len, NULL, &m);
		/* the part as libetpan holds it: the body less the CRLF before the boundary */
		int mech = !strcmp(enc, "base64")             ? MAILMIME_MECHANISM_BASE64
		           : !strcmp(enc, "quoted-printable") ? MAILMIME_MECHANISM_QUOTED_PRINTABLE
		           : !strcmp(enc, "7bit")             ? MAILMIME_MECHANISM_7BIT
		           : !strcmp(enc, "8bit")             ? MAILMIME_MECHANISM_8BIT
		           : !strcmp(enc, "binary")           ? MAILMIME_MECHANISM_BINARY
		                                              : MAILMIME_MECHANISM_TOKEN;
		size_t idx = 0, want = 0;
		char *out = NULL;
		if (mailmime_part_parse(body.data ? body.data : "", body.len, &idx, mech, &out, &want) == MAILIMF_NO_ERROR)
			mmap_string_unref(out);
		if (m.nattachments != 1 || m.attachments[0].size != want) {
			if (bad++ < 5)
				printf("attachment size: %s, %zu characters: got %zu, libetpan decodes %zu\n", enc, body.len,
				       m.nattachments ? m.attachments[0].size : 0, want);
		}
		mail_free(&m);
		buf_free(&body);
		buf_free(&raw);
	}
	CHECK_INT("attachment sizes as libetpan decodes them, every encoding and shape", bad, 0);
}

/* Text shown inline is text, whatever its file name; only a disposition of
 * "attachment" makes a text part an attachment. Several text parts are the
 * message's text in order; a multipart/alternative gives one version. */
static void test_inline_text(void)
{
	struct mail m;

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	          "Content-Disposition: inline; filename=msg.txt\r\n\r\nplease can someone talk to me tonight\r\n");
	CHECK_STR("inline with a file name, one part: its text", m.text, "please can someone talk to me tonight\r\n");
	CHECK_INT("inline with a file name, one part: no attachment", m.nattachments, 0);
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	          "--b\r\nContent-Type: text/plain\r\n\r\nfirst words\r\n"
	          "--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: inline; filename=p.jpg\r\n"
	          "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n"
	          "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline; filename=\"msg.txt\"\r\n"
	          "\r\nsecond words\r\n--b--\r\n");
	CHECK_STR("inline text after a first text part: both, in order", m.text, "first words\n\nsecond words");
	CHECK_INT("inline text after a first text part: the photo alone is an attachment", m.nattachments, 1);
	CHECK_STR("inline text after a first text part: the photo", m.nattachments ? m.attachments[0].filename : NULL,
	          "p.jpg");
	CHECK("inline text after a first text part: plain text", !m.text_from_html);
	mail_free(&m);

	m = parse(
		"From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\nsee my notes\r\n"
		"--b\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n"
		"\r\nthe notes themselves\r\n--b--\r\n");
	CHECK_STR("attachment disposition: not the text", m.text, "see my notes");
	CHECK_INT("attachment disposition: an attachment", m.nattachments, 1);
	if (m.nattachments) {
		CHECK_STR("attachment disposition: its name", m.attachments[0].filename, "notes.txt");
		CHECK_STR("attachment disposition: its type", m.attachments[0].content_type, "text/plain");
		CHECK_INT("attachment disposition: its size", m.attachments[0].size, 20);
	}
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
	          "Content-Disposition: inline; filename=page.html\r\n\r\n<p>I am <b>scared</b></p>\r\n");
	CHECK_STR("html inline with a file name: its text", m.text, "I am scared\n");
	CHECK("html inline with a file name: from HTML", m.text_from_html);
	CHECK_INT("html inline with a file name: no attachment", m.nattachments, 0);
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; name=\"msg.txt\"\r\n\r\n"
	          "no disposition at all\r\n");
	CHECK_STR("a file name and no disposition: text, as email programs show it", m.text, "no disposition at all\r\n");
	CHECK_INT("a file name and no disposition: no attachment", m.nattachments, 0);
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	          "--b\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
	          "--a\r\nContent-Type: text/plain\r\n\r\nplain version\r\n"
	          "--a\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--a--\r\n"
	          "--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename=more.txt\r\n\r\nmore words\r\n"
	          "--b--\r\n");
	CHECK_STR("alternative then inline text: one version, then the text", m.text, "plain version\n\nmore words");
	mail_free(&m);

	m = parse("From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	          "--b\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
	          "--a\r\nContent-Type: text/plain\r\n\r\n \r\n"
	          "--a\r\nContent-Type: text/html\r\n\r\n<p>only in html</p>\r\n--a--\r\n"
	          "--b\r\nContent-Type: text/plain\r\n\r\nthen plain\r\n--b--\r\n");
	CHECK_STR("a blank plain version: the html one, then the next part", m.text, "only in html\n\nthen plain");
	CHECK("a blank plain version: from HTML", m.text_from_html);
	mail_free(&m);

	/* The boundary declared is not the one used: nothing would be read. */
	m = parse(
		"From: sam@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"declared-7\"\r\n\r\n"
		"--other\r\nContent-Type: text/plain\r\n\r\nplease someone help me\r\n--other--\r\n");
	CHECK("a boundary never used: the body is shown", m.text && strstr(m.text, "please someone help me") != NULL);
	CHECK("a boundary never used: not the header block (it holds the contact)",
	      m.text && strstr(m.text, "sam@example.net") == NULL);
	CHECK("a boundary never used: said why",
	      m.parse_error && strstr(m.parse_error, "do not use the boundary it declares"));
	mail_free(&m);

	m = parse("From: sam@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	          "--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b--\r\n");
	CHECK("an empty multipart that does use its boundary: parsed", m.parse_error == NULL);
	mail_free(&m);

	m = parse(
		"From: sam@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n\r\niVBO\r\n--b--\r\n");
	CHECK("a photo and no words: parsed, not raw", m.parse_error == NULL && m.nattachments == 1);
	mail_free(&m);
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

	m = parse(
		"From: a@example.net\r\nMIME-Version: 1.0\r\n"
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

	m = parse(
		"From: a@example.net\r\nAuto-Submitted: auto-replied\r\nX-Evil: =?UTF-8?Q?a=0D=0ABcc:_x@y?=\r\n\r\nhi\r\n");
	CHECK_STR("optional field kept", mail_field_get(&m, "auto-submitted"), "auto-replied");
	CHECK("decoded header has no CR/LF",
	      strchr(mail_field_get(&m, "X-Evil"), '\n') == NULL && strchr(mail_field_get(&m, "X-Evil"), '\r') == NULL);
	mail_free(&m);

	m = parse("Return-Path: <>\r\nFrom: MAILER-DAEMON@example.org\r\n\r\nbounce\r\n");
	CHECK_STR("null return path", m.return_path, "");
	mail_free(&m);

	/* Garbage is kept raw, never dropped. */
	m = parse("\x01\x02 this is not a mail header\r\n\r\nbody\xff\r\n");
	CHECK("garbage has text", m.text && strstr(m.text, "body") != NULL);
	mail_free(&m);

	m = parse(
		"To: rusafe+RUS-AB234.0123456789ab@example.org, other@example.org\r\nDelivered-To: rusafe+RUS-AB234.0123456789ab@example.org\r\nFrom: x@example.org\r\n\r\n.");
	CHECK_INT("recipients deduped", m.nrecipients, 2);
	mail_free(&m);

	test_limits();
	test_inline_text();
	test_long_headers();
	test_return_path();

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
	attachment_sizes_as_libetpan(getenv("RELAY_TEST_QUICK") ? 1000 : 20000);
	return check_done();
}
