/* young.c: a young person's message, by email or by text. */
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
#include "log.h"
#include "outgoing.h"
#include "phone.h"
#include "policy.h"
#include "received.h"
#include "reference.h"
#include "util.h"

static int new_conversation(struct relay *r, const char *channel, const char *contact, struct conversation *c)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		unsigned char rnd[REFERENCE_CODE_LEN];
		char ref[REFERENCE_MAX];
		gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd);
		reference_make(r->cfg->reference_prefix, rnd, ref);
		memset(c, 0, sizeof *c);
		c->ref = xstrdup(ref);
		c->channel = xstrdup(channel);
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
	int recent = db_outbox_recent(r->db, c->contact, "autoreply", r->now - 600);
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
static int join_conversation(struct relay *r, const char *channel, const char *contact, struct conversation *c,
                             int *fresh)
{
	*fresh = 0;
	if (c->id && !strcmp(c->state, "closed")) {
		if (c->closed_at && r->now - c->closed_at <= (long long)r->cfg->reopen_days * 86400) {
			free(c->state);
			c->state = xstrdup("open");
			c->closed_at = 0;
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

int young_conversation(struct relay *r, const char *channel, const char *contact, struct conversation *c)
{
	int fresh;
	memset(c, 0, sizeof *c);
	if (db_conversation_latest_for(r->db, channel, contact, c) < 0 || join_conversation(r, channel, contact, c, &fresh) < 0) {
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
		snprintf(out + k, outlen - k, "Note:      this young person wrote before, in %s (closed).\n", c->previous_ref);
}

/* ---- a young person's email ------------------------------------------------- */

int young_email(struct relay *r, const struct mail *m, long long thread, const char *raw, size_t len,
                long long *row)
{
	struct conversation c;
	const char *written = m->from_address ? m->from_address : (m->return_path && *m->return_path ? m->return_path : NULL);
	char normal[ADDRESS_MAX + 1];   /* the form replies go to (address.h) */
	enum address_problem unusable = address_normalise_buf(written, normal, sizeof normal);
	const char *sender = unusable ? written : normal;
	enum automatic_reason automatic = received_classify(r, m);
	int rc = -1, fresh = 0;
	char remarks[1024] = "";
	/* A bounce known by its subject alone is forwarded, never answered (automatic.h). */
	int bounce = automatic_forwarded(automatic);

	if (bounce)
		automatic = AUTOMATIC_NONE;

	memset(&c, 0, sizeof c);
	/* Join by In-Reply-To/References to any id of ours or theirs, then by sender. */
	if (thread && db_conversation_by_id(r->db, thread, &c) != 0)
		memset(&c, 0, sizeof c);
	if (c.id && c.channel && strcmp(c.channel, "email") != 0) {
		conversation_free(&c);
	}
	if (!c.id && sender) {
		int found = db_conversation_latest_for(r->db, "email", sender, &c);
		if (found < 0)
			return -1;
	}
	if (join_conversation(r, "email", sender ? sender : "unknown", &c, &fresh) < 0) {
		conversation_free(&c);
		return -1;
	}
	if (sender && strcasecmp(sender, c.contact) != 0)
		snprintf(remarks, sizeof remarks, "Note:      written from a different address than this conversation's; "
		         "replies still go to the conversation's address.\n");
	if (m->parse_error) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k, "Note:      this message could not be read as email (%s); "
		         "it is shown raw.\n", m->parse_error);
	}
	if (m->cut) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k, "Note:      this message was cut: %s.\n", m->cut);
	}
	if (unusable) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k, "Note:      no reply can be sent to the sender: %s; "
		         "no automatic reply was sent.\n", address_problem_text(unusable));
	}

	if (bounce) {
		size_t k = strlen(remarks);
		snprintf(remarks + k, sizeof remarks - k, "Note:      this looks like a delivery failure report; no "
		         "automatic reply was sent.\n");
	}
	const char *detail = automatic ? automatic_reason_text(automatic)
	                     : bounce  ? automatic_reason_text(AUTOMATIC_BOUNCE_SUBJECT)
	                               : NULL;
	if (received_store(r, &c, automatic ? "automatic" : "inbound", m, raw, len, NULL, NULL, detail, row) < 0)
		goto out;

	struct policy_input pi = {
		.now = r->now,
		.new_conversation = fresh,
		.automatic = automatic != AUTOMATIC_NONE,
		.cannot_reply = unusable != ADDRESS_OK,
		.bounce = bounce,
	};
	struct policy_actions act;
	if (policy_context(r, &c, &pi) < 0)
		goto out;
	/* Triage reads all of the young person's message, quoted parts and
	 * signatures included (a threat pasted under '>' is as urgent as one
	 * typed), less what the relay itself sent them (its signposting says
	 * "in danger"); a "Re:" subject is left out. */
	struct history_texts sent;
	if (history_sent_to_young(r, c.id, &sent) < 0)
		goto out;
	char *own_words = clean_known(m->text, (const char *const *)sent.texts, sent.n);
	history_texts_free(&sent);
	const char *subject = m->subject && !str_startswith_ci(m->subject, "re:") && !str_startswith_ci(m->subject, "aw:")
	                              ? m->subject
	                              : NULL;
	decide(r, &c, subject, own_words, &pi, &act);
	free(own_words);
	previous_remark(&c, remarks, sizeof remarks);

	if (!automatic && m->subject) {
		free(c.subject);
		c.subject = xstrdup(m->subject);
	}
	if (act.urgent)
		c.urgent = 1;
	if (act.forward && outgoing_forward(r, &c, m->subject, m->text, m, *row, remarks[0] ? remarks : NULL,
	                                    act.urgent) < 0)
		goto out;
	const char *tmpl = act.autoreply == POLICY_URGENT        ? "email/urgent"
	                   : act.autoreply == POLICY_OUT_OF_HOURS ? "email/out_of_hours"
	                   : act.autoreply == POLICY_FIRST_CONTACT ? "email/first_contact"
	                                                           : NULL;
	if (tmpl) {
		if (outgoing_autoreply(r, &c, tmpl) < 0)
			goto out;
		c.last_autoreply_at = r->now;
		if (act.autoreply == POLICY_URGENT)
			c.last_urgent_at = r->now;
	}
	if (budget_after(r, &c, &act) < 0)
		goto out;
	c.last_activity = r->now;
	if (!automatic) {
		c.last_inbound_at = r->now;
		free(c.state);
		c.state = xstrdup("open");
	}
	if (db_conversation_update(r->db, &c) < 0)
		goto out;
	log_info("%s: %s email from a young person%s; %s%s (%s)", c.ref, fresh ? "first" : "new",
	         automatic ? " (automatic)" : "", act.forward ? "forwarded" : "not forwarded",
	         act.autoreply ? ", auto-reply queued" : "", act.why);
	if (automatic)
		log_info("%s: automatic mail: %s (%s)", c.ref, automatic_reason_text(automatic), act.why);
	rc = 0;
out:
	conversation_free(&c);
	return rc;
}

/* ---- a text message ---------------------------------------------------------- */

static const char *autoreply_template(enum policy_autoreply a)
{
	switch (a) {
	case POLICY_FIRST_CONTACT: return "sms/first_contact";
	case POLICY_OUT_OF_HOURS: return "sms/out_of_hours";
	case POLICY_URGENT: return "sms/urgent";
	case POLICY_STOP_CONFIRMATION: return "sms/stop";
	case POLICY_START_CONFIRMATION: return "sms/start";
	case POLICY_HELP: return "sms/help";
	default: return NULL;
	}
}

int young_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
               long long received_at)
{
	char number[64], *key = xasprintf("sms:%s:%s", provider, id);
	struct conversation c;
	long long row = 0;
	int rc = -1, fresh = 0;

	(void)received_at;
	memset(&c, 0, sizeof c);
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
	if (db_conversation_latest_for(r->db, "sms", number, &c) < 0 || join_conversation(r, "sms", number, &c, &fresh) < 0)
		goto out;
	char *text = utf8_sanitize(body ? body : "", body ? strlen(body) : 0);
	enum policy_keyword keyword = policy_keyword(text);
	int opted_out = db_contact_opted_out(r->db, "sms", number);
	if (opted_out < 0) {
		free(text);
		goto out;
	}
	static const char *keyword_names[] = { NULL, "keyword STOP", "keyword START", "keyword HELP" };
	struct message_row mr = {
		.conversation_id = c.id,
		.kind = "inbound",
		.channel = "sms",
		.at = r->now,
		.body = text,
		.detail = keyword_names[keyword],
	};
	if (db_message_add(r->db, &mr, &row) < 0) {
		free(text);
		goto out;
	}

	struct policy_input pi = {
		.now = r->now,
		.new_conversation = fresh,
		.cannot_reply = kind != PHONE_NUMBER,
		.opted_out = opted_out,
		.keyword = keyword,
	};
	struct policy_actions act;
	if (policy_context(r, &c, &pi) < 0) {
		free(text);
		goto out;
	}
	decide(r, &c, NULL, text, &pi, &act);

	char remarks[512] = "";
	if (keyword)
		snprintf(remarks, sizeof remarks, "Note:      the young person texted %s.\n", keyword_names[keyword] + 8);
	else if (kind != PHONE_NUMBER)
		snprintf(remarks, sizeof remarks, "Note:      sent from a %s; it cannot receive replies.\n",
		         kind == PHONE_SHORT_CODE ? "short code" : "named sender");
	previous_remark(&c, remarks, sizeof remarks);
	if (act.urgent)
		c.urgent = 1;
	if (act.forward && outgoing_forward(r, &c, NULL, text, NULL, row, remarks[0] ? remarks : NULL, act.urgent) < 0) {
		free(text);
		goto out;
	}
	free(text);
	if (act.opt != POLICY_OPT_KEEP &&
	    db_contact_set_opted_out(r->db, "sms", number, act.opt == POLICY_OPT_OUT ? r->now : 0) < 0)
		goto out;
	const char *tmpl = autoreply_template(act.autoreply);
	if (tmpl) {
		if (outgoing_text_template(r, &c, "autoreply", tmpl) < 0)
			goto out;
		c.last_autoreply_at = r->now;
		if (act.autoreply == POLICY_URGENT)
			c.last_urgent_at = r->now;
	}
	if (budget_after(r, &c, &act) < 0)
		goto out;
	c.last_activity = c.last_inbound_at = r->now;
	free(c.state);
	c.state = xstrdup("open");
	if (db_conversation_update(r->db, &c) < 0 || db_inbound_add(r->db, key, row) < 0)
		goto out;
	log_info("%s: %s text from a young person; %s%s (%s)", c.ref, fresh ? "first" : "new",
	         act.forward ? "forwarded" : "not forwarded", tmpl ? ", text reply queued" : "", act.why);
	rc = 0;
out:
	conversation_free(&c);
	free(key);
	return rc;
}
