/* fuzz_gsm.c: gsm_prepare(), gsm_count() and gsm_is_gsm7() on any text an
 * adviser could write: the part count decides what a young person's phone
 * receives and what the relay refuses to send. */
#include "fuzz.h"
#include "gsm.h"

FUZZ_QUIET_INITIALIZE

static void count(const char *s)
{
	struct sms_count c;
	gsm_count(s, &c);
	fuzz_require(c.units >= 0 && c.parts >= 0);
	fuzz_require((c.units == 0) == (c.parts == 0));
	fuzz_require(c.parts == 0 || c.units <= c.parts * c.per_part);
	fuzz_require(c.unicode == !gsm_is_gsm7(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	char *prepared = gsm_prepare(text);

	fuzz_require(fuzz_valid_utf8(prepared));
	count(text);
	count(prepared);
	free(prepared);
	free(text);
	return 0;
}
