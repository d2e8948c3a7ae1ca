/* replies.c: the advisers' side of a conversation — their replies, their
 * #commands, and mail that answers a forward but must not be relayed. */
#include "replies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "authres.h"
#include "automatic.h"
#include "clean.h"
#include "commands.h"
#include "history.h"
#include "lifecycle.h"
#include "log.h"
#include "outgoing.h"
#include "util.h"

static int hold(struct relay *r, struct conversation *c, const struct mail *m, const char *raw, size_t len,
                const char *sender, const char *reason, long long *row)
{
	if (c && received_store(r, c, KIND_HELD, m, raw, len, sender, NULL, reason, row) < 0)
		return -1;
	log_warn("%s: reply held, not relayed: %s", c ? c->ref : "-", reason);
	return outgoing_held(r, c, sender ? sender : "(unknown)", reason, m->text);
}

/* Why no reply can reach the young person of c, in plain words for the
 * adviser, or NULL when one can. buf holds the words when needed. */
static const char *unreachable(const struct conversation *c, char *buf, size_t buflen)
{
	if (!c->contact || !c->contact[0])
		return "the young person's contact details were removed after the retention period (relay purge), "
		       "so nothing can reach them from this conversation any more.";
	if (c->channel != CHANNEL_EMAIL)
		return NULL;
	if (!strcmp(c->contact, "unknown"))
		return "the young person's email had no sender address, so there is no address to answer. "
		       "Their messages still reach you; writing the reply again will not help.";
	enum address_problem p = address_normalise(c->contact, NULL);
	if (p == ADDRESS_OK)
		return NULL;
	snprintf(buf, buflen,
	         "the young person's email address cannot be answered: %s. Their messages still reach "
	         "you; writing the reply again will not help.",
	         address_problem_text(p));
	return buf;
}

/* Did the service's receiving mail server prove that m comes from its From
 * address's domain ([advisers] authentication, authres.h)? 1 yes; 0 no, and
 * why says what it found. */
static int adviser_authenticated(const struct relay *r, const struct mail *m, const char *raw, size_t len, char *why,
                                 size_t whylen)
{
	if (!strcmp(r->cfg->adviser_authentication, "none"))
		return 1;
	const char *at = m->from_address ? strrchr(m->from_address, '@') : NULL;
	if (!strcmp(r->cfg->adviser_authentication, "exchange"))
		return authres_verify_exchange(raw, len, at ? at + 1 : "", why, whylen) == AUTHRES_PASS;
	return authres_verify(raw, len, r->cfg->authserv_id, at ? at + 1 : "", why, whylen) == AUTHRES_PASS;
}

/* Does a reply to c's forwards still reach its young person? A reply tag (or
 * a forward's Message-ID) is honoured while the conversation is open and for
 * [policy] reopen_days after it closed; never after, whatever key signed the
 * tag. One still open but idle beyond close_after_days counts as closed then
 * (the cycle closes it only after reading the mailbox). 1 yes (*reopens: it
 * is closed, and a reply for the young person reopens it), 0 no. */
static int still_answerable(const struct relay *r, const struct conversation *c, int *reopens)
{
	long long closed_at = c->closed_at;
	*reopens = 0;
	if (c->state != CONVERSATION_CLOSED) {
		long long idle_until = c->last_activity + (long long)r->cfg->close_after_days * 86400;
		if (!c->last_activity || r->now <= idle_until)
			return 1;
		closed_at = idle_until;
	} else {
		*reopens = 1;
	}
	return closed_at && r->now - closed_at <= (long long)r->cfg->reopen_days * 86400;
}

/* Carries out an adviser's #commands on the conversation, each recorded in the
 * transcript. Runs in the caller's transaction. */
static int apply_commands(struct relay *r, struct conversation *c, const struct commands *cmds, const char *adviser)
{
	for (size_t i = 0; i < cmds->n; i++) {
		const struct command *k = &cmds->list[i];
		char line[160];
		struct message_row mr = { .conversation_id = c->id,
			                  .kind = KIND_COMMAND,
			                  .channel = CHANNEL_EMAIL,
			                  .at = r->now,
			                  .author = adviser };
		switch (k->kind) {
		case COMMAND_NOTE:
			mr.kind = KIND_NOTE;
			mr.body = k->text;
			break;
		case COMMAND_CLOSE:
			lifecycle_set_open(c, 0, r->now);
			break;
		case COMMAND_REOPEN:
			lifecycle_set_open(c, 1, r->now);
			break;
		case COMMAND_URGENT:
			c->urgent = 1;
			break;
		case COMMAND_BLOCK:
			/* Indefinitely is a date far beyond any retention. */
			if (db_contact_set_blocked(r->db, c->channel, c->contact,
			                           k->days ? r->now + (long long)k->days * 86400
			                                   : r->now + 100LL * 365 * 86400) < 0)
				return -1;
			break;
		case COMMAND_UNBLOCK:
			if (db_contact_set_blocked(r->db, c->channel, c->contact, 0) < 0)
				return -1;
			break;
		case COMMAND_UNKNOWN:
			continue;
		}
		if (k->kind != COMMAND_NOTE) {
			if (k->kind == COMMAND_BLOCK && k->days)
				snprintf(line, sizeof line, "#block %d", k->days);
			else
				snprintf(line, sizeof line, "#%s", command_name(k->kind));
			mr.body = line;
		}
		if (db_message_add(r->db, &mr, NULL) < 0)
			return -1;
		log_info("%s: adviser command #%s", c->ref, command_name(k->kind));
	}
	c->last_activity = r->now;
	return db_conversation_update(r->db, c);
}

int replies_receive(struct relay *r, const struct mail *m, const struct threading *t, enum sender_role role, const char *raw,
                    size_t len, long long *row)
{
	struct conversation c;
	long long conv = t->tagged ? t->tagged : t->adviser_side;
	int rc = -1;

	memset(&c, 0, sizeof c);
	if (conv && db_conversation_by_id(r->db, conv, &c) < 0)
		return -1;
	if (!c.id && t->subject_ref[0] && db_conversation_by_ref(r->db, t->subject_ref, &c) < 0)
		return -1;
	struct conversation *cp = c.id ? &c : NULL;

	enum automatic_reason automatic = received_classify(r, m);
	/* A bounce known by its subject alone may be an adviser answering a
	 * forwarded one ("Re: [RUS-7K3F2] Undeliverable: ..."): judged as a reply. */
	if (automatic && !automatic_forwarded(automatic)) {
		/* An out-of-office or bounce from the advisers' side: logged and kept, never relayed. */
		if (cp && received_store(r, cp, KIND_AUTOMATIC, m, raw, len, m->from_address, NULL,
		                         automatic_reason_text(automatic), row) < 0)
			goto out;
		log_info("%s: automatic mail from the advisers' side not relayed: %s", cp ? cp->ref : "-",
		         automatic_reason_text(automatic));
		rc = 0;
		goto out;
	}
	if (role == ROLE_OUTSIDER) {
		rc = hold(r, cp, m, raw, len, m->from_address, "the sender is not one of the allowed advisers", row);
		goto out;
	}
	if (role == ROLE_ADVISER) {
		char found[600], why[900];
		if (!adviser_authenticated(r, m, raw, len, found, sizeof found)) {
			/* A forged From is a stranger's reply: held, every adviser told. */
			snprintf(
				why, sizeof why,
				"it has an allowed adviser's address in From, but nothing proves it was "
				"sent by them: %s ([advisers] authentication = %s needs %sa DMARC pass or a DKIM signature of "
				"the adviser's domain)",
				found, r->cfg->adviser_authentication,
				!strcmp(r->cfg->adviser_authentication, "exchange") ? "a mailbox of the organisation, or "
										    : "");
			rc = hold(r, cp, m, raw, len, m->from_address, why, row);
			goto out;
		}
	}
	/* A tag signed under an earlier key no longer proves anything; the
	 * reply is then recognised by its In-Reply-To or References alone. */
	if (t->bad_tag && !t->tagged && !t->adviser_side) {
		rc = hold(r, cp, m, raw, len, m->from_address, "the reply address's signature is not valid", row);
		goto out;
	}
	if (!t->tagged && !t->adviser_side) {
		rc = hold(r, cp, m, raw, len, m->from_address,
		          "it does not answer a forward from the relay (no reply tag, no known In-Reply-To or References)",
		          row);
		goto out;
	}
	int reopens = 0;
	if (!cp) {
		rc = hold(r, cp, m, raw, len, m->from_address, "the conversation it answers no longer exists", row);
		goto out;
	}
	if (!still_answerable(r, &c, &reopens)) {
		char why[600];
		snprintf(
			why, sizeof why,
			"%s closed more than %d days ago ([policy] reopen_days), so a reply to its forwards "
			"no longer reaches the young person. To write to them, use \"relay send %s\" at the server; if they "
			"write again, answer the new forward.",
			c.ref, r->cfg->reopen_days, c.ref);
		rc = received_store(r, cp, KIND_HELD, m, raw, len, m->from_address, NULL,
		                    "the conversation closed more than "
		                    "reopen_days ago",
		                    row) < 0 ||
		                     outgoing_refused(r, cp, m->from_address, why) < 0
		             ? -1
		             : 0;
		log_warn("%s: adviser reply held: the conversation closed more than %d days ago", c.ref,
		         r->cfg->reopen_days);
		goto out;
	}
	/* Cleaned against the conversation's own texts: what matches them is
	 * quoted history; a reply whose cleaning is not certain is held. */
	struct history_texts known;
	struct clean_result cleaned;
	if (history_for_adviser(r, c.id, &known) < 0)
		goto out;
	clean_reply_with(m->text, (const char *const *)known.texts, known.n, r->cfg->hold_cleaned_percent, &cleaned);
	history_texts_free(&known);
	struct commands cmds;
	commands_parse(cleaned.text, &cmds);
	/* An unknown or malformed command goes back to the adviser; nothing of
	 * the email reaches the young person, and no command is carried out. */
	int unknown = 0;
	for (size_t i = 0; i < cmds.n; i++)
		if (cmds.list[i].kind == COMMAND_UNKNOWN)
			unknown = 1;
	if (unknown || cmds.error) {
		struct buf why;
		buf_init(&why);
		buf_adds(&why, "there is a problem with its commands:\n\n");
		buf_adds(&why, cmds.error ? cmds.error : "an unknown command");
		buf_adds(&why,
		         "\n\nKnown commands, on lines at the top of a reply: #note TEXT, #close, #reopen, #urgent, "
		         "#block [DAYS], #unblock. Nothing was sent and no command was carried out; please send it again.");
		rc = received_store(r, cp, KIND_HELD, m, raw, len, m->from_address, NULL, "adviser command not understood",
		                    row) < 0 ||
		                     outgoing_refused(r, cp, m->from_address, buf_str(&why)) < 0
		             ? -1
		             : 0;
		log_warn("%s: adviser reply held: a command was not understood", c.ref);
		buf_free(&why);
		commands_free(&cmds);
		clean_result_free(&cleaned);
		goto out;
	}
	if (cleaned.hold != CLEAN_SEND) {
		/* Given back to the adviser with what would have been sent; no
		 * command carried out, so that sending it again does not repeat one. */
		const char *reason = clean_hold_text(cleaned.hold);
		rc = received_store(r, cp, KIND_HELD, m, raw, len, m->from_address, NULL, reason, row) < 0 ||
		                     outgoing_cleaning_held(r, cp, m->from_address, reason, cleaned.text) < 0
		             ? -1
		             : 0;
		log_warn("%s: adviser reply held: %s", c.ref,
		         cleaned.hold == CLEAN_HOLD_EMPTY ? "nothing left after cleaning" : "cleaning not certain");
		commands_free(&cmds);
		clean_result_free(&cleaned);
		goto out;
	}
	clean_result_free(&cleaned);
	char *text = xstrdup(cmds.answer ? cmds.answer : "");
	int had_commands = cmds.n > 0, answered = !str_is_blank(text);
	char *sent_text = NULL; /* a text as the young person will receive it (outgoing_text_fits) */
	int parts = 0;
	/* Whether the answer can go is known before any command is carried out:
	 * a reply given back to the adviser carries out none, so that sending it
	 * again does not repeat one (a #note twice, a #block restarted). */
	if (answered) {
		char nowhere[512], why[700];
		const char *why_not = unreachable(&c, nowhere, sizeof nowhere), *held = "the young person cannot be reached";
		if (!why_not && c.channel == CHANNEL_SMS) {
			int fits = outgoing_text_fits(r, cp, text, &sent_text, &parts);
			if (fits < 0) {
				free(sent_text);
				free(text);
				commands_free(&cmds);
				goto out;
			}
			if (!fits) {
				snprintf(nowhere, sizeof nowhere,
				         "it would need %d text message parts and the most one reply may take is %d "
				         "([sms] max_parts); nothing was sent: please write a shorter reply.",
				         parts, r->cfg->sms_max_parts);
				why_not = nowhere;
				held = "too long for a text message";
				free(sent_text);
				sent_text = NULL;
			}
		}
		if (why_not) {
			/* Kept and refused: the adviser hears why, and the mailbox moves on. */
			snprintf(why, sizeof why, "%s%s", why_not,
			         had_commands ? " No command in it was carried out either; send the commands again if "
			                        "they are still wanted."
			                      : "");
			rc = received_store(r, cp, KIND_HELD, m, raw, len, m->from_address, text, held, row) < 0 ||
			                     outgoing_refused(r, cp, m->from_address, why) < 0
			             ? -1
			             : 0;
			if (parts)
				log_warn("%s: adviser reply needs %d parts (limit %d); refused, adviser told", c.ref, parts,
				         r->cfg->sms_max_parts);
			else
				log_warn("%s: adviser reply held: the young person cannot be reached", c.ref);
			free(text);
			commands_free(&cmds);
			goto out;
		}
	}
	if (reopens && answered) {
		/* A reply for the young person reopens it, as their writing would. */
		lifecycle_set_open(&c, 1, r->now);
		log_info("%s: reopened: an adviser replied", c.ref);
	}
	if (cmds.n && apply_commands(r, &c, &cmds, m->from_address) < 0) {
		free(sent_text);
		free(text);
		commands_free(&cmds);
		goto out;
	}
	commands_free(&cmds);
	if (had_commands && !answered) {
		/* Commands only: nothing for the young person. */
		free(text);
		rc = 0;
		goto out;
	}
	if (!answered) {
		if (received_store(r, cp, KIND_HELD, m, raw, len, m->from_address, NULL,
		                   "nothing left after removing quotes", row) < 0) {
			free(text);
			goto out;
		}
		log_warn("%s: adviser reply empty after cleaning; not relayed", c.ref);
		rc = outgoing_refused(r, cp, m->from_address,
		                      "after removing the quoted history and signature, nothing was left to send.");
		free(text);
		goto out;
	}
	if (received_store(r, cp, KIND_REPLY, m, raw, len, m->from_address, sent_text ? sent_text : text, NULL, row) < 0 ||
	    outgoing_reply(r, cp, m->from_address, text, sent_text, parts, *row) < 0) {
		free(sent_text);
		free(text);
		goto out;
	}
	free(sent_text);
	free(text);
	c.last_adviser_reply_at = r->now;
	c.last_activity = r->now;
	if (db_conversation_update(r->db, &c) < 0)
		goto out;
	log_info("%s: adviser reply relayed by %s", c.ref, channel_said(c.channel));
	rc = 0;
out:
	conversation_free(&c);
	return rc;
}

int replies_from_console(struct relay *r, struct conversation *c, const char *who, const char *typed, char *err,
                         size_t errlen)
{
	/* The same cleaning as an emailed reply: valid UTF-8, no control
	 * characters, no quoted history or signature. */
	char *valid = utf8_sanitize(typed, strlen(typed));
	for (char *p = valid; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			*p = ' ';
	char *text = clean_reply(valid);
	char *sent_text = NULL;
	long long row = 0;
	int rc = -1;
	free(valid);

	if (str_is_blank(text)) {
		snprintf(err, errlen, "nothing to send (the text is empty after removing quotes and signature)");
		rc = 1;
		goto out;
	}
	char nowhere[512];
	const char *why_not = unreachable(c, nowhere, sizeof nowhere);
	if (why_not) {
		snprintf(err, errlen, "nothing was sent: %s", why_not);
		rc = 1;
		goto out;
	}
	int parts = 0;
	if (c->channel == CHANNEL_SMS) {
		int fits = outgoing_text_fits(r, c, text, &sent_text, &parts);
		if (fits < 0)
			goto out;
		if (!fits) {
			snprintf(err, errlen,
			         "it would need %d text message parts and the most one reply may take is %d "
			         "([sms] max_parts); nothing was sent: write a shorter message",
			         parts, r->cfg->sms_max_parts);
			rc = 1;
			goto out;
		}
	}
	struct message_row mr = { .conversation_id = c->id,
		                  .kind = KIND_REPLY,
		                  .channel = c->channel,
		                  .at = r->now,
		                  .author = who,
		                  .body = sent_text ? sent_text : text };
	if (db_message_add(r->db, &mr, &row) < 0 || outgoing_reply(r, c, who, text, sent_text, parts, row) < 0)
		goto out;
	c->last_adviser_reply_at = r->now;
	c->last_activity = r->now;
	if (db_conversation_update(r->db, c) < 0)
		goto out;
	log_info("%s: message typed at the server queued for the young person", c->ref);
	rc = 0;
out:
	free(sent_text);
	free(text);
	return rc;
}
