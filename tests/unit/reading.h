/* reading.h: our own reading of what compose.c writes, independent of
 * libetpan, for test_compose and fuzz_compose: a hex digit, whether octets
 * are valid UTF-8, one RFC 2047 encoded-word decoded, and the body a text
 * should decode to. Header-only, for the tests alone (needs util.h). */
#ifndef RELAY_TEST_READING_H
#define RELAY_TEST_READING_H

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* An upper-case hex digit's value (compose writes no other), or -1. */
static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 when the n octets at s are valid UTF-8 holding no NUL. */
static inline int utf8_valid(const char *s, size_t n)
{
	char *copy = utf8_sanitize(s, n);
	int ok = strlen(copy) == n && memcmp(copy, s, n) == 0;
	free(copy);
	/* utf8_sanitize drops NUL: an input NUL is a failure too */
	return ok && !memchr(s, 0, n);
}

/* Decodes one encoded-word as compose writes them ("=?UTF-8?Q?...?=" or B)
 * and appends its octets. 0, or -1 when malformed. Its length (at most 75)
 * and whether the octets are whole UTF-8 characters are the caller's to ask. */
static inline int ew_decode(const char *w, size_t n, struct buf *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int q;

	if (n < 12 || strncmp(w, "=?UTF-8?", 8) != 0 || (w[8] != 'Q' && w[8] != 'B') || w[9] != '?' ||
	    strncmp(w + n - 2, "?=", 2) != 0)
		return -1;
	q = w[8] == 'Q';
	w += 10;
	n -= 12;
	if (q) {
		for (size_t i = 0; i < n; i++) {
			if (w[i] == '_') {
				buf_addc(out, ' ');
			} else if (w[i] == '=') {
				if (i + 2 >= n)
					return -1;
				int hi = hexval(w[i + 1]), lo = hexval(w[i + 2]);
				if (hi < 0 || lo < 0)
					return -1;
				buf_addc(out, (char)(hi * 16 + lo));
				i += 2;
			} else if (strchr("!*+-/", w[i]) || (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
			           (w[i] >= '0' && w[i] <= '9')) {
				buf_addc(out, w[i]);
			} else {
				return -1;
			}
		}
		return 0;
	}
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		unsigned long v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			const char *c = w[i + j] == '=' ? NULL : strchr(b64, w[i + j]);
			if (w[i + j] == '=')
				pad++;
			else if (!c || !w[i + j] || pad)
				return -1;
			v = v << 6 | (c ? (unsigned long)(c - b64) : 0);
		}
		if (pad > 2)
			return -1;
		buf_addc(out, (char)(v >> 16));
		if (pad < 2)
			buf_addc(out, (char)(v >> 8));
		if (pad < 1)
			buf_addc(out, (char)v);
	}
	return 0;
}

/* What a body should decode to: valid UTF-8, every line end CRLF, a final
 * line end added. Caller frees. */
static inline char *expected_body(const char *text)
{
	char *clean = utf8_sanitize(text, strlen(text));
	struct buf b;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (const char *p = clean; *p; p++) {
		if (*p == '\r' || *p == '\n') {
			if (p[0] == '\r' && p[1] == '\n')
				p++;
			buf_adds(&b, "\r\n");
		} else {
			buf_addc(&b, *p);
		}
	}
	if (b.len && b.data[b.len - 1] != '\n')
		buf_adds(&b, "\r\n");
	free(clean);
	return buf_take(&b);
}

#endif
