/* phone.c: E.164 normalising by UK rules, sender kinds, masking. */
#include "phone.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Copies s into out when it fits whole. */
static int put(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(s);
	if (n >= outlen)
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/* Copies as much of s as fits, never cutting a UTF-8 sequence. */
static void put_cut(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(s);
	if (outlen == 0)
		return;
	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* A UK national significant number (the digits after 0 or +44). Mobiles
 * (7) are always 10 digits; other ranges 9 or 10; 800 1111 is Childline. */
static int uk_nsn_valid(const char *nsn)
{
	size_t n = strlen(nsn);
	if (!all_digits(nsn))
		return 0;
	if (strcmp(nsn, "8001111") == 0)
		return 1;
	if (nsn[0] == '7')
		return n == 10;
	if (strchr("123589", nsn[0]))
		return n == 9 || n == 10;
	return 0;
}

/* Separators people and phones put in numbers, as UTF-8: no-break and other
 * Unicode spaces, Unicode dashes and the minus sign. Returns the length of
 * the one at p, or 0. */
static size_t separator_len(const char *p)
{
	static const char *const seps[] = {
		"\xC2\xA0",                                                     /* NBSP */
		"\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82", "\xE2\x80\x83", /* U+2000.. */
		"\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87",
		"\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xAF", /* ..U+200A, U+202F */
		"\xE2\x80\x90", "\xE2\x80\x91", "\xE2\x80\x92", "\xE2\x80\x93", /* U+2010.. */
		"\xE2\x80\x94", "\xE2\x80\x95", "\xE2\x88\x92",                 /* ..U+2015, U+2212 */
	};
	if (strchr(" \t.-/()", *p))
		return 1;
	for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++)
		if (strncmp(p, seps[i], strlen(seps[i])) == 0)
			return strlen(seps[i]);
	return 0;
}

/* "+" and digits (8-15, first 1-9) to E.164; +44 must be a UK number. */
static enum phone_kind international(const char *d, char *out, size_t outlen)
{
	size_t n = strlen(d);
	char e164[PHONE_MAX];

	if (!all_digits(d) || n < 8 || n > 15 || d[0] == '0')
		return PHONE_INVALID;
	if (strncmp(d, "44", 2) == 0) {
		const char *nsn = d + 2;
		if (*nsn == '0') /* "+44 07700 ...": the trunk 0 written anyway */
			nsn++;
		if (!uk_nsn_valid(nsn))
			return PHONE_INVALID;
		memcpy(e164, "+44", 4);
		strcat(e164, nsn);
	} else {
		e164[0] = '+';
		memcpy(e164 + 1, d, n + 1);
	}
	return put(out, outlen, e164) == 0 ? PHONE_NUMBER : PHONE_INVALID;
}

/* A sender ID: 1-11 characters, at least one letter, of letters (any
 * script), digits, spaces and a little punctuation, valid UTF-8. */
static int sender_id_valid(const char *t)
{
	size_t chars = 0;
	int letter = 0;
	char *clean = utf8_sanitize(t, strlen(t));
	int valid = strcmp(clean, t) == 0 && t[0] != '+';
	free(clean);
	for (const unsigned char *p = (const unsigned char *)t; valid && *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue; /* inside a character already counted */
		chars++;
		if (*p >= 0x80 || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			letter = 1;
		else if (!((*p >= '0' && *p <= '9') || strchr(" .-_&'!+", *p)))
			valid = 0;
	}
	return valid && letter && chars <= 11;
}

enum phone_kind phone_normalise(const char *in, char *out, size_t outlen)
{
	enum phone_kind kind = PHONE_INVALID;
	char *t = xstrdup(in ? in : "");
	char s[PHONE_MAX]; /* the digits and + once separators are gone */
	size_t sn = 0;
	int other = 0;

	if (outlen)
		out[0] = '\0';
	str_trim(t);
	if (!*t)
		goto fail;

	for (const char *p = t; *p;) {
		size_t k;
		if (strncmp(p, "(0)", 3) == 0) {
			p += 3;
		} else if ((*p >= '0' && *p <= '9') || *p == '+') {
			if (sn + 1 >= sizeof s) {
				other = 1; /* far too long to be a number */
				break;
			}
			s[sn++] = *p++;
		} else if ((k = separator_len(p)) > 0) {
			p += k;
		} else {
			other = 1;
			break;
		}
	}
	s[sn] = '\0';

	if (other) {
		if (sender_id_valid(t) && put(out, outlen, t) == 0)
			kind = PHONE_ALPHANUMERIC;
		goto fail;
	}
	if (!sn || strchr(s + 1, '+'))
		goto fail;
	if (s[0] == '+')
		kind = international(s + 1, out, outlen);
	else if (strncmp(s, "00", 2) == 0)
		kind = international(s + 2, out, outlen);
	else if (s[0] == '0') {
		if (uk_nsn_valid(s + 1)) {
			char e164[PHONE_MAX];
			memcpy(e164, "+44", 4);
			strcat(e164, s + 1);
			if (put(out, outlen, e164) == 0)
				kind = PHONE_NUMBER;
		}
	} else if (sn >= 3 && sn <= 8) {
		if (put(out, outlen, s) == 0)
			kind = PHONE_SHORT_CODE;
	} else if (strncmp(s, "44", 2) == 0 || (sn >= 11 && sn <= 15)) {
		/* Esendex's international form without the +. */
		kind = international(s, out, outlen);
	}

fail:
	if (kind == PHONE_INVALID && outlen)
		put_cut(out, outlen, t);
	free(t);
	return kind;
}

/* ITU-T E.164 country codes: 1 and 7 are one digit, these two-digit ones
 * are assigned, and every other code is three digits. */
static size_t country_code_len(const char *d)
{
	static const char two[][3] = {
		"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
		"47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
		"64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
	};
	if (d[0] == '1' || d[0] == '7')
		return 1;
	for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
		if (two[i][0] == d[0] && two[i][1] == d[1])
			return 2;
	return 3;
}

char *phone_mask(const char *e164)
{
	size_t n = e164 ? strlen(e164) : 0;
	struct buf b;

	if (n < 9 || n > 16 || e164[0] != '+' || e164[1] == '0' || !all_digits(e164 + 1))
		return xstrdup("***");

	size_t cc = country_code_len(e164 + 1);
	const char *nsn = e164 + 1 + cc;
	size_t nn = strlen(nsn);
	/* Show the last three only when at least three stay hidden. */
	size_t shown_tail = nn >= 7 ? 3 : 0;

	buf_init(&b);
	buf_addc(&b, '+');
	buf_add(&b, e164 + 1, cc);
	buf_addc(&b, ' ');
	for (size_t i = 0; i < nn; i++) {
		if (i == 4)
			buf_addc(&b, ' ');
		buf_addc(&b, i == 0 || i >= nn - shown_tail ? nsn[i] : '*');
	}
	return buf_take(&b);
}
