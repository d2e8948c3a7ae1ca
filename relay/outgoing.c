/* outgoing.c: forwards, auto-replies, relayed replies, receipts and notices. */
#include "outgoing.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "compose.h"
#include "gsm.h"
#include "hours.h"
#include "phone.h"
#include "log.h"
#include "reference.h"
#include "template.h"
#include "util.h"

#define MAX_REFERENCES 12 /* keep References short: the first and the latest */

struct thread {
	const char *in_reply_to;
	const char *const *refs;
	size_t nrefs;
};

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at ? at + 1 : "localhost";
}

/* A fresh, stable Message-ID: it is stored with the outbox row and reused on
 * every retry, so a resend after a crash carries the same id. */
static char *new_message_id(struct relay *r, const char *ref, enum message_kind kind)
{
	unsigned char rnd[8];
	char hex[17];
	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	char *unique = xasprintf("%s.%s.%s", ref ? ref : "relay", kind_stored(kind), hex);
	char *id = compose_message_id(domain_of(r->cfg->from_address), unique);
	free(unique);
	return id;
}

/* Builds one email and writes it to the outbox. */
static int queue_email(struct relay *r, struct conversation *c, enum message_kind kind, const char *const *to, size_t nto,
                       const char *reply_to, const char *subject, const struct thread *th, int auto_submitted,
                       const char *body, long long message_row, int urgent)
{
	struct compose_address *rcpts = xcalloc(nto, sizeof *rcpts);
	struct compose_address from = { r->cfg->from_name ? r->cfg->from_name : r->cfg->name, r->cfg->from_address };
	struct compose_address rt = { r->cfg->from_name ? r->cfg->from_name : r->cfg->name, reply_to };
	struct compose_header extra[5];
	size_t nextra = 0;
	struct buf data, rcptlist;
	char err[256];
	int rc = -1;
	char *msgid = new_message_id(r, c ? c->ref : NULL, kind);

	/* Envelope and To header alike carry the normal form (A-labels, no
	 * trailing dot, minimal quoting). */
	char **normal = xcalloc(nto ? nto : 1, sizeof *normal);
	buf_init(&data);
	buf_init(&rcptlist);
	for (size_t i = 0; i < nto; i++) {
		enum address_problem p = address_normalise(to[i], &normal[i]);
		if (p != ADDRESS_OK) {
			log_error("%s: cannot build the %s message: recipient %zu of %zu: %s", c ? c->ref : "-",
			          kind_stored(kind), i + 1, nto, address_problem_text(p));
			goto out;
		}
		rcpts[i].address = normal[i];
	}
	/* RFC 3834: our automatic mail says so, and asks Exchange not to answer it. */
	if (auto_submitted)
		extra[nextra++] =
			(struct compose_header){ "Auto-Submitted", auto_submitted == 2 ? "auto-replied" : "auto-generated" };
	extra[nextra++] = (struct compose_header){ "X-Auto-Response-Suppress", "All" };
	extra[nextra++] = (struct compose_header){ r->cfg->loop_header, r->cfg->from_address };
	if (urgent)
		extra[nextra++] = (struct compose_header){ "X-Priority", "1" };

	struct compose_message m = {
		.from = from,
		.to = rcpts,
		.nto = nto,
		.reply_to = reply_to ? &rt : NULL,
		.subject = subject,
		.message_id = msgid,
		.in_reply_to = th ? th->in_reply_to : NULL,
		.references = th ? th->refs : NULL,
		.nreferences = th ? th->nrefs : 0,
		.date = r->now,
		.extra = extra,
		.nextra = nextra,
		.body = body,
	};
	if (!msgid || compose_build(&m, &data, err, sizeof err) < 0) {
		log_error("%s: cannot build the %s message: %s", c ? c->ref : "-", kind_stored(kind),
		          msgid ? err : "bad domain");
		goto out;
	}
	for (size_t i = 0; i < nto; i++)
		buf_printf(&rcptlist, "%s\n", normal[i]);
	struct outbox_new o = {
		.conversation_id = c ? c->id : 0,
		.message_row = message_row,
		.kind = kind,
		.channel = CHANNEL_EMAIL,
		.message_id = msgid,
		.mail_from = r->cfg->from_address,
		.rcpt = buf_str(&rcptlist),
		.data = data.data,
		.len = data.len,
		.next_attempt_at = r->now,
		.created_at = r->now,
	};
	if (db_outbox_add(r->db, &o, NULL) < 0)
		goto out;
	log_debug("%s: %s queued for %zu recipient%s", c ? c->ref : "-", kind_stored(kind), nto, nto == 1 ? "" : "s");
	rc = 0;
out:
	for (size_t i = 0; i < nto; i++)
		free(normal[i]);
	free(normal);
	free(msgid);
	free(rcpts);
	buf_free(&data);
	buf_free(&rcptlist);
	return rc;
}

/* The advisers' thread: every adviser-facing message names the forwards
 * before it, so Outlook, Gmail and Thunderbird keep one conversation together. */
struct adviser_thread {
	char **ids;
	size_t n;
	const char *refs[MAX_REFERENCES];
	struct thread th;
};

static int adviser_thread_load(struct relay *r, struct conversation *c, struct adviser_thread *t)
{
	memset(t, 0, sizeof *t);
	if (!c)
		return 0;
	if (db_outbox_message_ids(r->db, c->id, KIND_FORWARD, &t->ids, &t->n) < 0)
		return -1;
	if (t->n == 0)
		return 0;
	size_t k = 0;
	t->refs[k++] = t->ids[0];
	size_t start = t->n > MAX_REFERENCES - 1 ? t->n - (MAX_REFERENCES - 1) : 1;
	for (size_t i = start; i < t->n; i++)
		t->refs[k++] = t->ids[i];
	t->th.in_reply_to = t->ids[t->n - 1];
	t->th.refs = t->refs;
	t->th.nrefs = k;
	return 0;
}

static void adviser_thread_free(struct adviser_thread *t)
{
	strings_free(t->ids, t->n);
}

static char *forward_subject(struct conversation *c, const char *rendered)
{
	return xasprintf("[%s] %s", c->ref, rendered ? rendered : "New message");
}

/* The subject every adviser-facing message of a conversation shares, so that
 * mail clients that thread by subject keep them together too. */
static char *thread_subject(struct relay *r, struct conversation *c)
{
	struct template_var vars[] = { { "channel", channel_said(c->channel) },
		                       { "service_name", r->cfg->name },
		                       { "reference", c->ref } };
	struct template t;
	struct buf s;
	char err[256];
	char *out;

	buf_init(&s);
	if (template_load(r->cfg->templates, "email/forward", &t, err, sizeof err) == 0 && t.subject &&
	    template_render(t.subject, vars, 3, &s, err, sizeof err) == 0)
		out = forward_subject(c, buf_str(&s));
	else
		out = forward_subject(c, NULL);
	template_free(&t);
	buf_free(&s);
	return out;
}

static void attachment_lines(const struct mail *m, struct buf *out)
{
	if (!m || m->nattachments == 0)
		return;
	buf_adds(out, "Attachments (kept in the relay, not forwarded):\n");
	for (size_t i = 0; i < m->nattachments; i++)
		buf_printf(out, "- %s (%s, %zu bytes)\n",
		           m->attachments[i].filename[0] ? m->attachments[i].filename : "unnamed",
		           m->attachments[i].content_type, m->attachments[i].size);
	buf_adds(out, "\n");
}

char *outgoing_contact(const struct config *cfg, const struct conversation *c)
{
	if (!c->contact || !c->contact[0])
		return xstrdup("(removed after the retention period)");
	if (cfg->show_contact && !strcmp(cfg->show_contact, "none"))
		return xstrdup(c->channel == CHANNEL_SMS ? "(a mobile number, not shown)" : "(an email address, not shown)");
	if (cfg->show_contact && !strcmp(cfg->show_contact, "full"))
		return xstrdup(c->contact);
	return c->channel == CHANNEL_SMS ? phone_mask(c->contact) : mask_email(c->contact);
}

/* Renders templates/TMPL with vars and queues it to the advisers (and, when
 * urgent, the on-call address) in the conversation's adviser-facing thread,
 * answerable through the conversation's reply tag. */
static int forward_with(struct relay *r, struct conversation *c, const char *tmpl, const struct template_var *vars,
                        size_t nvars, long long message_row, int urgent)
{
	char err[512];
	struct adviser_thread at;
	char *subject = NULL, *body = NULL, *tsubject = NULL;
	char *reply_to = tag_address(r->cfg->from_address, c->ref, r->cfg->secret, r->cfg->secret_len);
	int rc = -1;

	if (adviser_thread_load(r, c, &at) < 0)
		goto out;
	if (template_fill(r->cfg->templates, tmpl, vars, nvars, &subject, &body, err, sizeof err) < 0) {
		log_error("%s: %s", c->ref, err);
		adviser_thread_free(&at);
		goto out;
	}
	tsubject = forward_subject(c, subject);
	if (urgent) {
		char *u = xasprintf("[URGENT] %s", tsubject);
		free(tsubject);
		tsubject = u;
	}
	{
		/* An urgent forward also goes to the on-call address. */
		size_t n = r->cfg->forward_to.n;
		const char **rcpt = xcalloc(n + r->cfg->urgent_to.n + 1, sizeof *rcpt);
		for (size_t i = 0; i < n; i++)
			rcpt[i] = r->cfg->forward_to.items[i];
		for (size_t i = 0; urgent && i < r->cfg->urgent_to.n; i++)
			if (!address_list_has(&r->cfg->forward_to, r->cfg->urgent_to.items[i]))
				rcpt[n++] = r->cfg->urgent_to.items[i];
		rc = queue_email(r, c, KIND_FORWARD, rcpt, n, reply_to, tsubject, at.n ? &at.th : NULL, 1, body, message_row,
		                 urgent);
		free(rcpt);
	}
	adviser_thread_free(&at);
out:
	free(subject);
	free(body);
	free(tsubject);
	free(reply_to);
	return rc;
}

/* What every forward of a received message shows: the conversation, when it
 * came, the masked contact, its text and attachments; extra, the template's
 * own (subject and remarks, or the reason it was set aside). */
static int forward_message(struct relay *r, struct conversation *c, const char *tmpl, const struct template_var *extra,
                           size_t nextra, const char *text, const struct mail *m, long long message_row, int urgent)
{
	char received[64];
	struct buf att;
	char *masked = outgoing_contact(r->cfg, c);

	relay_format_time(r->now, received, sizeof received);
	buf_init(&att);
	attachment_lines(m, &att);
	struct template_var vars[10] = {
		{ "service_name", r->cfg->name }, { "reference", c->ref }, { "channel", channel_said(c->channel) },
		{ "received", received },         { "contact", masked },   { "text", text ? text : "" },
		{ "attachments", buf_str(&att) },
	};
	size_t n = 7;
	for (size_t i = 0; i < nextra && n < sizeof vars / sizeof vars[0]; i++) /* room for 3 */
		vars[n++] = extra[i];
	int rc = forward_with(r, c, tmpl, vars, n, message_row, urgent);
	free(masked);
	buf_free(&att);
	return rc;
}

int outgoing_forward(struct relay *r, struct conversation *c, const char *subject_in, const char *text, const struct mail *m,
                     long long message_row, const char *remarks, int urgent)
{
	struct template_var extra[] = {
		{ "subject", subject_in                  ? subject_in
		             : c->channel == CHANNEL_SMS ? "(text message)"
		                                         : "(none)" },
		{ "remarks", remarks ? remarks : "" },
	};
	return forward_message(r, c, "email/forward", extra, 2, text, m, message_row, urgent);
}

int outgoing_set_aside(struct relay *r, struct conversation *c, const char *reason, const char *text, const struct mail *m,
                       long long message_row)
{
	struct template_var extra[] = { { "reason", reason } };
	return forward_message(r, c, "email/set_aside", extra, 1, text, m, message_row, 0);
}

/* "Re: <their subject>" unless it already starts with a reply prefix. */
static char *reply_subject(const char *theirs, const char *fallback)
{
	if (!theirs || str_is_blank(theirs))
		return xstrdup(fallback ? fallback : "");
	if (str_startswith_ci(theirs, "re:"))
		return xstrdup(theirs);
	return xasprintf("Re: %s", theirs);
}

/* Threads a message to the young person on their own latest email. */
struct young_thread {
	char *last_id;
	char **refs;
	size_t nrefs;
	const char **all;
	struct thread th;
};

static int young_thread_load(struct relay *r, struct conversation *c, struct young_thread *t)
{
	memset(t, 0, sizeof *t);
	int rc = db_last_inbound_ids(r->db, c->id, &t->last_id, &t->refs, &t->nrefs);
	if (rc < 0)
		return -1;
	if (!t->last_id)
		return 0;
	size_t skip = t->nrefs > MAX_REFERENCES - 1 ? t->nrefs - (MAX_REFERENCES - 1) : 0;
	t->all = xcalloc(MAX_REFERENCES + 1, sizeof *t->all);
	size_t k = 0;
	for (size_t i = skip; i < t->nrefs; i++)
		t->all[k++] = t->refs[i];
	t->all[k++] = t->last_id;
	t->th.in_reply_to = t->last_id;
	t->th.refs = t->all;
	t->th.nrefs = k;
	return 0;
}

static void young_thread_free(struct young_thread *t)
{
	free(t->last_id);
	strings_free(t->refs, t->nrefs);
	free(t->all);
}

/* The placeholders every auto-reply may use: when the service next opens, and its hours. */
struct signpost {
	char *next_open;
	char *hours;
};

static void signpost_load(struct relay *r, struct signpost *sp)
{
	sp->next_open = hours_next_open_text(&r->cfg->hours, r->now);
	sp->hours = hours_describe(&r->cfg->hours);
}

static void signpost_free(struct signpost *sp)
{
	free(sp->next_open);
	free(sp->hours);
}

int outgoing_autoreply(struct relay *r, struct conversation *c, const char *tmpl)
{
	char err[512];
	char *tsubject = NULL, *body = NULL, *subject = NULL;
	struct young_thread yt;
	struct signpost sp;
	int rc = -1;
	const char *to[1] = { c->contact };

	signpost_load(r, &sp);
	struct template_var vars[] = { { "service_name", r->cfg->name },
		                       { "reference", c->ref },
		                       { "next_open", sp.next_open },
		                       { "hours", sp.hours } };
	if (template_fill(r->cfg->templates, tmpl, vars, 4, &tsubject, &body, err, sizeof err) < 0) {
		log_error("%s: %s", c->ref, err);
		signpost_free(&sp);
		return -1;
	}
	if (young_thread_load(r, c, &yt) < 0)
		goto out;
	subject = reply_subject(c->subject, tsubject ? tsubject : r->cfg->name);
	/* Urgent signposting leads with its own subject: 999 is the first thing read. */
	if (!strcmp(tmpl, "email/urgent") && tsubject) {
		free(subject);
		subject = xstrdup(tsubject);
	}
	rc = queue_email(r, c, KIND_AUTOREPLY, to, 1, r->cfg->from_address, subject, yt.last_id ? &yt.th : NULL, 2, body, 0,
	                 0);
	young_thread_free(&yt);
out:
	signpost_free(&sp);
	free(tsubject);
	free(body);
	free(subject);
	return rc;
}

/* The receipt: exactly what was sent, to every adviser, in the forwards' thread. */
static int receipt(struct relay *r, struct conversation *c, const char *adviser, const char *sent, const char *how,
                   long long message_row)
{
	char err[512];
	char *rsubject = NULL, *rbody = NULL, *thread = NULL;
	char *reply_to = tag_address(r->cfg->from_address, c->ref, r->cfg->secret, r->cfg->secret_len);
	struct adviser_thread at;
	int rc = -1;
	struct template_var vars[] = {
		{ "service_name", r->cfg->name },          { "reference", c->ref }, { "adviser", adviser },
		{ "channel", channel_stored(c->channel) }, { "how", how },          { "text", sent }
	};

	memset(&at, 0, sizeof at);
	if (template_fill(r->cfg->templates, "email/receipt", vars, 6, &rsubject, &rbody, err, sizeof err) < 0) {
		log_error("%s: %s", c->ref, err);
		goto out;
	}
	if (adviser_thread_load(r, c, &at) < 0)
		goto out;
	thread = thread_subject(r, c);
	{
		char *ts = xasprintf("Re: %s", thread);
		size_t n = r->cfg->forward_to.n;
		const char **rcpt = xcalloc(n + 1, sizeof *rcpt);
		for (size_t i = 0; i < n; i++)
			rcpt[i] = r->cfg->forward_to.items[i];
		/* the adviser who wrote it hears too; an operator at the server (no address) does not need to */
		if (strchr(adviser, '@') && !address_list_has(&r->cfg->forward_to, adviser))
			rcpt[n++] = adviser;
		rc = queue_email(r, c, KIND_RECEIPT, rcpt, n, reply_to, ts, at.n ? &at.th : NULL, 1, rbody, message_row, 0);
		free(rcpt);
		free(ts);
	}
out:
	adviser_thread_free(&at);
	free(rsubject);
	free(rbody);
	free(thread);
	free(reply_to);
	return rc;
}

/* Queues one text to the young person. text is final (prepared, counted). */
static int queue_text(struct relay *r, struct conversation *c, enum message_kind kind, const char *text, int parts,
                      long long message_row)
{
	char *msgid = new_message_id(r, c->ref, kind);
	struct outbox_new o = {
		.conversation_id = c->id,
		.message_row = message_row,
		.kind = kind,
		.channel = CHANNEL_SMS,
		.message_id = msgid,
		.rcpt = c->contact,
		.data = text,
		.len = strlen(text),
		.next_attempt_at = r->now,
		.created_at = r->now,
		.parts = parts,
	};
	int rc = msgid ? db_outbox_add(r->db, &o, NULL) : -1;
	if (rc == 0)
		log_info("%s: text (%s, %d part%s) queued", c->ref, kind_stored(kind), parts, parts == 1 ? "" : "s");
	free(msgid);
	return rc;
}

/* Renders a templates/sms/ text, trimmed and made GSM-7 where it can be. */
static char *render_text(struct relay *r, struct conversation *c, const char *tmpl, const char *text)
{
	char err[512];
	char *subject = NULL, *body = NULL;
	struct signpost sp;
	signpost_load(r, &sp);
	struct template_var vars[] = { { "service_name", r->cfg->name },
		                       { "reference", c->ref },
		                       { "next_open", sp.next_open },
		                       { "hours", sp.hours },
		                       { "text", text } };
	int rc = template_fill(r->cfg->templates, tmpl, vars, text ? 5 : 4, &subject, &body, err, sizeof err);
	signpost_free(&sp);
	if (rc < 0) {
		log_error("%s: %s", c->ref, err);
		free(subject);
		return NULL;
	}
	free(subject);
	char *prepared = gsm_prepare(str_trim(body));
	free(body);
	return prepared;
}

int outgoing_text_fits(struct relay *r, struct conversation *c, const char *text, char **prepared, int *parts)
{
	struct sms_count count;
	*prepared = render_text(r, c, "sms/reply", text);
	if (!*prepared)
		return -1;
	gsm_count(*prepared, &count);
	*parts = count.parts;
	return count.parts <= r->cfg->sms_max_parts;
}

int outgoing_text_template(struct relay *r, struct conversation *c, enum message_kind kind, const char *tmpl)
{
	struct sms_count count;
	char *text = render_text(r, c, tmpl, NULL);
	if (!text)
		return -1;
	gsm_count(text, &count);
	int rc = queue_text(r, c, kind, text, count.parts, 0);
	free(text);
	return rc;
}

int outgoing_reply(struct relay *r, struct conversation *c, const char *adviser, const char *text, const char *prepared,
                   int parts, long long message_row)
{
	char err[512];
	char *tsubject = NULL, *body = NULL, *subject = NULL;
	struct young_thread yt;
	int rc = -1;
	const char *to[1] = { c->contact };
	struct template_var vars[] = { { "service_name", r->cfg->name }, { "reference", c->ref }, { "text", text } };

	memset(&yt, 0, sizeof yt);
	if (c->channel == CHANNEL_SMS) {
		if (!prepared || parts < 1) {
			log_error("%s: a text reply was not made ready (outgoing_text_fits) before it was queued", c->ref);
			return -1;
		}
		char how[64];
		snprintf(how, sizeof how, "by text message, in %d part%s", parts, parts == 1 ? "" : "s");
		rc = queue_text(r, c, KIND_REPLY, prepared, parts, message_row);
		return rc == 0 ? receipt(r, c, adviser, prepared, how, message_row) : rc;
	}
	if (template_fill(r->cfg->templates, "email/reply", vars, 3, &tsubject, &body, err, sizeof err) < 0) {
		log_error("%s: %s", c->ref, err);
		goto out;
	}
	if (young_thread_load(r, c, &yt) < 0)
		goto out;
	subject = reply_subject(c->subject, tsubject ? tsubject : r->cfg->name);
	/* A human answer: not Auto-Submitted, so the young person's mail client treats it as a person's reply. */
	if (queue_email(r, c, KIND_REPLY, to, 1, r->cfg->from_address, subject, yt.last_id ? &yt.th : NULL, 0, body,
	                message_row, 0) < 0)
		goto out;
	rc = receipt(r, c, adviser, body, "by email", message_row);
out:
	young_thread_free(&yt);
	free(tsubject);
	free(body);
	free(subject);
	return rc;
}

static int adviser_notice(struct relay *r, struct conversation *c, enum message_kind kind, const char *tmpl,
                          const struct template_var *vars, size_t n, const char *const *to, size_t nto)
{
	char err[512];
	char *tsubject = NULL, *body = NULL, *subject = NULL;
	char *reply_to = c ? tag_address(r->cfg->from_address, c->ref, r->cfg->secret, r->cfg->secret_len) : NULL;
	struct adviser_thread at;
	int rc = -1;

	if (template_fill(r->cfg->templates, tmpl, vars, n, &tsubject, &body, err, sizeof err) < 0) {
		log_error("%s: %s", c ? c->ref : "-", err);
		free(reply_to);
		return -1;
	}
	if (adviser_thread_load(r, c, &at) == 0) {
		if (c) {
			char *thread = thread_subject(r, c);
			subject = xasprintf("Re: %s", thread);
			free(thread);
		} else {
			subject = xasprintf("%s: %s", r->cfg->name, tsubject ? tsubject : "a reply was held");
		}
		rc = queue_email(r, c, kind, to, nto, reply_to, subject, at.n ? &at.th : NULL, 1, body, 0, 0);
		adviser_thread_free(&at);
	}
	free(tsubject);
	free(body);
	free(subject);
	free(reply_to);
	return rc;
}

int outgoing_held(struct relay *r, struct conversation *c, const char *sender, const char *reason, const char *text)
{
	struct template_var vars[] = { { "service_name", r->cfg->name },
		                       { "reference", c ? c->ref : "(unknown)" },
		                       { "sender", sender },
		                       { "reason", reason },
		                       { "text", text } };
	return adviser_notice(r, c, KIND_NOTICE, "email/held", vars, 5, (const char *const *)r->cfg->forward_to.items,
	                      r->cfg->forward_to.n);
}

int outgoing_budget(struct relay *r, struct conversation *c, int budget, long long until)
{
	char count[32], when[128];
	snprintf(count, sizeof count, "%d", budget);
	relay_format_time(until, when, sizeof when);
	struct template_var vars[] = {
		{ "service_name", r->cfg->name }, { "reference", c->ref }, { "budget", count }, { "until", when }
	};
	return adviser_notice(r, c, KIND_NOTICE, "email/budget", vars, 4, (const char *const *)r->cfg->forward_to.items,
	                      r->cfg->forward_to.n);
}

int outgoing_refused(struct relay *r, struct conversation *c, const char *adviser, const char *reason)
{
	struct template_var vars[] = { { "service_name", r->cfg->name },
		                       { "reference", c ? c->ref : "(unknown)" },
		                       { "reason", reason } };
	const char *to[1] = { adviser };
	return adviser_notice(r, c, KIND_NOTICE, "email/refused", vars, 3, to, 1);
}

int outgoing_cleaning_held(struct relay *r, struct conversation *c, const char *adviser, const char *reason,
                           const char *text)
{
	struct template_var vars[] = { { "service_name", r->cfg->name },
		                       { "reference", c ? c->ref : "(unknown)" },
		                       { "reason", reason },
		                       { "text", text } };
	const char *to[1] = { adviser };
	return adviser_notice(r, c, KIND_NOTICE, "email/cleaning_held", vars, 4, to, 1);
}

int outgoing_undelivered(struct relay *r, struct conversation *c, enum message_kind kind, const char *reason)
{
	const char *what = kind == KIND_REPLY       ? "an adviser's reply"
	                   : kind == KIND_AUTOREPLY ? "an automatic reply"
	                                            : "a message";
	struct template_var vars[] = {
		{ "service_name", r->cfg->name }, { "reference", c->ref }, { "what", what }, { "reason", reason }
	};
	return adviser_notice(r, c, KIND_NOTICE, "email/undelivered", vars, 4, (const char *const *)r->cfg->forward_to.items,
	                      r->cfg->forward_to.n);
}

int outgoing_delayed(struct relay *r, struct conversation *c, enum message_kind kind, const char *reason)
{
	const char *what = kind == KIND_REPLY ? "an adviser's reply" : "an automatic reply";
	struct template_var vars[] = {
		{ "service_name", r->cfg->name }, { "reference", c->ref }, { "what", what }, { "reason", reason }
	};
	return adviser_notice(r, c, KIND_NOTICE, "email/delayed", vars, 4, (const char *const *)r->cfg->forward_to.items,
	                      r->cfg->forward_to.n);
}
