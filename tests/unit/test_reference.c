/* Unit tests for reference.c: references, signed reply tags, masking. */
#include "check.h"
#include "reference.h"
#include "util.h"

#include <stdlib.h>

int main(void)
{
	char ref[REFERENCE_MAX], out[REFERENCE_MAX];
	const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	int valid;

	reference_make("RUS", (const unsigned char *)"\x00\x01\x1e\x1f\xff", ref);
	CHECK_STR("make maps bytes into the alphabet", ref, "RUS-23Z29");
	CHECK("valid", reference_valid("RUS", "RUS-7K3F2") && reference_valid("RUS", "rus-7k3f2"));
	CHECK("ambiguous letters refused", !reference_valid("RUS", "RUS-7K3F0") && !reference_valid("RUS", "RUS-IL1O2"));
	CHECK("wrong prefix or length", !reference_valid("RUS", "ABC-7K3F2") && !reference_valid("RUS", "RUS-7K3F") &&
	                                        !reference_valid("RUS", "RUS-7K3F22"));

	struct {
		const char *subject;
		const char *want;
	} subjects[] = {
		{ "[RUS-7K3F2] New message by email", "RUS-7K3F2" },
		{ "RE: [RUS-7K3F2] New message by email", "RUS-7K3F2" },
		{ "AW: SV: Fwd: [rus-7k3f2] x", "RUS-7K3F2" },
		{ "Re: New message by email [RUS-7K3F2]", "RUS-7K3F2" },
		{ "[EXTERNAL] [RUS-7K3F2] x", "RUS-7K3F2" },
		{ "[RUS-7K3F] short", NULL },
		{ "RUS-7K3F2 without brackets", NULL },
		{ "[RUS-7K3F2", NULL },
		{ "", NULL },
	};
	for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
		int found = reference_in_subject(subjects[i].subject, "RUS", out);
		CHECK_STR(subjects[i].subject, found ? out : NULL, subjects[i].want);
	}
	CHECK("NULL subject", !reference_in_subject(NULL, "RUS", out));

	char *tag = tag_address("rusafe@example.org", "RUS-7K3F2", key, 32);
	CHECK("tag form",
	      strncmp(tag, "rusafe+RUS-7K3F2.", 17) == 0 && strstr(tag, "@example.org") && strlen(tag) == 17 + 12 + 12);
	CHECK("tag parses and verifies",
	      tag_parse(tag, "rusafe@example.org", "RUS", key, 32, out, &valid) == 1 && valid && !strcmp(out, "RUS-7K3F2"));
	for (char *p = tag; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	CHECK("lower-cased tag still verifies",
	      tag_parse(tag, "rusafe@example.org", "RUS", key, 32, out, &valid) == 1 && valid);
	char *forged = xasprintf("%s", tag);
	forged[17] = forged[17] == 'a' ? 'b' : 'a';
	CHECK("forged signature is a tag but not valid",
	      tag_parse(forged, "rusafe@example.org", "RUS", key, 32, out, &valid) == 1 && !valid);
	CHECK("other key does not verify",
	      tag_parse(tag, "rusafe@example.org", "RUS", (const unsigned char *)"another-key-another-key-another!!", 32,
	                out, &valid) == 1 &&
	              !valid);
	CHECK("missing signature is not valid",
	      tag_parse("rusafe+RUS-7K3F2@example.org", "rusafe@example.org", "RUS", key, 32, out, &valid) == 0 || !valid);
	CHECK("other domain is not our tag", tag_parse("rusafe+RUS-7K3F2.0123456789ab@example.com", "rusafe@example.org",
	                                               "RUS", key, 32, out, &valid) == 0);
	CHECK("plain service address is not a tag",
	      tag_parse("rusafe@example.org", "rusafe@example.org", "RUS", key, 32, out, &valid) == 0);
	free(forged);
	free(tag);

	char *m = mask_email("sam.young@example.net");
	CHECK_STR("mask email", m, "s***@example.net");
	free(m);
	m = mask_email("nonsense");
	CHECK_STR("mask nonsense", m, "***");
	free(m);
	return check_done();
}
