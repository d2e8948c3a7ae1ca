/* fuzz_authres.c: authres_parse() and authres_verify() on any header. The
 * header is the sender's: only the receiving server's own field may decide
 * whether a reply reaches a young person, and nothing a sender writes may
 * crash the relay or make it read beyond the message. */
#include "authres.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees any read past the end. */
	char *raw = xmalloc(size ? size : 1);
	char why[200];
	struct authres a;

	memcpy(raw, data, size);
	if (authres_parse(raw, size, &a) == 0) {
		fuzz_require(a.authserv_id[0] != '\0' && strlen(a.authserv_id) < sizeof a.authserv_id);
		fuzz_require(a.nresults <= AUTHRES_MAX_RESULTS);
		for (size_t i = 0; i < a.nresults; i++) {
			fuzz_require(a.results[i].method[0] != '\0' && a.results[i].result[0] != '\0');
			fuzz_require(strlen(a.results[i].header_from) < AUTHRES_DOMAIN_MAX);
			fuzz_require(strlen(a.results[i].signer) < AUTHRES_DOMAIN_MAX);
			/* A domain read is a domain: no spaces, no address, no control. */
			fuzz_require(strcspn(a.results[i].signer, " @<>;\"\r\n\t") == strlen(a.results[i].signer));
		}
	}
	enum authres_verdict v = authres_verify(raw, size, "mx.example.org", "example.org", why, sizeof why);
	fuzz_require(v == AUTHRES_PASS || v == AUTHRES_MISSING || v == AUTHRES_FAIL);
	fuzz_require(strlen(why) < sizeof why);
	/* A pass needs a field of ours, and a From, in the bytes. */
	if (v == AUTHRES_PASS && !memchr(data, '\0', size)) {
		char *s = fuzz_string(data, size);
		fuzz_require(strcasestr(s, "authentication-results") && strcasestr(s, "mx.example.org") &&
		             strcasestr(s, "from"));
		free(s);
	}
	free(raw);
	return 0;
}
