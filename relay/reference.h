/* reference.h: a conversation's human reference ("RUS-7K3F2") and the signed
 * reply address that carries it ("rusafe+RUS-7K3F2.1a2b3c4d5e6f@example.org"). */
#ifndef RELAY_REFERENCE_H
#define RELAY_REFERENCE_H

#include <stddef.h>

#define REFERENCE_MAX 16 /* "PREFIX-XXXXX" and NUL, with room */
#define REFERENCE_CODE_LEN 5
/* No 0/O, 1/I/L: an adviser reads a reference aloud or types it from paper. */
#define REFERENCE_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#define TAG_SIG_LEN 12 /* hex digits of HMAC-SHA256 */

/* Builds "PREFIX-XXXXX" from 5 random bytes (pure: the caller supplies them). */
void reference_make(const char *prefix, const unsigned char random[REFERENCE_CODE_LEN], char out[REFERENCE_MAX]);

/* Is ref a well-formed reference with this prefix (any case)? */
int reference_valid(const char *prefix, const char *ref);

/* Finds "[PREFIX-XXXXX]" anywhere in a subject (clients move it, add Re:/AW:).
 * Returns 1 and the reference in upper case, or 0. */
int reference_in_subject(const char *subject, const char *prefix, char out[REFERENCE_MAX]);

/* The signature of a reference under key: TAG_SIG_LEN lowercase hex digits. */
void tag_sign(const unsigned char *key, size_t keylen, const char *ref, char sig[TAG_SIG_LEN + 1]);

/* "local+REF.SIG@domain" for the service address; owned result. */
char *tag_address(const char *service_address, const char *ref, const unsigned char *key, size_t keylen);

/* If address is a tag on the service address, returns 1 and fills ref (upper
 * case) and whether its signature is valid; 0 when it is not a tag at all. */
int tag_parse(const char *address, const char *service_address, const char *prefix, const unsigned char *key, size_t keylen,
              char ref[REFERENCE_MAX], int *valid);

/* Masks an email address for advisers: "s***@example.org". Owned result. */
char *mask_email(const char *address);

#endif
