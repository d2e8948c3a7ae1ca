/* fuzz_mime.c: mail_parse() on raw message bytes, as the IMAP server hands
 * them over: whatever a stranger mails the service must come out as a
 * struct mail (parsed, cut at a limit, or kept raw), never a crash. */
#include "clean.h"
#include "fuzz.h"
#include "mime.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits, so that inputs of a few KiB reach them (run with
	 * -max_len above max_size). */
	struct mail_limits lim = { .max_depth = 8, .max_parts = 40, .max_size = 12 * 1024 };
	struct mail m;
	int rc = mail_parse((const char *)data, size, &lim, &m);

	fuzz_require(m.text != NULL);
	fuzz_require(fuzz_valid_utf8(m.text));
	fuzz_require((rc == -1) == (m.parse_error != NULL));
	for (size_t i = 0; i < m.nfields; i++)
		fuzz_require(!strpbrk(m.fields[i].value, "\r\n") && fuzz_valid_utf8(m.fields[i].value));
	if (m.subject)
		fuzz_require(!strpbrk(m.subject, "\r\n"));
	(void)mail_field_get(&m, "Auto-Submitted");
	/* What inbound.c does next with a young person's words. */
	free(clean_reply(m.text));
	mail_free(&m);

	/* A header value alone, as the encoded-word decoder sees it. */
	char *s = fuzz_string(data, size < 2048 ? size : 2048);
	char *d = mime_decode_header(s);
	fuzz_require(!strpbrk(d, "\r\n") && fuzz_valid_utf8(d));
	free(d);
	free(s);
	return 0;
}
