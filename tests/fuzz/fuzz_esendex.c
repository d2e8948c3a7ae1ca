/* fuzz_esendex.c: every reader of an Esendex answer (sms_esendex.h) on the
 * same bytes: an inbox page, a message body, a dispatch answer, a status,
 * a time. XML from the network: no crash, no entity, no unbounded memory. */
#include "fuzz.h"
#include "sms_esendex.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	char err[128] = "", *text = NULL, *id = NULL, *reason = NULL;
	struct esendex_page page;
	enum sms_delivery d;
	long long next, t;

	memset(&page, 0, sizeof page);
	if (esendex_parse_inbox(xml, size, &page, err, sizeof err) == 0) {
		/* Paging always moves forward, by at most what the page held. */
		if (esendex_next_page(&page, 0, ESENDEX_PAGE_DEFAULT, &next) == 1)
			fuzz_require(next > 0 && next <= (long long)page.n);
	}
	esendex_page_free(&page);

	if (esendex_parse_body(xml, size, &text, err, sizeof err) == 0)
		fuzz_require(text != NULL);
	free(text);
	if (esendex_parse_dispatch(xml, size, &id, err, sizeof err) == 0)
		fuzz_require(id != NULL);
	free(id);
	if (esendex_parse_status(xml, size, &d, &reason, err, sizeof err) == 0 && reason) {
		char *safe = esendex_reason_safe(reason);
		fuzz_require(strlen(safe) <= 120);
		free(safe);
		(void)esendex_reason_opted_out(reason);
	}
	free(reason);
	fuzz_require(strlen(err) < sizeof err);

	char *s = fuzz_string(data, size);
	(void)esendex_parse_time(s, &t);
	(void)esendex_delivery(s);
	/* What we write back must always be well-formed XML. */
	struct buf b;
	buf_init(&b);
	esendex_xml_escape(&b, s);
	fuzz_require(!strpbrk(buf_str(&b), "<>\"'") && fuzz_valid_utf8(buf_str(&b)));
	buf_free(&b);
	free(s);
	return 0;
}
