/* handover.h: one finished message handed to a transport, and what became of
 * it: the type that the outbox fills, the transports (smtp.h's libESMTP and
 * libetpan sessions, graph.h's Microsoft Graph) carry, and session.h's child
 * process reports on. It decides nothing; it is here so that session.h and
 * the transports can share it without including each other (the names keep
 * their smtp_ prefix: SMTP was the first transport, and every caller uses
 * them). */
#ifndef RELAY_HANDOVER_H
#define RELAY_HANDOVER_H

#include <stddef.h>

enum smtp_outcome {
	SMTP_SENT = 0,  /* the server took it for every recipient */
	SMTP_TEMPORARY, /* try again later: 4xx, no reply, session broke */
	SMTP_PERMANENT  /* 5xx for which a retry cannot help */
};

/* One message to hand over. Inputs are borrowed; results are filled by
 * smtp_send(). */
struct smtp_outgoing {
	const char *mail_from; /* envelope sender; "" for the null sender */
	const char *const *rcpt;
	size_t nrcpt;        /* envelope recipients, nrcpt >= 1 */
	const char *receipt; /* NULL, or one line for the receipt file (smtp_session_start) */
	const char *data;
	size_t len; /* the complete message (compose_build): CRLF lines
	                                           of at most 998 octets, with Date, From and
	                                           Message-ID headers, no Bcc. Not dot-stuffed:
	                                           libESMTP stuffs for DATA, and BDAT needs none. */
	/* results */
	enum smtp_outcome outcome;
	size_t rcpt_accepted; /* recipients the server took the message for; with outcome != SMTP_SENT
	                           and rcpt_accepted > 0 it reached some of them (retrying repeats it there) */
	char detail[256];     /* e.g. "451 4.3.0 try later (recipient 2 of 3)"; "" when SMTP_SENT */
	int retry_after;      /* with SMTP_TEMPORARY: seconds the server asked us to wait at least
	                           (Microsoft Graph's Retry-After, graph.h); 0: none (SMTP never sets it) */
};

/* Called with the messages the server has accepted (outcome SMTP_SENT) since
 * the last call: msgs[index[0..n-1]]. The first is reported before the next
 * message is offered; others may have followed while the caller was busy. */
typedef void (*smtp_sent_cb)(void *arg, const size_t *index, size_t n, struct smtp_outgoing *msgs);

#endif
