/* smtp.h: handing finished messages to the outgoing mail server.
 *
 * The module's files share the private smtp_p.h: smtp.c is this entry (the
 * settings, the checks before a message is offered, the child process),
 * smtp_judge.c decides what the server's replies mean (pure), smtp_esmtp.c
 * is the only file that sees libESMTP, and smtp_tls.c (smtp_tls.h) the
 * OpenSSL context it is given; a login with an OAuth2 token (SASL XOAUTH2,
 * which libESMTP cannot do) goes through libetpan's SMTP client instead
 * (smtp_etpan.c), with the same contract: the same checks, outcomes, child
 * process and receipts. The child process itself is session.c's.
 * One call is one SMTP session carrying a batch of messages; each message
 * comes back with its own outcome, judged from the server's replies to
 * MAIL FROM, every RCPT TO and the end of DATA — never from libESMTP's
 * session result, which reports success when nothing was sent.
 *
 * Security rules enforced here, whatever the configuration says:
 * - credentials are only sent after STARTTLS with a verified certificate
 *   (trusted by ca_file or the system store, and issued for `host`);
 * - when credentials are configured no message is sent unless the login
 *   succeeded (libESMTP would carry on unauthenticated);
 * - implicit TLS (port 465) is refused: libESMTP cannot do it;
 * - TLS 1.2 only with libESMTP: its protocol loop stalls on TLS 1.3 session
 *   tickets (a token login, through libetpan, takes what GnuTLS offers, as
 *   IMAP does).
 *
 * Each session runs in a child process (libESMTP
 * 1.1.0 crashes when a server drops the connection with three or more
 * pipelined replies outstanding); results come back over a pipe, and may be
 * taken while the session goes on (smtp_session_start).
 *
 * The process must ignore SIGPIPE (main does, for libetpan too): a server
 * that hangs up makes libESMTP write to a closed socket.
 *
 * Text in `detail` and `err` may go to logs: it names the server, the phase
 * and the server's reply with every address in it replaced by "<address>",
 * and recipients by position ("recipient 2 of 3"), never by address. */
#ifndef RELAY_SMTP_H
#define RELAY_SMTP_H

#include <stddef.h>

#include "handover.h"
#include "net.h"

/* All pointers borrowed for the duration of the call. */
struct smtp_settings {
	const char *host;           /* name or IPv4 address (no IPv6 literal: libESMTP cannot parse one) */
	int port;                   /* 0: 587 for starttls, 25 for none */
	enum net_security security; /* NET_SECURITY_TLS is refused */
	const char *username;       /* NULL: no AUTH; with token, the mailbox it is for */
	const char *password;       /* required with username, unless token */
	const char *ca_file;        /* NULL: system store */
	const char *helo;           /* NULL: the system's host name */
	int timeout;                /* seconds for each phase, connect included; <= 0: 60 */
	const char *token;          /* an OAuth2 access token: AUTH XOAUTH2 (two steps) instead of the
	                                   password; never logged or written anywhere */
	const char *no_token;       /* with username and neither: why no token could be had (the
	                                   session fails with these words) */
	const char *refused_advice; /* with token: what to do when the server refuses it */
};

/* Sends every message in one SMTP session to s->host.
 *
 * Returns 0 when the session ran: every message then has its own outcome.
 * A message is SMTP_SENT only when MAIL FROM, every RCPT TO and the end of
 * DATA (250) were accepted. When some replies are temporary and others
 * permanent the message is SMTP_TEMPORARY (a retry may still succeed).
 * A message that fails smtp_message_check() is SMTP_PERMANENT without being
 * offered to the server.
 *
 * Returns -1 when no session could be made — bad settings, cannot connect,
 * no STARTTLS, certificate not verified, login refused or not offered,
 * greeting refused — with err saying why in words a person can act on;
 * every message is then SMTP_TEMPORARY with the same text in detail (a login
 * refused is a configuration problem: nothing is lost while it is fixed).
 *
 * Each wait is bounded by the timeout (the connect to each of the host's
 * addresses, the greeting, every reply), so a session takes at most a few
 * timeouts per message. A timeout after the final dot can mean the server
 * did take the message: TEMPORARY then risks a duplicate, never a loss. */
int smtp_send(const struct smtp_settings *s, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen);

/* The same session, running beside the caller, who takes its reports when
 * convenient (between batches of incoming mail, say).
 *
 * smtp_session_start() checks the settings and each message (as smtp_send)
 * and starts the session in a child process; it does not wait for the
 * server. -1 with err when no session can be started (every message then
 * SMTP_TEMPORARY, as smtp_send). s and msgs are borrowed until
 * smtp_session_end().
 *
 * receipt_fd (or -1): a file open for appending. As soon as the server has
 * accepted a message, before anything else, the session writes that
 * message's `receipt` line to it: the proof of acceptance that survives the
 * relay being killed before it could record it (see outbox.c). */
struct smtp_session;
int smtp_session_start(const struct smtp_settings *s, struct smtp_outgoing *msgs, size_t n, int receipt_fd,
                       struct smtp_session **out, char *err, size_t errlen);

/* Passes what the session has reported since the last call to on_sent (may be
 * NULL). wait: block until there is at least one report (or the end).
 * Returns 1 once the session is over (every message has its outcome), 0 while
 * it runs. */
int smtp_session_take(struct smtp_session *ss, int wait, smtp_sent_cb on_sent, void *arg);

/* Waits for the session to be over (reports not yet taken are not passed on:
 * their messages have their outcome in msgs), frees it, and returns what
 * smtp_send would have: 0, or -1 with err when no session could be made.
 * NULL is fine. */
int smtp_session_end(struct smtp_session *ss, char *err, size_t errlen);

/* For `relay check`: connects, STARTTLS, verifies the certificate, logs in,
 * then ends the session without a message: MAIL FROM:<>, RCPT TO:<> (a
 * recipient servers refuse), QUIT. A server that took that recipient would
 * see DATA and then the connection drop before the final dot, so it delivers
 * nothing. The replies to MAIL and RCPT are not judged.
 * Returns 0, or -1 with err as for smtp_send(). */
int smtp_check(const struct smtp_settings *s, char *err, size_t errlen);

/* --- pure helpers, exposed for the unit tests --------------------------- */

/* One server reply as libESMTP recorded it. code 0: never attempted or no reply. */
struct smtp_reply {
	int code;
	int enh_class, enh_subject, enh_detail; /* 0.0.0 when the server sent none */
	const char *text;                       /* may be NULL; may contain addresses */
};

/* Judges one message from its replies: mail (MAIL FROM), rcpt[0..nrcpt-1]
 * and data (the reply after the final dot). Fills *accepted with the
 * recipients taken (0 unless the data was accepted) and detail with the
 * deciding reply ("" when SMTP_SENT). */
enum smtp_outcome smtp_judge(const struct smtp_reply *mail, const struct smtp_reply *rcpt, size_t nrcpt,
                             const struct smtp_reply *data, size_t *accepted, char *detail, size_t detaillen);

/* Writes "CODE X.Y.Z text (where)" into out: text cut to one line, controls
 * dropped, every word containing '@' replaced by "<address>". */
void smtp_describe(const struct smtp_reply *r, const char *where, char *out, size_t outlen);

/* Checks a message before it is offered: CRLF line ends only (a bare CR or
 * LF could end the DATA early at some servers), lines of at most 998 octets
 * before CRLF, no NUL, ends in CRLF, a header block with Date, From and
 * Message-ID (else libESMTP invents them) and no Bcc (libESMTP passes it on).
 * *eightbit is set when a byte >= 0x80 occurs. 0 or -1 with err. */
int smtp_message_check(const char *data, size_t len, int *eightbit, char *err, size_t errlen);

/* An envelope address libESMTP can put between <> without letting the
 * server see another command: address_sendable() (printable ASCII, an RFC
 * 5321 mailbox, a quoted local part with spaces included, at most 254
 * octets); "" (the null sender) only when null_ok. 1 or 0. */
int smtp_address_ok(const char *addr, int null_ok);

#endif
