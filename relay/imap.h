/* imap.h: the inbox young people write to, reached over IMAP.
 *
 * The only module that sees libetpan's IMAP types. One `struct imap` is one
 * logged-in session with one mailbox selected read-write. All calls block,
 * each network step bounded by settings.timeout. Not thread-safe: libetpan
 * keeps per-process state, so use sessions from one thread.
 *
 * Safety rules this module enforces:
 * - the password or token is sent only over TLS whose certificate chain and
 *   host name were verified (tlsverify.h), or when security is
 *   NET_SECURITY_NONE;
 * - fetching never sets \Seen (BODY.PEEK); only imap_mark_seen() does, and the
 *   caller calls it after the message is safely stored;
 * - nothing from a message, and never the password or token, is logged.
 *
 * The process must not die of SIGPIPE when a server drops the connection
 * (libetpan writes with plain send()): imap_open() sets SIGPIPE to SIG_IGN
 * if it is still at its default.
 *
 * Signals HUP INT QUIT TERM CHLD ALRM USR1 USR2 WINCH are held while a call
 * talks to the server (libetpan takes an interrupted poll() for a dead
 * connection) and delivered when it returns, during the IDLE wait, and while
 * a fetch callback runs. A handler that sets a flag should call imap_wake(). */
#ifndef RELAY_IMAP_H
#define RELAY_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "net.h" /* enum net_security */

struct imap_settings {
	const char *host;           /* DNS name or IP literal; certificate is checked against it */
	int port;                   /* 0: 993 for TLS, 143 otherwise */
	enum net_security security; /* TLS: implicit TLS (993); STARTTLS: required,
				       * never falls back to clear; NONE: no TLS at all,
				       * only for a server on this machine */
	const char *username;       /* the mailbox's login; with a token, the address it is for */
	const char *password;       /* NULL when token is set */
	const char *token;          /* an OAuth2 access token (login.h): SASL XOAUTH2 instead of
				  * LOGIN; NULL: the password */
	long long renew_at;         /* with a token: when the session must be made again (unix
				  * seconds): imap_idle returns by then, imap_renewal_due says
				  * so after; 0: never */
	const char *refused_advice; /* with a token: what to do when the server refuses it
				       * (appended to err); NULL: nothing */
	const char *mailbox;        /* NULL: "INBOX" */
	const char *ca_file;        /* PEM CA file; NULL: system trust store */
	int timeout;                /* seconds for each network step; <= 0: 60 */
};

struct imap; /* opaque; one session */

/* Connect, (STARTTLS,) verify the certificate chain and host name, log in
 * (LOGIN, or with a token AUTHENTICATE XOAUTH2), SELECT the mailbox
 * read-write. The settings strings are copied as needed; the password or
 * token is not kept after login.
 *
 * Returns 0 and a session in *out (free with imap_close), or -1 with *out NULL
 * and a message for a person in err, always starting "imap HOST:PORT: ", e.g.
 *   "imap localhost:993: certificate does not match host name 127.0.0.2
 *    (certificate is for wrong.example.invalid); not logging in"
 *   "...: certificate not trusted (self-signed); not logging in"
 *   "...: login refused (check username and password_file): [AUTHENTICATIONFAILED] ..."
 *   "...: the server refused the OAuth2 token (AUTHENTICATE XOAUTH2: ...); ADVICE"
 *   "...: connection refused", "...: timed out after 10 s while waiting for the
 *   greeting", "...: server does not offer STARTTLS; not logging in",
 *   "...: mailbox \"X\" opened read-only; messages could not be marked seen". */
int imap_open(const struct imap_settings *s, struct imap **out, char *err, size_t errlen);

/* Whether the session must be made again (imap_reopen) before it is used:
 * 1 when its token reached settings.renew_at by `now` (unix seconds), 2 when
 * the server ended the session because the token expired (Exchange Online:
 * "* BYE Session invalidated - AccessTokenExpired", in IDLE or to any
 * command: the call then returned -1, or imap_idle 0). Else 0. */
int imap_renewal_due(const struct imap *im, long long now);

/* Makes the session again in place with s (a fresh token): LOGOUT (unless
 * broken), then as imap_open. im stays the caller's to close; on -1 (err as
 * imap_open) it is broken until reopened. */
int imap_reopen(struct imap *im, const struct imap_settings *s, char *err, size_t errlen);

/* The mailbox's UIDVALIDITY and UIDNEXT as reported by SELECT (UIDNEXT 0 when
 * the server did not say). A changed UIDVALIDITY means all stored UIDs for
 * this mailbox are meaningless: rescan and de-duplicate by Message-ID. */
uint32_t imap_uidvalidity(const struct imap *im);
uint32_t imap_uidnext(const struct imap *im);

/* UIDs greater than after_uid (all of them, or with unseen_only only those
 * without \Seen), ascending, without duplicates. (A server answers "UID n:*"
 * with the newest message even when its UID is below n; those are dropped.)
 * On 0, *uids is a malloc'd array the caller frees (NULL when *n is 0).
 * On -1, *uids is NULL, *n is 0, err says why. */
int imap_search(struct imap *im, uint32_t after_uid, int unseen_only, uint32_t **uids, size_t *n, char *err, size_t errlen);

/* Called once per fetched message, in ascending UID order.
 * raw/len: the whole message as stored on the server (RFC 5322, CRLF line
 * ends), borrowed: valid only during the call, not NUL-terminated.
 * truncated: 1 when the message is larger than max_size; raw then holds only
 * its first max_size octets (enough for the headers, to reply and signpost).
 * Return 0 to go on, -1 to stop: imap_fetch then returns -1 (err names the
 * UID). */
typedef int (*imap_message_cb)(void *arg, uint32_t uid, const char *raw, size_t len, int truncated);

/* Fetch the messages with these UIDs (any order; duplicates ignored) with
 * BODY.PEEK[], which never sets \Seen. Bodies come in runs of at most 64
 * messages or 512 KiB (a larger message alone), so memory stays bounded, and
 * the next run is asked for before this one's messages go to cb.
 * max_size: 0 for no limit. UIDs that no longer exist (expunged meanwhile) are
 * skipped without a callback. Returns 0, or -1 on a connection/server error or
 * when cb returned -1. */
int imap_fetch(struct imap *im, const uint32_t *uids, size_t n, size_t max_size, imap_message_cb cb, void *arg, char *err,
               size_t errlen);

/* Add \Seen to every message with a UID from lo to hi (one UID STORE
 * +FLAGS.SILENT; UIDs with no message are no-ops). Call only for messages
 * committed to the database. lo == 0 or hi < lo: nothing. 0 or -1. */
int imap_mark_seen(struct imap *im, uint32_t lo, uint32_t hi, char *err, size_t errlen);

/* 1 if the server offers IDLE (RFC 2177), else 0: then poll with imap_search. */
int imap_has_idle(const struct imap *im);

/* Wait in IDLE for up to `seconds` (capped at 25 minutes, below the 29 the
 * RFC allows, and by the token's renew_at; <= 0 means 1).
 * Returns 1 when the server announced a change (EXISTS, RECENT or EXPUNGE),
 * at once when it did so since the last imap_search (in the answer to a
 * fetch, say: it will not say it again), 0 on timeout or after imap_wake(),
 * -1 when the connection is gone (close it and reconnect). Keep-alive chatter ("* OK Still here") is absorbed.
 * A session ended because its token expired returns 0 (imap_renewal_due is
 * then 1): a reconnect, not a failure. Search
 * after every return, not only after 1: mail that arrived between the last
 * search and IDLE is not always announced.
 * check_ms > 0: every check_ms milliseconds, also leave IDLE and ask (NOOP):
 * servers announce new mail to an idling client only after a delay of their
 * own (Dovecot: 500 ms). */
int imap_idle(struct imap *im, int seconds, int check_ms, char *err, size_t errlen);

/* Make a running (or the next) imap_idle() return 0 soon. Async-signal-safe:
 * meant for SIGTERM/SIGHUP handlers. Does nothing before the first imap_open. */
void imap_wake(void);

/* LOGOUT when the connection still works, then free everything. Never waits
 * on a connection already known to be broken. Accepts NULL. */
void imap_close(struct imap *im);

/* --- pure helpers, exposed for the unit tests --------------------------- */

/* "UID FETCH 4:9,12 (UID BODY.PEEK[])" and its CRLF, for the sorted unique
 * uids[0..n-1] as far as 200 ranges go (*used says how many uids it
 * covers): sizes (with_body 0: "(UID RFC822.SIZE)"), or bodies, whole
 * (partial 0) or their first `partial` octets ("BODY.PEEK[]<0.N>").
 * Caller frees. */
char *imap_fetch_command(const uint32_t *uids, size_t n, int with_body, size_t partial, size_t *used);

#endif
