/* tlsverify.h: certificate-chain and host-name verification with GnuTLS.
 *
 * Our mail libraries do not check the server's certificate themselves
 * (libetpan's GnuTLS build accepts anything), so every TLS connection that
 * will carry a password hands the peer's chain to tls_verify_chain() before
 * the password is sent. Pure function of its inputs and the trust store:
 * no network, usable by any channel. */
#ifndef RELAY_TLSVERIFY_H
#define RELAY_TLSVERIFY_H

#include <stddef.h>

/* Verify a certificate chain as sent by a server, leaf first (order of the
 * rest does not matter; a root may be included), for `host`.
 *
 * der[i] / derlen[i]: the DER encoding of certificate i; borrowed, not kept.
 * host: the name we connected to: a DNS name, or an IPv4 / IPv6 literal
 *       (then it must appear as an IP address in the certificate's
 *       subjectAltName). Required.
 * ca_file: PEM file of trusted CA certificates, used instead of the system
 *       trust store; NULL for the system store.
 *
 * Checks: chain up to a trusted CA, validity dates of every certificate,
 * host name (SAN, CN only when the certificate has no DNS SAN), and that
 * the leaf may be used for a TLS server.
 *
 * Returns 0 when the chain is good. Returns -1 with a reason a person can act
 * on in err, e.g. "certificate not trusted (self-signed)",
 * "certificate expired (not valid after 2020-01-02 03:04 UTC)",
 * "certificate does not match host name 127.0.0.2 (certificate is for
 * wrong.example.invalid)", "CA file /x: no certificates found"; several
 * problems are joined with "; ". */
int tls_verify_chain(const unsigned char *const *der, const size_t *derlen, size_t n, const char *host, const char *ca_file,
                     char *err, size_t errlen);

/* The same for a chain in PEM, as libcurl reports it (CURLINFO_CERTINFO):
 * pem[i] holds one "-----BEGIN CERTIFICATE-----" block, leaf first; borrowed.
 * Used to say why a library that verified for us refused a certificate:
 * libcurl with GnuTLS says only "verification failed", whatever the reason.
 * A block that does not decode fails with "server certificate N unreadable". */
int tls_verify_chain_pem(const char *const *pem, size_t n, const char *host, const char *ca_file, char *err, size_t errlen);

#endif
