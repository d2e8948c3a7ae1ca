/* smtp_tls.c: the TLS context of a libESMTP session (OpenSSL, which
 * libESMTP is built on): TLS 1.2 only, the chain verified against ca_file or
 * the system store and issued for the configured host (name or IP address),
 * SNI set, and the refused chain kept for the message that says why
 * (smtp_esmtp.c, session_failure). A token login does its TLS through
 * libetpan and tlsverify.h instead (smtp_etpan.c). */
#include "smtp_tls.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util.h"

int smtp_tls_host_matches(const struct watch *w, SSL *ssl)
{
	X509 *cert;
	int ok;

	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return 0;
	if (w->is_ip)
		ok = X509_check_ip_asc(cert, w->s->host, 0) == 1;
	else
		ok = X509_check_host(cert, w->s->host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	X509_free(cert);
	return ok;
}

static void keep_cert(struct watch *w, X509 *x)
{
	unsigned char *p;
	int n;

	if (!x || w->nchain == MAX_CHAIN || (n = i2d_X509(x, NULL)) <= 0)
		return;
	w->chain[w->nchain] = xmalloc((size_t)n);
	p = w->chain[w->nchain];
	if (i2d_X509(x, &p) != n) {
		free(w->chain[w->nchain]);
		return;
	}
	w->chainlen[w->nchain++] = (size_t)n;
}

void smtp_tls_forget_chain(struct watch *w)
{
	for (size_t i = 0; i < w->nchain; i++)
		free(w->chain[i]);
	w->nchain = 0;
}

/* Remembers the first verification error of the handshake, and the chain
 * the server sent, for the message (see session_failure). */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	STACK_OF(X509) * sent;
	X509 *leaf;
	SSL *ssl;
	struct watch *w;
	int i;

	if (preverify_ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	w = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	if (w && w->verify_error == 0) {
		w->verify_error = X509_STORE_CTX_get_error(xs);
		leaf = X509_STORE_CTX_get0_cert(xs);
		sent = X509_STORE_CTX_get0_untrusted(xs);
		keep_cert(w, leaf);
		for (i = 0; sent && i < sk_X509_num(sent); i++)
			if (!leaf || X509_cmp(sk_X509_value(sent, i), leaf) != 0)
				keep_cert(w, sk_X509_value(sent, i));
	}
	return 0;
}

/* libESMTP sends no SNI and makes the SSL itself; the handshake start is the
 * last moment we can name the server for hosts that serve several certificates. */
static void info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	struct watch *w;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	w = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (w && !w->is_ip && !SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
		SSL_set_tlsext_host_name(ssl, w->s->host);
}

SSL_CTX *smtp_tls_context(struct watch *w, char *err, size_t errlen)
{
	const struct smtp_settings *s = w->s;
	X509_VERIFY_PARAM *param;
	SSL_CTX *ctx;
	int ok;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot set up TLS: %s", ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	/* TLS 1.2 only. Under 1.3 the server's session tickets arrive after the
	 * handshake; libESMTP's loop then sees the socket readable and waits for
	 * the EHLO reply before it has sent EHLO, until the timeout (seen on
	 * every loopback session with Postfix). 1.2 sends its ticket inside the
	 * handshake. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if (s->ca_file)
		ok = SSL_CTX_load_verify_locations(ctx, s->ca_file, NULL) == 1;
	else
		ok = SSL_CTX_set_default_verify_paths(ctx) == 1;
	if (!ok) {
		unsigned long e = ERR_get_error();

		snprintf(err, errlen, "cannot load the CA certificates from %s: %s",
		         s->ca_file ? s->ca_file : "the system store", e ? ERR_reason_error_string(e) : "unknown error");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	ok = w->is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, s->host) : X509_VERIFY_PARAM_set1_host(param, s->host, 0);
	if (ok != 1) {
		snprintf(err, errlen, "cannot check certificates for host %s", s->host);
		goto fail;
	}
	SSL_CTX_set_app_data(ctx, w);
	SSL_CTX_set_info_callback(ctx, info_cb);
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}
