/* smtp_p.h: what smtp.c (libESMTP, password and no logins) and smtp_etpan.c
 * (libetpan's SMTP client, logins with an OAuth2 token) share. Private to
 * the two: callers see smtp.h only. */
#ifndef RELAY_SMTP_P_H
#define RELAY_SMTP_P_H

#include <stddef.h>

#include "smtp.h"

/* Fills *r from a reply's code and text (the enhanced code "X.Y.Z " at the
 * start of text is taken apart); the text is copied into store, which r->text
 * then points to. */
void smtp_reply_set(struct smtp_reply *r, char *store, size_t storelen, int code, const char *text);

/* Called as soon as the server has taken msg (outcome SMTP_SENT), before the
 * next message is offered. */
typedef void (*smtp_taken_fn)(void *arg, struct smtp_outgoing *msg);

/* One session through libetpan's client for s (with s->username and
 * s->token): connect, greeting, EHLO, STARTTLS (required unless security is
 * none, which settings_check refuses with a login), the certificate chain
 * and host name verified (tlsverify.h) before anything secret leaves, EHLO,
 * AUTH XOAUTH2 in two steps (AUTH XOAUTH2, 334, then the token on a line of
 * its own: Postfix refuses a first AUTH line over 2,048 octets, and Entra's
 * tokens are often longer), then msgs[0..n-1], each judged by smtp_judge()
 * from its own MAIL FROM, RCPT TO and final-dot replies, then QUIT.
 * n == 0: log in and QUIT (relay check).
 *
 * Messages are as smtp_session_start() checked them (CRLF lines, ending in
 * CRLF; not dot-stuffed: libetpan stuffs). port and timeout are resolved.
 * Returns 0 when the session reached MAIL FROM for the first message (n == 0:
 * the login succeeded); every message then has its outcome (SMTP_TEMPORARY
 * "no reply" for those the broken session never offered). -1 with err, as
 * smtp_send() says, when no session could be made. */
int smtp_etpan_session(const struct smtp_settings *s, int port, int timeout, struct smtp_outgoing *const *msgs,
                       size_t n, smtp_taken_fn on_taken, void *arg, char *err, size_t errlen);

#endif
