/* fuzz_address.c: address_normalise() and address_from_header_block() on any
 * sender address and header block. The normal form becomes an envelope
 * recipient and a To header: it must never carry a control character, must
 * be its own normal form and must be what compose and smtp accept. */
#include "address.h"
#include "compose.h"
#include "fuzz.h"
#include "smtp.h"

FUZZ_QUIET_INITIALIZE

static void normal_form_holds(const char *in)
{
	char *out = NULL, *again = NULL, small[16];
	enum address_problem p = address_normalise(in, &out);

	fuzz_require((p == ADDRESS_OK) == (out != NULL));
	if (out) {
		for (const unsigned char *q = (const unsigned char *)out; *q; q++)
			fuzz_require(*q >= 0x20 && *q <= 0x7E);
		fuzz_require(strlen(out) <= ADDRESS_MAX);
		fuzz_require(address_normalise(out, &again) == ADDRESS_OK && !strcmp(again, out));
		fuzz_require(compose_address_valid(out) && smtp_address_ok(out, 0));
	}
	fuzz_require(address_problem_text(p) != NULL);
	(void)address_normalise_buf(in, small, sizeof small);
	fuzz_require(strlen(small) < sizeof small);
	free(out);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_string(data, size);
	normal_form_holds(in);
	char *spec = address_from_header_block((const char *)data, size);
	if (spec) {
		fuzz_require(strchr(spec, '@') != NULL);
		normal_form_holds(spec);
	}
	free(spec);
	free(in);
	return 0;
}
