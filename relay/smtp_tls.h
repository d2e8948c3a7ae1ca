/* smtp_tls.h: the TLS seam of a libESMTP session (smtp_tls.c), private to
 * smtp_esmtp.c. It decides what a server's certificate must be (a chain
 * trusted by ca_file or the system store, issued for the configured host,
 * TLS 1.2); libESMTP does the handshake with the context it is given. */
#ifndef RELAY_SMTP_TLS_H
#define RELAY_SMTP_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "smtp_p.h"

/* A context for w's session (owned by the caller: SSL_CTX_free), verifying
 * during the handshake; it points back to w, which must outlive it, to
 * record a refused chain in w->chain. NULL with err on failure. */
SSL_CTX *smtp_tls_context(struct watch *w, char *err, size_t errlen);
/* Whether ssl's verified peer certificate is issued for w's host. */
int smtp_tls_host_matches(const struct watch *w, SSL *ssl);
/* Frees the chain kept in w. */
void smtp_tls_forget_chain(struct watch *w);

#endif
