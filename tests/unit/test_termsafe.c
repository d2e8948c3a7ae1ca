/* Unit tests for termsafe.c: what reaches an operator's terminal. Every byte
 * alone, every code point encoded, invalid UTF-8 of each kind, and the
 * attacks of issue 20 (ESC, BEL, BS, OSC 52, U+202E). */
#include "check.h"
#include "termsafe.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>

static char *esc(const char *s, size_t n, enum termsafe_mode mode)
{
	struct buf b;
	buf_init(&b);
	termsafe_append(&b, s, n, mode);
	return buf_take(&b);
}

/* Encodes cp as UTF-8 into out (4 bytes at most); the length. */
static size_t encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Nothing a terminal acts on is left in the output: only printable ASCII,
 * newline and tab (TEXT), and UTF-8 that is neither C1 nor bidi. */
static int output_is_inert(const char *s, enum termsafe_mode mode)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_decode(p + i, n - i, &cp);
		if (k == 0)
			return 0;
		if (cp < 0x20 && !(cp == '\t' || (cp == '\n' && mode == TERMSAFE_TEXT)))
			return 0;
		if ((cp >= 0x7F && cp < 0xA0) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
		    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
			return 0;
		i += k;
	}
	return 1;
}

static void every_byte(void)
{
	int bad = 0, inert = 0;
	for (int c = 0; c < 256; c++) {
		char in[1] = { (char)c }, want[8];
		for (int m = 0; m < 2; m++) {
			enum termsafe_mode mode = m ? TERMSAFE_LINE : TERMSAFE_TEXT;
			char *got = esc(in, 1, mode);
			int passes = (c >= 0x20 && c < 0x7F) || c == '\t' || (c == '\n' && mode == TERMSAFE_TEXT);
			if (passes)
				snprintf(want, sizeof want, "%c", c);
			else
				snprintf(want, sizeof want, "\\x%02x", c);
			if (strcmp(got, want)) {
				if (!bad++)
					printf("  byte 0x%02x mode %d: got [%s] want [%s]\n", c, m, got, want);
			}
			if (!output_is_inert(got, mode))
				inert++;
			if (termsafe_is_clean(in, 1, mode) != passes)
				bad++;
			free(got);
		}
	}
	CHECK_INT("every byte alone: printable ASCII (and \\n, \\t) as it is, the rest \\xNN", bad, 0);
	CHECK_INT("every byte alone: the output is inert", inert, 0);
}

static void every_code_point(void)
{
	int bad = 0, inert = 0;
	for (uint32_t cp = 0x80; cp <= 0x10FFFF; cp++) {
		char in[4], want[16];
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue; /* surrogates are not UTF-8: below */
		size_t n = encode(cp, in);
		int control = cp < 0xA0 || cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
		              (cp >= 0x2066 && cp <= 0x2069);
		if (control)
			snprintf(want, sizeof want, "<U+%04X>", (unsigned)cp);
		else
			memcpy(want, in, n), want[n] = '\0';
		char *got = esc(in, n, TERMSAFE_TEXT);
		if (strcmp(got, want) && !bad++)
			printf("  U+%04X: got [%s] want [%s]\n", (unsigned)cp, got, want);
		if (!output_is_inert(got, TERMSAFE_TEXT))
			inert++;
		free(got);
	}
	CHECK_INT("every code point: C1 and bidi controls as <U+XXXX>, the rest as they are", bad, 0);
	CHECK_INT("every code point: the output is inert", inert, 0);
}

static void invalid_utf8(void)
{
	static const struct {
		const char *name, *in;
		size_t n;
		const char *want;
	} cases[] = {
		{ "lone continuation byte", "a\x80z", 3, "a\\x80z" },
		{ "raw C1 CSI byte (8-bit terminals)",
		  "\x9b"
		  "31m",
		  4, "\\x9b31m" },
		{ "overlong ESC (C0 9B)", "\xC0\x9B", 2, "\\xc0\\x9b" },
		{ "overlong slash (C0 AF)", "\xC0\xAF", 2, "\\xc0\\xaf" },
		{ "overlong 3-byte (E0 80 9B)", "\xE0\x80\x9B", 3, "\\xe0\\x80\\x9b" },
		{ "surrogate (ED A0 80)", "\xED\xA0\x80", 3, "\\xed\\xa0\\x80" },
		{ "beyond U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80" },
		{ "cut short at the end", "ok\xE2\x80", 4, "ok\\xe2\\x80" },
		{ "cut short before ESC", "\xE2\x80\x1b[2J", 6, "\\xe2\\x80\\x1b[2J" },
		{ "FE and FF", "\xFE\xFF", 2, "\\xfe\\xff" },
		{ "NUL inside", "a\0b", 3, "a\\x00b" },
		{ "good after bad", "\xFF\xC3\xA9", 3, "\\xff\xC3\xA9" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = esc(cases[i].in, cases[i].n, TERMSAFE_TEXT);
		CHECK_STR(cases[i].name, got, cases[i].want);
		CHECK(cases[i].name, output_is_inert(got, TERMSAFE_TEXT));
		free(got);
	}
	/* Every two-byte sequence: whatever it is, the output is inert, and
	 * valid text other than controls is kept byte for byte. */
	int inert = 0, lost = 0;
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			char in[2] = { (char)a, (char)b };
			for (int m = 0; m < 2; m++) {
				char *got = esc(in, 2, m ? TERMSAFE_LINE : TERMSAFE_TEXT);
				if (!output_is_inert(got, m ? TERMSAFE_LINE : TERMSAFE_TEXT))
					inert++;
				if (termsafe_is_clean(in, 2, m ? TERMSAFE_LINE : TERMSAFE_TEXT) && memcmp(got, in, 2))
					lost++;
				free(got);
			}
		}
	CHECK_INT("every two-byte sequence: the output is inert", inert, 0);
	CHECK_INT("every two-byte sequence: clean text is kept as it is", lost, 0);
}

static void attacks(void)
{
	static const struct {
		const char *name, *in;
		enum termsafe_mode mode;
		const char *want;
	} cases[] = {
		{ "ESC: clear the screen", "hi\x1b[2J\x1b[Hbye", TERMSAFE_TEXT, "hi\\x1b[2J\\x1b[Hbye" },
		{ "BEL", "ring\a", TERMSAFE_TEXT, "ring\\x07" },
		{ "BS overwrites", "I am safe\b\b\b\bnot", TERMSAFE_TEXT, "I am safe\\x08\\x08\\x08\\x08not" },
		{ "CR overwrites a line", "I want to die\rI am fine   ", TERMSAFE_TEXT, "I want to die\\x0dI am fine   " },
		{ "CRLF is a newline", "one\r\ntwo\r\n", TERMSAFE_TEXT, "one\ntwo\n" },
		{ "OSC 52 clipboard, BEL-terminated", "\x1b]52;c;Y3VybCBldmlsfHNo\a", TERMSAFE_TEXT,
		  "\\x1b]52;c;Y3VybCBldmlsfHNo\\x07" },
		{ "OSC 52, ST-terminated", "\x1b]52;c;eA==\x1b\\", TERMSAFE_TEXT, "\\x1b]52;c;eA==\\x1b\\" },
		{ "RLO reorders", "file\xE2\x80\xAEgpj.exe", TERMSAFE_TEXT, "file<U+202E>gpj.exe" },
		{ "isolates and marks", "\xE2\x81\xA6x\xE2\x81\xA9\xE2\x80\x8F", TERMSAFE_TEXT,
		  "<U+2066>x<U+2069><U+200F>" },
		{ "C1 CSI as UTF-8",
		  "\xC2\x9B"
		  "2J",
		  TERMSAFE_TEXT, "<U+009B>2J" },
		{ "DEL", "a\x7f", TERMSAFE_TEXT, "a\\x7f" },
		{ "a line keeps tab, escapes newline", "Subject\tone\nFrom: forged", TERMSAFE_LINE,
		  "Subject\tone\\x0aFrom: forged" },
		{ "a line escapes CRLF", "a\r\nb", TERMSAFE_LINE, "a\\x0d\\x0ab" },
		{ "text keeps newline and tab", "a\n\tb\n", TERMSAFE_TEXT, "a\n\tb\n" },
		{ "ordinary text untouched", "Caf\xC3\xA9 \xF0\x9F\x98\x80 \xD8\xB3\xD9\x84\xD8\xA7\xD9\x85 C:\\x1b",
		  TERMSAFE_TEXT, "Caf\xC3\xA9 \xF0\x9F\x98\x80 \xD8\xB3\xD9\x84\xD8\xA7\xD9\x85 C:\\x1b" },
		{ "empty", "", TERMSAFE_TEXT, "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = termsafe_dup(cases[i].in, cases[i].mode);
		CHECK_STR(cases[i].name, got, cases[i].want);
		free(got);
	}
	CHECK("NULL in, NULL out", termsafe_dup(NULL, TERMSAFE_TEXT) == NULL);
	/* Escaping what is already safe changes nothing (a field escaped as a
	 * line, then printed through an escaping printf). */
	char *once = termsafe_dup("x\x1b\n\xE2\x80\xAE\xFF", TERMSAFE_LINE);
	char *twice = termsafe_dup(once, TERMSAFE_TEXT);
	CHECK_STR("escaping twice is escaping once", twice, once);
	free(once);
	free(twice);
}

static void printing(void)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	termsafe_printf(f, 1, "--- %s by %s\n", "young person\x1b[8m", "x\xE2\x80\xAE");
	termsafe_printf(f, 0, "%s\n", "exact\x1b");
	fclose(f);
	CHECK_STR("termsafe_printf escapes the arguments, keeps the format's newlines, or passes all when asked", mem,
	          "--- young person\\x1b[8m by x<U+202E>\nexact\x1b\n");
	free(mem);
}

int main(void)
{
	every_byte();
	every_code_point();
	invalid_utf8();
	attacks();
	printing();
	return check_done();
}
