/* smtp_p.h: what the SMTP module's files share: smtp.c (the public entry:
 * settings, the child process), smtp_judge.c (what replies mean),
 * smtp_esmtp.c (libESMTP: password and no logins), smtp_tls.c (its TLS
 * context, behind smtp_tls.h) and smtp_etpan.c (libetpan's SMTP client,
 * logins with an OAuth2 token). Private to them: callers see smtp.h only.
 * No libESMTP or OpenSSL type appears here (a job names libESMTP's handles
 * by their struct tags), so smtp.c and smtp_etpan.c do without those headers. */
#ifndef RELAY_SMTP_P_H
#define RELAY_SMTP_P_H

#include <stddef.h>

#include "smtp.h"

#define MAX_CHAIN 16

struct session_child;

/* What we saw of one session, filled by libESMTP's callbacks. */
struct watch {
	const struct smtp_settings *s;
	int port;
	int timeout;
	int want_auth;
	int is_ip; /* host is an IPv4 literal */

	int fd; /* the socket, known once TLS is up; -1 before */
	int connected;
	int tls_ok;                      /* STARTTLS done, certificate and name verified */
	int no_starttls;                 /* STARTTLS needed but not offered */
	long verify_error;               /* X509_V_ERR_* seen in the handshake; 0 none */
	unsigned char *chain[MAX_CHAIN]; /* owned: DER of the refused chain, leaf first */
	size_t chainlen[MAX_CHAIN];
	size_t nchain;
	int wrong_name; /* certificate not issued for host */
	int weak_cipher;
	int client_cert; /* libESMTP found an unusable client cert under $HOME */
	int no_8bitmime;
	int auth_sent, auth_ok, auth_refused;
	int blocked; /* we cut the line before MAIL FROM */

	char phase[12];            /* last command written: "greeting", "EHLO", ... */
	int awaiting_auth;         /* the next final reply answers AUTH */
	struct smtp_reply refusal; /* last 4xx/5xx reply, but to QUIT */
	char refusal_text[200];
	char refusal_phase[12];
	struct smtp_reply auth_reply;
	char auth_text[200];
	char line[512]; /* reply line being assembled */
	size_t linelen;

	struct smtp_outgoing *msgs; /* the caller's array, for report indexes */
	struct job *jobs;           /* the session's messages, for per-message reports */
	size_t njobs;
	struct session_child *child; /* in the session's child: where reports go; NULL otherwise */
};

/* One message as libESMTP reads it. */
struct job {
	struct smtp_outgoing *out;
	struct smtp_message *msg;     /* libESMTP's smtp_message_t */
	struct smtp_recipient **rcpt; /* owned array of nrcpt handles (smtp_recipient_t) */
	int given;                    /* data handed over since the last rewind */
	int abort;                    /* smtp_check: never hand over any data */
	int reported;                 /* session_child_sent already called for it */
};

/* Runs one session over jobs[0..n-1] (n >= 1) for w (settings checked,
 * port and timeout resolved): libESMTP, or libetpan's client for a token
 * login. Returns 0 when it reached MAIL FROM for the first message, else -1
 * with err. require_all: libESMTP's option for smtp_check. (smtp_esmtp.c) */
int smtp_run_session(struct watch *w, struct job *jobs, size_t n, int require_all, char *err, size_t errlen);

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
int smtp_etpan_session(const struct smtp_settings *s, int port, int timeout, struct smtp_outgoing *const *msgs, size_t n,
                       smtp_taken_fn on_taken, void *arg, char *err, size_t errlen);

#endif
