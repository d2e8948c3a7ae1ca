/* Unit tests for identity.c: copies that travelled differently are one
 * message; messages that differ in what the sender wrote are two, whatever
 * Message-ID they share. */
#include "check.h"
#include "identity.h"

#include <stdlib.h>

#define HDR                                           \
	"From: Sam <sam.young@example.net>\r\n"       \
	"To: rusafe@example.org\r\n"                  \
	"Subject: can I talk to someone\r\n"          \
	"Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n"   \
	"Message-ID: <same.1@example.net>\r\n"        \
	"MIME-Version: 1.0\r\n"                       \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: 8bit\r\n"
#define BODY "Hi, something happened at a party.\r\nI don't know who to tell.\r\n"
#define BASE HDR "\r\n" BODY

/* A transport's additions, at the top as MTAs and MDAs put them. */
#define TRACE                                                                 \
	"Return-Path: <sam.young@example.net>\r\n"                            \
	"Delivered-To: help@example.org\r\n"                                  \
	"X-Original-To: help@example.org\r\n"                                 \
	"Received: from mx.example.net (mx.example.net [192.0.2.1])\r\n"      \
	"\tby mail.example.org (Postfix) with ESMTPS id 4Abc\r\n"             \
	"\tfor <help@example.org>; Sat, 21 Nov 2026 10:00:02 +0000 (GMT)\r\n" \
	"Authentication-Results: mail.example.org; dkim=pass\r\n"             \
	"X-Spam-Status: No, score=-0.1\r\n"

static char *key_of(const char *raw, size_t len)
{
	static char keys[8][IDENTITY_KEY_LEN + 1];
	static int next;
	char *k = keys[next++ % 8];
	if (identity_key(raw, len, k) < 0)
		snprintf(k, IDENTITY_KEY_LEN + 1, "(failed)");
	return k;
}

static char *key(const char *raw)
{
	return key_of(raw, strlen(raw));
}

struct pair {
	const char *name;
	const char *a, *b;
};

/* The same message: one identity. */
static const struct pair same[] = {
	{ "the same bytes", BASE, BASE },
	{ "trace headers added (a second delivery)", BASE, TRACE BASE },
	{ "other trace headers (two of the service's addresses)", "Delivered-To: a@example.org\r\n" BASE,
	  "Delivered-To: b@example.org\r\nReceived: by lmtp; x\r\n" BASE },
	{ "DKIM and ARC headers added", BASE,
	  "ARC-Seal: i=1; a=rsa-sha256; cv=none;\r\n d=example.org; s=arc\r\n"
	  "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tbh=abc\r\n" BASE },
	{ "LF line ends for CRLF", BASE,
	  "From: Sam <sam.young@example.net>\nTo: rusafe@example.org\nSubject: can I talk to someone\n"
	  "Date: Sat, 21 Nov 2026 10:00:00 +0000\nMessage-ID: <same.1@example.net>\nMIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
	  "Hi, something happened at a party.\nI don't know who to tell.\n" },
	{ "fields reordered", BASE,
	  "Message-ID: <same.1@example.net>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	  "Subject: can I talk to someone\r\nContent-Transfer-Encoding: 8bit\r\n"
	  "Content-Type: text/plain; charset=utf-8\r\nFrom: Sam <sam.young@example.net>\r\n\r\n" BODY },
	{ "subject refolded", BASE,
	  "From: Sam <sam.young@example.net>\r\nTo: rusafe@example.org\r\nSubject: can I talk\r\n  to someone\r\n"
	  "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <same.1@example.net>\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "names in other case, blanks around values", BASE,
	  "FROM:Sam <sam.young@example.net>  \r\nTo: rusafe@example.org\r\nsubject:  can I\ttalk to someone\r\n"
	  "DATE: Sat, 21 Nov 2026 10:00:00 +0000\r\nMESSAGE-ID : <same.1@example.net>\r\nMIME-Version: 1.0\r\n"
	  "content-type: text/plain; charset=utf-8\r\ncontent-transfer-encoding: 8bit\r\n\r\n" BODY },
	{ "To and MIME-Version are not part of it", BASE,
	  "From: Sam <sam.young@example.net>\r\nTo: help@example.org\r\nSubject: can I talk to someone\r\n"
	  "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <same.1@example.net>\r\n"
	  "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "line ends added at the end of the body", BASE, BASE "\r\n\r\n" },
	{ "line ends removed at the end of the body", BASE,
	  HDR "\r\nHi, something happened at a party.\r\n"
	      "I don't know who to tell." },
	{ "no Message-ID, trace added",
	  "From: a@example.net\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	  "Subject: hi\r\n\r\nhello\r\n",
	  "Received: by x; y\r\nFrom: a@example.net\r\n"
	  "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nSubject: hi\r\n\r\nhello\r\n" },
	{ "no Date, trace added", "From: a@example.net\r\nMessage-ID: <a@b>\r\n\r\nhello\r\n",
	  "Received: by x; y\r\nFrom: a@example.net\r\nMessage-ID: <a@b>\r\n\r\nhello\r\n" },
	{ "neither Message-ID nor Date: the same bytes", "Received: by x; y\r\nFrom: a@example.net\r\n\r\nok\r\n",
	  "Received: by x; y\r\nFrom: a@example.net\r\n\r\nok\r\n" },
	{ "text without headers: the same bytes", "\x01garbage without headers\r\nplease help\r\n",
	  "\x01garbage without headers\r\nplease help\r\n" },
	{ "empty and empty", "", "" },
	{ "header only, with and without the empty line", "Subject: hi\r\n", "Subject: hi\r\n\r\n" },
};

/* Different messages: two identities, whatever they share. */
static const struct pair differ[] = {
	{ "another body, same Message-ID", BASE, HDR "\r\nPlease ignore my last message.\r\n" },
	{ "another sender, same Message-ID", BASE,
	  "From: Alex <alex@example.com>\r\n"
	  "Subject: can I talk to someone\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	  "Message-ID: <same.1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "another date", BASE,
	  "From: Sam <sam.young@example.net>\r\nSubject: can I talk to someone\r\nDate: Sat, 21 Nov 2026 10:05:00 +0000\r\n"
	  "Message-ID: <same.1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "another subject", BASE,
	  "From: Sam <sam.young@example.net>\r\nSubject: can I talk to someone?\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	  "Message-ID: <same.1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "another Message-ID", BASE,
	  "From: Sam <sam.young@example.net>\r\nSubject: can I talk to someone\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	  "Message-ID: <same.2@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "another charset", BASE,
	  "From: Sam <sam.young@example.net>\r\nSubject: can I talk to someone\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	  "Message-ID: <same.1@example.net>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n\r\n" BODY },
	{ "another transfer encoding", "Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n",
	  "Subject: x\r\nContent-Transfer-Encoding: 7bit\r\n\r\naGk=\r\n" },
	{ "a Message-ID against none", "Message-ID: <a@b>\r\nSubject: hi\r\n\r\nhello\r\n", "Subject: hi\r\n\r\nhello\r\n" },
	{ "a field twice against once", "Subject: hi\r\nSubject: hi\r\n\r\nx\r\n", "Subject: hi\r\n\r\nx\r\n" },
	{ "words moved from From to Subject", "From: a b\r\nSubject: c\r\n\r\nx\r\n",
	  "From: a\r\nSubject: b c\r\n\r\nx\r\n" },
	{ "a value that looks like a length", "Subject: 1:a\r\n\r\nx\r\n", "Subject: 1:a\r\nSubject:\r\n\r\nx\r\n" },
	{ "a header line against the body", "Subject: hi\r\n\r\nx\r\n", "Subject: hi\r\n\r\nSubject: hi\r\n\r\nx\r\n" },
	{ "blanks inside the body count", BASE,
	  HDR "\r\nHi,  something happened at a party.\r\nI don't know who to tell.\r\n" },
	{ "a lone CR is not a line end", "Subject: x\r\n\r\na\rb\r\n", "Subject: x\r\n\r\na\nb\r\n" },
	{ "different text without headers", "\x01garbage without headers\r\nplease help\r\n", "\x01garbage\r\nother\r\n" },
	{ "a body line added at the end", BASE, BASE "-- \r\n" },
	{ "neither Message-ID nor Date: two sendings of one text",
	  "Received: by mx; Sat, 21 Nov 2026 10:00:01\r\nFrom: a@example.net\r\n\r\nok\r\n",
	  "Received: by mx; Sat, 21 Nov 2026 10:04:09\r\nFrom: a@example.net\r\n\r\nok\r\n" },
	{ "empty Message-ID and Date count as none", "Message-ID:\r\nDate: \r\nReceived: 1\r\n\r\nok\r\n",
	  "Message-ID:\r\nDate: \r\nReceived: 2\r\n\r\nok\r\n" },
	{ "text without headers, trace added", "\x01garbage without headers\r\nplease help\r\n",
	  "Received: by x; y\r\nDelivered-To: a@example.org\r\n\x01garbage without headers\r\nplease help\r\n" },
	{ "header text against the same text as body", "Subject: hi\r\n\r\n", "\r\nSubject: hi\r\n" },
};

int main(void)
{
	char k[IDENTITY_KEY_LEN + 1];

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
		CHECK_STR(same[i].name, key(same[i].b), key(same[i].a));
	for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
		char *a = key(differ[i].a), *b = key(differ[i].b);
		CHECK(differ[i].name, strcmp(a, b) != 0);
	}

	/* The form of a key, and one frozen: keys are kept in databases, so a
	 * change of the rules would take old messages in again. The value was
	 * computed apart from identity.c, with Python's hashlib, from the rules
	 * in identity.h: for each field in order its name, a NUL, each value as
	 * "<length>:<value>\n", and "\n"; then "body\n" and the body. */
	CHECK_INT("key computed", identity_key(BASE, strlen(BASE), k), 0);
	CHECK_INT("key length", strlen(k), IDENTITY_KEY_LEN);
	CHECK("key prefix", strncmp(k, "msg-sha256:", 11) == 0);
	CHECK("key is lowercase hex", strspn(k + 11, "0123456789abcdef") == 64);
	CHECK_STR("frozen key of a known message", k,
	          "msg-sha256:97a047031abf86aea6a754406231b6a2c21d4358150802cf438f72085f19bbab");

	/* Bytes as given: NUL inside, a length shorter than the string, NULL. */
	CHECK("a NUL in the body counts", strcmp(key_of("S: x\r\n\r\na\0b", 11), key_of("S: x\r\n\r\na\0c", 11)) != 0);
	CHECK_STR("only len bytes are read", key_of(BASE "tail", strlen(BASE)), key(BASE));
	CHECK_STR("NULL raw is the empty message", key_of(NULL, 0), key(""));

	/* A large message: read to its last byte. */
	{
		size_t n = 4u << 20;
		char *big = malloc(n + 1);
		memcpy(big, "Subject: big\r\n\r\n", 16);
		memset(big + 16, 'a', n - 16);
		big[n] = '\0';
		char *a = key_of(big, n);
		big[n - 1] = 'b';
		CHECK("4 MiB, last byte differs", strcmp(a, key_of(big, n)) != 0);
		free(big);
	}
	/* Long bodies in CRLF and in LF: the same, across every way the text
	 * is gathered for the hash (short lines, lines longer than its 16 KiB). */
	for (size_t line = 37; line <= 40000; line = line * 10 + 3) {
		size_t lines = 200000 / line + 1, n = 0, m = 0;
		char *crlf = malloc(lines * (line + 2) + 32), *lf = malloc(lines * (line + 1) + 32);
		char name[80];
		n = (size_t)sprintf(crlf, "Subject: long\r\n\r\n");
		m = (size_t)sprintf(lf, "Subject: long\n\n");
		for (size_t i = 0; i < lines; i++) {
			memset(crlf + n, 'a' + (int)(i % 26), line);
			memset(lf + m, 'a' + (int)(i % 26), line);
			n += line;
			m += line;
			memcpy(crlf + n, "\r\n", 2);
			lf[m] = '\n';
			n += 2;
			m += 1;
		}
		snprintf(name, sizeof name, "%zu lines of %zu bytes: CRLF and LF the same", lines, line);
		CHECK_STR(name, key_of(crlf, n), key_of(lf, m));
		crlf[n - 3] = 'Z';
		snprintf(name, sizeof name, "%zu lines of %zu bytes: the last byte counts", lines, line);
		CHECK(name, strcmp(key_of(crlf, n), key_of(lf, m)) != 0);
		free(crlf);
		free(lf);
	}
	return check_done();
}
