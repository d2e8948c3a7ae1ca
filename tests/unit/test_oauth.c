/* test_oauth.c: token responses (hostile ones too), what each refusal tells
 * the operator to do, the client assertions' headers and claims, Google's
 * JSON key file, expiry dates and the 30-day warning, the settings oauth_open
 * refuses, and the health alert's words for a token that cannot be had. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "health.h"
#include "jsonread.h"
#include "jwt.h"
#include "oauth.h"
#include "util.h"

static char dir[] = "/tmp/test_oauth.XXXXXX";

static int sh(const char *cmd)
{
	struct buf b;
	buf_init(&b);
	for (const char *p = cmd; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			buf_adds(&b, dir);
			p++;
		} else {
			buf_addc(&b, *p);
		}
	}
	int rc = system(buf_str(&b));
	buf_free(&b);
	return rc;
}

static char *slurp(const char *name, size_t *len)
{
	char path[512], err[256], *out = NULL;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (file_read(path, 1 << 20, &out, len, err, sizeof err) < 0)
		return NULL;
	return out;
}

static void spit(const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* base64url of n characters decoded; owned, NUL-terminated; *len bytes. */
static char *b64url_decode(const char *s, size_t n, size_t *len)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0)
			break;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

/* A JWT's part (0 header, 1 claims) parsed. Owned (json_object_put). */
static struct json_object *jwt_part(const char *jwt, int part)
{
	const char *p = jwt;
	for (int i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	size_t n = strcspn(p, "."), len;
	char *text = b64url_decode(p, n, &len), err[128];
	struct json_object *j = jsonread_parse(text, len, err, sizeof err);
	free(text);
	return j;
}

static long long jint(struct json_object *j, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(j, k, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

/* openssl verifies the JWT's signature with the public key in pub.pem. */
static int openssl_verifies(const char *jwt)
{
	const char *last = strrchr(jwt, '.');
	spit("input", jwt, (size_t)(last - jwt));
	size_t n;
	char *sig = b64url_decode(last + 1, strlen(last + 1), &n);
	spit("sig", sig, n);
	free(sig);
	return sh("openssl dgst -sha256 -verify %s/pub.pem -signature %s/sig %s/input >/dev/null 2>&1") == 0;
}

/* ---- token responses -------------------------------------------------------- */

static void parse_ok(const char *name, long status, const char *body, const char *want_token, long want_life)
{
	char *tok = NULL, err[160] = "";
	long life = -1;
	int rc = oauth_parse_token_response(status, body, strlen(body), &tok, &life, err, sizeof err);
	CHECK_INT(name, rc, 0);
	CHECK_STR(name, tok, want_token);
	CHECK_INT(name, life, want_life);
	free(tok);
}

static void parse_bad(const char *name, long status, const char *body, size_t len, const char *want_err)
{
	char *tok = (char *)"unset", err[160] = "";
	long life = -1;
	if (!len)
		len = strlen(body); /* the literal's length; bodies with NULs give theirs */
	int rc = oauth_parse_token_response(status, body, len, &tok, &life, err, sizeof err);
	CHECK_INT(name, rc, -1);
	CHECK(name, tok == NULL);
	if (want_err)
		CHECK_STR(name, err, want_err);
	CHECK("error fits and is printable", strlen(err) < sizeof err && strcspn(err, "\r\n\t\x01") == strlen(err));
}

static void test_parse(void)
{
	parse_ok(
		"Entra's answer", 200,
		"{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"eyJ0.eyJ1.c2ln\"}",
		"eyJ0.eyJ1.c2ln", 3599);
	parse_ok("Google's answer", 200, "{\"access_token\":\"ya29.c.abc\",\"expires_in\":3599,\"token_type\":\"Bearer\"}",
	         "ya29.c.abc", 3599);
	parse_ok("expires_in as a string", 200, "{\"access_token\":\"t\",\"expires_in\":\"60\"}", "t", 60);
	parse_ok("a lifetime of years is held to one", 200, "{\"access_token\":\"t\",\"expires_in\":999999999}", "t",
	         366L * 86400);

	parse_bad("no expires_in", 200, "{\"access_token\":\"t\"}", 0,
	          "HTTP 200: the token came without a usable expires_in");
	parse_bad("expires_in 0", 200, "{\"access_token\":\"t\",\"expires_in\":0}", 0, NULL);
	parse_bad("expires_in negative", 200, "{\"access_token\":\"t\",\"expires_in\":-5}", 0, NULL);
	parse_bad("expires_in an object", 200, "{\"access_token\":\"t\",\"expires_in\":{}}", 0, NULL);
	parse_bad("access_token a number", 200, "{\"access_token\":5,\"expires_in\":60}", 0,
	          "HTTP 200: no access_token in the answer");
	parse_bad("empty access_token", 200, "{\"access_token\":\"\",\"expires_in\":60}", 0, NULL);
	parse_bad("a token with a space (an XOAUTH2 string could be forged)", 200,
	          "{\"access_token\":\"a b\",\"expires_in\":60}", 0, NULL);
	parse_bad("a token with \\u0001", 200, "{\"access_token\":\"a\\u0001b\",\"expires_in\":60}", 0, NULL);
	parse_bad("a token with a NUL", 200, "{\"access_token\":\"a\\u0000b\",\"expires_in\":60}", 0, NULL);
	parse_bad("a token on a 400", 400, "{\"access_token\":\"t\",\"expires_in\":60}", 0,
	          "HTTP 400: no access_token in the answer");
	parse_bad("not JSON", 502, "<html>Bad gateway</html>", 0, NULL);
	parse_bad("empty body", 500, "", 0, NULL);
	parse_bad("an array", 200, "[1,2]", 0, "HTTP 200 and an answer that is not a JSON object");
	parse_bad("a string", 200, "\"access_token\"", 0, "HTTP 200 and an answer that is not a JSON object");
	parse_bad("trailing garbage", 200, "{\"access_token\":\"t\",\"expires_in\":60} x", 0, NULL);

	parse_bad("AADSTS from the description", 401,
	          "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided. "
	          "Trace ID: 1\",\"error_codes\":[7000215]}",
	          0, "HTTP 401: invalid_client (AADSTS7000215)");
	parse_bad("Google's delegation error", 401,
	          "{\"error\":\"unauthorized_client\",\"error_description\":\"Client is unauthorized to retrieve access "
	          "tokens using this method, or client not authorized for any of the scopes requested.\"}",
	          0, "HTTP 401: unauthorized_client (not authorized for the scope)");
	parse_bad("Google's bad signature", 400,
	          "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}", 0,
	          "HTTP 400: invalid_grant (invalid JWT signature)");
	parse_bad("Google's unknown user", 400,
	          "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid email or User ID\"}", 0,
	          "HTTP 400: invalid_grant (invalid email or user ID)");
	parse_bad("the description's own text is never repeated", 400,
	          "{\"error\":\"invalid_request\",\"error_description\":\"secret=hunter2 was wrong\"}", 0,
	          "HTTP 400: invalid_request");
	parse_bad("a hostile error code is cut at its first odd character", 400,
	          "{\"error\":\"bad\\r\\nInjected: yes\",\"error_description\":7}", 0, "HTTP 400: bad");
	parse_bad("an error code that is not a string", 400, "{\"error\":[1]}", 0,
	          "HTTP 400: no access_token in the answer");
	{
		/* A very long error code and AADSTS number are held short. */
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"error\":\"");
		for (int i = 0; i < 5000; i++)
			buf_addc(&b, 'e');
		buf_adds(&b, "\",\"error_description\":\"AADSTS");
		for (int i = 0; i < 5000; i++)
			buf_addc(&b, '7');
		buf_adds(&b, "\"}");
		parse_bad("long error and code", 400, b.data, b.len, NULL);
		buf_free(&b);
	}
	{
		/* deep nesting: json-c's depth limit, an error and no crash */
		struct buf b;
		buf_init(&b);
		for (int i = 0; i < 10000; i++)
			buf_addc(&b, '[');
		parse_bad("deep nesting", 200, b.data, b.len, NULL);
		buf_free(&b);
	}
	{
		/* a token longer than any AUTH line may carry */
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"expires_in\":60,\"access_token\":\"");
		for (int i = 0; i < 20000; i++)
			buf_addc(&b, 'a');
		buf_adds(&b, "\"}");
		parse_bad("a 20000-byte token", 200, b.data, b.len, NULL);
		buf_free(&b);
	}
}

/* ---- what to do --------------------------------------------------------------- */

static const struct oauth_places ms = {
	.provider = "microsoft",
	.tenant = "contoso.onmicrosoft.com",
	.client_id = "6731de76-14a6-49ae-97bc-6eba6914391e",
	.secret_file = "/etc/relay/secrets/oauth.secret",
	.certificate_file = "/etc/relay/oauth.crt",
	.key_file = "/etc/relay/secrets/oauth.key",
	.thumbprint = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
	.scope = "https://outlook.office365.com/.default",
};

static const struct oauth_places google = {
	.provider = "google",
	.client_id = "relay@safeguarding-relay.iam.gserviceaccount.com",
	.google_client_id = "113625588310939184236",
	.key_file = "/etc/relay/secrets/google-key.json",
	.scope = "https://mail.google.com/",
	.mailbox = "help@charity.org.uk",
};

static void advice(const char *name, const char *refusal, const struct oauth_places *p, const char *const *want)
{
	char out[600], err[800];
	oauth_advice(refusal, p, out, sizeof out);
	for (size_t i = 0; want[i]; i++)
		if (!strstr(out, want[i])) {
			printf("FAIL %s: [%s] lacks [%s]\n", name, out, want[i]);
			check_failed++;
			return;
		}
	check_passed++;
	/* What oauth_token hands back, and a caller's prefix, fit a health reason. */
	snprintf(err, sizeof err,
	         "imap outlook.office365.com:993: oauth: login.microsoftonline.com refused the token (%s): %s", refusal,
	         out);
	if (strlen(err) >= sizeof((struct health_part_state *)0)->reason) {
		printf("FAIL %s: %zu bytes do not fit a health reason: %s\n", name, strlen(err), err);
		check_failed++;
	} else {
		check_passed++;
	}
}

#define W(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_advice(void)
{
	advice("AADSTS7000215 bad secret", "HTTP 401: invalid_client (AADSTS7000215)", &ms,
	       W("client secret is wrong", "Certificates & secrets", "Value (not its Secret ID)",
	         "/etc/relay/secrets/oauth.secret", "6731de76-14a6-49ae-97bc-6eba6914391e", "systemctl reload relay"));
	advice("AADSTS7000222 secret expired", "HTTP 401: invalid_client (AADSTS7000222)", &ms,
	       W("has expired", "secret_expires", "/etc/relay/secrets/oauth.secret", "certificate"));
	advice("AADSTS700016 app not in tenant", "HTTP 400: unauthorized_client (AADSTS700016)", &ms,
	       W("no application 6731de76-14a6-49ae-97bc-6eba6914391e in tenant contoso.onmicrosoft.com",
	         "Application (client) ID", "Directory (tenant) ID"));
	advice("AADSTS65001 consent (mail)", "HTTP 400: invalid_grant (AADSTS65001)", &ms,
	       W("admin consent is missing", "IMAP.AccessAsApp", "SMTP.SendAsApp", "Office 365 Exchange Online",
	         "Grant admin consent"));
	struct oauth_places msg = ms;
	msg.graph = 1;
	advice("AADSTS65001 consent (graph)", "HTTP 400: invalid_grant (AADSTS65001)", &msg,
	       W("admin consent is missing", "Microsoft Graph", "Mail.Send", "Grant admin consent"));
	advice("AADSTS700027 certificate", "HTTP 401: invalid_client (AADSTS700027)", &ms,
	       W("certificate is not registered", "/etc/relay/oauth.crt", "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
	         "/etc/relay/secrets/oauth.key", "Certificates & secrets > Certificates"));
	advice("AADSTS90002 tenant", "HTTP 400: invalid_request (AADSTS90002)", &ms,
	       W("tenant contoso.onmicrosoft.com was not found", "Directory (tenant) ID", "verified domain"));
	advice("AADSTS7000112 disabled (revoked) app", "HTTP 400: unauthorized_client (AADSTS7000112)", &ms,
	       W("is disabled", "revoked", "Enterprise applications", "Enabled for users to sign in"));
	advice("AADSTS700024 clock", "HTTP 400: invalid_client (AADSTS700024)", &ms, W("clock", "timedatectl"));
	advice("an AADSTS code not known", "HTTP 400: invalid_request (AADSTS50126)", &ms,
	       W("AADSTS50126", "https://login.microsoftonline.com/error?code=50126"));
	advice("Google: delegation missing", "HTTP 401: unauthorized_client (not authorized for the scope)", &google,
	       W("domain-wide delegation is not granted", "Google Admin console",
	         "Security > Access and data control > "
	         "API controls > Manage Domain Wide Delegation",
	         "client ID 113625588310939184236", "https://mail.google.com/"));
	struct oauth_places gpem = google;
	gpem.google_client_id = NULL;
	advice("Google: delegation missing, PEM key", "HTTP 401: unauthorized_client (not authorized for the scope)", &gpem,
	       W("numeric client ID of relay@safeguarding-relay.iam.gserviceaccount.com", "https://mail.google.com/"));
	advice("Google: key deleted (invalid_grant)", "HTTP 400: invalid_grant (invalid JWT signature)", &google,
	       W("key was deleted or revoked", "Keys", "/etc/relay/secrets/google-key.json"));
	advice("Google: account not found", "HTTP 400: invalid_grant (account not found)", &google,
	       W("deleted or revoked", "Service accounts"));
	advice("Google: unknown mailbox (invalid_grant)", "HTTP 400: invalid_grant (invalid email or user ID)", &google,
	       W("help@charity.org.uk is not a user", "[imap] username"));
	advice("Google: clock (invalid_grant)", "HTTP 400: invalid_grant (JWT not in a reasonable timeframe)", &google,
	       W("clock", "timedatectl"));
	advice("Google: other invalid_grant", "HTTP 400: invalid_grant", &google,
	       W("Google refused", "/etc/relay/secrets/google-key.json", "help@charity.org.uk"));
	advice("Google: disabled (revoked) client", "HTTP 401: disabled_client (client disabled)", &google,
	       W("is disabled (revoked)", "Service accounts"));
	struct oauth_places gen = { .provider = "generic", .secret_file = "/s" };
	advice("generic invalid_client", "HTTP 401: invalid_client", &gen, W("check [oauth] client_id and /s"));
	advice("a 503", "HTTP 503 and an answer that is not a JSON object", &gen, W("asks again"));
	advice("nothing known", "HTTP 418: teapot", &gen, W("check the [oauth] settings"));
	char out[8];
	oauth_advice("HTTP 401: invalid_client (AADSTS7000215)", &ms, out, sizeof out);
	CHECK("a short buffer is cut, terminated", strlen(out) == 7);
	struct oauth_places empty = { 0 };
	char big[600];
	oauth_advice(NULL, &empty, big, sizeof big);
	CHECK("no refusal, no places: still words", strlen(big) > 10);
	oauth_advice("HTTP 401: invalid_client (AADSTS700027)", &empty, big, sizeof big);
	CHECK("no places: no (null)", !strstr(big, "(null)"));
}

/* ---- assertions --------------------------------------------------------------- */

static void test_assertions(void)
{
	size_t klen, clen;
	char *key = slurp("key.pem", &klen), *cert = slurp("cert.pem", &clen), err[256] = "";
	CHECK("test key and certificate", key && cert);
	if (!key || !cert)
		return;
	struct jwt_cert jc;
	CHECK_INT("certificate", jwt_cert_read(cert, clen, &jc, err, sizeof err), 0);
	const char *url = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
	char *a = oauth_client_assertion(key, klen, jc.x5t, jc.x5t_s256, "6731de76-14a6-49ae-97bc-6eba6914391e", url,
	                                 "0f6c8d0e-5a0b-4a7e-9c3e-2b1f3a4d5e6f", 1800000000LL, err, sizeof err);
	CHECK("client assertion made", a != NULL);
	if (a) {
		struct json_object *h = jwt_part(a, 0), *c = jwt_part(a, 1);
		CHECK_STR("header alg", jsonread_str(h, "alg", NULL), "RS256");
		CHECK_STR("header typ", jsonread_str(h, "typ", NULL), "JWT");
		CHECK_STR("header x5t", jsonread_str(h, "x5t", NULL), jc.x5t);
		CHECK_STR("header x5t#S256", jsonread_str(h, "x5t#S256", NULL), jc.x5t_s256);
		CHECK_STR("aud = the token URL (slashes not escaped)", jsonread_str(c, "aud", NULL), url);
		{
			const char *p = strchr(a, '.') + 1;
			char *raw = b64url_decode(p, strcspn(p, "."), NULL);
			CHECK("claims written compact, slashes not escaped",
			      strstr(raw, "\"aud\":\"https://login.") != NULL);
			free(raw);
		}
		CHECK_STR("iss = client_id", jsonread_str(c, "iss", NULL), "6731de76-14a6-49ae-97bc-6eba6914391e");
		CHECK_STR("sub = client_id", jsonread_str(c, "sub", NULL), "6731de76-14a6-49ae-97bc-6eba6914391e");
		CHECK_STR("jti", jsonread_str(c, "jti", NULL), "0f6c8d0e-5a0b-4a7e-9c3e-2b1f3a4d5e6f");
		CHECK_INT("nbf = now", jint(c, "nbf"), 1800000000LL);
		CHECK_INT("iat = now", jint(c, "iat"), 1800000000LL);
		CHECK_INT("exp = now + 10 min", jint(c, "exp"), 1800000600LL);
		CHECK("openssl verifies the client assertion", openssl_verifies(a));
		a[strlen(a) - 5] ^= 1;
		CHECK("... and refuses it changed", !openssl_verifies(a));
		json_object_put(h);
		json_object_put(c);
		free(a);
	}
	a = oauth_google_assertion(key, klen, "kid-1", "relay@p.iam.gserviceaccount.com", "https://mail.google.com/",
	                           "https://oauth2.googleapis.com/token", "help@charity.org.uk", 1800000000LL, err,
	                           sizeof err);
	CHECK("google assertion made", a != NULL);
	if (a) {
		struct json_object *h = jwt_part(a, 0), *c = jwt_part(a, 1);
		CHECK_STR("google header alg", jsonread_str(h, "alg", NULL), "RS256");
		CHECK_STR("google header kid", jsonread_str(h, "kid", NULL), "kid-1");
		CHECK_STR("google iss = client_email", jsonread_str(c, "iss", NULL), "relay@p.iam.gserviceaccount.com");
		CHECK_STR("google scope", jsonread_str(c, "scope", NULL), "https://mail.google.com/");
		CHECK_STR("google aud", jsonread_str(c, "aud", NULL), "https://oauth2.googleapis.com/token");
		CHECK_STR("google sub = the mailbox", jsonread_str(c, "sub", NULL), "help@charity.org.uk");
		CHECK_INT("google iat", jint(c, "iat"), 1800000000LL);
		CHECK_INT("google exp = iat + 3600", jint(c, "exp"), 1800003600LL);
		CHECK("openssl verifies the google assertion", openssl_verifies(a));
		json_object_put(h);
		json_object_put(c);
		free(a);
	}
	/* a quote in a value stays inside its string */
	a = oauth_google_assertion(key, klen, NULL, "a\"b@x", "s", "https://t", "m\"}", 1, err, sizeof err);
	if (a) {
		struct json_object *c = jwt_part(a, 1), *h = jwt_part(a, 0);
		CHECK_STR("escaped iss", jsonread_str(c, "iss", NULL), "a\"b@x");
		CHECK_STR("escaped sub", jsonread_str(c, "sub", NULL), "m\"}");
		CHECK("no kid when none", jsonread_str(h, "kid", NULL) == NULL);
		json_object_put(c);
		json_object_put(h);
		free(a);
	} else {
		CHECK("assertion with quotes", 0);
	}
	a = oauth_client_assertion("not a key", 9, "x", NULL, "c", "u", "j", 1, err, sizeof err);
	CHECK("a bad key: no assertion", a == NULL && strstr(err, "not a PEM private key"));
	free(key);
	free(cert);
}

/* ---- Google's JSON key file ------------------------------------------------------ */

static void test_google_key(void)
{
	size_t klen;
	char *key = slurp("key.pem", &klen), err[256];
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "type", json_object_new_string("service_account"));
	json_object_object_add(j, "project_id", json_object_new_string("p"));
	json_object_object_add(j, "private_key_id", json_object_new_string("abc123"));
	json_object_object_add(j, "private_key", json_object_new_string(key ? key : ""));
	json_object_object_add(j, "client_email", json_object_new_string("relay@p.iam.gserviceaccount.com"));
	json_object_object_add(j, "client_id", json_object_new_string("113625588310939184236"));
	json_object_object_add(j, "token_uri", json_object_new_string("https://oauth2.googleapis.com/token"));
	const char *text = json_object_to_json_string(j);
	struct oauth_google_key k;
	CHECK_INT("key file parsed", oauth_google_key_parse(text, strlen(text), &k, err, sizeof err), 0);
	CHECK_STR("client_email", k.client_email, "relay@p.iam.gserviceaccount.com");
	CHECK_STR("client_id", k.client_id, "113625588310939184236");
	CHECK_STR("private_key_id", k.private_key_id, "abc123");
	CHECK_STR("token_uri", k.token_uri, "https://oauth2.googleapis.com/token");
	CHECK_STR("private_key, newlines restored", k.private_key, key);
	oauth_google_key_free(&k);
	oauth_google_key_free(&k); /* twice: harmless */

	static const struct {
		const char *name, *json, *want;
	} bad[] = {
		{ "not JSON", "-----BEGIN PRIVATE KEY-----", "not Google's JSON key file" },
		{ "an array", "[]", "not an object" },
		{ "wrong type",
		  "{\"type\":\"authorized_user\",\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\"}",
		  "authorized_user" },
		{ "no client_email", "{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\"}",
		  "no client_email" },
		{ "no key", "{\"type\":\"service_account\",\"client_email\":\"a@b\"}", "no PEM private_key" },
		{ "key a number", "{\"client_email\":\"a@b\",\"private_key\":5}", "no PEM private_key" },
		{ "token_uri not https",
		  "{\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\","
		  "\"token_uri\":\"file:///etc/passwd\"}",
		  "token_uri" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		CHECK_INT(bad[i].name, oauth_google_key_parse(bad[i].json, strlen(bad[i].json), &k, err, sizeof err), -1);
		if (!strstr(err, bad[i].want)) {
			printf("FAIL %s: [%s] lacks [%s]\n", bad[i].name, err, bad[i].want);
			check_failed++;
		}
		CHECK("nothing left owned", !k.client_email && !k.private_key);
	}
	json_object_put(j);
	free(key);
}

/* ---- dates --------------------------------------------------------------------- */

static void test_dates(void)
{
	long long t;
	CHECK_INT("2026-12-04", oauth_parse_date("2026-12-04", &t), 0);
	CHECK_INT("... is 00:00 UTC", t, 1796342400LL);
	CHECK_INT("1970-01-01", oauth_parse_date("1970-01-01", &t), 0);
	CHECK_INT("... is 0", t, 0);
	CHECK_INT("2024-02-29 (leap)", oauth_parse_date("2024-02-29", &t), 0);
	CHECK_INT("... ", t, 1709164800LL);
	CHECK_INT("2000-03-01", oauth_parse_date("2000-03-01", &t), 0);
	CHECK_INT("... ", t, 951868800LL);
	static const char *const bad[] = { "2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10",
		                           "2026-04-31", "2026-1-01",  "26-01-01",   "2026-01-01x",
		                           "2026/01/01", "",           "2026-01-0a", "1969-12-31" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(bad[i], oauth_parse_date(bad[i], &t), -1);
	CHECK_INT("NULL", oauth_parse_date(NULL, &t), -1);

	char out[96];
	long long now = 1796342400LL; /* 2026-12-04 00:00 UTC */
	const long long day = 86400;
	CHECK_INT("31 days ahead: fine", oauth_expiry_text(now + 31 * day, now, out, sizeof out), OAUTH_EXPIRY_FINE);
	CHECK_STR("31 days text", out, "runs out on 2027-01-04 (in 31 days)");
	CHECK_INT("30 days and a second: fine", oauth_expiry_text(now + 30 * day + 1, now, out, sizeof out),
	          OAUTH_EXPIRY_FINE);
	CHECK_INT("30 days ahead: warn", oauth_expiry_text(now + 30 * day, now, out, sizeof out), OAUTH_EXPIRY_SOON);
	CHECK_STR("30 days text", out, "runs out on 2027-01-03 (in 30 days)");
	CHECK_INT("1 day: warn", oauth_expiry_text(now + day, now, out, sizeof out), OAUTH_EXPIRY_SOON);
	CHECK_STR("1 day text", out, "runs out on 2026-12-05 (in 1 day)");
	CHECK_INT("an hour: warn", oauth_expiry_text(now + 3600, now, out, sizeof out), OAUTH_EXPIRY_SOON);
	CHECK_STR("today text", out, "runs out on 2026-12-04 (today)");
	CHECK_INT("now: past", oauth_expiry_text(now, now, out, sizeof out), OAUTH_EXPIRY_PAST);
	CHECK_INT("3 days ago: past", oauth_expiry_text(now - 3 * day, now, out, sizeof out), OAUTH_EXPIRY_PAST);
	CHECK_STR("3 days ago text", out, "ran out on 2026-12-01 (3 days ago)");
	CHECK_INT("a year on: fine", oauth_expiry_text(now + 365 * day, now, out, sizeof out), OAUTH_EXPIRY_FINE);
}

/* ---- settings oauth_open refuses --------------------------------------------------- */

static void open_fails(const char *name, struct config *c, const char *want)
{
	struct oauth *o = (struct oauth *)1;
	char err[512] = "";
	CHECK_INT(name, oauth_open(c, OAUTH_MAIL, &o, err, sizeof err), -1);
	CHECK(name, o == NULL);
	if (!strstr(err, want)) {
		printf("FAIL %s: [%s] lacks [%s]\n", name, err, want);
		check_failed++;
	}
}

static void test_open(void)
{
	size_t klen, clen, olen;
	char *key = slurp("key.pem", &klen), *cert = slurp("cert.pem", &clen), *other = slurp("key2.pem", &olen);
	struct config c;
	memset(&c, 0, sizeof c);
	c.path = (char *)"relay.conf";
	c.imap_auth = (char *)"oauth2";
	c.smtp_auth = (char *)"oauth2";
	c.smtp_transport = (char *)"smtp";
	c.imap_username = (char *)"help@charity.org.uk";
	c.oauth_provider = (char *)"microsoft";
	c.oauth_tenant = (char *)"contoso.onmicrosoft.com";
	c.oauth_client_id = (char *)"id";
	open_fails("microsoft without a credential", &c,
	           "certificate_file and private_key_file (preferred) or "
	           "client_secret_file");
	c.oauth_certificate_file = (char *)"/c";
	open_fails("a certificate without its key", &c, "go together");
	c.oauth_private_key_file = (char *)"/k";
	c.oauth_certificate = (char *)"junk";
	c.oauth_certificate_len = 4;
	c.oauth_private_key = key;
	c.oauth_private_key_len = klen;
	open_fails("a certificate that is not one", &c, "/c: not a PEM certificate");
	c.oauth_certificate = cert;
	c.oauth_certificate_len = clen;
	struct oauth *o = NULL;
	char err[512] = "";
	CHECK_INT("microsoft with a certificate opens", oauth_open(&c, OAUTH_MAIL, &o, err, sizeof err), 0);
	oauth_close(o);
	c.oauth_secret_expires = (char *)"31/12/2026";
	open_fails("secret_expires not a date", &c, "secret_expires must be a date");
	c.oauth_secret_expires = NULL;

	c.oauth_provider = (char *)"google";
	c.oauth_certificate_file = NULL;
	c.oauth_certificate = NULL;
	c.oauth_private_key_file = NULL;
	c.oauth_private_key = NULL;
	open_fails("google without a key", &c, "private_key_file");
	c.oauth_private_key_file = (char *)"/k.json";
	c.oauth_private_key = (char *)"{\"client_email\":\"sa@p.iam.gserviceaccount.com\",\"client_id\":\"42\","
				      "\"private_key\":\"-----BEGIN PRIVATE KEY-----\\n\"}";
	c.oauth_private_key_len = strlen(c.oauth_private_key);
	open_fails("google: client_id not the key's", &c, "not the client_email of the key in /k.json");
	c.oauth_client_id = (char *)"42";
	CHECK_INT("google: client_id may be the numeric ID", oauth_open(&c, OAUTH_MAIL, &o, err, sizeof err), 0);
	oauth_close(o);
	c.oauth_client_id = NULL;
	CHECK_INT("google: client_id from the key file", oauth_open(&c, OAUTH_MAIL, &o, err, sizeof err), 0);
	oauth_close(o);
	CHECK_INT("google: no graph", oauth_open(&c, OAUTH_GRAPH, &o, err, sizeof err), -1);
	CHECK("... says why", strstr(err, "Microsoft's") != NULL);
	c.imap_auth = (char *)"password";
	c.smtp_username = NULL;
	open_fails("google needs the mailbox", &c, "[imap] username or [smtp] username");

	c.oauth_provider = (char *)"generic";
	open_fails("generic without token_url", &c, "token_url and scope are required");
	free(key);
	free(cert);
	free(other);
}

/* ---- the health alert's words --------------------------------------------------------- */

static void test_health_words(void)
{
	struct health_places w = { .imap_host = "outlook.office365.com",
		                   .imap_password_file = NULL,
		                   .smtp_host = "smtp.office365.com",
		                   .database = "/var/lib/relay/relay.db" };
	char what[300], todo[600];
	const char *reason = "imap outlook.office365.com:993: oauth: login.microsoftonline.com refused the token (HTTP "
			     "401: invalid_client (AADSTS7000215)): the client secret is wrong. In Entra admin center";
	health_advice(HEALTH_INBOX, reason, &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("inbox: no token, in words", what, "the relay cannot get an access token (OAuth2) for the mailbox");
	CHECK("inbox: what to do is the instruction", !strncmp(todo, "login.microsoftonline.com refused the token", 43) &&
	                                                      strstr(todo, "the client secret is wrong"));
	CHECK("not mistaken for a refused password", !strstr(what, "password"));
	health_advice(HEALTH_SMTP, reason + 31, &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("smtp: no token, in words", what, "the relay cannot get an access token (OAuth2) for outgoing mail");
	CHECK("smtp: the instruction", strstr(todo, "Entra admin center") != NULL);
	health_advice(HEALTH_INBOX, "imap x:993: login refused", &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("a password refusal is as before", what, "the mailbox password was refused");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_INT("openssl made the test keys",
	          sh("cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem 2>/dev/null && "
	             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key2.pem 2>/dev/null && "
	             "openssl pkey -in key.pem -pubout -out pub.pem && "
	             "openssl req -x509 -new -key key.pem -days 400 -subj /CN=relay -out cert.pem 2>/dev/null"),
	          0);
	test_parse();
	test_advice();
	test_assertions();
	test_google_key();
	test_dates();
	test_open();
	test_health_words();
	sh("rm -rf %s");
	return check_done();
}
