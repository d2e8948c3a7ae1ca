/* jwt.c: RS256 JSON Web Tokens and certificate thumbprints (see jwt.h). */
#include "jwt.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

char *jwt_b64url(const void *data, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char *out = xmalloc(len / 3 * 4 + 5), *o = out;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = abc[v >> 6 & 63];
		*o++ = abc[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = abc[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

/* OpenSSL's reason for the last failure, without the queue's other entries. */
static void ssl_reason(const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(err, errlen, "%s%s%s", what, r ? ": " : "", r ? r : "");
	ERR_clear_error();
}

static EVP_PKEY *key_read(const char *pem, size_t len, char *err, size_t errlen)
{
	if (len > 64 * 1024) {
		snprintf(err, errlen, "the private key is too large");
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* An empty passphrase callback: an encrypted key fails instead of asking on the terminal. */
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	if (!k) {
		ssl_reason("not a PEM private key (unencrypted PKCS#8 or PKCS#1)", err, errlen);
		return NULL;
	}
	if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
		snprintf(err, errlen, "the private key is not an RSA key (RS256 needs one)");
		EVP_PKEY_free(k);
		return NULL;
	}
	if (EVP_PKEY_bits(k) < 2048) {
		snprintf(err, errlen, "the RSA key has %d bits; the providers require 2048 or more", EVP_PKEY_bits(k));
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static X509 *cert_read(const char *pem, size_t len, char *err, size_t errlen)
{
	if (len > 256 * 1024) {
		snprintf(err, errlen, "the certificate file is too large");
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!x)
		ssl_reason("not a PEM certificate", err, errlen);
	return x;
}

int jwt_sign_rs256(const char *key_pem, size_t key_len, const char *header_json, const char *claims_json, char **out,
                   char *err, size_t errlen)
{
	*out = NULL;
	EVP_PKEY *k = key_read(key_pem, key_len, err, errlen);
	if (!k)
		return -1;
	char *h = jwt_b64url(header_json, strlen(header_json)), *c = jwt_b64url(claims_json, strlen(claims_json));
	char *input = xasprintf("%s.%s", h, c);
	free(h);
	free(c);
	int rc = -1;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		ssl_reason("cannot sign with the private key", err, errlen);
		goto done;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		ssl_reason("cannot sign with the private key", err, errlen);
		goto done;
	}
	char *s = jwt_b64url(sig, siglen);
	*out = xasprintf("%s.%s", input, s);
	free(s);
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	free(sig);
	explicit_bzero(input, strlen(input));
	free(input);
	return rc;
}

static long long asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (long long)timegm(&tm);
}

int jwt_cert_read(const char *cert_pem, size_t len, struct jwt_cert *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	X509 *x = cert_read(cert_pem, len, err, errlen);
	if (!x)
		return -1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int rc = -1;
	if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n != 20) {
		ssl_reason("cannot take the certificate's thumbprint", err, errlen);
		goto done;
	}
	char *s = jwt_b64url(md, n);
	snprintf(out->x5t, sizeof out->x5t, "%s", s);
	free(s);
	for (unsigned i = 0; i < n; i++)
		snprintf(out->sha1_hex + 2 * i, sizeof out->sha1_hex - 2 * i, "%02X", md[i]);
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		ssl_reason("cannot take the certificate's thumbprint", err, errlen);
		goto done;
	}
	s = jwt_b64url(md, n);
	snprintf(out->x5t_s256, sizeof out->x5t_s256, "%s", s);
	free(s);
	out->not_after = asn1_time(X509_get0_notAfter(x));
	out->not_before = asn1_time(X509_get0_notBefore(x));
	rc = 0;
done:
	X509_free(x);
	return rc;
}

int jwt_cert_matches_key(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, char *err,
                         size_t errlen)
{
	X509 *x = cert_read(cert_pem, cert_len, err, errlen);
	if (!x)
		return -1;
	EVP_PKEY *k = key_read(key_pem, key_len, err, errlen);
	if (!k) {
		X509_free(x);
		return -1;
	}
	int match = X509_check_private_key(x, k) == 1;
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return match;
}

int jwt_random_id(char out[37])
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
	         r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return 0;
}
