/* graph.h: handing finished messages to Microsoft Graph instead of an SMTP
 * server ([smtp] transport = graph), for a Microsoft 365 tenant where SMTP
 * AUTH is off.
 *
 * Each message is one request, POST {graph_url}/v1.0/users/{mailbox}/sendMail
 * with "Content-Type: text/plain" and the whole MIME message in base64 as
 * the body, authorised by an access token for https://graph.microsoft.com
 * (oauth.h, OAUTH_GRAPH: client credentials, application permission
 * Mail.Send, restricted to the service's mailbox by an application access
 * policy). HTTPS with the certificate verified, through http.h.
 *
 * The same messages (struct smtp_outgoing), outcomes and session calls as
 * smtp.h, so the outbox treats both alike. Each answer is judged alone:
 * - 202 Accepted: SMTP_SENT (for every recipient). Any other 2xx is not
 *   known to be sent: SMTP_TEMPORARY.
 * - 400, 413 and other 4xx (ErrorInvalidRecipients,
 *   ErrorMimeContentInvalidBase64String, ErrorMessageSizeExceeded, ...):
 *   SMTP_PERMANENT, and the session goes on with the next message.
 * - 401: the token is forgotten (here and in the caller's token source) and
 *   renewed once, and the message asked again; a second 401 ends the session
 *   as "no session could be made" (nothing is lost while it is fixed).
 * - 403 (ErrorAccessDenied: Mail.Send not granted, or the application access
 *   policy leaves the mailbox out; ErrorSendAsDenied) and 404 (no such
 *   mailbox): the same, with the instruction that fixes it.
 * - 429, 5xx: SMTP_TEMPORARY with retry_after from Retry-After; the session
 *   stops there (throttling is per mailbox: the rest would be refused too)
 *   and the messages not offered are SMTP_TEMPORARY with the same wait.
 * - A timeout or a connection dropped once the request went out:
 *   SMTP_TEMPORARY (Graph may have taken it: a duplicate risk, never a loss);
 *   the session stops. A failure before anything was sent (name, connect,
 *   certificate, TLS) is "no session could be made", as for SMTP.
 *
 * Graph's MIME send has no envelope: Exchange sends to the To, Cc and Bcc
 * headers, and the From header must be the mailbox (or one it may send as).
 * So that every envelope recipient gets the message exactly once and nobody
 * more does, the request carries a Bcc header naming the envelope recipients
 * the To and Cc headers do not (Exchange removes it from what recipients
 * see; SMTP never sends it), and a message whose To or Cc names anyone
 * outside its envelope is refused (SMTP_PERMANENT) rather than sent to them.
 * The envelope sender (mail_from, "" for the null sender) cannot be set:
 * Exchange sets Return-Path to the mailbox, so bounces come to it.
 *
 * Text in `detail` and `err` may go to logs: the HTTP status, Graph's error
 * code and its message with every word containing '@' replaced by
 * "<address>"; never the token or a body. */
#ifndef RELAY_GRAPH_H
#define RELAY_GRAPH_H

#include <stddef.h>

#include "smtp.h"
#include "util.h"

struct oauth;

/* Graph's request limit for sendMail: the base64 body may not exceed it. */
#define GRAPH_MAX_REQUEST ((size_t)4 << 20)

/* All pointers borrowed for the duration of the session. */
struct graph_settings {
	const char *base_url; /* [oauth] graph_url: "https://graph.microsoft.com" */
	const char *mailbox;  /* the user that sends: [smtp] username, else the address of [smtp] from */
	const char *ca_file;  /* NULL: system store */
	int timeout;          /* seconds per request; <= 0: 30 */
	struct oauth *oauth;  /* the OAUTH_GRAPH token source (oauth_source) */
};

/* As smtp_session_start(): gets a token (renewed when it has less than five
 * minutes left; this may wait for the token endpoint, up to its timeout),
 * then sends every message in a child process, one request each, writing
 * each accepted message's `receipt` line to receipt_fd (or -1) before
 * reporting it. -1 with err (every message SMTP_TEMPORARY) when no token
 * could be had or the settings are unusable. */
struct graph_session;
int graph_session_start(const struct graph_settings *s, struct smtp_outgoing *msgs, size_t n, int receipt_fd,
                        struct graph_session **out, char *err, size_t errlen);

/* As smtp_session_take(). */
int graph_session_take(struct graph_session *gs, int wait, smtp_sent_cb on_sent, void *arg);

/* As smtp_session_end(): 0, or -1 with err when no session could be made
 * (every message not yet reported is then SMTP_TEMPORARY). NULL is fine. */
int graph_session_end(struct graph_session *gs, char *err, size_t errlen);

/* As smtp_send(): the whole session, waited for. */
int graph_send(const struct graph_settings *s, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen);

/* For `relay check` and the health probe: a token, then a sendMail request
 * whose body is not base64, so that nothing can be sent. 400
 * (ErrorMimeContentInvalidBase64String or another 400) means Graph took the
 * token and read the request: 0. 401, 403, 404 and the rest: -1 with err
 * saying what to do. Whether Graph checks Mail.Send and the access policy
 * before it reads the body is not documented: a real send is the proof. */
int graph_check(const struct graph_settings *s, char *err, size_t errlen);

/* --- pure helpers, exposed for the unit tests --------------------------- */

enum graph_verdict {
	GRAPH_SENT,      /* 202 */
	GRAPH_PERMANENT, /* this message can never be sent as it is */
	GRAPH_TEMPORARY, /* this message may go later; the session stops */
	GRAPH_TOKEN,     /* 401: renew the token once */
	GRAPH_REFUSED    /* 403, 404: configuration; no message can go */
};

/* Judges one answer: status, its JSON body (may be NULL) and its
 * Retry-After header (may be NULL; seconds, or an HTTP date compared with
 * now). *retry_after gets the seconds to wait (0: none said; at most a day).
 * detail gets "HTTP 400 ErrorInvalidRecipients: text" with addresses
 * replaced, and for GRAPH_REFUSED the instruction. */
enum graph_verdict graph_judge(long status, const char *body, size_t len, const char *retry_after_header, long long now,
                               int *retry_after, char *detail, size_t detaillen);

/* The message as Graph must get it: o->data with, when some envelope
 * recipients are not in its To or Cc header, a "Bcc:" header naming them
 * (first in the header block), then base64 (no line breaks) into out.
 * -1 with err, out untouched, when the To or Cc header names an address
 * outside the envelope, there is no header block, or the result exceeds
 * GRAPH_MAX_REQUEST. Addresses compare without regard to case. */
int graph_mime(const struct smtp_outgoing *o, struct buf *out, char *err, size_t errlen);

/* The addr-specs of an address-list header value (RFC 5322: display names,
 * quoted strings, comments, groups, folding), each appended to *list
 * (owned strings; *n counts them). 0, or -1 when it cannot be read. */
int graph_address_list(const char *value, char ***list, size_t *n);

#endif
