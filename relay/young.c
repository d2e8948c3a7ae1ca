/* young.c: a young person's message, by email or by text, on one path. */
#include "young.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "automatic.h"
#include "budget.h"
#include "clean.h"
#include "history.h"
#include "lifecycle.h"
#include "log.h"
#include "outgoing.h"
#include "phone.h"
#include "policy.h"
#include "received.h"
#include "reference.h"
#include "util.h"

static int new_conversation(struct relay *r, enum channel channel, const char *contact, struct conversation *c)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		unsigned char rnd[REFERENCE_CODE_LEN];
		char ref[REFERENCE_MAX];
		gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd);
		reference_make(r->cfg->reference_prefix, rnd, ref);
		memset(c, 0, sizeof *c);
		c->ref = xstrdup(ref);
		c->channel = channel;
		c->contact = xstrdup(contact);
		c->created_at = c->last_activity = r->now;
		int rc = db_conversation_create(r->db, c);
		if (rc == 0)
			return 0;
		conversation_free(c);
		if (rc < 0)
			return -1;
	}
	log_error("could not find a free conversation reference");
	return -1;
}

/* ---- what every young person's message shares -------------------------------- */

/* Fills what the policy needs to know about the time, the words and the
 * contact. 0 or -1 on a database error. */
static int policy_context(struct relay *r, const struct conversation *c, struct policy_input *pi)
{
	pi->last_urgent_at = c->last_urgent_at;
	pi->last_autoreply_at = c->last_autoreply_at;
	pi->last_adviser_reply_at = c->last_adviser_reply_at;
	int recent = db_outbox_recent(r->db, c->contact, KIND_AUTOREPLY, r->now - 600);
	int blocked = db_contact_blocked(r->db, c->channel, c->contact, r->now);
	if (recent < 0 || blocked < 0 || budget_used(r, &pi->budget_used) < 0)
		return -1;
	pi->sender_recent = recent;
	pi->blocked = blocked;
	return 0;
}

/* The decision, from the clock and the young person's words. */
static void decide(struct relay *r, const struct conversation *c, const char *subject, const char *text,
                   struct policy_input *pi, struct policy_actions *act)
{
	struct policy_settings ps;
	ps.autoreply_window = r->cfg->autoreply_window_hours * 3600L;
	ps.sender_limit = r->cfg->sender_limit;
	ps.urgent_repeat = r->cfg->urgent_repeat_minutes * 60L;
	ps.autoreply_budget = r->cfg->autoreply_budget;
	policy_decide_at(&ps, &r->cfg->hours, r->cfg->urgent, subject, text, pi, act);
	if (pi->urgent)
		log_warn("%s: urgent wording matched", c->ref);
}

/* The conversation a young person's message joins. A closed one reopens
 * when written to within reopen_days; after that a new conversation starts
 * and names the old reference. *fresh is set for a new conversation. */
static int join_conversation(struct relay *r, enum channel channel, const char *contact, struct conversation *c, int *fresh)
{
	*fresh = 0;
	if (c->id && c->state == CONVERSATION_CLOSED) {
		if (c->closed_at && r->now - c->closed_at <= (long long)r->cfg->reopen_days * 86400) {
			lifecycle_set_open(c, 1, r->now);
			log_info("%s: reopened: the young person wrote again", c->ref);
		} else {
			char *prev = xstrdup(c->ref);
			conversation_free(c);
			if (new_conversation(r, channel, contact, c) < 0) {
				free(prev);
				return -1;
			}
			c->previous_ref = prev;
			*fresh = 1;
			log_info("%s: new conversation; the previous one (%s) closed more than %d days ago", c->ref, prev,
			         r->cfg->reopen_days);
			return db_conversation_set_previous(r->db, c->id, prev);
		}
	}
	if (!c->id) {
		if (new_conversation(r, channel, contact, c) < 0)
			return -1;
		*fresh = 1;
	}
	return 0;
}

int young_conversation(struct relay *r, enum channel channel, const char *contact, struct conversation *c)
{
	int fresh;
	memset(c, 0, sizeof *c);
	if (db_conversation_latest_for(r->db, channel, contact, c) < 0 ||
	    join_conversation(r, channel, contact, c, &fresh) < 0) {
		conversation_free(c);
		return -1;
	}
	return 0;
}

/* Lines for the advisers at the top of a forward. */
static void previous_remark(const struct conversation *c, char *out, size_t outlen)
{
	size_t k = strlen(out);
	if (c->previous_ref)
		snprintf(out + k, outlen - k, "Note:      this young person wrote before, in %s (closed).\n",
		         c->previous_ref);
}

/* ---- one path for every channel ---------------------------------------------- */

/* A young person's message as its channel read it. */
struct young_message {
	enum channel channel;
	const char *contact;  /* the sender in the form replies go to; NULL: none could be read */
	long long thread;     /* a conversation its threads answer (email), 0 none */
	const struct mail *m; /* the email; NULL for a text */
	const char *raw;      /* the email as received */
	size_t len;
	const char *subject; /* may be NULL */
	const char *text;    /* the words, for triage and the forward */
	const char *detail;  /* for the transcript row; may be NULL */
	const char *key;     /* inbound key that says "taken in" (a text's), NULL: the caller adds its own */
	enum automatic_reason automatic;
	int bounce; /* a delivery failure known by its subject: forwarded, never answered */
	int cannot_reply;
	int opted_out;
	enum policy_keyword keyword;
	const char *remarks; /* the channel's lines for the advisers */
};

static const char *autoreply_template(enum channel channel, enum policy_autoreply a)
{
	int sms = channel == CHANNEL_SMS;
	switch (a) {
	case POLICY_FIRST_CONTACT:
		return sms ? "sms/first_contact" : "email/first_contact";
	case POLICY_OUT_OF_HOURS:
		return sms ? "sms/out_of_hours" : "email/out_of_hours";
	case POLICY_URGENT:
		return sms ? "sms/urgent" : "email/urgent";
	case POLICY_STOP_CONFIRMATION:
		return sms ? "sms/stop" : NULL;
	case POLICY_START_CONFIRMATION:
		return sms ? "sms/start" : NULL;
	case POLICY_HELP:
		return sms ? "sms/help" : NULL;
	default:
		return NULL;
	}
}

/* Stores, decides and queues a young person's message y: the one path both
 * channels take. *row gets its transcript row. 0 or -1. */
static int receive(struct relay *r, const struct young_message *y, long long *row)
{
	struct conversation c;
	int rc = -1, fresh = 0;
	char remarks[1024] = "";

	memset(&c, 0, sizeof c);
	/* Join by In-Reply-To/References to any id of ours or theirs, then by sender. */
	if (y->thread && db_conversation_by_id(r->db, y->thread, &c) != 0)
		memset(&c, 0, sizeof c);
	if (c.id && c.channel != y->channel) {
		conversation_free(&c);
	}
	if (!c.id && y->contact) {
		int found = db_conversation_latest_for(r->db, y->channel, y->contact, &c);
		if (found < 0)
			return -1;
	}
	if (join_conversation(r, y->channel, y->contact ? y->contact : "unknown", &c, &fresh) < 0) {
		conversation_free(&c);
		return -1;
	}
	if (y->contact && strcasecmp(y->contact, c.contact) != 0)
		snprintf(remarks, sizeof remarks,
		         "Note:      written from a different address than this conversation's; "
		         "replies still go to the conversation's address.\n");
	if (y->remarks) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k, "%s", y->remarks);
	}
	if (y->m) {
		if (received_store(r, &c, y->automatic ? KIND_AUTOMATIC : KIND_INBOUND, y->m, y->raw, y->len, NULL, NULL,
		                   y->detail, row) < 0)
			goto out;
	} else {
		struct message_row mr = {
			.conversation_id = c.id,
			.kind = KIND_INBOUND,
			.channel = y->channel,
			.at = r->now,
			.body = y->text,
			.detail = y->detail,
		};
		if (db_message_add(r->db, &mr, row) < 0)
			goto out;
	}

	struct policy_input pi = {
		.now = r->now,
		.new_conversation = fresh,
		.automatic = y->automatic != AUTOMATIC_NONE,
		.cannot_reply = y->cannot_reply,
		.bounce = y->bounce,
		.opted_out = y->opted_out,
		.keyword = y->keyword,
	};
	struct policy_actions act;
	if (policy_context(r, &c, &pi) < 0)
		goto out;
	if (y->m) {
		/* Triage reads all of the young person's email, quoted parts and
		 * signatures included (a threat pasted under '>' is as urgent as one
		 * typed), less what the relay itself sent them (its signposting says
		 * "in danger"); a "Re:" subject is left out. */
		struct history_texts sent;
		if (history_sent_to_young(r, c.id, &sent) < 0)
			goto out;
		char *own_words = clean_known(y->text, (const char *const *)sent.texts, sent.n);
		history_texts_free(&sent);
		const char *subject =
			y->subject && !str_startswith_ci(y->subject, "re:") && !str_startswith_ci(y->subject, "aw:")
				? y->subject
				: NULL;
		decide(r, &c, subject, own_words, &pi, &act);
		free(own_words);
	} else {
		decide(r, &c, NULL, y->text, &pi, &act);
	}
	previous_remark(&c, remarks, sizeof remarks);

	if (!y->automatic && y->subject) {
		free(c.subject);
		c.subject = xstrdup(y->subject);
	}
	if (act.urgent)
		c.urgent = 1;
	if (act.forward &&
	    outgoing_forward(r, &c, y->subject, y->text, y->m, *row, remarks[0] ? remarks : NULL, act.urgent) < 0)
		goto out;
	if (act.opt != POLICY_OPT_KEEP &&
	    db_contact_set_opted_out(r->db, y->channel, c.contact, act.opt == POLICY_OPT_OUT ? r->now : 0) < 0)
		goto out;
	const char *tmpl = autoreply_template(y->channel, act.autoreply);
	if (tmpl) {
		if ((y->m ? outgoing_autoreply(r, &c, tmpl) : outgoing_text_template(r, &c, KIND_AUTOREPLY, tmpl)) < 0)
			goto out;
		c.last_autoreply_at = r->now;
		if (act.autoreply == POLICY_URGENT)
			c.last_urgent_at = r->now;
	}
	if (budget_after(r, &c, &act) < 0)
		goto out;
	c.last_activity = r->now;
	if (!y->automatic) {
		c.last_inbound_at = r->now;
		c.state = CONVERSATION_OPEN;
	}
	if (db_conversation_update(r->db, &c) < 0 || (y->key && db_inbound_add(r->db, y->key, *row) < 0))
		goto out;
	if (y->m)
		log_info("%s: %s email from a young person%s; %s%s (%s)", c.ref, fresh ? "first" : "new",
		         y->automatic ? " (automatic)" : "", act.forward ? "forwarded" : "not forwarded",
		         act.autoreply ? ", auto-reply queued" : "", act.why);
	else
		log_info("%s: %s text from a young person; %s%s (%s)", c.ref, fresh ? "first" : "new",
		         act.forward ? "forwarded" : "not forwarded", tmpl ? ", text reply queued" : "", act.why);
	if (y->automatic)
		log_info("%s: automatic mail: %s (%s)", c.ref, automatic_reason_text(y->automatic), act.why);
	rc = 0;
out:
	conversation_free(&c);
	return rc;
}

/* ---- what each channel reads ------------------------------------------------- */

int young_email(struct relay *r, const struct mail *m, long long thread, const char *raw, size_t len, long long *row)
{
	const char *written =
		m->from_address ? m->from_address : (m->return_path && *m->return_path ? m->return_path : NULL);
	char normal[ADDRESS_MAX + 1]; /* the form replies go to (address.h) */
	enum address_problem unusable = address_normalise_buf(written, normal, sizeof normal);
	enum automatic_reason automatic = received_classify(r, m);
	char remarks[1024] = "";
	/* A bounce known by its subject alone is forwarded, never answered (automatic.h). */
	int bounce = automatic_forwarded(automatic);

	if (bounce)
		automatic = AUTOMATIC_NONE;
	if (m->parse_error) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k,
		         "Note:      this message could not be read as email (%s); "
		         "it is shown raw.\n",
		         m->parse_error);
	}
	if (m->cut) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k, "Note:      this message was cut: %s.\n", m->cut);
	}
	if (unusable) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k,
		         "Note:      no reply can be sent to the sender: %s; "
		         "no automatic reply was sent.\n",
		         address_problem_text(unusable));
	}
	if (bounce) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k,
		         "Note:      this looks like a delivery failure report; no "
		         "automatic reply was sent.\n");
	}
	struct young_message y = {
		.channel = CHANNEL_EMAIL,
		.contact = unusable ? written : normal,
		.thread = thread,
		.m = m,
		.raw = raw,
		.len = len,
		.subject = m->subject,
		.text = m->text,
		.detail = automatic ? automatic_reason_text(automatic)
		          : bounce  ? automatic_reason_text(AUTOMATIC_BOUNCE_SUBJECT)
		                    : NULL,
		.automatic = automatic,
		.bounce = bounce,
		.cannot_reply = unusable != ADDRESS_OK,
		.remarks = remarks,
	};
	return receive(r, &y, row);
}

int young_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
               long long received_at)
{
	static const char *keyword_names[] = { NULL, "keyword STOP", "keyword START", "keyword HELP" };
	char number[64], remarks[512] = "", *key = xasprintf("sms:%s:%s", provider, id);
	long long row = 0;

	(void)received_at;
	int known = db_inbound_known(r->db, key);
	if (known != 0) {
		free(key);
		return known < 0 ? -1 : 1;
	}
	/* A sender that is not a number keeps its own cleaned form as the key, so
	 * that two odd senders never share one conversation. */
	enum phone_kind kind = phone_normalise(sender ? sender : "", number, sizeof number);
	if (!number[0])
		snprintf(number, sizeof number, "unknown");
	char *text = utf8_sanitize(body ? body : "", body ? strlen(body) : 0);
	enum policy_keyword keyword = policy_keyword(text);
	int opted_out = db_contact_opted_out(r->db, CHANNEL_SMS, number);
	if (keyword)
		snprintf(remarks, sizeof remarks, "Note:      the young person texted %s.\n", keyword_names[keyword] + 8);
	else if (kind != PHONE_NUMBER)
		snprintf(remarks, sizeof remarks, "Note:      sent from a %s; it cannot receive replies.\n",
		         kind == PHONE_SHORT_CODE ? "short code" : "named sender");
	struct young_message y = {
		.channel = CHANNEL_SMS,
		.contact = number,
		.text = text,
		.detail = keyword_names[keyword],
		.key = key,
		.cannot_reply = kind != PHONE_NUMBER,
		.opted_out = opted_out,
		.keyword = keyword,
		.remarks = remarks,
	};
	int rc = opted_out < 0 ? -1 : receive(r, &y, &row);
	free(text);
	free(key);
	return rc;
}
