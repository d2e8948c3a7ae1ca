/* fuzz_oauth.c: every reader of what a token endpoint (or a key file
 * downloaded from one) says, on the same bytes: the token response, the
 * instruction made from its refusal, Google's JSON key file, a date. A
 * hijacked or broken endpoint must get an error, never a crash, and never a
 * token with a character that would break an XOAUTH2 string. */
#include "fuzz.h"
#include "oauth.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char err[160] = "", todo[600];
	char *tok = NULL;
	long life = 0;
	static const long statuses[] = { 200, 400, 401, 403, 429, 500 };
	long status = statuses[size % 6];

	if (oauth_parse_token_response(status, body, size, &tok, &life, err, sizeof err) == 0) {
		fuzz_require(tok && *tok && life > 0 && life <= 366L * 86400);
		for (const char *p = tok; *p; p++)
			fuzz_require((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
		fuzz_require(strlen(tok) <= 16384);
	} else {
		fuzz_require(tok == NULL);
		fuzz_require(strlen(err) < sizeof err);
		for (const char *p = err; *p; p++)
			fuzz_require(*p != '\n' && *p != '\r');
		struct oauth_places pl = { .provider = size % 2 ? "google" : "microsoft", .client_id = "c", .scope = "s" };
		oauth_advice(err, &pl, todo, sizeof todo);
		fuzz_require(strlen(todo) < sizeof todo && strlen(todo) > 0);
	}
	free(tok);

	struct oauth_google_key k;
	if (oauth_google_key_parse(body, size, &k, err, sizeof err) == 0)
		fuzz_require(k.client_email && k.private_key);
	else
		fuzz_require(!k.client_email && !k.private_key && strlen(err) < sizeof err);
	oauth_google_key_free(&k);

	char *s = fuzz_string(data, size);
	long long t;
	if (oauth_parse_date(s, &t) == 0)
		fuzz_require(t >= 0);
	oauth_advice(s, &(struct oauth_places){ 0 }, todo, sizeof todo);
	free(s);
	return 0;
}
