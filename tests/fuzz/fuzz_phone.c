/* fuzz_phone.c: phone_normalise() and phone_mask() on any sender a gateway
 * reports. The normalised number keys a young person's conversation and the
 * mask is all an adviser sees of it. */
#include "fuzz.h"
#include "phone.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_string(data, size);
	char out[PHONE_MAX], small[8];
	enum phone_kind k = phone_normalise(in, out, sizeof out);

	fuzz_require(strlen(out) < sizeof out);
	if (k == PHONE_NUMBER) {
		/* E.164 stays itself. */
		char again[PHONE_MAX];
		fuzz_require(out[0] == '+' && strspn(out + 1, "0123456789") == strlen(out + 1));
		fuzz_require(phone_normalise(out, again, sizeof again) == PHONE_NUMBER && !strcmp(again, out));
		char *mask = phone_mask(out);
		/* The mask hides the middle of the number. */
		fuzz_require(strchr(mask, '*') != NULL);
		free(mask);
	}
	/* A short buffer is cut, never overrun. */
	(void)phone_normalise(in, small, sizeof small);
	fuzz_require(strlen(small) < sizeof small);
	char *mask = phone_mask(in);
	fuzz_require(mask != NULL);
	free(mask);
	free(in);
	return 0;
}
