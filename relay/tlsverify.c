/* tlsverify.c: certificate-chain and host-name verification with GnuTLS. */
#include "tlsverify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define MAX_CHAIN 16 /* longer chains than this are not real servers */

/* Append "; reason" (or the first reason) to err, truncating quietly. */
static void add_reason(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_reason(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (used > 0 && used + 2 < errlen) {
		memcpy(err + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

static void format_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == (time_t)-1 || !gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, outlen, "unknown date");
}

/* The distinguished name of a certificate's subject or issuer, for messages. */
static void cert_dn(gnutls_x509_crt_t crt, int issuer, char *out, size_t outlen)
{
	gnutls_datum_t dn = { NULL, 0 };
	int r;

	r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) : gnutls_x509_crt_get_dn3(crt, &dn, 0);
	if (r < 0 || !dn.data)
		snprintf(out, outlen, "(unknown)");
	else
		snprintf(out, outlen, "%.*s", (int)dn.size, (const char *)dn.data);
	gnutls_free(dn.data);
}

/* The names a certificate is valid for: its DNS and IP subjectAltNames, or
 * its CN when it has none. Comma-separated into out. */
static void cert_names(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
	char name[256], ipbuf[INET6_ADDRSTRLEN];
	size_t used = 0, size;
	unsigned seq;
	int type, any = 0;

	out[0] = '\0';
	for (seq = 0; seq < 64; seq++) {
		const char *shown = NULL;

		size = sizeof(name) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, seq, name, &size, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			name[size] = '\0';
			shown = name;
		} else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
			if (inet_ntop(size == 4 ? AF_INET : AF_INET6, name, ipbuf, sizeof ipbuf))
				shown = ipbuf;
		}
		if (!shown)
			continue;
		if (used + 1 < outlen)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", any ? ", " : "", shown);
		any = 1;
	}
	if (!any) {
		size = sizeof(name) - 1;
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, name, &size) == 0) {
			name[size] = '\0';
			snprintf(out, outlen, "%s", name);
		} else {
			snprintf(out, outlen, "no host name at all");
		}
	}
	if (used >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
}

static int is_self_signed(gnutls_x509_crt_t crt)
{
	return gnutls_x509_crt_check_issuer(crt, crt) == 1;
}

/* Turn GnuTLS verification status bits into reasons a person can act on. */
static void explain_status(unsigned status, gnutls_x509_crt_t *chain, size_t ncrt, size_t n, const char *host,
                           const char *ca_file, char *err, size_t errlen)
{
	char text[512], when[40];
	time_t now = time(NULL);
	size_t i;

	/* Most fundamental problem first: if nobody vouches for the
	 * certificate, its dates and names say nothing. */
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		if (n == 1 && is_self_signed(chain[0])) {
			add_reason(err, errlen, "certificate not trusted (self-signed)");
		} else {
			cert_dn(chain[ncrt - 1], 1, text, sizeof text);
			add_reason(err, errlen, "certificate not trusted (issuer \"%s\" is not in %s%s)", text,
			           ca_file ? "CA file " : "the system trust store", ca_file ? ca_file : "");
		}
	}
	if (status & GNUTLS_CERT_SIGNER_NOT_CA)
		add_reason(err, errlen, "certificate issued by a certificate that is not a CA");
	if (status & GNUTLS_CERT_SIGNATURE_FAILURE)
		add_reason(err, errlen, "certificate signature does not verify");
	if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
		add_reason(err, errlen, "certificate uses an insecure signature algorithm");
	if (status & GNUTLS_CERT_REVOKED)
		add_reason(err, errlen, "certificate revoked");
	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) {
		for (i = 0; i < ncrt; i++) {
			time_t until = gnutls_x509_crt_get_expiration_time(chain[i]);
			time_t from = gnutls_x509_crt_get_activation_time(chain[i]);

			if (until != (time_t)-1 && until < now) {
				format_time(until, when, sizeof when);
				if (i == 0) {
					add_reason(err, errlen, "certificate expired (not valid after %s)", when);
				} else {
					cert_dn(chain[i], 0, text, sizeof text);
					add_reason(err, errlen, "CA certificate \"%s\" expired (not valid after %s)", text,
					           when);
				}
				break;
			}
			if (from != (time_t)-1 && from > now) {
				format_time(from, when, sizeof when);
				if (i == 0) {
					add_reason(err, errlen, "certificate not yet valid (valid from %s; check the clock)",
					           when);
				} else {
					cert_dn(chain[i], 0, text, sizeof text);
					add_reason(err, errlen, "CA certificate \"%s\" not yet valid (valid from %s)", text,
					           when);
				}
				break;
			}
		}
		if (i == ncrt) /* the trusted root itself, not sent by the server */
			add_reason(err, errlen, "a CA certificate is expired or not yet valid");
	}
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		cert_names(chain[0], text, sizeof text);
		add_reason(err, errlen, "certificate does not match host name %s (certificate is for %s)", host, text);
	}
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		add_reason(err, errlen, "certificate is not meant for a TLS server");
	if (err[0] == '\0') {
		gnutls_datum_t out = { NULL, 0 };

		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0)
			snprintf(err, errlen, "certificate rejected: %s", (const char *)out.data);
		else
			snprintf(err, errlen, "certificate rejected (status 0x%x)", status);
		gnutls_free(out.data);
	}
}

int tls_verify_chain(const unsigned char *const *der, const size_t *derlen, size_t n, const char *host, const char *ca_file,
                     char *err, size_t errlen)
{
	gnutls_x509_crt_t chain[MAX_CHAIN];
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_typed_vdata_st vdata[2];
	unsigned char ip[16];
	char hostbuf[256];
	unsigned status = 0;
	size_t i, ncrt = 0;
	int r, ret = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "server sent no certificate");
		return -1;
	}
	if (n > MAX_CHAIN) {
		snprintf(err, errlen, "server sent %zu certificates, more than %d", n, MAX_CHAIN);
		return -1;
	}
	if (!host || host[0] == '\0') {
		snprintf(err, errlen, "no host name to check the certificate against");
		return -1;
	}

	for (i = 0; i < n; i++) {
		gnutls_datum_t d = { (unsigned char *)der[i], (unsigned)derlen[i] };

		if (gnutls_x509_crt_init(&chain[i]) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		ncrt++;
		r = gnutls_x509_crt_import(chain[i], &d, GNUTLS_X509_FMT_DER);
		if (r < 0) {
			snprintf(err, errlen, "server certificate %zu unreadable: %s", i + 1, gnutls_strerror(r));
			goto fail;
		}
	}

	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (ca_file) {
		if (access(ca_file, R_OK) != 0) {
			snprintf(err, errlen, "CA file %s: %s", ca_file, strerror(errno));
			goto fail;
		}
		r = gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (r < 0 && r != GNUTLS_E_NO_CERTIFICATE_FOUND) {
			snprintf(err, errlen, "CA file %s: %s", ca_file, gnutls_strerror(r));
			goto fail;
		}
		if (r <= 0) {
			snprintf(err, errlen, "CA file %s: no certificates found", ca_file);
			goto fail;
		}
	} else {
		r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
		if (r <= 0) {
			snprintf(err, errlen, "no system trust store (install ca-certificates or set ca_file)");
			goto fail;
		}
	}

	/* An IP literal must be matched as an address, never as a DNS name. */
	snprintf(hostbuf, sizeof hostbuf, "%s", host);
	if (hostbuf[0] == '[' && hostbuf[strlen(hostbuf) - 1] == ']') {
		memmove(hostbuf, hostbuf + 1, strlen(hostbuf));
		hostbuf[strlen(hostbuf) - 1] = '\0';
	}
	memset(vdata, 0, sizeof vdata);
	if (inet_pton(AF_INET, hostbuf, ip) == 1) {
		vdata[0].type = GNUTLS_DT_IP_ADDRESS;
		vdata[0].data = ip;
		vdata[0].size = 4;
	} else if (inet_pton(AF_INET6, hostbuf, ip) == 1) {
		vdata[0].type = GNUTLS_DT_IP_ADDRESS;
		vdata[0].data = ip;
		vdata[0].size = 16;
	} else {
		vdata[0].type = GNUTLS_DT_DNS_HOSTNAME;
		vdata[0].data = (unsigned char *)hostbuf;
		vdata[0].size = 0;
	}
	vdata[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vdata[1].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;

	r = gnutls_x509_trust_list_verify_crt2(tl, chain, (unsigned)ncrt, vdata, 2, 0, &status, NULL);
	if (r < 0) {
		snprintf(err, errlen, "certificate check failed: %s", gnutls_strerror(r));
		goto fail;
	}
	if (status == 0)
		ret = 0;
	else
		explain_status(status, chain, ncrt, n, host, ca_file, err, errlen);

fail:
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(chain[i]);
	return ret;
}

int tls_verify_chain_pem(const char *const *pem, size_t n, const char *host, const char *ca_file, char *err, size_t errlen)
{
	gnutls_datum_t der[MAX_CHAIN];
	const unsigned char *ders[MAX_CHAIN];
	size_t lens[MAX_CHAIN], i, ndone = 0;
	int r, ret = -1;

	if (n > MAX_CHAIN) {
		snprintf(err, errlen, "server sent %zu certificates, more than %d", n, MAX_CHAIN);
		return -1;
	}
	for (i = 0; i < n; i++) {
		gnutls_datum_t in = { (unsigned char *)pem[i], pem[i] ? (unsigned)strlen(pem[i]) : 0 };

		r = gnutls_pem_base64_decode2("CERTIFICATE", &in, &der[i]);
		if (r < 0) {
			snprintf(err, errlen, "server certificate %zu unreadable: %s", i + 1, gnutls_strerror(r));
			goto fail;
		}
		ndone++;
		ders[i] = der[i].data;
		lens[i] = der[i].size;
	}
	ret = tls_verify_chain(ders, lens, n, host, ca_file, err, errlen);
fail:
	for (i = 0; i < ndone; i++)
		gnutls_free(der[i].data);
	return ret;
}
