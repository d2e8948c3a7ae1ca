/* jwt.h: JSON Web Tokens signed RS256 (RFC 7515, RFC 7519) and what a
 * certificate says about itself, for the OAuth2 client assertions of oauth.c
 * (Microsoft certificate credentials, Google service accounts).
 *
 * The only file that sees OpenSSL's key and certificate types for this. Pure:
 * no file or network I/O; callers pass PEM text they read (config.c reads a
 * private key as a secret). Nothing here logs; err never carries key
 * material. */
#ifndef RELAY_JWT_H
#define RELAY_JWT_H

#include <stddef.h>

/* base64url without padding (RFC 4648 section 5). Owned result. */
char *jwt_b64url(const void *data, size_t len);

/* header_json "." claims_json, each base64url, "." the RSASSA-PKCS1-v1_5
 * SHA-256 signature by the RSA private key in key_pem (PKCS#8 "PRIVATE KEY"
 * or PKCS#1 "RSA PRIVATE KEY", unencrypted). *out owned (wipe it: it is a
 * credential). 0, or -1 with err (never the key). */
int jwt_sign_rs256(const char *key_pem, size_t key_len, const char *header_json, const char *claims_json, char **out,
                   char *err, size_t errlen);

/* What the relay needs of an X.509 certificate (PEM). */
struct jwt_cert {
	char x5t[32];        /* base64url SHA-1 of the DER (27 characters) */
	char x5t_s256[48];   /* base64url SHA-256 of the DER (43 characters) */
	char sha1_hex[48];   /* the SHA-1 thumbprint as portals show it: 40 upper-case hex digits */
	long long not_after; /* unix seconds */
	long long not_before;
};

/* Reads the first certificate of cert_pem. 0, or -1 with err. */
int jwt_cert_read(const char *cert_pem, size_t len, struct jwt_cert *out, char *err, size_t errlen);

/* 1 when the RSA private key in key_pem belongs to the certificate, 0 when it
 * does not, -1 with err when either cannot be read. */
int jwt_cert_matches_key(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, char *err,
                         size_t errlen);

/* 16 random bytes as a UUID-shaped text (a JWT's jti). out: 37 bytes. 0 or -1. */
int jwt_random_id(char out[37]);

#endif
