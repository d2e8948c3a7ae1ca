/* fuzz_android.c: every reader of an "SMS Gateway for Android" answer
 * (sms_android.h) on the same bytes: an inbox page, a message state, a time.
 * The phone's app is on the local network: it must not be able to crash us. */
#include "fuzz.h"
#include "sms_android.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	char err[128] = "", **created = NULL, *id = NULL;
	struct sms_text *texts = NULL;
	size_t n = 0, count = 0;
	enum sms_delivery d;

	if (android_parse_inbox(json, size, &texts, &n, &created, &count, err, sizeof err) == 0) {
		fuzz_require(n <= count);
		for (size_t i = 0; i < n; i++)
			fuzz_require(texts[i].id && texts[i].from && texts[i].body && created[i]);
		sms_texts_free(texts, n);
		android_strings_free(created, n);
	} else {
		fuzz_require(strlen(err) < sizeof err);
	}

	if (android_parse_sent(json, size, &texts, &n, &count, err, sizeof err) == 0) {
		for (size_t i = 0; i < n; i++)
			fuzz_require(texts[i].id && texts[i].to && texts[i].body);
		sms_texts_free(texts, n);
	} else {
		fuzz_require(strlen(err) < sizeof err);
	}

	if (android_parse_message(json, size, &id, &d, err, sizeof err) == 0)
		fuzz_require(id != NULL);
	free(id);

	char *s = fuzz_string(data, size);
	long long t;
	(void)android_parse_time(s, &t);
	(void)android_delivery(s);
	free(s);
	return 0;
}
