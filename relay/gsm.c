/* gsm.c: GSM 03.38 alphabet, typographic folding and SMS part counting. */
#include "gsm.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

#define REPLACEMENT 0xFFFD

/* Decodes one code point at p (n bytes left, n >= 1). Invalid, overlong,
 * surrogate and out-of-range sequences give U+FFFD and consume one byte,
 * the way utf8_sanitize() replaces them. */
static uint32_t utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	*len = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		if (n >= 2 && (p[1] & 0xC0) == 0x80) {
			*len = 2;
			return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
		}
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		if (n >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && !(p[0] == 0xE0 && p[1] < 0xA0) &&
		    !(p[0] == 0xED && p[1] >= 0xA0)) {
			*len = 3;
			return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
		}
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		if (n >= 4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 &&
		    !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] >= 0x90)) {
			*len = 4;
			return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
			       (p[3] & 0x3F);
		}
	}
	return REPLACEMENT;
}

static void utf8_put(struct buf *b, uint32_t c)
{
	char s[4];
	size_t n;
	if (c < 0x80) {
		s[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		s[0] = (char)(0xC0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		s[0] = (char)(0xE0 | c >> 12);
		s[1] = (char)(0x80 | (c >> 6 & 0x3F));
		s[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		s[0] = (char)(0xF0 | c >> 18);
		s[1] = (char)(0x80 | (c >> 12 & 0x3F));
		s[2] = (char)(0x80 | (c >> 6 & 0x3F));
		s[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	buf_add(b, s, n);
}

/* The GSM 03.38 default alphabet by position; 0x1B is the escape to the
 * extension table, not a character. 0x09 is Ç, as 3GPP TS 23.038 and the
 * Unicode mapping have it (some old phones show ç). */
static const uint16_t
	gsm_basic
		[128] = {
			'@',    0x00A3, '$',    0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, /* @ £ $ ¥ è é ù ì */
			0x00F2, 0x00C7, '\n',   0x00D8, 0x00F8, '\r',   0x00C5, 0x00E5, /* ò Ç LF Ø ø CR Å å */
			0x0394, '_',    0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, /* Δ _ Φ Γ Λ Ω Π Ψ */
			0x03A3, 0x0398, 0x039E, 0,      0x00C6, 0x00E6, 0x00DF, 0x00C9, /* Σ Θ Ξ ESC Æ æ ß É */
			' ',    '!',    '"',    '#',    0x00A4, '%',    '&',    '\'',   /* ¤ where ASCII has $ */
			'(',    ')',    '*',    '+',    ',',    '-',    '.',    '/',    '0',    '1',    '2',    '3',    '4',
			'5',    '6',    '7',    '8',    '9',    ':',    ';',    '<',    '=',    '>',    '?',    0x00A1, 'A',
			'B',    'C',    'D',    'E',    'F',    'G', /* ¡ where ASCII has @ */
			'H',    'I',    'J',    'K',    'L',    'M',    'N',    'O',    'P',    'Q',    'R',    'S',    'T',
			'U',    'V',    'W',    'X',    'Y',    'Z',    0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, /* Ä Ö Ñ Ü § */
			0x00BF, 'a',    'b',    'c',    'd',    'e',    'f',    'g', /* ¿ where ASCII has ` */
			'h',    'i',    'j',    'k',    'l',    'm',    'n',    'o',    'p',    'q',    'r',    's',    't',
			'u',    'v',    'w',    'x',    'y',    'z',    0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, /* ä ö ñ ü à */
		};

/* The extension table's characters: each is ESC plus one septet. */
static const uint16_t gsm_extension[] = { '\f', '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC };

/* Septets c costs in GSM-7, or 0 when GSM-7 cannot carry it. */
static int gsm_cost(uint32_t c)
{
	if (c < 0x80) {
		/* ASCII: all printable but ` are in one table or the other. */
		if (c == '\n' || c == '\r')
			return 1;
		if (c < 0x20 && c != '\f')
			return 0;
		if (c == '`' || c == 0x7F)
			return 0;
	}
	for (size_t i = 0; i < sizeof gsm_extension / sizeof gsm_extension[0]; i++)
		if (gsm_extension[i] == c)
			return 2;
	if (c < 0x80)
		return 1;
	for (int i = 0; i < 128; i++)
		if (i != 0x1B && gsm_basic[i] == c)
			return 1;
	return 0;
}

/* What gsm_prepare() does with one code point. */
enum fold { KEEP, DROP, DROP_IF_GSM };

struct fold_rule {
	uint32_t from, to; /* an inclusive range */
	enum fold action;  /* KEEP: replace with text (NULL: leave alone) */
	const char *text;
};

/* Sorted by range; looked up by binary search. */
static const struct fold_rule folds[] = {
	{ 0x0000, 0x0008, DROP, NULL },        { 0x0009, 0x0009, KEEP, " " },         { 0x000B, 0x000B, DROP, NULL },
	{ 0x000E, 0x001F, DROP, NULL },        { 0x0060, 0x0060, KEEP, "'" },         { 0x007F, 0x0084, DROP, NULL },
	{ 0x0085, 0x0085, KEEP, "\n" },        { 0x0086, 0x009F, DROP, NULL },        { 0x00A0, 0x00A0, KEEP, " " },
	{ 0x00AB, 0x00AB, KEEP, "\"" },        { 0x00AD, 0x00AD, DROP, NULL },        { 0x00B4, 0x00B4, KEEP, "'" },
	{ 0x00BB, 0x00BB, KEEP, "\"" },        { 0x02BC, 0x02BC, KEEP, "'" },         { 0x02C6, 0x02C6, KEEP, "^" },
	{ 0x02DC, 0x02DC, KEEP, "~" },         { 0x1680, 0x1680, KEEP, " " },         { 0x2000, 0x200A, KEEP, " " },
	{ 0x200B, 0x200B, DROP, NULL },        { 0x200C, 0x200F, DROP_IF_GSM, NULL }, { 0x2010, 0x2015, KEEP, "-" },
	{ 0x2018, 0x201B, KEEP, "'" },         { 0x201C, 0x201F, KEEP, "\"" },        { 0x2022, 0x2023, KEEP, "-" },
	{ 0x2024, 0x2024, KEEP, "." },         { 0x2025, 0x2025, KEEP, ".." },        { 0x2026, 0x2026, KEEP, "..." },
	{ 0x2028, 0x2029, KEEP, "\n" },        { 0x202A, 0x202E, DROP_IF_GSM, NULL }, { 0x202F, 0x202F, KEEP, " " },
	{ 0x2032, 0x2032, KEEP, "'" },         { 0x2033, 0x2033, KEEP, "\"" },        { 0x2035, 0x2035, KEEP, "'" },
	{ 0x2036, 0x2036, KEEP, "\"" },        { 0x2039, 0x203A, KEEP, "'" },         { 0x2043, 0x2043, KEEP, "-" },
	{ 0x2044, 0x2044, KEEP, "/" },         { 0x205F, 0x205F, KEEP, " " },         { 0x2060, 0x2064, DROP, NULL },
	{ 0x2066, 0x2069, DROP_IF_GSM, NULL }, { 0x2212, 0x2212, KEEP, "-" },         { 0x2215, 0x2215, KEEP, "/" },
	{ 0x2219, 0x2219, KEEP, "-" },         { 0x25AA, 0x25AB, KEEP, "-" },         { 0x25CF, 0x25CF, KEEP, "-" },
	{ 0x25E6, 0x25E6, KEEP, "-" },         { 0x3000, 0x3000, KEEP, " " },         { 0xF0B7, 0xF0B7, KEEP, "-" },
	{ 0xFE58, 0xFE58, KEEP, "-" },         { 0xFE63, 0xFE63, KEEP, "-" },         { 0xFEFF, 0xFEFF, DROP, NULL },
	{ 0xFF0D, 0xFF0D, KEEP, "-" },
};

static const struct fold_rule *fold_find(uint32_t c)
{
	size_t lo = 0, hi = sizeof folds / sizeof folds[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c < folds[mid].from)
			hi = mid;
		else if (c > folds[mid].to)
			lo = mid + 1;
		else
			return &folds[mid];
	}
	return NULL;
}

char *gsm_prepare(const char *utf8)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");
	size_t n = strlen((const char *)p), len;
	int other_unicode = 0;
	struct buf b;

	/* First pass: would anything but the marks still need UCS-2? */
	for (size_t i = 0; i < n; i += len) {
		uint32_t c = utf8_next(p + i, n - i, &len);
		const struct fold_rule *r = fold_find(c);
		if (!r && !gsm_cost(c)) {
			other_unicode = 1;
			break;
		}
	}

	buf_init(&b);
	buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i += len) {
		uint32_t c = utf8_next(p + i, n - i, &len);
		const struct fold_rule *r = fold_find(c);
		if (!r)
			utf8_put(&b, c);
		else if (r->action == KEEP)
			buf_adds(&b, r->text);
		else if (r->action == DROP_IF_GSM && other_unicode)
			utf8_put(&b, c);
	}
	return buf_take(&b);
}

/* Packs pieces of the given sizes into parts of at most per_part units
 * without splitting a piece; returns the parts used. */
struct packer {
	int per_part;
	int parts;
	int used; /* units in the current part */
};

static void pack(struct packer *k, int size)
{
	if (k->parts == 0 || k->used + size > k->per_part) {
		k->parts++;
		k->used = 0;
	}
	k->used += size;
}

void gsm_count(const char *utf8, struct sms_count *out)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");
	size_t n = strlen((const char *)p), len;
	int septets = 0, units = 0, unicode = 0;

	for (size_t i = 0; i < n; i += len) {
		uint32_t c = utf8_next(p + i, n - i, &len);
		int cost = gsm_cost(c);
		if (!cost)
			unicode = 1;
		septets += cost;
		units += c > 0xFFFF ? 2 : 1;
	}

	out->unicode = unicode;
	out->units = unicode ? units : septets;
	int single = unicode ? UCS2_SINGLE : GSM_SINGLE;
	if (out->units <= single) {
		out->parts = out->units > 0;
		out->per_part = single;
		return;
	}

	/* Concatenated: pack again, keeping escape pairs and surrogate pairs whole. */
	struct packer k = { unicode ? UCS2_PART : GSM_PART, 0, 0 };
	for (size_t i = 0; i < n; i += len) {
		uint32_t c = utf8_next(p + i, n - i, &len);
		pack(&k, unicode ? (c > 0xFFFF ? 2 : 1) : gsm_cost(c));
	}
	out->parts = k.parts;
	out->per_part = k.per_part;
}

int gsm_is_gsm7(const char *utf8)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");
	size_t n = strlen((const char *)p), len;
	for (size_t i = 0; i < n; i += len)
		if (!gsm_cost(utf8_next(p + i, n - i, &len)))
			return 0;
	return 1;
}
