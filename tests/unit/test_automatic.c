/* Unit tests for automatic.c: one case per rule, the near-misses that must
 * stay human, and messages where several rules hold at once. */
#include "check.h"
#include "automatic.h"

#include <stdio.h>

#define OWN "relay@rusafe.example.org"
#define STAMP "X-RUSafe-Loop"

struct tcase {
	const char *name;
	struct mail_header h[6];   /* ends at the first NULL name */
	const char *return_path;
	const char *from;
	const char *subject;
	const char *content_type;
	enum automatic_reason want;
};

/* A plain mail from a person unless the case says otherwise. */
#define YP "sam.young@example.net"
/* Our auto-reply as outgoing.c names it, and its subject. */
#define AR "RUS-7K3F2.autoreply.0f1e2d3c4b5a6978@rusafe.example.org"
#define AR_SUBJECT "We got your message"

static const struct tcase cases[] = {
	/* --- ordinary mail ------------------------------------------------- */
	{ "plain young person", { { "Subject", "help" } }, YP, YP, "I need to talk", "text/plain", AUTOMATIC_NONE },
	{ "adviser reply", { { "In-Reply-To", "<a@rusafe>" } }, "jo@council.example", "jo@council.example",
	  "Re: [RUS-7K3F2] I need to talk", "multipart/alternative", AUTOMATIC_NONE },
	{ "nothing known", { { NULL, NULL } }, NULL, NULL, NULL, NULL, AUTOMATIC_NONE },

	/* --- Auto-Submitted ------------------------------------------------- */
	{ "auto-submitted auto-replied", { { "Auto-Submitted", "auto-replied" } }, YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
	{ "auto-submitted auto-generated", { { "Auto-Submitted", "auto-generated" } }, YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
	{ "auto-submitted case and params", { { "auto-submitted", " Auto-Replied; owner-email=\"x@y\"" } }, YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
	{ "auto-submitted unknown value", { { "Auto-Submitted", "auto-notified" } }, YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
	{ "auto-submitted empty", { { "Auto-Submitted", "  " } }, YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
	{ "near: auto-submitted no", { { "Auto-Submitted", "no" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: auto-submitted NO with comment", { { "Auto-Submitted", " NO (human)" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: auto-submitted no with params", { { "Auto-Submitted", "no; x=1" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: auto-submitted nope", { { "Auto-Submitted", "nope" } }, YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },

	/* --- Precedence ----------------------------------------------------- */
	{ "precedence bulk", { { "Precedence", "bulk" } }, YP, YP, "hi", NULL, AUTOMATIC_PRECEDENCE },
	{ "precedence junk", { { "Precedence", "Junk" } }, YP, YP, "hi", NULL, AUTOMATIC_PRECEDENCE },
	{ "precedence list", { { "PRECEDENCE", " LIST " } }, YP, YP, "hi", NULL, AUTOMATIC_PRECEDENCE },
	{ "precedence auto_reply", { { "Precedence", "auto_reply" } }, YP, YP, "hi", NULL, AUTOMATIC_PRECEDENCE },
	{ "near: precedence first-class", { { "Precedence", "first-class" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: precedence special-delivery", { { "Precedence", "special-delivery" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: precedence bulky", { { "Precedence", "bulky" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },

	/* --- List-* ---------------------------------------------------------- */
	{ "list-id", { { "List-Id", "<news.example.org>" } }, YP, YP, "hi", NULL, AUTOMATIC_LIST },
	{ "list-unsubscribe", { { "List-Unsubscribe", "<mailto:u@x>" } }, YP, YP, "hi", NULL, AUTOMATIC_LIST },
	{ "list-post lowercase", { { "list-post", "NO" } }, YP, YP, "hi", NULL, AUTOMATIC_LIST },
	{ "mailing-list (ezmlm)", { { "Mailing-List", "contact x-help@y" } }, YP, YP, "hi", NULL, AUTOMATIC_LIST },
	{ "near: x-list-id is not list-*", { { "X-Listed", "yes" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: listener header", { { "Listener", "yes" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },

	/* --- X-Auto-Response-Suppress -------------------------------------------- */
	{ "suppress all", { { "X-Auto-Response-Suppress", "All" } }, YP, YP, "hi", NULL, AUTOMATIC_SUPPRESS },
	{ "suppress oof in list", { { "X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply" } }, YP, YP, "hi", NULL, AUTOMATIC_SUPPRESS },
	{ "suppress lowercase", { { "x-auto-response-suppress", "oof" } }, YP, YP, "hi", NULL, AUTOMATIC_SUPPRESS },
	{ "near: suppress DR RN only", { { "X-Auto-Response-Suppress", "DR, RN, NRN" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: suppress OOFX", { { "X-Auto-Response-Suppress", "OOFX,Allx" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },

	/* --- X-Autoreply and friends --------------------------------------- */
	{ "x-autoreply", { { "X-Autoreply", "yes" } }, YP, YP, "hi", NULL, AUTOMATIC_AUTOREPLY_HEADER },
	{ "x-autorespond", { { "X-Autorespond", "" } }, YP, YP, "hi", NULL, AUTOMATIC_AUTOREPLY_HEADER },
	{ "x-autoresponder", { { "X-AUTORESPONDER", "vacation" } }, YP, YP, "hi", NULL, AUTOMATIC_AUTOREPLY_HEADER },
	{ "near: x-autoreply-to", { { "X-Autoreply-To", "x@y" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },

	/* --- loops ------------------------------------------------------------ */
	{ "our loop stamp", { { STAMP, "1" } }, YP, YP, "hi", NULL, AUTOMATIC_LOOP },
	{ "our loop stamp lowercase", { { "x-rusafe-loop", "" } }, YP, YP, "hi", NULL, AUTOMATIC_LOOP },
	{ "x-loop names us", { { "X-Loop", OWN } }, YP, YP, "hi", NULL, AUTOMATIC_LOOP },
	{ "x-loop names us bracketed upper", { { "X-Loop", "<RELAY@RUSAFE.EXAMPLE.ORG>" } }, YP, YP, "hi", NULL, AUTOMATIC_LOOP },
	{ "near: x-loop names another", { { "X-Loop", "helpdesk@other.example" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: x-loop longer local part", { { "X-Loop", "not" OWN } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: x-loop longer domain", { { "X-Loop", OWN ".uk" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "near: other loop stamp", { { "X-Other-Loop", "1" } }, YP, YP, "hi", NULL, AUTOMATIC_NONE },

	/* --- envelope and system senders ----------------------------------- */
	{ "null return-path", { { NULL, NULL } }, "", "someone@example.org", "hi", NULL, AUTOMATIC_NULL_SENDER },
	{ "null return-path with brackets", { { NULL, NULL } }, "<>", "someone@example.org", "hi", NULL, AUTOMATIC_NULL_SENDER },
	{ "near: absent return-path", { { NULL, NULL } }, NULL, YP, "hi", NULL, AUTOMATIC_NONE },
	{ "mailer-daemon", { { NULL, NULL } }, YP, "MAILER-DAEMON@mx.example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "mailer-daemon bare", { { NULL, NULL } }, YP, "Mailer-Daemon", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "postmaster", { { NULL, NULL } }, YP, "postmaster@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "noreply", { { NULL, NULL } }, YP, "noreply@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "no-reply upper", { { NULL, NULL } }, YP, "No-Reply@Example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "noreply-service", { { NULL, NULL } }, YP, "noreply-dmarc@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "noreply.dot", { { NULL, NULL } }, YP, "noreply.alerts@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "do-not-reply", { { NULL, NULL } }, YP, "do-not-reply@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "donotreply", { { NULL, NULL } }, YP, "DoNotReply@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "owner-list", { { NULL, NULL } }, YP, "owner-youth-news@lists.example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "list-request", { { NULL, NULL } }, YP, "youth-news-request@lists.example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "listserv", { { NULL, NULL } }, YP, "LISTSERV@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "majordomo", { { NULL, NULL } }, YP, "majordomo@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "bounce", { { NULL, NULL } }, YP, "bounce@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "bounces+verp in return-path", { { NULL, NULL } }, "bounces+sam=example.net@mail.example.org", YP, "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "bounce-123 in return-path", { { NULL, NULL } }, "bounce-12345-abc@esp.example", YP, "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "mailman -bounces", { { NULL, NULL } }, "news-bounces@lists.example.org", YP, "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "noreply with plus", { { NULL, NULL } }, YP, "noreply+abc@example.org", "hi", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "near: noreplyhelp", { { NULL, NULL } }, YP, "noreplyhelp@example.org", "hi", NULL, AUTOMATIC_NONE },
	{ "near: bouncer", { { NULL, NULL } }, YP, "bouncer99@example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: postmaster2", { { NULL, NULL } }, YP, "postmasters@example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: owner alone", { { NULL, NULL } }, YP, "owner@example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: owner- empty", { { NULL, NULL } }, YP, "owner-@example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: -request empty", { { NULL, NULL } }, YP, "-request@example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: requested", { { NULL, NULL } }, YP, "help-requested@example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: noreply in domain", { { NULL, NULL } }, YP, "sam@noreply.example.net", "hi", NULL, AUTOMATIC_NONE },
	{ "near: mailer-daemon in domain", { { NULL, NULL } }, YP, "sam@mailer-daemon.example", "hi", NULL, AUTOMATIC_NONE },
	{ "near: replyno", { { NULL, NULL } }, YP, "jo.noreply@example.net", "hi", NULL, AUTOMATIC_NONE },

	/* --- reports ----------------------------------------------------------- */
	{ "multipart/report", { { NULL, NULL } }, YP, YP, "Delivery Status Notification", "multipart/report", AUTOMATIC_REPORT },
	{ "multipart/report upper with params", { { NULL, NULL } }, YP, YP, "Read: hi", "Multipart/Report; report-type=disposition-notification", AUTOMATIC_REPORT },
	{ "near: multipart/mixed", { { NULL, NULL } }, YP, YP, "hi", "multipart/mixed", AUTOMATIC_NONE },
	{ "near: multipart/reports", { { NULL, NULL } }, YP, YP, "hi", "multipart/reports", AUTOMATIC_NONE },

	/* --- answers to our auto-reply ----------------------------------------
	 * What threads on our auto-reply alone is a person's answer unless it
	 * says it is automatic: what it answers is not a sign (automatic.h). */
	{ "reply: in-reply-to our auto-reply only", { { "In-Reply-To", "<" AR ">" } }, YP, YP, "Re: " AR_SUBJECT,
	  "text/plain; charset=utf-8", AUTOMATIC_NONE },
	{ "reply: references name only our auto-reply", { { "References", "<" AR ">" }, { "In-Reply-To", "<" AR ">" } },
	  YP, YP, "Re: " AR_SUBJECT, "text/plain", AUTOMATIC_NONE },
	{ "reply: no threading headers, our subject", { { NULL, NULL } }, YP, YP, "RE: " AR_SUBJECT, NULL, AUTOMATIC_NONE },
	{ "reply: new subject, threaded", { { "In-Reply-To", "<" AR ">" } }, YP, YP, "can I ring you instead?",
	  "multipart/alternative", AUTOMATIC_NONE },
	{ "reply: phone client says auto-submitted no", { { "In-Reply-To", "<" AR ">" }, { "Auto-Submitted", "no" } },
	  YP, YP, "Re: " AR_SUBJECT, NULL, AUTOMATIC_NONE },
	{ "reply: asks about office hours", { { "In-Reply-To", "<" AR ">" } }, YP, YP,
	  "Re: Out of office hours - will anyone read this?", NULL, AUTOMATIC_NONE },
	{ "reply: absent from school", { { "References", "<" AR ">" } }, YP, YP, "Absence from school", NULL,
	  AUTOMATIC_NONE },
	{ "reply: precedence first-class", { { "In-Reply-To", "<" AR ">" }, { "Precedence", "first-class" } }, YP, YP,
	  "Re: " AR_SUBJECT, NULL, AUTOMATIC_NONE },
	{ "echo: sieve vacation", { { "In-Reply-To", "<" AR ">" }, { "Auto-Submitted", "auto-replied (vacation)" } },
	  YP, YP, "Auto: " AR_SUBJECT, NULL, AUTOMATIC_SUBMITTED },
	{ "echo: gmail vacation responder", { { "In-Reply-To", "<" AR ">" }, { "References", "<" AR ">" },
	  { "Auto-Submitted", "auto-replied" } }, YP, YP, "On holiday until 4 January", NULL, AUTOMATIC_SUBMITTED },
	{ "echo: exchange out of office", { { "In-Reply-To", "<" AR ">" }, { "Auto-Submitted", "auto-generated" },
	  { "X-Auto-Response-Suppress", "All" } }, YP, YP, "Automatic reply: " AR_SUBJECT, NULL, AUTOMATIC_SUBMITTED },
	{ "echo: old exchange, subject only", { { "In-Reply-To", "<" AR ">" } }, YP, YP,
	  "Out of Office AutoReply: " AR_SUBJECT, NULL, AUTOMATIC_OOO_SUBJECT },
	{ "echo: exchange, suppress only", { { "In-Reply-To", "<" AR ">" }, { "X-Auto-Response-Suppress", "OOF, DR" } },
	  YP, YP, "Re: " AR_SUBJECT, NULL, AUTOMATIC_SUPPRESS },
	{ "echo: vacation(1), precedence junk", { { "In-Reply-To", "<" AR ">" }, { "Precedence", "junk" } }, YP, YP,
	  "away from my mail", NULL, AUTOMATIC_PRECEDENCE },
	{ "echo: x-autoreply", { { "X-Autoreply", "yes" }, { "In-Reply-To", "<" AR ">" } }, YP, YP, "Re: " AR_SUBJECT,
	  NULL, AUTOMATIC_AUTOREPLY_HEADER },
	{ "echo: german subject, no headers", { { "References", "<" AR ">" } }, YP, YP,
	  "Abwesenheitsnotiz: " AR_SUBJECT, NULL, AUTOMATIC_OOO_SUBJECT },
	{ "echo: bounce of our auto-reply", { { "Auto-Submitted", "auto-replied" } }, "", "MAILER-DAEMON@mx.example.net",
	  "Undelivered Mail Returned to Sender", "multipart/report; report-type=delivery-status", AUTOMATIC_NULL_SENDER },
	{ "echo: mailbox-full notice from postmaster", { { "In-Reply-To", "<" AR ">" } }, YP, "postmaster@example.net",
	  "Mailbox full", NULL, AUTOMATIC_SYSTEM_SENDER },
	{ "echo: read receipt", { { "In-Reply-To", "<" AR ">" } }, YP, YP, "Read: " AR_SUBJECT,
	  "multipart/report; report-type=disposition-notification", AUTOMATIC_REPORT },
	{ "echo: our auto-reply forwarded back by a rule", { { STAMP, "1" }, { "Auto-Submitted", "auto-replied" },
	  { "X-Auto-Response-Suppress", "All" } }, YP, OWN, AR_SUBJECT, NULL, AUTOMATIC_LOOP },
	{ "echo: list that resends it", { { "List-Id", "<family.example.net>" }, { "In-Reply-To", "<" AR ">" } },
	  "family-bounces@example.net", YP, "Re: " AR_SUBJECT, NULL, AUTOMATIC_LIST },
	/* Accepted cost: a responder with no sign at all reaches the advisers once. */
	{ "echo: unmarked responder, plain subject", { { "In-Reply-To", "<" AR ">" } }, YP, YP, "Re: " AR_SUBJECT,
	  NULL, AUTOMATIC_NONE },

	/* --- bounces without multipart/report, known by their subject ------------ */
	{ "postfix bounce subject", { { NULL, NULL } }, "someone@example.com", "someone@example.com",
	  "Undelivered Mail Returned to Sender", "text/plain", AUTOMATIC_BOUNCE_SUBJECT },
	{ "gmail DSN subject", { { NULL, NULL } }, YP, YP, "Delivery Status Notification (Failure)", NULL,
	  AUTOMATIC_BOUNCE_SUBJECT },
	{ "exim subject", { { NULL, NULL } }, YP, YP, "Mail delivery failed: returning message to sender", NULL,
	  AUTOMATIC_BOUNCE_SUBJECT },
	{ "exchange subject", { { NULL, NULL } }, YP, YP, "Undeliverable: [RUS-7K3F2] We got your message", NULL,
	  AUTOMATIC_BOUNCE_SUBJECT },
	{ "german exchange", { { NULL, NULL } }, YP, YP, "Unzustellbar: hallo", NULL, AUTOMATIC_BOUNCE_SUBJECT },
	{ "french exchange", { { NULL, NULL } }, YP, YP, "Non remis : bonjour", NULL, AUTOMATIC_BOUNCE_SUBJECT },
	{ "spanish", { { NULL, NULL } }, YP, YP, "No se puede entregar: hola", NULL, AUTOMATIC_BOUNCE_SUBJECT },
	{ "polish with accents", { { NULL, NULL } }, YP, YP, "Nie można dostarczyć: cześć", NULL,
	  AUTOMATIC_BOUNCE_SUBJECT },
	{ "qmail failure notice", { { NULL, NULL } }, YP, YP, "failure notice", NULL, AUTOMATIC_BOUNCE_SUBJECT },
	{ "forwarded bounce subject", { { NULL, NULL } }, YP, YP, "Fwd: Undelivered Mail Returned to Sender", NULL,
	  AUTOMATIC_BOUNCE_SUBJECT },
	{ "bounce from mailer-daemon is a system sender first", { { NULL, NULL } }, "MAILER-DAEMON@mx.example.com",
	  "MAILER-DAEMON@mx.example.com", "Undelivered Mail Returned to Sender", "text/plain", AUTOMATIC_SYSTEM_SENDER },
	{ "bounce with empty return-path is a null sender first", { { NULL, NULL } }, "", YP,
	  "Mail delivery failed", NULL, AUTOMATIC_NULL_SENDER },
	{ "near: a child's subject about failing", { { NULL, NULL } }, YP, YP, "I failed my delivery driving test",
	  NULL, AUTOMATIC_NONE },
	{ "near: undeliverables later in the subject", { { NULL, NULL } }, YP, YP, "my letter was undeliverable", NULL,
	  AUTOMATIC_NONE },
	{ "near: delivery failures plural word", { { NULL, NULL } }, YP, YP, "Delivery failures at school", NULL,
	  AUTOMATIC_NONE },

	/* --- out-of-office subjects -------------------------------------------- */
	{ "outlook automatic reply", { { NULL, NULL } }, YP, YP, "Automatic reply: [RUS-7K3F2] New message", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "auto: prefix", { { NULL, NULL } }, YP, YP, "Auto: Re: [RUS-7K3F2] hello", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "autoreply", { { NULL, NULL } }, YP, YP, "AUTOREPLY", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "auto-reply", { { NULL, NULL } }, YP, YP, "Auto-Reply: thanks for your email", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "out of office", { { NULL, NULL } }, YP, YP, "Out of Office", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "out-of-office hyphens", { { NULL, NULL } }, YP, YP, "Out-Of-Office: back on Monday", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "near: I am out of the office", { { NULL, NULL } }, YP, YP, "I am out of the office", NULL, AUTOMATIC_NONE },
	{ "out of the office at start", { { NULL, NULL } }, YP, YP, "Out of the office until 3 December", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "away from my desk", { { NULL, NULL } }, YP, YP, "Away from my desk", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "after Re: prefix", { { NULL, NULL } }, YP, YP, "Re: Out of Office", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "after tag", { { NULL, NULL } }, YP, YP, "[RUS-7K3F2] Automatic reply: New message", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "after RE: and tag", { { NULL, NULL } }, YP, YP, "RE: [RUS-7K3F2] Out of office", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "after counted Re[2]:", { { NULL, NULL } }, YP, YP, "Re[2]: AW: Automatic reply", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "german abwesenheitsnotiz", { { NULL, NULL } }, YP, YP, "Abwesenheitsnotiz: Re: [RUS-7K3F2] Hallo", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "german automatische antwort after AW", { { NULL, NULL } }, YP, YP, "AW: Automatische Antwort: Hallo", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "german abwesenheit alone", { { NULL, NULL } }, YP, YP, "Abwesenheit", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "german abwesenheit colon", { { NULL, NULL } }, YP, YP, "Abwesenheit: bis 28.11.", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "french reponse automatique accented", { { NULL, NULL } }, YP, YP, "Réponse automatique : [RUS-7K3F2] Bonjour", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "french upper accented", { { NULL, NULL } }, YP, YP, "RÉPONSE AUTOMATIQUE", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "french unaccented", { { NULL, NULL } }, YP, YP, "Reponse automatique: Bonjour", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "french absence alone", { { NULL, NULL } }, YP, YP, "Absence", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "french absence with dates", { { NULL, NULL } }, YP, YP, "Absence (21/11 - 28/11)", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "spanish respuesta automatica", { { NULL, NULL } }, YP, YP, "Respuesta automática: Hola", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "spanish fuera de la oficina", { { NULL, NULL } }, YP, YP, "Fuera de la oficina", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "italian risposta automatica", { { NULL, NULL } }, YP, YP, "R: Risposta automatica: Ciao", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "italian fuori ufficio", { { NULL, NULL } }, YP, YP, "Fuori ufficio", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "dutch automatisch antwoord", { { NULL, NULL } }, YP, YP, "Automatisch antwoord: Hallo", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "dutch afwezig", { { NULL, NULL } }, YP, YP, "Afwezig", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "swedish autosvar after SV", { { NULL, NULL } }, YP, YP, "SV: Autosvar: Hej", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "swedish franvaro accented", { { NULL, NULL } }, YP, YP, "Frånvaro", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "norwegian autosvar", { { NULL, NULL } }, YP, YP, "Autosvar", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "polish poza biurem", { { NULL, NULL } }, YP, YP, "Poza biurem", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "polish odpowiedz automatyczna", { { NULL, NULL } }, YP, YP, "Odpowiedź automatyczna: Cześć", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "no-break space inside", { { NULL, NULL } }, YP, YP, "Out\xC2\xA0of\xC2\xA0Office", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "near: out of ideas", { { NULL, NULL } }, YP, YP, "Out of ideas", NULL, AUTOMATIC_NONE },
	{ "near: absent from school", { { NULL, NULL } }, YP, YP, "Absent from school", NULL, AUTOMATIC_NONE },
	{ "near: I am absent from school", { { NULL, NULL } }, YP, YP, "I am absent from school", NULL, AUTOMATIC_NONE },
	{ "near: absence from school", { { NULL, NULL } }, YP, YP, "Absence from school", NULL, AUTOMATIC_NONE },
	{ "near: out of office hours", { { NULL, NULL } }, YP, YP, "Out of office hours - can I still message?", NULL, AUTOMATIC_NONE },
	{ "near: pattern mid-subject", { { NULL, NULL } }, YP, YP, "Re: my mum sent an automatic reply", NULL, AUTOMATIC_NONE },
	{ "near: autoreplying word", { { NULL, NULL } }, YP, YP, "Autoreplying is annoying", NULL, AUTOMATIC_NONE },
	{ "near: auto without colon", { { NULL, NULL } }, YP, YP, "Auto crash yesterday", NULL, AUTOMATIC_NONE },
	{ "near: out of officers", { { NULL, NULL } }, YP, YP, "Out of officers to talk to?", NULL, AUTOMATIC_NONE },
	{ "near: afwezigheid vader", { { NULL, NULL } }, YP, YP, "Afwezig vader", NULL, AUTOMATIC_NONE },
	{ "near: Re: alone", { { NULL, NULL } }, YP, YP, "Re:", NULL, AUTOMATIC_NONE },
	{ "near: unterminated tag", { { NULL, NULL } }, YP, YP, "[RUS-7K3F2 Out of Office", NULL, AUTOMATIC_NONE },
	{ "near: empty subject", { { NULL, NULL } }, YP, YP, "", NULL, AUTOMATIC_NONE },
	{ "truncated utf-8 in subject", { { NULL, NULL } }, YP, YP, "Hi \xC3", NULL, AUTOMATIC_NONE },

	/* --- several rules: the most telling one is reported ------------------- */
	{ "combined: bounce with null sender and report", { { "Auto-Submitted", "auto-replied" } }, "",
	  "MAILER-DAEMON@mx.example.org", "Undelivered Mail Returned to Sender", "multipart/report", AUTOMATIC_NULL_SENDER },
	{ "combined: our mail back beats everything", { { "Auto-Submitted", "auto-replied" }, { STAMP, "1" }, { "Precedence", "bulk" },
	  { "In-Reply-To", "<" AR ">" } }, "", "noreply@example.org", "Automatic reply: x", "multipart/report", AUTOMATIC_LOOP },
	{ "combined: exchange ooo", { { "Auto-Submitted", "auto-replied" }, { "X-Auto-Response-Suppress", "All" } },
	  "jo@council.example", "jo@council.example", "Automatic reply: [RUS-7K3F2] hello", NULL, AUTOMATIC_SUBMITTED },
	{ "combined: suppress before precedence", { { "Precedence", "bulk" }, { "X-Auto-Response-Suppress", "OOF" } },
	  YP, YP, "hi", NULL, AUTOMATIC_SUPPRESS },
	{ "combined: newsletter", { { "List-Unsubscribe", "<https://x>" }, { "Precedence", "bulk" } },
	  "bounces+1@esp.example", "news@example.org", "Our news", NULL, AUTOMATIC_PRECEDENCE },
	{ "combined: subject only from adviser", { { "Auto-Submitted", "no" }, { "Precedence", "first-class" } },
	  "jo@council.example", "jo@council.example", "Out of Office: Jo", NULL, AUTOMATIC_OOO_SUBJECT },
	{ "combined: later auto-submitted counts", { { "Auto-Submitted", "no" }, { "Auto-Submitted", "auto-generated" } },
	  YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
	{ "combined: null header entries skipped", { { "X-Empty", NULL }, { "Precedence", NULL }, { "Auto-Submitted", NULL } },
	  YP, YP, "hi", NULL, AUTOMATIC_SUBMITTED },
};

int main(void)
{
	size_t ncases = sizeof cases / sizeof cases[0];

	for (size_t i = 0; i < ncases; i++) {
		const struct tcase *c = &cases[i];
		struct automatic_input in = { 0 };
		size_t n = 0;
		char label[160];

		while (n < 6 && c->h[n].name)
			n++;
		in.headers = c->h;
		in.nheaders = n;
		in.return_path = c->return_path;
		in.from_address = c->from;
		in.subject = c->subject;
		in.content_type = c->content_type;
		in.loop_stamp = STAMP;
		in.own_address = OWN;
		enum automatic_reason got = automatic_classify(&in);
		snprintf(label, sizeof label, "%s (got \"%s\")", c->name, automatic_reason_text(got));
		CHECK_INT(label, got, c->want);
	}

	/* No loop stamp or own address configured: the loop rules are off. */
	{
		struct mail_header h[] = { { "X-Loop", "" }, { "", "x" } };
		struct automatic_input in = { .headers = h, .nheaders = 2, .loop_stamp = "", .own_address = "" };
		CHECK_INT("empty stamp and own address never match", automatic_classify(&in), AUTOMATIC_NONE);
		in.loop_stamp = NULL;
		in.own_address = NULL;
		CHECK_INT("NULL stamp and own address never match", automatic_classify(&in), AUTOMATIC_NONE);
	}
	CHECK_INT("NULL input", automatic_classify(NULL), AUTOMATIC_NONE);

	CHECK_STR("reason text ooo", automatic_reason_text(AUTOMATIC_OOO_SUBJECT), "out-of-office subject");
	CHECK_STR("reason text none", automatic_reason_text(AUTOMATIC_NONE), "not automatic");
	CHECK("a bounce known by its subject alone is still forwarded", automatic_forwarded(AUTOMATIC_BOUNCE_SUBJECT));
	CHECK("a bounce with other signs is not", !automatic_forwarded(AUTOMATIC_NULL_SENDER) &&
	      !automatic_forwarded(AUTOMATIC_SYSTEM_SENDER) && !automatic_forwarded(AUTOMATIC_REPORT) &&
	      !automatic_forwarded(AUTOMATIC_OOO_SUBJECT) && !automatic_forwarded(AUTOMATIC_NONE));
	CHECK_STR("reason text out of range", automatic_reason_text((enum automatic_reason)99), "unknown");
	for (int r = AUTOMATIC_NONE; r <= AUTOMATIC_BOUNCE_SUBJECT; r++)
		CHECK("every reason has a text", automatic_reason_text((enum automatic_reason)r)[0] != '\0' &&
		      strcmp(automatic_reason_text((enum automatic_reason)r), "unknown") != 0);
	return check_done();
}
