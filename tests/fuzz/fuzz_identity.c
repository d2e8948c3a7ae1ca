/* fuzz_identity.c: identity_key() on any message a sender can deliver. The
 * key decides whether a message is taken in at all: it must always be made,
 * and a trace header a server adds in front of a message with a Message-ID
 * must never change it. */
#include "fuzz.h"
#include "identity.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char trace[] = "Received: from mx.example.net by mail.example.org;\r\n\tSat, 21 Nov 2026\r\n"
				    "Delivered-To: rusafe@example.org\r\n";
	char key[IDENTITY_KEY_LEN + 1], again[IDENTITY_KEY_LEN + 1];
	/* exactly size bytes, so that ASan sees any read past them */
	static const char id[] = "Message-ID: <fuzz@example.net>\r\n";
	size_t t = sizeof trace - 1, i = sizeof id - 1;
	char *raw = xmalloc(size ? size : 1), *with_id = xmalloc(i + size), *copy = xmalloc(t + i + size);

	memcpy(raw, data, size);
	fuzz_require(identity_key(raw, size, key) == 0);
	fuzz_require(strlen(key) == IDENTITY_KEY_LEN && !strncmp(key, IDENTITY_PREFIX, strlen(IDENTITY_PREFIX)));
	fuzz_require(strspn(key + strlen(IDENTITY_PREFIX), "0123456789abcdef") == 64);
	/* With a Message-ID of its own, a message is the same message with a
	 * trace in front of it. */
	memcpy(with_id, id, i);
	memcpy(with_id + i, data, size);
	memcpy(copy, trace, t);
	memcpy(copy + t, with_id, i + size);
	fuzz_require(identity_key(with_id, i + size, key) == 0);
	fuzz_require(identity_key(copy, t + i + size, again) == 0 && !strcmp(again, key));
	free(raw);
	free(with_id);
	free(copy);
	return 0;
}
