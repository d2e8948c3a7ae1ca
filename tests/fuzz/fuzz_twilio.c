/* fuzz_twilio.c: every reader of a Twilio answer (sms_twilio.h) on the same
 * bytes: a list page (inbound and sent), a message resource, an error body, a date. A gateway
 * that is broken, hijacked or spoofed must get an error, never a crash. */
#include "fuzz.h"
#include "sms_twilio.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	char err[128] = "";
	struct twilio_page page;
	enum sms_delivery d;
	char *sid = NULL;

	memset(&page, 0, sizeof page);
	if (twilio_parse_page(json, size, &page, err, sizeof err) == 0) {
		for (size_t i = 0; i < page.n; i++)
			fuzz_require(page.texts[i].id && page.texts[i].from && page.texts[i].body);
		fuzz_require(!page.next_page_uri || page.next_page_uri[0] == '/');
	} else {
		fuzz_require(strlen(err) < sizeof err);
	}
	twilio_page_free(&page);
	if (twilio_parse_sent_page(json, size, &page, err, sizeof err) == 0) {
		for (size_t i = 0; i < page.n; i++)
			fuzz_require(page.texts[i].id && page.texts[i].body);
	} else {
		fuzz_require(strlen(err) < sizeof err);
	}
	twilio_page_free(&page);

	if (twilio_parse_message(json, size, &sid, &d, err, sizeof err) == 0)
		fuzz_require(sid != NULL);
	free(sid);

	/* The status comes from the HTTP layer; vary it with the input. */
	static const long statuses[] = { 400, 401, 404, 429, 500, 503 };
	(void)twilio_parse_error(statuses[size % 6], json, size, err, sizeof err);
	fuzz_require(strlen(err) < sizeof err);

	char *s = fuzz_string(data, size);
	long long t;
	(void)twilio_parse_date(s, &t);
	(void)twilio_delivery(s);
	(void)twilio_length(s);
	(void)twilio_cursor_valid(s);
	free(s);
	return 0;
}
