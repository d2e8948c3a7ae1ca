/* test_tlsverify.c: certificate-chain verification against certificates the
 * test makes itself with GnuTLS (a CA, an intermediate, leaves with DNS and IP
 * names, self-signed, expired, not yet valid, from an unknown CA). */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tlsverify.h"

#define DAY (24 * 3600)

struct cert {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gnutls_datum_t der;
};

static unsigned serial_counter = 1;

static void die(const char *what, int r)
{
	fprintf(stderr, "test setup failed: %s: %s\n", what, gnutls_strerror(r));
	exit(2);
}

/* Make a certificate. issuer NULL: self-signed. names: NULL-terminated list
 * of "dns:NAME" / "ip:ADDR". purpose: key purpose OID or NULL. */
static void make_cert(struct cert *c, const char *dn, const struct cert *issuer, int is_ca, time_t from, time_t until,
                      const char *const *names, const char *purpose)
{
	unsigned char serial[4];
	const char *errp;
	int r;

	if ((r = gnutls_x509_privkey_init(&c->key)) < 0)
		die("privkey_init", r);
	r = gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (r < 0)
		die("privkey_generate", r);
	if ((r = gnutls_x509_crt_init(&c->crt)) < 0)
		die("crt_init", r);
	gnutls_x509_crt_set_version(c->crt, 3);
	serial[0] = 0x01;
	serial[1] = (unsigned char)(serial_counter >> 16);
	serial[2] = (unsigned char)(serial_counter >> 8);
	serial[3] = (unsigned char)serial_counter;
	serial_counter++;
	gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(c->crt, from);
	gnutls_x509_crt_set_expiration_time(c->crt, until);
	if ((r = gnutls_x509_crt_set_dn(c->crt, dn, &errp)) < 0)
		die("set_dn", r);
	if ((r = gnutls_x509_crt_set_key(c->crt, c->key)) < 0)
		die("set_key", r);
	gnutls_x509_crt_set_basic_constraints(c->crt, is_ca, -1);
	if (is_ca) {
		gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	} else {
		gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
		if (purpose)
			gnutls_x509_crt_set_key_purpose_oid(c->crt, purpose, 0);
	}
	for (; names && *names; names++) {
		if (strncmp(*names, "dns:", 4) == 0) {
			r = gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_DNSNAME, *names + 4,
			                                         (unsigned)strlen(*names + 4), GNUTLS_FSAN_APPEND);
		} else {
			unsigned char ip[16];
			int v6 = strchr(*names + 3, ':') != NULL;

			if (inet_pton(v6 ? AF_INET6 : AF_INET, *names + 3, ip) != 1)
				die("bad ip in test", 0);
			r = gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_IPADDRESS, ip, v6 ? 16 : 4,
			                                         GNUTLS_FSAN_APPEND);
		}
		if (r < 0)
			die("set_subject_alt_name", r);
	}
	{
		unsigned char id[64];
		size_t idlen = sizeof(id);

		if (gnutls_x509_crt_get_key_id(c->crt, 0, id, &idlen) == 0)
			gnutls_x509_crt_set_subject_key_id(c->crt, id, idlen);
	}
	if (issuer)
		r = gnutls_x509_crt_sign2(c->crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256, 0);
	else
		r = gnutls_x509_crt_sign2(c->crt, c->crt, c->key, GNUTLS_DIG_SHA256, 0);
	if (r < 0)
		die("sign", r);
	if ((r = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &c->der)) < 0)
		die("export", r);
}

static void free_cert(struct cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
	gnutls_free(c->der.data);
}

static void write_pem(const char *path, const struct cert *c)
{
	gnutls_datum_t pem;
	FILE *f;

	if (gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
		die("export pem", 0);
	f = fopen(path, "w");
	if (!f || fwrite(pem.data, 1, pem.size, f) != pem.size || fclose(f) != 0)
		die("write pem", 0);
	gnutls_free(pem.data);
}

/* Verify a chain of 1 or 2 certificates; returns the result, err filled. */
static int verify(const struct cert *leaf, const struct cert *second, const char *host, const char *ca_file, char *err,
                  size_t errlen)
{
	const unsigned char *der[2];
	size_t len[2], n = 1;

	der[0] = leaf->der.data;
	len[0] = leaf->der.size;
	if (second) {
		der[1] = second->der.data;
		len[1] = second->der.size;
		n = 2;
	}
	return tls_verify_chain(der, len, n, host, ca_file, err, errlen);
}

/* The same chain as PEM, as libcurl reports it. */
static int verify_pem(const struct cert *leaf, const struct cert *second, const char *host, const char *ca_file, char *err,
                      size_t errlen)
{
	gnutls_datum_t pem[2] = { { NULL, 0 }, { NULL, 0 } };
	char *text[2] = { NULL, NULL };
	size_t i, n = second ? 2 : 1;
	int r;

	for (i = 0; i < n; i++) {
		if (gnutls_x509_crt_export2((i ? second : leaf)->crt, GNUTLS_X509_FMT_PEM, &pem[i]) < 0)
			die("export pem", 0);
		text[i] = strndup((const char *)pem[i].data, pem[i].size);
	}
	r = tls_verify_chain_pem((const char *const *)text, n, host, ca_file, err, errlen);
	for (i = 0; i < n; i++) {
		free(text[i]);
		gnutls_free(pem[i].data);
	}
	return r;
}

static int contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		return 1;
	printf("  (message was: %s)\n", hay);
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/test_tlsverify.XXXXXX";
	char ca_path[512], empty_path[512], missing_path[512];
	char err[512];
	time_t now = time(NULL);
	struct cert ca, other_ca, inter, good, ip4, ip6, self, expired, future, foreign, wild, cn_only, client_only,
		via_inter, expired_ca, under_expired_ca;
	static const char *const good_names[] = { "dns:mail.example.test", "dns:imap.example.test", NULL };
	static const char *const ip4_names[] = { "ip:127.0.0.1", NULL };
	static const char *const ip6_names[] = { "ip:::1", NULL };
	static const char *const wild_names[] = { "dns:*.example.test", NULL };
	static const char *const wrong_names[] = { "dns:wrong.example.invalid", NULL };
	FILE *f;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
	snprintf(empty_path, sizeof(empty_path), "%s/empty.pem", dir);
	snprintf(missing_path, sizeof(missing_path), "%s/missing.pem", dir);

	make_cert(&ca, "CN=Relay Test CA", NULL, 1, now - DAY, now + 365 * DAY, NULL, NULL);
	make_cert(&other_ca, "CN=Some Other CA", NULL, 1, now - DAY, now + 365 * DAY, NULL, NULL);
	make_cert(&inter, "CN=Relay Test Intermediate", &ca, 1, now - DAY, now + 365 * DAY, NULL, NULL);
	make_cert(&good, "CN=mail.example.test", &ca, 0, now - DAY, now + 30 * DAY, good_names, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&ip4, "CN=loopback", &ca, 0, now - DAY, now + 30 * DAY, ip4_names, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&ip6, "CN=loopback6", &ca, 0, now - DAY, now + 30 * DAY, ip6_names, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&self, "CN=mail.example.test", NULL, 0, now - DAY, now + 30 * DAY, good_names, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&expired, "CN=mail.example.test", &ca, 0, now - 60 * DAY, now - 2 * DAY, good_names,
	          GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&future, "CN=mail.example.test", &ca, 0, now + 2 * DAY, now + 60 * DAY, good_names,
	          GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&foreign, "CN=mail.example.test", &other_ca, 0, now - DAY, now + 30 * DAY, good_names,
	          GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&wild, "CN=wildcard", &ca, 0, now - DAY, now + 30 * DAY, wild_names, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&cn_only, "CN=legacy.example.test", &ca, 0, now - DAY, now + 30 * DAY, NULL, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&client_only, "CN=mail.example.test", &ca, 0, now - DAY, now + 30 * DAY, good_names,
	          GNUTLS_KP_TLS_WWW_CLIENT);
	make_cert(&via_inter, "CN=wrong", &inter, 0, now - DAY, now + 30 * DAY, wrong_names, GNUTLS_KP_TLS_WWW_SERVER);
	make_cert(&expired_ca, "CN=Expired Intermediate", &ca, 1, now - 60 * DAY, now - DAY, NULL, NULL);
	make_cert(&under_expired_ca, "CN=mail.example.test", &expired_ca, 0, now - 2 * DAY, now + 30 * DAY, good_names,
	          GNUTLS_KP_TLS_WWW_SERVER);

	write_pem(ca_path, &ca);
	f = fopen(empty_path, "w");
	if (f)
		fclose(f);

	/* the good case, and each of its names */
	CHECK_INT("good cert, first name", verify(&good, NULL, "mail.example.test", ca_path, err, sizeof(err)), 0);
	CHECK_INT("good cert, second name", verify(&good, NULL, "imap.example.test", ca_path, err, sizeof(err)), 0);
	CHECK_INT("good cert, name case-insensitive", verify(&good, NULL, "MAIL.Example.TEST", ca_path, err, sizeof(err)),
	          0);
	CHECK_INT("good cert with CA in chain too", verify(&good, &ca, "mail.example.test", ca_path, err, sizeof(err)), 0);

	/* wrong name: names what the certificate is for */
	CHECK_INT("wrong name rejected", verify(&good, NULL, "other.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("wrong name message",
	      contains(
		      err,
		      "certificate does not match host name other.example.test (certificate is for mail.example.test, imap.example.test)"));
	CHECK_INT("dns cert for IP host rejected", verify(&good, NULL, "127.0.0.1", ca_path, err, sizeof(err)), -1);
	CHECK("dns cert for IP host message", contains(err, "does not match host name 127.0.0.1"));

	/* IP literals */
	CHECK_INT("IPv4 SAN ok", verify(&ip4, NULL, "127.0.0.1", ca_path, err, sizeof(err)), 0);
	CHECK_INT("IPv4 SAN other address rejected", verify(&ip4, NULL, "127.0.0.2", ca_path, err, sizeof(err)), -1);
	CHECK("IPv4 SAN message", contains(err, "does not match host name 127.0.0.2 (certificate is for 127.0.0.1)"));
	CHECK_INT("IPv4 SAN not a DNS name", verify(&ip4, NULL, "localhost", ca_path, err, sizeof(err)), -1);
	CHECK_INT("IPv6 SAN ok", verify(&ip6, NULL, "::1", ca_path, err, sizeof(err)), 0);
	CHECK_INT("IPv6 SAN bracketed ok", verify(&ip6, NULL, "[::1]", ca_path, err, sizeof(err)), 0);
	CHECK_INT("IPv6 SAN other address", verify(&ip6, NULL, "::2", ca_path, err, sizeof(err)), -1);
	CHECK("IPv6 message lists ::1", contains(err, "(certificate is for ::1)"));

	/* wildcards and CN fallback */
	CHECK_INT("wildcard matches one label", verify(&wild, NULL, "a.example.test", ca_path, err, sizeof(err)), 0);
	CHECK_INT("wildcard does not match bare domain", verify(&wild, NULL, "example.test", ca_path, err, sizeof(err)), -1);
	CHECK_INT("wildcard does not match two labels", verify(&wild, NULL, "a.b.example.test", ca_path, err, sizeof(err)),
	          -1);
	CHECK_INT("CN-only cert matches its CN", verify(&cn_only, NULL, "legacy.example.test", ca_path, err, sizeof(err)),
	          0);
	CHECK_INT("CN-only cert other name", verify(&cn_only, NULL, "x.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("CN-only message shows CN", contains(err, "(certificate is for legacy.example.test)"));

	/* trust */
	CHECK_INT("self-signed rejected", verify(&self, NULL, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK_STR("self-signed message", err, "certificate not trusted (self-signed)");
	CHECK_INT("unknown CA rejected", verify(&foreign, NULL, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("unknown CA message", contains(err, "certificate not trusted (issuer \"CN=Some Other CA\" is not in CA file"));
	CHECK_INT("unknown CA even with its root sent",
	          verify(&foreign, &other_ca, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("unknown CA root sent message", contains(err, "not trusted"));
	CHECK_INT("test CA not in system store", verify(&good, NULL, "mail.example.test", NULL, err, sizeof(err)), -1);
	CHECK("system store message", contains(err, "is not in the system trust store"));

	/* intermediate: good chain, wrong name through it */
	CHECK_INT("missing intermediate rejected",
	          verify(&via_inter, NULL, "wrong.example.invalid", ca_path, err, sizeof(err)), -1);
	CHECK_INT("leaf + intermediate ok", verify(&via_inter, &inter, "wrong.example.invalid", ca_path, err, sizeof(err)),
	          0);
	CHECK_INT("leaf + intermediate wrong host", verify(&via_inter, &inter, "127.0.0.2", ca_path, err, sizeof(err)), -1);
	CHECK_STR("wrong-name message exact", err,
	          "certificate does not match host name 127.0.0.2 (certificate is for wrong.example.invalid)");

	/* dates */
	CHECK_INT("expired rejected", verify(&expired, NULL, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("expired message", contains(err, "certificate expired (not valid after "));
	CHECK("expired message has only that reason", strchr(err, ';') == NULL);
	CHECK_INT("not yet valid rejected", verify(&future, NULL, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("not yet valid message", contains(err, "certificate not yet valid (valid from "));
	CHECK_INT("expired intermediate rejected",
	          verify(&under_expired_ca, &expired_ca, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("expired intermediate message", contains(err, "CA certificate \"CN=Expired Intermediate\" expired"));

	/* purpose */
	CHECK_INT("client-only cert rejected", verify(&client_only, NULL, "mail.example.test", ca_path, err, sizeof(err)),
	          -1);
	CHECK("client-only message", contains(err, "not meant for a TLS server"));

	/* several problems at once are all reported */
	CHECK_INT("self-signed wrong name", verify(&self, NULL, "other.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("both reasons", contains(err, "self-signed") && contains(err, "does not match host name other.example.test"));

	/* configuration problems */
	CHECK_INT("missing CA file", verify(&good, NULL, "mail.example.test", missing_path, err, sizeof(err)), -1);
	CHECK("missing CA file message", contains(err, "missing.pem: No such file or directory"));
	CHECK_INT("empty CA file", verify(&good, NULL, "mail.example.test", empty_path, err, sizeof(err)), -1);
	CHECK("empty CA file message", contains(err, "no certificates found"));
	CHECK_INT("no certificates", tls_verify_chain(NULL, NULL, 0, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK_INT("no host", verify(&good, NULL, "", ca_path, err, sizeof(err)), -1);
	{
		const unsigned char junk[] = { 0x30, 0x03, 0x01, 0x01, 0x00 };
		const unsigned char *der[1] = { junk };
		size_t len[1] = { sizeof(junk) };

		CHECK_INT("garbage certificate", tls_verify_chain(der, len, 1, "x", ca_path, err, sizeof(err)), -1);
		CHECK("garbage message", contains(err, "unreadable"));
	}
	/* PEM, as libcurl hands the chain over: the same verdicts and words */
	CHECK_INT("pem: good chain", verify_pem(&good, NULL, "mail.example.test", ca_path, err, sizeof(err)), 0);
	CHECK_INT("pem: via intermediate",
	          verify_pem(&via_inter, &inter, "wrong.example.invalid", ca_path, err, sizeof(err)), 0);
	CHECK_INT("pem: self-signed refused", verify_pem(&self, NULL, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("pem: self-signed reason", contains(err, "certificate not trusted (self-signed)"));
	CHECK_INT("pem: expired refused", verify_pem(&expired, NULL, "mail.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("pem: expired reason", contains(err, "certificate expired (not valid after "));
	CHECK_INT("pem: wrong name refused", verify_pem(&good, NULL, "other.example.test", ca_path, err, sizeof(err)), -1);
	CHECK("pem: wrong name reason", contains(err, "does not match host name other.example.test"));
	{
		const char *junk[] = { "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n" };

		CHECK_INT("pem: junk refused", tls_verify_chain_pem(junk, 1, "mail.example.test", ca_path, err, sizeof(err)),
		          -1);
		CHECK("pem: junk reason", contains(err, "server certificate 1 unreadable"));
	}

	/* a tiny error buffer is truncated, never overrun */
	{
		char small[12];

		memset(small, 'x', sizeof(small));
		CHECK_INT("small buffer", verify(&self, NULL, "other.example.test", ca_path, small, sizeof(small)), -1);
		CHECK("small buffer terminated", memchr(small, '\0', sizeof(small)) != NULL);
	}

	free_cert(&ca);
	free_cert(&other_ca);
	free_cert(&inter);
	free_cert(&good);
	free_cert(&ip4);
	free_cert(&ip6);
	free_cert(&self);
	free_cert(&expired);
	free_cert(&future);
	free_cert(&foreign);
	free_cert(&wild);
	free_cert(&cn_only);
	free_cert(&client_only);
	free_cert(&via_inter);
	free_cert(&expired_ca);
	free_cert(&under_expired_ca);
	unlink(ca_path);
	unlink(empty_path);
	rmdir(dir);
	return check_done();
}
