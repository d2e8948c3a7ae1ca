/* test_jwt.c: base64url, RS256 signatures checked by the openssl command
 * (and equal to its own: PKCS#1 v1.5 is deterministic), certificate
 * thumbprints against openssl's, keys that must be refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jwt.h"
#include "util.h"

static char dir[] = "/tmp/test_jwt.XXXXXX";

/* Runs cmd with every "%s" in it replaced by a. */
static int sh(const char *cmd, const char *a)
{
	struct buf b;
	buf_init(&b);
	for (const char *p = cmd; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			buf_adds(&b, a);
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

static void test_b64url(void)
{
	static const struct {
		const char *in, *out;
	} t[] = { { "", "" },           { "f", "Zg" },          { "fo", "Zm8" },         { "foo", "Zm9v" },
		  { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" } };
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *s = jwt_b64url(t[i].in, strlen(t[i].in));
		CHECK_STR("b64url RFC 4648 vector", s, t[i].out);
		free(s);
	}
	const unsigned char odd[] = { 0xfb, 0xff, 0xbf };
	char *s = jwt_b64url(odd, 3);
	CHECK_STR("b64url uses - and _ (no + /)", s, "-_-_");
	free(s);
	s = jwt_b64url(odd, 2);
	CHECK_STR("b64url no padding", s, "-_8");
	free(s);
}

static void test_sign(void)
{
	size_t klen;
	char *key = slurp("key.pem", &klen);
	CHECK("test key made by openssl", key != NULL);
	if (!key)
		return;
	const char *header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	const char *claims = "{\"iss\":\"a\",\"exp\":1}";
	char *jwt = NULL, err[256] = "";
	CHECK_INT("sign", jwt_sign_rs256(key, klen, header, claims, &jwt, err, sizeof err), 0);
	if (!jwt) {
		printf("  err: %s\n", err);
		free(key);
		return;
	}
	char *h = jwt_b64url(header, strlen(header)), *c = jwt_b64url(claims, strlen(claims));
	char *input = xasprintf("%s.%s", h, c);
	CHECK("jwt starts with the encoded header and claims",
	      !strncmp(jwt, input, strlen(input)) && jwt[strlen(input)] == '.');
	const char *sig = strrchr(jwt, '.') + 1;
	CHECK_INT("RS256 2048-bit signature is 342 base64url characters", strlen(sig), 342);
	CHECK("signature has no padding or + /", strcspn(sig, "=+/") == strlen(sig));

	/* openssl signs the same input; PKCS#1 v1.5 is deterministic: equal signatures. */
	spit("input", input, strlen(input));
	CHECK_INT("openssl signs", sh("openssl dgst -sha256 -sign %s/key.pem -out %s/sig.bin %s/input", dir), 0);
	size_t slen;
	char *osig = slurp("sig.bin", &slen);
	char *osig64 = osig ? jwt_b64url(osig, slen) : NULL;
	CHECK_STR("signature equals openssl's", sig, osig64);
	/* and openssl verifies ours against the public key */
	CHECK_INT("public key", sh("openssl pkey -in %s/key.pem -pubout -out %s/pub.pem 2>/dev/null", dir), 0);
	CHECK_INT("openssl verifies our signature",
	          sh("openssl dgst -sha256 -verify %s/pub.pem -signature %s/sig.bin %s/input >/dev/null", dir), 0);
	/* a changed input does not verify */
	spit("input2", input, strlen(input) - 1);
	CHECK("openssl refuses a changed input",
	      sh("openssl dgst -sha256 -verify %s/pub.pem -signature %s/sig.bin %s/input2 >/dev/null 2>&1", dir) != 0);
	free(osig);
	free(osig64);
	free(input);
	free(h);
	free(c);
	free(jwt);

	/* PKCS#1 ("BEGIN RSA PRIVATE KEY") is read as well */
	size_t k1len;
	char *k1 = slurp("key-pkcs1.pem", &k1len);
	jwt = NULL;
	CHECK("PKCS#1 key made", k1 && strstr(k1, "BEGIN RSA PRIVATE KEY"));
	CHECK_INT("PKCS#1 key signs", k1 ? jwt_sign_rs256(k1, k1len, header, claims, &jwt, err, sizeof err) : -1, 0);
	free(jwt);
	free(k1);
	free(key);
}

static void refused(const char *name, const char *file, const char *want)
{
	size_t len;
	char *k = slurp(file, &len), *jwt = (char *)"x", err[256] = "";
	if (!k) {
		k = xstrdup(file);
		len = strlen(k);
	}
	CHECK_INT(name, jwt_sign_rs256(k, len, "{}", "{}", &jwt, err, sizeof err), -1);
	CHECK(name, jwt == NULL);
	if (!strstr(err, want))
		printf("FAIL %s: err [%s] lacks [%s]\n", name, err, want), check_failed++;
	CHECK("the error shows no key material", !strstr(err, "MII"));
	free(k);
}

static void test_bad_keys(void)
{
	refused("an EC key is refused", "ec.pem", "not an RSA key");
	refused("a 1024-bit key is refused", "small.pem", "2048");
	refused("an encrypted key is refused (no prompt)", "enc.pem", "not a PEM private key");
	refused("garbage is refused", "-----BEGIN PRIVATE KEY-----\nMIInotakey\n-----END PRIVATE KEY-----\n",
	        "not a PEM private key");
	refused("a certificate is not a key", "cert.pem", "not a PEM private key");
}

static void test_cert(void)
{
	size_t len;
	char *pem = slurp("cert.pem", &len), err[256] = "";
	struct jwt_cert c;
	CHECK_INT("certificate read", pem ? jwt_cert_read(pem, len, &c, err, sizeof err) : -1, 0);
	if (!pem)
		return;
	/* openssl's SHA-1 fingerprint, colons dropped, is the portal's thumbprint */
	CHECK_INT("openssl fingerprint",
	          sh("openssl x509 -in %s/cert.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr -d '\\n' > %s/fp1",
	             dir),
	          0);
	size_t n;
	char *fp = slurp("fp1", &n);
	CHECK_STR("SHA-1 thumbprint as the portal shows it", c.sha1_hex, fp);
	free(fp);
	CHECK_INT("x5t from openssl",
	          sh("openssl x509 -in %s/cert.pem -outform DER | openssl dgst -sha1 -binary | basenc --base64url | "
	             "tr -d '=\\n' > %s/x5t",
	             dir),
	          0);
	fp = slurp("x5t", &n);
	CHECK_STR("x5t is the base64url SHA-1 of the DER", c.x5t, fp);
	free(fp);
	CHECK_INT("x5t#S256 from openssl",
	          sh("openssl x509 -in %s/cert.pem -outform DER | openssl dgst -sha256 -binary | basenc --base64url | "
	             "tr -d '=\\n' > %s/x5t256",
	             dir),
	          0);
	fp = slurp("x5t256", &n);
	CHECK_STR("x5t#S256 is the base64url SHA-256 of the DER", c.x5t_s256, fp);
	free(fp);
	long long now = (long long)time(NULL);
	CHECK("notAfter is 45 days on (openssl -days 45)",
	      c.not_after > now + 44 * 86400 && c.not_after <= now + 45 * 86400 + 60);
	CHECK("notBefore is about now", c.not_before > now - 3600 && c.not_before <= now + 60);

	size_t klen, olen;
	char *key = slurp("key.pem", &klen), *other = slurp("key2.pem", &olen);
	CHECK_INT("the certificate's own key matches", jwt_cert_matches_key(pem, len, key, klen, err, sizeof err), 1);
	CHECK_INT("another key does not", jwt_cert_matches_key(pem, len, other, olen, err, sizeof err), 0);
	CHECK_INT("a key is not a certificate", jwt_cert_read(key, klen, &c, err, sizeof err), -1);
	CHECK("... and says so", strstr(err, "not a PEM certificate") != NULL);
	free(key);
	free(other);
	free(pem);
}

static void test_random_id(void)
{
	char a[37], b[37];
	CHECK_INT("random id", jwt_random_id(a), 0);
	CHECK_INT("random id", jwt_random_id(b), 0);
	CHECK_INT("uuid shape", strlen(a), 36);
	CHECK("version 4", a[14] == '4' && a[8] == '-' && a[13] == '-');
	CHECK("two differ", strcmp(a, b) != 0);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = sh("cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem 2>/dev/null && "
	            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key2.pem 2>/dev/null && "
	            "openssl rsa -in key.pem -traditional -out key-pkcs1.pem 2>/dev/null && "
	            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null && "
	            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out small.pem 2>/dev/null && "
	            "openssl pkey -in key.pem -aes256 -passout pass:pw -out enc.pem 2>/dev/null && "
	            "openssl req -x509 -new -key key.pem -days 45 -subj /CN=relay -out cert.pem 2>/dev/null",
	            dir);
	CHECK_INT("openssl made the test keys", rc, 0);
	test_b64url();
	test_sign();
	test_bad_keys();
	test_cert();
	test_random_id();
	sh("rm -rf %s", dir);
	return check_done();
}
