/* automatic.h: is an inbound email automatic (an out-of-office, a bounce, a
 * list mail, our own mail coming back)? Such mail is logged and never
 * auto-replied to nor relayed to a young person (email-safety.md, "Is this
 * message automatic?"). A pure decision over plain data: no I/O, no library
 * types; the MIME layer fills in struct automatic_input.
 *
 * What a message answers is not among the signs. Our auto-reply asks the
 * young person to "just reply to this email", so an answer to it alone (only
 * In-Reply-To, or References that name nothing else because the first
 * message had no Message-ID) is what a child typing back sends: threading
 * cannot tell that from an autoresponder echoing our auto-reply, since both
 * answer the message they were given. What does tell them apart is what the
 * machine says about itself or how it writes: Auto-Submitted, X-Autoreply,
 * X-Auto-Response-Suppress, Precedence, List-*, an empty envelope sender,
 * multipart/report, a system sender, an out-of-office subject. The rare
 * responder with none of these costs the advisers one forward; it cannot
 * loop, because our auto-reply carries Auto-Submitted (RFC 3834 responders
 * never answer it) and goes at most once per conversation per window and a
 * few per sender per ten minutes (policy.c). Losing a child's answer costs
 * far more. */
#ifndef RELAY_AUTOMATIC_H
#define RELAY_AUTOMATIC_H

#include <stddef.h>

/* One top-level header as it appeared in the message. Both strings are
 * borrowed; value is already unfolded and decoded to UTF-8. */
struct mail_header {
	const char *name;
	const char *value;
};

/* Everything the decision looks at. Every pointer is borrowed and may be NULL
 * (NULL means "absent"); nothing is kept after automatic_classify returns. */
struct automatic_input {
	const struct mail_header *headers; /* every top-level header, in order */
	size_t nheaders;
	const char *return_path;  /* envelope sender without <>; "" for <>; NULL if absent */
	const char *from_address; /* bare address of From: */
	const char *subject;      /* decoded */
	const char *content_type; /* top-level "type/subtype" (parameters tolerated) */
	const char *loop_stamp;   /* our loop header name, e.g. "X-RUSafe-Loop" */
	const char *own_address;  /* the service's own address, for X-Loop */
};

/* Why a message is automatic. When several rules hold, the first in this
 * order is reported: our own mail and bounces first, the subject guess last. */
enum automatic_reason {
	AUTOMATIC_NONE = 0,
	AUTOMATIC_LOOP,             /* carries our loop stamp, or X-Loop names us */
	AUTOMATIC_NULL_SENDER,      /* Return-Path: <> */
	AUTOMATIC_REPORT,           /* multipart/report: bounce, DSN, read receipt */
	AUTOMATIC_SUBMITTED,        /* Auto-Submitted present and not "no" */
	AUTOMATIC_AUTOREPLY_HEADER, /* X-Autoreply, X-Autorespond, X-Autoresponder */
	AUTOMATIC_SUPPRESS,         /* X-Auto-Response-Suppress lists All or OOF */
	AUTOMATIC_PRECEDENCE,       /* Precedence: bulk, junk, list or auto_reply */
	AUTOMATIC_LIST,             /* any List-* (or Mailing-List) header */
	AUTOMATIC_SYSTEM_SENDER,    /* mailer-daemon, postmaster, noreply, owner-*, ... */
	AUTOMATIC_OOO_SUBJECT,      /* out-of-office subject */
	AUTOMATIC_BOUNCE_SUBJECT    /* a delivery failure's subject, with no other sign (automatic_forwarded) */
};

/* Classify one inbound message. in may be NULL (yields AUTOMATIC_NONE).
 *
 * Details of the rules, decided where the reference is silent:
 * - header names and values compare case-insensitively; for Auto-Submitted
 *   and Precedence only the first token counts (parameters after ';' and
 *   comments are ignored); an empty Auto-Submitted is automatic.
 * - system senders are matched on the local part (before '@', and before a
 *   '+' detail) of both from_address and return_path. "noreply",
 *   "no-reply", "donotreply", "do-not-reply" and "bounce(s)" match only as a
 *   whole word at the start ("noreply-github" yes, "noreplyhelp" no), as
 *   "-bounces"/"-bounce" at the end (Mailman), "owner-*" and "*-request"
 *   need something on the other side of the dash.
 * - out-of-office subjects are matched after stripping Re:/AW:/SV:/Fwd:...
 *   prefixes and [tags] such as [RUS-7K3F2], accent- and case-insensitively,
 *   only at the start of what remains. Plain words that a young person could
 *   use ("Absence", "Abwesenheit", "Afwezig", "Frånvaro", "Ausente") count
 *   only as the whole subject or when followed by ':' or '('.
 * - bounce subjects are matched the same way (after the prefixes, at the
 *   start), and only when no other rule holds. */
enum automatic_reason automatic_classify(const struct automatic_input *in);

/* Is mail of this reason still forwarded to the advisers (and never
 * answered)? Only for AUTOMATIC_BOUNCE_SUBJECT: a bounce from an ordinary
 * address without multipart/report is known by its subject alone
 * ("Undelivered Mail Returned to Sender", "Delivery Status Notification
 * (Failure)", "Mail delivery failed", "Undeliverable:" and translations),
 * and a young person may forward one or write such a subject: it must not
 * be lost, so it is forwarded as any message, but it gets no auto-reply (a
 * bounce answered is backscatter). Forwarding it cannot loop: a bounce of
 * the forward comes from a mailer with an empty envelope sender. */
int automatic_forwarded(enum automatic_reason r);

/* Short English text for a log line, e.g. "out-of-office subject". Static
 * storage; never NULL. */
const char *automatic_reason_text(enum automatic_reason r);

#endif
