/* gsm.h: what a text costs as SMS. Advisers write in mail clients that type
 * curly quotes, dashes and odd spaces; one such character outside the GSM
 * 03.38 alphabet turns the whole text into UCS-2 and more than doubles the
 * parts a young person's phone receives. gsm_prepare() folds those to GSM
 * equivalents; gsm_count() then counts by the real rules. Pure functions. */
#ifndef RELAY_GSM_H
#define RELAY_GSM_H

#define GSM_SINGLE 160 /* septets in a one-part GSM-7 text */
#define GSM_PART 153   /* per part once concatenated (the UDH takes 7) */
#define UCS2_SINGLE 70 /* UTF-16 code units in a one-part UCS-2 text */
#define UCS2_PART 67

struct sms_count {
	int unicode;  /* 1: the text needs UCS-2 */
	int units;    /* GSM-7 septets (extension characters count 2) or UTF-16 code units */
	int parts;    /* SMS parts the text takes (0 for an empty text) */
	int per_part; /* GSM_SINGLE/GSM_PART or UCS2_SINGLE/UCS2_PART as applies */
};

/* Returns a copy of utf8 (invalid sequences -> U+FFFD, one per bad byte, as
 * utf8_sanitize does) in which characters GSM-7 lacks but has an equivalent
 * for are replaced:
 *   ' for  U+2018 U+2019 U+201A U+201B U+2032 U+2035 U+2039 U+203A U+02BC U+00B4 and ` (U+0060)
 *   " for  U+201C U+201D U+201E U+201F U+2033 U+2036 U+00AB U+00BB
 *   - for  U+2010 U+2011 U+2012 U+2013 U+2014 U+2015 U+2212 U+2043 U+FE58 U+FE63 U+FF0D,
 *          and bullets U+2022 U+2023 U+2219 U+25AA U+25AB U+25CF U+25E6 U+F0B7 (Word's Symbol bullet)
 *   ... for U+2026, .. for U+2025, . for U+2024, / for U+2044 U+2215, ^ for U+02C6, ~ for U+02DC
 *   space for tab, U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000
 *   LF for U+0085, U+2028, U+2029
 * and removed: soft hyphen U+00AD, U+200B, U+2060-U+2064, U+FEFF, other C0
 * controls than tab/LF/FF/CR, DEL and C1 controls. The joining and direction
 * marks (U+200C U+200D U+200E U+200F U+202A-U+202E U+2066-U+2069) are removed
 * only when everything else is GSM-7: in an emoji sequence or a right-to-left
 * text they carry meaning, and that text is UCS-2 anyway.
 * Everything else (emoji, letters GSM lacks such as á or ç) is left alone.
 * NULL in gives "". Caller frees. */
char *gsm_prepare(const char *utf8);

/* Counts utf8 (NULL counts as empty; invalid bytes as U+FFFD) by the real
 * rules: GSM 03.38 default alphabet plus extension table, where ^ { } \ [ ~ ]
 * | € and form feed cost 2 septets and an escape pair never splits across
 * parts; any other character makes the whole text UCS-2, where characters
 * outside the BMP take two UTF-16 units that never split across parts. */
void gsm_count(const char *utf8, struct sms_count *out);

/* 1 when the whole text fits the GSM-7 alphabet and extension table (an
 * empty or NULL text does), else 0. */
int gsm_is_gsm7(const char *utf8);

#endif
