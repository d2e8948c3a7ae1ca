/* reference.c: references, signed reply tags, masked contacts. */
#include "reference.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

void reference_make(const char *prefix, const unsigned char random[REFERENCE_CODE_LEN], char out[REFERENCE_MAX])
{
	static const char alphabet[] = REFERENCE_ALPHABET;
	char code[REFERENCE_CODE_LEN + 1];
	for (int i = 0; i < REFERENCE_CODE_LEN; i++)
		code[i] = alphabet[random[i] % (sizeof alphabet - 1)];
	code[REFERENCE_CODE_LEN] = '\0';
	snprintf(out, REFERENCE_MAX, "%.6s-%s", prefix, code);
}

int reference_valid(const char *prefix, const char *ref)
{
	size_t pl = strlen(prefix);
	if (strncasecmp(ref, prefix, pl) != 0 || ref[pl] != '-')
		return 0;
	const char *code = ref + pl + 1;
	if (strlen(code) != REFERENCE_CODE_LEN)
		return 0;
	for (const char *p = code; *p; p++)
		if (!strchr(REFERENCE_ALPHABET, toupper((unsigned char)*p)))
			return 0;
	return 1;
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

int reference_in_subject(const char *subject, const char *prefix, char out[REFERENCE_MAX])
{
	size_t pl = strlen(prefix), want = pl + 1 + REFERENCE_CODE_LEN;
	for (const char *p = subject ? strchr(subject, '[') : NULL; p; p = strchr(p + 1, '[')) {
		const char *close = strchr(p, ']');
		if (!close || (size_t)(close - p - 1) != want)
			continue;
		char cand[REFERENCE_MAX];
		memcpy(cand, p + 1, want);
		cand[want] = '\0';
		if (reference_valid(prefix, cand)) {
			upper(cand);
			memcpy(out, cand, want + 1);
			return 1;
		}
	}
	return 0;
}

void tag_sign(const unsigned char *key, size_t keylen, const char *ref, char sig[TAG_SIG_LEN + 1])
{
	unsigned char mac[32];
	char upref[REFERENCE_MAX];
	snprintf(upref, sizeof upref, "%s", ref);
	upper(upref);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, keylen, upref, strlen(upref), mac);
	for (int i = 0; i < TAG_SIG_LEN / 2; i++)
		snprintf(sig + 2 * i, 3, "%02x", mac[i]);
	sig[TAG_SIG_LEN] = '\0';
}

char *tag_address(const char *service_address, const char *ref, const unsigned char *key, size_t keylen)
{
	char sig[TAG_SIG_LEN + 1];
	const char *at = strrchr(service_address, '@');
	if (!at)
		return xstrdup(service_address);
	tag_sign(key, keylen, ref, sig);
	return xasprintf("%.*s+%s.%s%s", (int)(at - service_address), service_address, ref, sig, at);
}

int tag_parse(const char *address, const char *service_address, const char *prefix, const unsigned char *key, size_t keylen,
              char ref[REFERENCE_MAX], int *valid)
{
	const char *sat = strrchr(service_address, '@'), *at = strrchr(address, '@');
	size_t local = sat ? (size_t)(sat - service_address) : 0;
	char sig[TAG_SIG_LEN + 1], want[TAG_SIG_LEN + 1];

	*valid = 0;
	if (!sat || !at || strcasecmp(at, sat) != 0 || strncasecmp(address, service_address, local) != 0 ||
	    address[local] != '+')
		return 0;
	const char *tag = address + local + 1;
	const char *dot = strchr(tag, '.');
	if (!dot || dot > at)
		return 0;
	size_t rl = (size_t)(dot - tag);
	if (rl >= REFERENCE_MAX)
		return 0;
	memcpy(ref, tag, rl);
	ref[rl] = '\0';
	if (!reference_valid(prefix, ref))
		return 0;
	upper(ref);
	size_t sl = (size_t)(at - dot - 1);
	if (sl != TAG_SIG_LEN)
		return 1;
	memcpy(sig, dot + 1, sl);
	sig[sl] = '\0';
	for (char *p = sig; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	tag_sign(key, keylen, ref, want);
	/* Constant-time compare: the tag is what stops forged replies. */
	unsigned char diff = 0;
	for (int i = 0; i < TAG_SIG_LEN; i++)
		diff |= (unsigned char)(sig[i] ^ want[i]);
	*valid = diff == 0;
	return 1;
}

char *mask_email(const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	if (!at || at == address)
		return xstrdup("***");
	return xasprintf("%c***%s", address[0], at);
}
