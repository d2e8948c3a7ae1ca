/* Unit tests for phone.c: UK-rules normalising, sender kinds, masking.
 * Numbers come from Ofcom's drama range 07700 900000-900999. */
#include "check.h"
#include "phone.h"

#include <stdio.h>
#include <stdlib.h>

static const char *kind_name(enum phone_kind k)
{
	switch (k) {
	case PHONE_INVALID:
		return "invalid";
	case PHONE_NUMBER:
		return "number";
	case PHONE_SHORT_CODE:
		return "short code";
	case PHONE_ALPHANUMERIC:
		return "alphanumeric";
	}
	return "?";
}

static const struct {
	const char *in;
	enum phone_kind kind;
	const char *out;
} cases[] = {
	/* UK mobiles in every shape they arrive in */
	{ "07700 900123", PHONE_NUMBER, "+447700900123" },
	{ "07700900123", PHONE_NUMBER, "+447700900123" },
	{ "+44 (0)7700 900123", PHONE_NUMBER, "+447700900123" },
	{ "+44(0)7700900123", PHONE_NUMBER, "+447700900123" },
	{ "0044 7700 900123", PHONE_NUMBER, "+447700900123" },
	{ "447700900123", PHONE_NUMBER, "+447700900123" },
	{ "+447700900123", PHONE_NUMBER, "+447700900123" },
	{ "+44-7700-900-123", PHONE_NUMBER, "+447700900123" },
	{ "(07700) 900 123", PHONE_NUMBER, "+447700900123" },
	{ "07700.900.123", PHONE_NUMBER, "+447700900123" },
	{ "  07700 900999\n", PHONE_NUMBER, "+447700900999" },
	{ "+44 07700 900000", PHONE_NUMBER, "+447700900000" },
	{ "07700\xC2\xA0"
	  "900123",
	  PHONE_NUMBER, "+447700900123" },
	{ "07700\xE2\x80\x93"
	  "900123",
	  PHONE_NUMBER, "+447700900123" },
	/* UK landlines and non-geographic numbers */
	{ "01296 383962", PHONE_NUMBER, "+441296383962" },
	{ "020 7946 0123", PHONE_NUMBER, "+442079460123" },
	{ "016977 3456", PHONE_NUMBER, "+44169773456" },
	{ "0800 123 4567", PHONE_NUMBER, "+448001234567" },
	{ "0800 123456", PHONE_NUMBER, "+44800123456" },
	{ "0800 1111", PHONE_NUMBER, "+448001111" },
	{ "0300 123 4567", PHONE_NUMBER, "+443001234567" },
	{ "441296383962", PHONE_NUMBER, "+441296383962" },
	/* other countries */
	{ "+1 415 555 0100", PHONE_NUMBER, "+14155550100" },
	{ "+1 (415) 555-0100", PHONE_NUMBER, "+14155550100" },
	{ "+33 6 12 34 56 78", PHONE_NUMBER, "+33612345678" },
	{ "+33 (0)6 12 34 56 78", PHONE_NUMBER, "+33612345678" },
	{ "0033 6 12 34 56 78", PHONE_NUMBER, "+33612345678" },
	{ "33612345678", PHONE_NUMBER, "+33612345678" },
	{ "+353 85 123 4567", PHONE_NUMBER, "+353851234567" },
	{ "+49 1512 3456789", PHONE_NUMBER, "+4915123456789" },
	/* senders that cannot be replied to */
	{ "88440", PHONE_SHORT_CODE, "88440" },
	{ "60777", PHONE_SHORT_CODE, "60777" },
	{ "60 777", PHONE_SHORT_CODE, "60777" },
	{ "999", PHONE_SHORT_CODE, "999" },
	{ "12345678", PHONE_SHORT_CODE, "12345678" },
	{ "BANK", PHONE_ALPHANUMERIC, "BANK" },
	{ "Vodafone", PHONE_ALPHANUMERIC, "Vodafone" },
	{ "O2", PHONE_ALPHANUMERIC, "O2" },
	{ " My Bank ", PHONE_ALPHANUMERIC, "My Bank" },
	{ "AT&T", PHONE_ALPHANUMERIC, "AT&T" },
	{ "Café", PHONE_ALPHANUMERIC, "Café" },
	{ "ABCDEFGHIJK", PHONE_ALPHANUMERIC, "ABCDEFGHIJK" },
	/* invalid */
	{ "", PHONE_INVALID, "" },
	{ "   ", PHONE_INVALID, "" },
	{ "ABCDEFGHIJKL", PHONE_INVALID, "ABCDEFGHIJKL" },
	{ "!!!", PHONE_INVALID, "!!!" },
	{ "--", PHONE_INVALID, "--" },
	{ "<script>", PHONE_INVALID, "<script>" },
	{ "a@b.c", PHONE_INVALID, "a@b.c" },
	{ "+44 7700 9OO123", PHONE_INVALID, "+44 7700 9OO123" },
	{ "0770090012", PHONE_INVALID, "0770090012" },     /* a 10-digit 07 number */
	{ "077009001234", PHONE_INVALID, "077009001234" }, /* 12 digits */
	{ "+4477009001234", PHONE_INVALID, "+4477009001234" },
	{ "+44 4000 123456", PHONE_INVALID, "+44 4000 123456" }, /* no UK numbers start 04 */
	{ "06123 456789", PHONE_INVALID, "06123 456789" },
	{ "+1234567890123456", PHONE_INVALID, "+1234567890123456" }, /* 16 digits */
	{ "+1234567", PHONE_INVALID, "+1234567" },                   /* 7 digits */
	{ "+0123456789", PHONE_INVALID, "+0123456789" },
	{ "7700900123", PHONE_INVALID, "7700900123" },   /* UK without its 0: ambiguous */
	{ "44770090012", PHONE_INVALID, "44770090012" }, /* 44 but not a UK number */
	{ "12", PHONE_INVALID, "12" },
	{ "07700+900123", PHONE_INVALID, "07700+900123" },
	{ "++447700900123", PHONE_INVALID, "++447700900123" },
	{ "07700 900123 ext 4", PHONE_INVALID, "07700 900123 ext 4" },
	{ "1234567890123456789012345678901234567890", PHONE_INVALID, "1234567890123456789012345678901" },
	{ "\xFF\xFE", PHONE_INVALID, "\xFF\xFE" },
};

static const struct {
	const char *in, *want;
} masks[] = {
	{ "+447700900123", "+44 7*** ***123" }, /* UK mobile */
	{ "+441296383962", "+44 1*** ***962" }, /* UK landline */
	{ "+448001111", "+44 8*** 111" },
	{ "+14155550100", "+1 4*** ***100" },   /* US */
	{ "+33612345678", "+33 6*** **678" },   /* France */
	{ "+353851234567", "+353 8*** **567" }, /* Ireland: three-digit code */
	{ "+4915123456789", "+49 1*** ****789" },
	{ "+79123456789", "+7 9*** ***789" },
	{ "+8613800138000", "+86 1*** ****000" },
	{ "+85212345678", "+852 1*** *678" },
	{ "+2991234567", "+299 1*** 567" }, /* Greenland, 6-digit national number */
	{ "+29912345", "+299 1*** *" },     /* too short to show a tail */
	{ "", "***" },
	{ "88440", "***" },
	{ "BANK", "***" },
	{ "447700900123", "***" },
	{ "+44 7700 900123", "***" },
	{ "+1234567890123456", "***" },
	{ "+0123456789", "***" },
};

int main(void)
{
	char out[PHONE_MAX], name[200];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum phone_kind k = phone_normalise(cases[i].in, out, sizeof out);
		snprintf(name, sizeof name, "normalise [%s] is %s", cases[i].in, kind_name(cases[i].kind));
		CHECK_STR(name, kind_name(k), kind_name(cases[i].kind));
		snprintf(name, sizeof name, "normalise [%s] text", cases[i].in);
		CHECK_STR(name, out, cases[i].out);
		if (k == PHONE_NUMBER) {
			char again[PHONE_MAX];
			snprintf(name, sizeof name, "normalise [%s] is stable", cases[i].in);
			CHECK(name, phone_normalise(out, again, sizeof again) == PHONE_NUMBER && !strcmp(again, out));
		}
	}

	CHECK("NULL is invalid", phone_normalise(NULL, out, sizeof out) == PHONE_INVALID && out[0] == '\0');
	char small[8];
	CHECK("number too big for out is invalid",
	      phone_normalise("07700 900123", small, sizeof small) == PHONE_INVALID && strlen(small) == 7);
	CHECK("short code fits small out",
	      phone_normalise("88440", small, sizeof small) == PHONE_SHORT_CODE && !strcmp(small, "88440"));
	CHECK("zero-length out is safe", phone_normalise("07700 900123", out, 0) == PHONE_INVALID);
	char tiny[4];
	phone_normalise("ééé garbage", tiny, sizeof tiny);
	CHECK_STR("invalid text cut on a character boundary", tiny, "é");

	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		char *m = phone_mask(masks[i].in);
		snprintf(name, sizeof name, "mask [%s]", masks[i].in);
		CHECK_STR(name, m, masks[i].want);
		free(m);
	}
	char *m = phone_mask(NULL);
	CHECK_STR("mask NULL", m, "***");
	free(m);

	/* A mask never shows more than the code, the first and the last three digits. */
	int leaks = 0;
	for (int i = 0; i < 1000; i++) {
		char e164[PHONE_MAX];
		snprintf(e164, sizeof e164, "+447700900%03d", i);
		m = phone_mask(e164);
		int digits = 0;
		for (const char *p = m; *p; p++)
			digits += *p >= '0' && *p <= '9';
		if (digits != 2 + 1 + 3 || strncmp(m + strlen(m) - 3, e164 + strlen(e164) - 3, 3) != 0)
			leaks++;
		free(m);
	}
	CHECK_INT("drama range masks show 6 digits only", leaks, 0);

	return check_done();
}
