/* Unit tests for gsm.c: GSM-7 alphabet, typographic folding, part counting. */
#include "check.h"
#include "gsm.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The GSM 03.38 default alphabet by position, written out independently of
 * gsm.c (0x1B, the escape, is "" here). */
static const char *const basic[128] = {
	"@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø",  "\r", "Å", "å", "Δ", "_", "Φ", "Γ", "Λ", "Ω",
	"Π", "Ψ", "Σ", "Θ", "Ξ", "",  "Æ", "æ", "ß", "É", " ",  "!", "\"", "#",  "¤", "%", "&", "'", "(", ")", "*", "+",
	",", "-", ".", "/", "0", "1", "2", "3", "4", "5", "6",  "7", "8",  "9",  ":", ";", "<", "=", ">", "?", "¡", "A",
	"B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L",  "M", "N",  "O",  "P", "Q", "R", "S", "T", "U", "V", "W",
	"X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§", "¿", "a", "b",  "c", "d",  "e",  "f", "g", "h", "i", "j", "k", "l", "m",
	"n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x",  "y", "z",  "ä",  "ö", "ñ", "ü", "à",
};
static const char *const extension[] = { "\f", "^", "{", "}", "\\", "[", "~", "]", "|", "€" };
#define NEXT (sizeof extension / sizeof extension[0])

static size_t put_utf8(char *s, uint32_t c)
{
	if (c < 0x80) {
		s[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		s[0] = (char)(0xC0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		s[0] = (char)(0xE0 | c >> 12);
		s[1] = (char)(0x80 | (c >> 6 & 0x3F));
		s[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	s[0] = (char)(0xF0 | c >> 18);
	s[1] = (char)(0x80 | (c >> 12 & 0x3F));
	s[2] = (char)(0x80 | (c >> 6 & 0x3F));
	s[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* reps * rep + mid + reps2 * rep2, owned. */
static char *make(int reps, const char *rep, const char *mid, int reps2, const char *rep2)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < reps; i++)
		buf_adds(&b, rep);
	buf_adds(&b, mid);
	for (int i = 0; i < reps2; i++)
		buf_adds(&b, rep2);
	return buf_take(&b);
}

#define AS "\xC3\xA1"            /* á: not GSM */
#define EMOJI "\xF0\x9F\x98\x80" /* U+1F600, a surrogate pair */

static const struct count_case {
	const char *name;
	int reps; /* text: reps * rep, then mid, then reps2 * rep2 */
	const char *rep;
	const char *mid;
	int reps2;
	const char *rep2;
	int prepare; /* run gsm_prepare first */
	int unicode, units, parts, per_part;
} counts[] = {
	{ "empty", 0, "", "", 0, "", 0, 0, 0, 0, 160 },
	{ "plain ASCII", 0, "", "Hello, are you OK?", 0, "", 0, 0, 18, 1, 160 },
	{ "one char", 0, "", "a", 0, "", 0, 0, 1, 1, 160 },
	{ "160 GSM chars: 1 part", 160, "a", "", 0, "", 0, 0, 160, 1, 160 },
	{ "161 GSM chars: 2 parts", 161, "a", "", 0, "", 0, 0, 161, 2, 153 },
	{ "306 GSM chars: 2 parts", 306, "a", "", 0, "", 0, 0, 306, 2, 153 },
	{ "307 GSM chars: 3 parts", 307, "a", "", 0, "", 0, 0, 307, 3, 153 },
	{ "459 GSM chars: 3 parts", 459, "a", "", 0, "", 0, 0, 459, 3, 153 },
	{ "1530 GSM chars: 10 parts", 1530, "a", "", 0, "", 0, 0, 1530, 10, 153 },
	{ "1531 GSM chars: 11 parts", 1531, "a", "", 0, "", 0, 0, 1531, 11, 153 },
	{ "159 chars with { are 160 septets", 158, "a", "{", 0, "", 0, 0, 160, 1, 160 },
	{ "160 chars with { are 161 septets", 159, "a", "{", 0, "", 0, 0, 161, 2, 153 },
	{ "158 a and euro: 160", 158, "a", "€", 0, "", 0, 0, 160, 1, 160 },
	{ "152 a, {, 7 b: escape pair moves to part 2", 152, "a", "{", 7, "b", 0, 0, 161, 2, 153 },
	{ "152 a, {, 152 a: 306 septets but 3 parts", 152, "a", "{", 152, "a", 0, 0, 306, 3, 153 },
	{ "151 a, euro, 153 a: pair fits, 2 parts", 151, "a", "€", 153, "a", 0, 0, 306, 2, 153 },
	{ "euro costs 2", 0, "", "€", 0, "", 0, 0, 2, 1, 160 },
	{ "brace costs 2", 0, "", "{", 0, "", 0, 0, 2, 1, 160 },
	{ "whole extension table", 0, "", "^{}\\[~]|€\f", 0, "", 0, 0, 20, 1, 160 },
	{ "80 extension chars: 160", 80, "[", "", 0, "", 0, 0, 160, 1, 160 },
	{ "81 extension chars: 162, 2 parts", 81, "]", "", 0, "", 0, 0, 162, 2, 153 },
	{ "one emoji makes UCS-2", 0, "", "Hi " EMOJI, 0, "", 0, 1, 5, 1, 70 },
	{ "70 UCS-2 units: 1 part", 70, AS, "", 0, "", 0, 1, 70, 1, 70 },
	{ "71 UCS-2 units: 2 parts", 71, AS, "", 0, "", 0, 1, 71, 2, 67 },
	{ "134 UCS-2 units: 2 parts", 134, AS, "", 0, "", 0, 1, 134, 2, 67 },
	{ "135 UCS-2 units: 3 parts", 135, AS, "", 0, "", 0, 1, 135, 3, 67 },
	{ "emoji after 159 GSM chars", 159, "a", EMOJI, 0, "", 0, 1, 161, 3, 67 },
	{ "68 a-acute and emoji: 70, 1 part", 68, AS, EMOJI, 0, "", 0, 1, 70, 1, 70 },
	{ "69 a-acute and emoji: 71, 2 parts", 69, AS, EMOJI, 0, "", 0, 1, 71, 2, 67 },
	{ "surrogate pair at 67 boundary moves whole", 66, AS, EMOJI, 66, AS, 0, 1, 134, 3, 67 },
	{ "surrogate pair ending at 67 stays", 65, AS, EMOJI, 67, AS, 0, 1, 134, 2, 67 },
	{ "35 emoji: 70 units, 1 part", 35, EMOJI, "", 0, "", 0, 1, 70, 1, 70 },
	{ "36 emoji: 72 units, 2 parts", 36, EMOJI, "", 0, "", 0, 1, 72, 2, 67 },
	{ "67 emoji: 134 units, 3 parts (33 a part)", 67, EMOJI, "", 0, "", 0, 1, 134, 3, 67 },
	{ "extension chars cost 1 in UCS-2", 0, "", AS "{€", 0, "", 0, 1, 3, 1, 70 },
	{ "e-acute is GSM", 0, "", "Café é", 0, "", 0, 0, 6, 1, 160 },
	{ "a-acute is UCS-2", 0, "", "á", 0, "", 0, 1, 1, 1, 70 },
	{ "â ê í ó ú are UCS-2", 0, "", "âêíóú", 0, "", 0, 1, 5, 1, 70 },
	{ "è ù ì ò à are GSM", 0, "", "èùìòà", 0, "", 0, 0, 5, 1, 160 },
	{ "Nordic and German letters are GSM", 0, "", "ÆæØøÅåÄäÖöÜüßÑñÉÇ", 0, "", 0, 0, 17, 1, 160 },
	{ "small c-cedilla is UCS-2", 0, "", "ç", 0, "", 0, 1, 1, 1, 70 },
	{ "£ ¥ ¤ ¡ ¿ § @ $ _ are GSM", 0, "", "£¥¤¡¿§@$_", 0, "", 0, 0, 9, 1, 160 },
	{ "Greek capitals in GSM", 0, "", "ΔΦΓΛΩΠΨΣΘΞ", 0, "", 0, 0, 10, 1, 160 },
	{ "Greek capital alpha is not", 0, "", "Α", 0, "", 0, 1, 1, 1, 70 },
	{ "Greek small letters are not", 0, "", "αβ", 0, "", 0, 1, 2, 1, 70 },
	{ "CJK", 0, "", "你好", 0, "", 0, 1, 2, 1, 70 },
	{ "invalid UTF-8 byte is U+FFFD", 0, "", "ab\xFF", 0, "", 0, 1, 3, 1, 70 },
	{ "truncated sequence", 0, "", "ok \xC3", 0, "", 0, 1, 4, 1, 70 },
	{ "overlong slash is two U+FFFD", 0, "", "\xC0\xAF", 0, "", 0, 1, 2, 1, 70 },
	{ "CR and LF are GSM", 0, "", "a\r\nb\n", 0, "", 0, 0, 5, 1, 160 },
	{ "tab is not GSM", 0, "", "a\tb", 0, "", 0, 1, 3, 1, 70 },
	{ "tab prepared to space", 0, "", "a\tb", 0, "", 1, 0, 3, 1, 160 },
	{ "backtick is not GSM", 0, "", "`", 0, "", 0, 1, 1, 1, 70 },
	{ "curly quote unprepared is UCS-2", 0, "", "It’s", 0, "", 0, 1, 4, 1, 70 },
	{ "curly quotes and dashes prepared", 0, "", "“Call us” – it’s free — 24/7…", 0, "", 1, 0, 31, 1, 160 },
	{ "NBSP unprepared is UCS-2", 0, "",
	  "a\xC2\xA0"
	  "b",
	  0, "", 0, 1, 3, 1, 70 },
	{ "NBSP prepared", 0, "",
	  "a\xC2\xA0"
	  "b",
	  0, "", 1, 0, 3, 1, 160 },
	{ "prepared 160 with ellipsis", 157, "a", "…", 0, "", 1, 0, 160, 1, 160 },
	{ "prepared ellipsis tips to 2 parts", 158, "a", "…", 0, "", 1, 0, 161, 2, 153 },
	{ "prepare keeps emoji: still UCS-2", 0, "", "It’s ok " EMOJI, 0, "", 1, 1, 10, 1, 70 },
	{ "curly quotes in long text: 1 GSM part once prepared", 79, "’", "’", 0, "", 1, 0, 80, 1, 160 },
	{ "curly quotes in long text: 2 UCS-2 parts unprepared", 79, "’", "’", 0, "", 0, 1, 80, 2, 67 },
};

static const struct prepare_case {
	const char *name;
	const char *in, *want;
} prepares[] = {
	{ "plain text unchanged", "See you at 3pm.", "See you at 3pm." },
	{ "GSM specials unchanged", "€{}[]~^|\\ £@é\r\n", "€{}[]~^|\\ £@é\r\n" },
	{ "curly double quotes", "“quoted”", "\"quoted\"" },
	{ "low and reversed double quotes", "„x‟", "\"x\"" },
	{ "curly single quotes", "‘single’ it’s", "'single' it's" },
	{ "low and reversed single quotes", "‚x‛", "'x'" },
	{ "primes", "5′ 10″", "5' 10\"" },
	{ "guillemets", "«Bonjour» ‹x›", "\"Bonjour\" 'x'" },
	{ "backtick and acute accent", "`x´", "'x'" },
	{ "modifier apostrophe", "donʼt", "don't" },
	{ "en and em dashes", "a – b — c", "a - b - c" },
	{ "hyphen, figure dash, bar", "‐‒―", "---" },
	{ "minus sign", "−5", "-5" },
	{ "non-breaking hyphen", "e‑mail", "e-mail" },
	{ "ellipsis", "wait…", "wait..." },
	{ "two-dot and one-dot leaders", "‥․", "..." },
	{ "NBSP",
	  "a\xC2\xA0"
	  "b",
	  "a b" },
	{ "narrow NBSP",
	  "10\xE2\x80\xAF"
	  "am",
	  "10 am" },
	{ "thin, en, em and hair spaces",
	  "a\xE2\x80\x89"
	  "b\xE2\x80\x82"
	  "c\xE2\x80\x83"
	  "d\xE2\x80\x8A"
	  "e",
	  "a b c d e" },
	{ "ideographic and math spaces",
	  "a\xE3\x80\x80"
	  "b\xE2\x81\x9F"
	  "c",
	  "a b c" },
	{ "tab", "a\tb", "a b" },
	{ "soft hyphen removed",
	  "safe\xC2\xAD"
	  "guarding",
	  "safeguarding" },
	{ "zero-width space removed",
	  "a\xE2\x80\x8B"
	  "b",
	  "ab" },
	{ "word joiner and BOM removed",
	  "\xEF\xBB\xBF"
	  "a\xE2\x81\xA0"
	  "b",
	  "ab" },
	{ "bullet", "• one\n• two", "- one\n- two" },
	{ "Word's Symbol bullet", "\xEF\x82\xB7 item", "- item" },
	{ "other bullets", "‣◦▪●∙⁃", "------" },
	{ "fraction slash", "1⁄2", "1/2" },
	{ "line and paragraph separators",
	  "a\xE2\x80\xA8"
	  "b\xE2\x80\xA9"
	  "c",
	  "a\nb\nc" },
	{ "NEL",
	  "a\xC2\x85"
	  "b",
	  "a\nb" },
	{ "control characters removed",
	  "a\x07"
	  "b\x1B"
	  "c\x7F"
	  "d",
	  "abcd" },
	{ "form feed kept (it is GSM)", "a\fb", "a\fb" },
	{ "stray LRM in GSM text removed", "\xE2\x80\x8EHello", "Hello" },
	{ "stray ZWJ in GSM text removed",
	  "a\xE2\x80\x8D"
	  "b",
	  "ab" },
	{ "ZWJ emoji sequence kept", "👨\xE2\x80\x8D👩\xE2\x80\x8D👧", "👨\xE2\x80\x8D👩\xE2\x80\x8D👧" },
	{ "ZWJ kept, quotes folded beside emoji", "“hi” 👨\xE2\x80\x8D👩", "\"hi\" 👨\xE2\x80\x8D👩" },
	{ "RLM kept in Arabic", "مرحبا\xE2\x80\x8F!", "مرحبا\xE2\x80\x8F!" },
	{ "emoji left alone", "Hi 😀", "Hi 😀" },
	{ "accented letters GSM lacks left alone", "á í ó ú â ê ç", "á í ó ú â ê ç" },
	{ "Greek and CJK left alone", "αβ 你好", "αβ 你好" },
	{ "invalid byte",
	  "a\xFF"
	  "b",
	  "a\xEF\xBF\xBD"
	  "b" },
	{ "overlong sequence", "\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD" },
	{ "surrogate", "\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
	{ "truncated at end", "x\xE2\x80", "x\xEF\xBF\xBD\xEF\xBF\xBD" },
	{ "empty", "", "" },
	{ "adviser's sign-off", "Thanks – we’re here 9am–5pm… “Text us” any time.",
	  "Thanks - we're here 9am-5pm... \"Text us\" any time." },
};

static int in_gsm_table(uint32_t c, int *cost, const uint32_t *table1, const uint32_t *table2)
{
	for (int i = 0; i < 128; i++)
		if (i != 0x1B && table1[i] == c) {
			*cost = 1;
			return 1;
		}
	for (size_t i = 0; i < NEXT; i++)
		if (table2[i] == c) {
			*cost = 2;
			return 1;
		}
	return 0;
}

static uint32_t decode_one(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] < 0xE0)
		return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
	if (p[0] < 0xF0)
		return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
	return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
}

int main(void)
{
	struct sms_count c;
	char name[160];

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		const struct count_case *k = &counts[i];
		char *text = make(k->reps, k->rep, k->mid, k->reps2, k->rep2);
		if (k->prepare) {
			char *p = gsm_prepare(text);
			free(text);
			text = p;
		}
		gsm_count(text, &c);
		snprintf(name, sizeof name, "count: %s", k->name);
		CHECK(name,
		      c.unicode == k->unicode && c.units == k->units && c.parts == k->parts && c.per_part == k->per_part);
		if (!(c.unicode == k->unicode && c.units == k->units && c.parts == k->parts && c.per_part == k->per_part))
			printf("  got unicode=%d units=%d parts=%d per_part=%d\n", c.unicode, c.units, c.parts, c.per_part);
		snprintf(name, sizeof name, "is_gsm7 agrees: %s", k->name);
		CHECK(name, gsm_is_gsm7(text) == !k->unicode);
		free(text);
	}
	gsm_count(NULL, &c);
	CHECK("count NULL is empty", c.unicode == 0 && c.units == 0 && c.parts == 0 && c.per_part == 160);
	CHECK("NULL is GSM-7", gsm_is_gsm7(NULL) == 1);

	for (size_t i = 0; i < sizeof prepares / sizeof prepares[0]; i++) {
		char *got = gsm_prepare(prepares[i].in);
		snprintf(name, sizeof name, "prepare: %s", prepares[i].name);
		CHECK_STR(name, got, prepares[i].want);
		char *again = gsm_prepare(got);
		snprintf(name, sizeof name, "prepare is idempotent: %s", prepares[i].name);
		CHECK_STR(name, again, got);
		free(again);
		free(got);
	}
	char *null = gsm_prepare(NULL);
	CHECK_STR("prepare NULL", null, "");
	free(null);

	/* Exhaustive: the test's own copy of the 03.38 tables against gsm.c. */
	uint32_t t1[128], t2[NEXT];
	struct buf all;
	buf_init(&all);
	int table_ok = 1;
	for (int i = 0; i < 128; i++) {
		t1[i] = i == 0x1B ? 0xFFFFFFFF : decode_one(basic[i]);
		if (i == 0x1B)
			continue;
		buf_adds(&all, basic[i]);
		gsm_count(basic[i], &c);
		char *p = gsm_prepare(basic[i]);
		if (!gsm_is_gsm7(basic[i]) || c.unicode || c.units != 1 || strcmp(p, basic[i]) != 0) {
			printf("  basic 0x%02X (U+%04X) does not round-trip\n", (unsigned)i, (unsigned)t1[i]);
			table_ok = 0;
		}
		free(p);
	}
	for (size_t i = 0; i < NEXT; i++) {
		t2[i] = decode_one(extension[i]);
		buf_adds(&all, extension[i]);
		gsm_count(extension[i], &c);
		char *p = gsm_prepare(extension[i]);
		if (!gsm_is_gsm7(extension[i]) || c.unicode || c.units != 2 || strcmp(p, extension[i]) != 0) {
			printf("  extension U+%04X does not round-trip\n", (unsigned)t2[i]);
			table_ok = 0;
		}
		free(p);
	}
	CHECK("every GSM table character is gsm7, costs right, survives prepare", table_ok);
	gsm_count(buf_str(&all), &c);
	CHECK("whole alphabet in one text: 127 + 2*10 septets, 1 part",
	      !c.unicode && c.units == 147 && c.parts == 1 && gsm_is_gsm7(buf_str(&all)));
	buf_free(&all);

	/* Exhaustive: every Unicode scalar value, alone. */
	int gsm_seen = 0, wrong_class = 0, wrong_units = 0, bad_prepare = 0;
	for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		char s[5];
		s[put_utf8(s, cp)] = '\0';
		int cost = 0, in = in_gsm_table(cp, &cost, t1, t2);
		gsm_seen += in;
		if (gsm_is_gsm7(s) != in) {
			if (wrong_class++ < 5)
				printf("  U+%04X classed wrong\n", (unsigned)cp);
		}
		gsm_count(s, &c);
		if (c.unicode != !in || c.units != (in ? cost : cp > 0xFFFF ? 2 : 1) || c.parts != 1)
			wrong_units++;
		/* prepare either leaves a character alone or makes it GSM-7 (or nothing). */
		if (cp < 0x3100 || (cp >= 0xF000 && cp < 0x10000) || cp == 0x1F600) {
			char *p = gsm_prepare(s);
			if (strcmp(p, s) != 0 && !gsm_is_gsm7(p)) {
				if (bad_prepare++ < 5)
					printf("  U+%04X prepared to non-GSM\n", (unsigned)cp);
			}
			free(p);
		}
	}
	CHECK_INT("exactly 137 code points are GSM-7", gsm_seen, 137);
	CHECK_INT("no code point classed wrong", wrong_class, 0);
	CHECK_INT("every code point counted right", wrong_units, 0);
	CHECK_INT("prepare never yields a non-GSM replacement", bad_prepare, 0);

	return check_done();
}
