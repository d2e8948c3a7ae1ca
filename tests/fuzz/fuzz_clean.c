/* fuzz_clean.c: clean_reply() on an adviser's reply text. It runs on every
 * reply before it reaches a young person, so it must hold its promises for
 * any text: valid UTF-8, "\n" line ends, no trailing newline, no blank line
 * at either end, never two blank lines in a row. */
#include "clean.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	char *out = clean_reply(text);
	size_t n = strlen(out);

	fuzz_require(fuzz_valid_utf8(out));
	fuzz_require(!strchr(out, '\r'));
	fuzz_require(n == 0 || (out[0] != '\n' && out[n - 1] != '\n'));
	fuzz_require(!strstr(out, "\n\n\n"));
	free(out);
	free(text);
	return 0;
}
