/* tools.c: the service's own tools at the server (see tools.h). */
#include "tools.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "intake.h"
#include "lifecycle.h"
#include "log.h"
#include "outbox.h"
#include "outgoing.h"
#include "replies.h"
#include "retention.h"
#include "stats.h"
#include "termsafe.h"
#include "util.h"

/* What is printed for people goes through termsafe.h: escaped, except an
 * export written to a file, which keeps the exact text (as JSON does).
 * Errors on stderr are always escaped: they may echo what was typed. */
#define say(t, ...) termsafe_printf(stdout, !(t)->exact, __VA_ARGS__)
#define complain(...) termsafe_printf(stderr, 1, __VA_ARGS__)

/* ---- shared ------------------------------------------------------------- */

static void local_time(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t) {
		snprintf(out, n, "-");
		return;
	}
	localtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

/* JSON times are UTC, ISO 8601; 0 is null. */
static struct json_object *json_time(long long t)
{
	char b[32];
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t)
		return NULL;
	gmtime_r(&tt, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(b);
}

static struct json_object *json_text(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int find(struct tools *t, const char *ref, struct conversation *c)
{
	int rc = db_conversation_by_ref(t->r->db, ref, c);
	if (rc < 0) {
		complain("relay: database: %s\n", db_error(t->r->db));
		return -1;
	}
	if (rc > 0) {
		complain("relay: no conversation %s (relay list shows them all)\n", ref);
		return -1;
	}
	return 0;
}

/* A one-line field as printed: escaped as a line (a newline shown as \x0a),
 * or as it is in an exact export. Owned by the caller; NULL for NULL. */
static char *field(const struct tools *t, const char *s)
{
	return t->exact ? xstrdup(s) : termsafe_dup(s, TERMSAFE_LINE);
}

/* Who wrote a transcript entry, in the service's words. */
static const char *entry_title(const struct message_row *m)
{
	switch (m->kind) {
	case KIND_INBOUND:
		return "young person";
	case KIND_REPLY:
		return "reply sent";
	case KIND_HELD:
		return "HELD, not relayed";
	case KIND_AUTOMATIC:
		return "automatic mail, not answered";
	case KIND_NOTE:
		return "NOTE (advisers only)";
	case KIND_COMMAND:
		return "command";
	case KIND_SETASIDE:
		return "SET ASIDE: could not be handled automatically";
	case KIND_RETRIED:
		return "set aside, then handed back (relay retry)";
	default:
		return kind_stored(m->kind);
	}
}

/* ---- list --------------------------------------------------------------- */

struct listing {
	struct tools *t;
	struct json_object *array; /* --json */
	int count;
};

static void list_one(void *arg, const struct conversation *c, const struct conversation_summary *s)
{
	struct listing *l = arg;
	char at[32], flags[64] = "";
	char *contact = outgoing_contact(l->t->r->cfg, c);
	l->count++;
	if (l->array) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "reference", json_object_new_string(c->ref));
		json_object_object_add(o, "state", json_object_new_string(conversation_state_stored(c->state)));
		json_object_object_add(o, "channel", json_object_new_string(channel_stored(c->channel)));
		json_object_object_add(o, "contact", json_object_new_string(contact));
		json_object_object_add(o, "messages", json_object_new_int(s->messages));
		json_object_object_add(o, "started", json_time(c->created_at));
		json_object_object_add(o, "last_activity", json_time(c->last_activity));
		json_object_object_add(o, "urgent", json_object_new_boolean(c->urgent));
		json_object_object_add(o, "blocked", json_object_new_boolean(s->blocked));
		json_object_object_add(o, "opted_out", json_object_new_boolean(s->opted_out));
		json_object_object_add(o, "set_aside", json_object_new_int(s->set_aside));
		json_object_object_add(o, "previous_reference", json_text(c->previous_ref));
		json_object_array_add(l->array, o);
	} else {
		local_time(c->last_activity, at, sizeof at);
		snprintf(flags, sizeof flags, "%s%s%s%s", c->urgent ? "urgent " : "", s->blocked ? "blocked " : "",
		         s->opted_out ? "opted-out " : "", s->set_aside ? "set-aside " : "");
		say(l->t, "%-12s %-6s %-5s %-26s %5d  %-16s %s\n", c->ref, conversation_state_stored(c->state),
		    channel_said(c->channel), contact, s->messages, at, flags);
	}
	free(contact);
}

int tools_list(struct tools *t, enum db_list_filter filter)
{
	struct listing l = { t, t->json ? json_object_new_array() : NULL, 0 };
	if (!t->json)
		say(t, "%-12s %-6s %-5s %-26s %5s  %-16s %s\n", "REFERENCE", "STATE", "BY", "CONTACT", "MSGS",
		    "LAST ACTIVITY", "FLAGS");
	if (db_list_conversations(t->r->db, filter, t->r->now, list_one, &l) < 0) {
		json_object_put(l.array);
		complain("relay: database: %s\n", db_error(t->r->db));
		return 1;
	}
	if (t->json)
		json_print(l.array);
	else if (!l.count)
		say(t, "(no conversations%s)\n",
		    filter == DB_LIST_OPEN     ? " open"
		    : filter == DB_LIST_URGENT ? " urgent and open"
		                               : "");
	return 0;
}

/* ---- show and export ---------------------------------------------------- */

struct transcript {
	struct tools *t;
	int document;                                      /* export: full dates */
	struct json_object *messages, *deliveries, *audit; /* --json */
};

static void show_message(void *arg, const struct message_row *m)
{
	struct transcript *tr = arg;
	char at[64];
	if (tr->messages) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "at", json_time(m->at));
		json_object_object_add(o, "kind", json_object_new_string(kind_stored(m->kind)));
		json_object_object_add(o, "channel", json_object_new_string(channel_stored(m->channel)));
		json_object_object_add(o, "author", json_text(m->author));
		json_object_object_add(o, "subject", json_text(m->subject));
		json_object_object_add(o, "text", json_text(m->body));
		json_object_object_add(o, "attachments", json_text(m->attachments));
		json_object_object_add(o, "detail", json_text(m->detail));
		json_object_object_add(o, "purged", json_time(m->purged_at));
		json_object_array_add(tr->messages, o);
		return;
	}
	/* One field, one line: a newline in a subject must not forge an entry. */
	char *author = field(tr->t, m->author), *detail = field(tr->t, m->detail), *subject = field(tr->t, m->subject);
	if (tr->document)
		relay_format_time(m->at, at, sizeof at);
	else
		local_time(m->at, at, sizeof at);
	say(tr->t, "\n--- %s  %s (%s)%s%s\n", at, entry_title(m), channel_said(m->channel), author ? "  by " : "",
	    author ? author : "");
	if (m->purged_at) {
		say(tr->t, "    (text removed after the retention period)\n");
		goto out;
	}
	if (detail)
		say(tr->t, "    why: %s\n", detail);
	if (subject)
		say(tr->t, "    subject: %s\n", subject);
	if (m->attachments)
		say(tr->t, "    attachments (not forwarded):\n      %s", m->attachments);
	say(tr->t, "%s%s", m->body ? m->body : "",
	    m->body && m->body[0] && m->body[strlen(m->body) - 1] != '\n' ? "\n" : "");
out:
	free(author);
	free(detail);
	free(subject);
}

static void show_delivery(void *arg, const struct outbox_row *o)
{
	struct transcript *tr = arg;
	char at[32], what[96] = "";
	if (tr->deliveries) {
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "queued", json_time(o->created_at));
		json_object_object_add(j, "kind", json_object_new_string(kind_stored(o->kind)));
		json_object_object_add(j, "channel", json_object_new_string(channel_stored(o->channel)));
		json_object_object_add(j, "state", json_object_new_string(outbox_state_stored(o->state)));
		json_object_object_add(j, "attempts", json_object_new_int(o->attempts));
		json_object_object_add(j, "parts", o->parts ? json_object_new_int(o->parts) : NULL);
		json_object_object_add(j, "delivery", json_text(o->delivery));
		json_object_object_add(j, "last_error", json_text(o->last_error));
		json_object_array_add(tr->deliveries, j);
		return;
	}
	char *delivery = field(tr->t, o->delivery), *error = field(tr->t, o->last_error);
	local_time(o->created_at, at, sizeof at);
	if (o->channel == CHANNEL_SMS)
		snprintf(what, sizeof what, "text, %d part%s%s%s", o->parts, o->parts == 1 ? "" : "s",
		         delivery ? ", delivery: " : "", delivery ? delivery : "");
	else if (o->state == OUTBOX_SENT)
		snprintf(what, sizeof what, "accepted by the mail server");
	say(tr->t, "  %s  %-9s %-7s %s (attempts %d)%s%s\n", at, kind_stored(o->kind), outbox_state_stored(o->state), what,
	    o->attempts, error ? ": " : "", error ? error : "");
	free(delivery);
	free(error);
}

static void show_audit(void *arg, long long at, const char *actor, const char *action, const char *detail)
{
	struct transcript *tr = arg;
	char when[64];
	if (tr->audit) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "at", json_time(at));
		json_object_object_add(o, "actor", json_object_new_string(actor));
		json_object_object_add(o, "action", json_object_new_string(action));
		json_object_object_add(o, "detail", json_text(detail));
		json_object_array_add(tr->audit, o);
		return;
	}
	char *line = field(tr->t, detail);
	relay_format_time(at, when, sizeof when);
	say(tr->t, "  %s  %-22s %s%s%s\n", when, action, actor, line ? ", " : "", line ? line : "");
	free(line);
}

static int transcript(struct tools *t, const char *ref, int document)
{
	struct conversation c;
	struct transcript tr = { t, document, NULL, NULL, NULL };
	char started[64], closed[64], exported[64];
	int rc = 1;

	if (find(t, ref, &c) < 0)
		return 1;
	/* A referral written to a file keeps the young person's exact words. */
	t->exact = document && !t->json && !isatty(STDOUT_FILENO);
	char *contact = outgoing_contact(t->r->cfg, &c);
	if (document) {
		/* An export is itself something someone did with a child's words. */
		if (db_audit(t->r->db, t->r->now, c.id, t->operator, "exported", NULL) < 0)
			goto out;
	}
	if (t->json) {
		struct json_object *o = json_object_new_object();
		tr.messages = json_object_new_array();
		tr.deliveries = json_object_new_array();
		json_object_object_add(o, "service", json_object_new_string(t->r->cfg->name));
		json_object_object_add(o, "reference", json_object_new_string(c.ref));
		json_object_object_add(o, "channel", json_object_new_string(channel_stored(c.channel)));
		json_object_object_add(o, "contact", json_object_new_string(contact));
		json_object_object_add(o, "state", json_object_new_string(conversation_state_stored(c.state)));
		json_object_object_add(o, "urgent", json_object_new_boolean(c.urgent));
		json_object_object_add(o, "started", json_time(c.created_at));
		json_object_object_add(o, "closed", json_time(c.closed_at));
		json_object_object_add(o, "previous_reference", json_text(c.previous_ref));
		if (document) {
			tr.audit = json_object_new_array();
			json_object_object_add(o, "exported", json_time(t->r->now));
			json_object_object_add(o, "exported_by", json_object_new_string(t->operator));
		}
		if (db_transcript(t->r->db, c.id, show_message, &tr) < 0 ||
		    db_outbox_for(t->r->db, c.id, show_delivery, &tr) < 0 ||
		    (document && db_audit_for(t->r->db, c.id, show_audit, &tr) < 0)) {
			json_object_put(o);
			json_object_put(tr.messages);
			json_object_put(tr.deliveries);
			json_object_put(tr.audit);
			goto out;
		}
		json_object_object_add(o, "messages", tr.messages);
		json_object_object_add(o, "deliveries", tr.deliveries);
		if (document)
			json_object_object_add(o, "audit", tr.audit);
		json_print(o);
		rc = 0;
		goto out;
	}
	if (document) {
		relay_format_time(c.created_at, started, sizeof started);
		relay_format_time(t->r->now, exported, sizeof exported);
		if (c.closed_at)
			relay_format_time(c.closed_at, closed, sizeof closed);
		say(t,
		    "%s: conversation %s\nExported %s by %s, for a safeguarding referral.\n"
		    "Confidential: it holds what a young person told the service.\n\n",
		    t->r->cfg->name, c.ref, exported, t->operator);
	} else {
		local_time(c.created_at, started, sizeof started);
		local_time(c.closed_at, closed, sizeof closed);
	}
	say(t, "Conversation %s\n  channel:  %s\n  contact:  %s\n  state:    %s%s\n  started:  %s\n", c.ref,
	    channel_said(c.channel), contact, conversation_state_stored(c.state), c.urgent ? " (URGENT)" : "", started);
	if (c.closed_at)
		say(t, "  closed:   %s\n", closed);
	if (c.previous_ref)
		say(t, "  follows:  %s\n", c.previous_ref);
	if (db_transcript(t->r->db, c.id, show_message, &tr) < 0)
		goto out;
	say(t, "\nDeliveries:\n");
	if (db_outbox_for(t->r->db, c.id, show_delivery, &tr) < 0)
		goto out;
	if (document) {
		say(t, "\nAudit trail:\n");
		if (db_audit_for(t->r->db, c.id, show_audit, &tr) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc)
		complain("relay: database: %s\n", db_error(t->r->db));
	free(contact);
	conversation_free(&c);
	return rc;
}

int tools_show(struct tools *t, const char *ref)
{
	return transcript(t, ref, 0);
}

int tools_export(struct tools *t, const char *ref)
{
	return transcript(t, ref, 1);
}

/* ---- close and reopen --------------------------------------------------- */

int tools_set_state(struct tools *t, const char *ref, int open)
{
	struct conversation c;
	enum conversation_state want = open ? CONVERSATION_OPEN : CONVERSATION_CLOSED;
	if (find(t, ref, &c) < 0)
		return 1;
	if (c.state == want) {
		say(t, "%s is already %s\n", c.ref, conversation_state_stored(want));
		conversation_free(&c);
		return 0;
	}
	struct message_row mr = { .conversation_id = c.id,
		                  .kind = KIND_COMMAND,
		                  .channel = CHANNEL_EMAIL,
		                  .at = t->r->now,
		                  .author = t->operator,
		                  .body = open ? "#reopen" : "#close" };
	lifecycle_set_open(&c, open, t->r->now);
	if (db_begin(t->r->db) < 0 || db_message_add(t->r->db, &mr, NULL) < 0 || db_conversation_update(t->r->db, &c) < 0 ||
	    db_commit(t->r->db) < 0) {
		db_rollback(t->r->db);
		complain("relay: database: %s\n", db_error(t->r->db));
		conversation_free(&c);
		return 1;
	}
	log_info("%s: %s by the operator", c.ref, open ? "reopened" : "closed");
	if (t->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "reference", json_object_new_string(c.ref));
		json_object_object_add(o, "state", json_object_new_string(conversation_state_stored(want)));
		json_print(o);
	} else {
		say(t, "%s %s\n", c.ref, open ? "reopened" : "closed");
	}
	conversation_free(&c);
	return 0;
}

/* ---- send --------------------------------------------------------------- */

struct last_reply {
	long long after;         /* outbox rows created from this time */
	enum outbox_state state; /* pending until a reply row is seen */
	char *error;
	int parts;
	enum channel channel;
};

static void note_reply(void *arg, const struct outbox_row *o)
{
	struct last_reply *l = arg;
	if (o->kind != KIND_REPLY || o->created_at < l->after)
		return;
	free(l->error);
	l->state = o->state;
	l->error = o->last_error ? xstrdup(o->last_error) : NULL;
	l->parts = o->parts;
	l->channel = o->channel;
}

int tools_send(struct tools *t, const char *ref, FILE *in)
{
	struct conversation c;
	struct buf typed;
	char err[512], chunk[4096];
	size_t n;
	int rc = 1;

	if (find(t, ref, &c) < 0)
		return 1;
	buf_init(&typed);
	while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
		if (typed.len + n > 64 * 1024) {
			complain("relay: the message is longer than 64 KiB; nothing was sent\n");
			goto out;
		}
		buf_add(&typed, chunk, n);
	}
	if (memchr(buf_str(&typed), '\0', typed.len)) {
		complain("relay: the message contains a NUL byte; nothing was sent\n");
		goto out;
	}
	if (db_begin(t->r->db) < 0)
		goto dberr;
	int q = replies_from_console(t->r, &c, t->operator, buf_str(&typed), err, sizeof err);
	if (q != 0) {
		db_rollback(t->r->db);
		if (q < 0)
			goto dberr;
		complain("relay: %s\n", err);
		goto out;
	}
	if (db_commit(t->r->db) < 0) {
		db_rollback(t->r->db);
		goto dberr;
	}
	/* Deliver now; what the servers do not take stays queued for the daemon. */
	(void)outbox_flush(t->r, err, sizeof err);
	struct last_reply l = { .after = t->r->now };
	db_outbox_for(t->r->db, c.id, note_reply, &l);
	int sent = l.state == OUTBOX_SENT;
	if (t->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "reference", json_object_new_string(c.ref));
		json_object_object_add(o, "state", json_object_new_string(outbox_state_stored(l.state)));
		json_object_object_add(o, "parts", l.parts ? json_object_new_int(l.parts) : NULL);
		json_object_object_add(o, "last_error", json_text(l.error));
		json_print(o);
	} else if (sent) {
		if (l.channel == CHANNEL_SMS)
			say(t, "%s: sent by text in %d part%s; the advisers have a receipt\n", c.ref, l.parts,
			    l.parts == 1 ? "" : "s");
		else
			say(t, "%s: sent by email; the advisers have a receipt\n", c.ref);
	} else {
		say(t, "%s: queued%s%s%s; the running relay will send it\n", c.ref, l.error ? " (" : "",
		    l.error ? l.error : "", l.error ? ")" : "");
	}
	free(l.error);
	rc = 0;
	goto out;
dberr:
	complain("relay: database: %s\n", db_error(t->r->db));
out:
	buf_free(&typed);
	conversation_free(&c);
	return rc;
}

/* ---- stats -------------------------------------------------------------- */

struct tally {
	struct stats s;
	const struct office_hours *hours;
};

static void tally_message(void *arg, enum message_kind kind, enum channel channel, long long at)
{
	struct tally *ty = arg;
	stats_add_message(&ty->s, ty->hours, kind, channel, at);
}

static void tally_conversation(void *arg, int urgent, long long first_inbound, long long first_reply)
{
	struct tally *ty = arg;
	stats_add_conversation(&ty->s, urgent, first_inbound, first_reply);
}

static struct json_object *json_channel(const struct stats_channel *ch)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "in", json_object_new_int64(ch->in));
	json_object_object_add(o, "replies", json_object_new_int64(ch->out));
	json_object_object_add(o, "autoreplies", json_object_new_int64(ch->autoreplies));
	return o;
}

int tools_stats(struct tools *t, long long since)
{
	struct tally ty;
	stats_init(&ty.s);
	ty.hours = &t->r->cfg->hours;
	if (db_stats_messages(t->r->db, since, tally_message, &ty) < 0 ||
	    db_stats_conversations(t->r->db, since, tally_conversation, &ty) < 0 ||
	    (ty.s.open_now = db_count_open(t->r->db)) < 0) {
		complain("relay: database: %s\n", db_error(t->r->db));
		stats_free(&ty.s);
		return 1;
	}
	stats_finish(&ty.s);
	struct stats *s = &ty.s;
	char from[32] = "the start", median[32], p90[32];
	if (since) {
		time_t tt = (time_t)since;
		struct tm tm;
		localtime_r(&tt, &tm);
		strftime(from, sizeof from, "%Y-%m-%d", &tm);
	}
	if (t->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "since", since ? json_time(since) : NULL);
		json_object_object_add(o, "email", json_channel(&s->email));
		json_object_object_add(o, "text", json_channel(&s->sms));
		json_object_object_add(o, "in_office_hours", json_object_new_int64(s->in_hours));
		json_object_object_add(o, "out_of_hours", json_object_new_int64(s->out_of_hours));
		json_object_object_add(o, "conversations", json_object_new_int64(s->conversations));
		json_object_object_add(o, "urgent", json_object_new_int64(s->urgent));
		json_object_object_add(o, "answered", json_object_new_int64(s->answered));
		json_object_object_add(o, "first_reply_median_seconds",
		                       s->median_wait < 0 ? NULL : json_object_new_int64(s->median_wait));
		json_object_object_add(o, "first_reply_p90_seconds",
		                       s->p90_wait < 0 ? NULL : json_object_new_int64(s->p90_wait));
		json_object_object_add(o, "open_now", json_object_new_int64(s->open_now));
		json_print(o);
	} else {
		stats_format_wait(s->median_wait, median, sizeof median);
		stats_format_wait(s->p90_wait, p90, sizeof p90);
		say(t, "Since %s\n\n", from);
		say(t, "%-8s %10s %10s %13s\n", "", "received", "replies", "auto-replies");
		say(t, "%-8s %10ld %10ld %13ld\n", "email", s->email.in, s->email.out, s->email.autoreplies);
		say(t, "%-8s %10ld %10ld %13ld\n", "text", s->sms.in, s->sms.out, s->sms.autoreplies);
		say(t, "\nMessages from young people: %ld in office hours, %ld out of hours\n", s->in_hours,
		    s->out_of_hours);
		say(t, "Conversations started:     %ld (%ld urgent, %ld answered by an adviser)\n", s->conversations,
		    s->urgent, s->answered);
		say(t, "Time to first adviser reply: median %s, 90th percentile %s\n", median, p90);
		say(t, "Open conversations now:    %ld\n", s->open_now);
	}
	stats_free(&ty.s);
	return 0;
}

/* ---- purge -------------------------------------------------------------- */

int tools_purge(struct tools *t, int dry_run, const char *actor)
{
	struct retention_outcome done;

	if (dry_run) {
		size_t n = 0;
		if (retention_due(t->r, &n) < 0) {
			complain("relay: database: %s\n", db_error(t->r->db));
			return 1;
		}
		if (t->json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "would_purge", json_object_new_int64((int64_t)n));
			json_print(o);
		} else {
			say(t, "%zu conversation%s closed more than %d days ago would have their text removed\n", n,
			    n == 1 ? "" : "s", t->r->cfg->retention_days);
		}
		return 0;
	}
	if (retention_purge(t->r, actor, &done) < 0) {
		complain("relay: database: %s\n", db_error(t->r->db));
		return 1;
	}
	if (t->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "purged", json_object_new_int64((int64_t)done.purged));
		json_object_object_add(o, "wal_emptied", json_object_new_boolean(!done.wal_busy));
		json_print(o);
	} else {
		say(t, "%zu conversation%s purged (text removed; counts kept for statistics)\n", done.purged,
		    done.purged == 1 ? "" : "s");
	}
	return done.purged == done.due ? 0 : 1;
}

/* ---- retry -------------------------------------------------------------- */

int tools_retry(struct tools *t, const char *ref)
{
	struct conversation c;
	char err[512];
	int handled = 0, still = 0;

	if (find(t, ref, &c) < 0)
		return 1;
	if (intake_retry(t->r, c.ref, &handled, &still, err, sizeof err) != 0) {
		complain("relay: %s\n", err);
		conversation_free(&c);
		return 1;
	}
	if (handled + still &&
	    (db_begin(t->r->db) < 0 || db_audit(t->r->db, t->r->now, c.id, t->operator, "retried", NULL) < 0 ||
	     db_commit(t->r->db) < 0))
		db_rollback(t->r->db);
	/* Deliver now what the handling queued; the rest waits for the daemon. */
	if (handled)
		(void)outbox_flush(t->r, err, sizeof err);
	if (t->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "reference", json_object_new_string(c.ref));
		json_object_object_add(o, "handled", json_object_new_int(handled));
		json_object_object_add(o, "still_set_aside", json_object_new_int(still));
		json_print(o);
	} else if (!handled && !still) {
		say(t, "%s: nothing is set aside\n", c.ref);
	} else {
		say(t, "%s: %d set-aside message%s handled now%s", c.ref, handled, handled == 1 ? "" : "s",
		    still ? "" : "\n");
		if (still)
			say(t, "; %d still cannot be (the reason is in the log and in relay show)\n", still);
	}
	conversation_free(&c);
	return still ? 1 : 0;
}

/* ---- status ---------------------------------------------------------------- */

struct status_read {
	struct health h;
	int seen[HEALTH_NPARTS];
	int have_relay;
	char relay_state[16];
	long long started, updated;
	int alerts_sent;
};

static void status_row(void *arg, const struct db_health *row)
{
	struct status_read *s = arg;
	if (!strcmp(row->part, "relay")) {
		s->have_relay = 1;
		snprintf(s->relay_state, sizeof s->relay_state, "%s", row->state ? row->state : "?");
		s->started = row->last_ok;
		s->updated = row->updated_at;
		s->alerts_sent = row->alerts;
		return;
	}
	int p = health_part_from_name(row->part);
	if (p < 0)
		return;
	struct health_part_state *ps = &s->h.part[p];
	ps->state = row->state && !strcmp(row->state, "ok")        ? HEALTH_OK
	            : row->state && !strcmp(row->state, "failing") ? HEALTH_FAILING
	                                                           : HEALTH_UNKNOWN;
	ps->last_ok = row->last_ok;
	ps->failing_since = row->failing_since;
	snprintf(ps->reason, sizeof ps->reason, "%s", row->reason ? row->reason : "");
	ps->alerted_at = row->alerted_at;
	ps->reminded_at = row->reminded_at;
	ps->alerts = row->alerts;
	s->seen[p] = 1;
}

int tools_status(struct tools *t)
{
	struct relay *r = t->r;
	struct status_read s;
	char when[64], age[64];

	memset(&s, 0, sizeof s);
	s.h.sms = config_has_sms(r->cfg);
	if (db_health_get(r->db, status_row, &s) < 0 ||
	    db_backlog(r->db, &s.h.waiting, &s.h.waiting_since, &s.h.replies_waiting, &s.h.replies_since) < 0) {
		complain("relay: database: %s\n", db_error(r->db));
		return 1;
	}
	/* The daemon writes at least once a poll interval (more often under a
	 * watchdog); a record much older than that is a daemon gone. */
	long long stale_after = 2LL * r->cfg->poll_interval + 300;
	const char *daemon = !s.have_relay                      ? "never run"
	                     : strcmp(s.relay_state, "running") ? "stopped"
	                     : r->now - s.updated > stale_after ? "not responding"
	                                                        : "running";
	int daemon_ok = !strcmp(daemon, "running");
	int failing = health_failing(&s.h) || !daemon_ok;

	if (t->json) {
		struct json_object *o = json_object_new_object(), *parts = json_object_new_array();
		struct json_object *d = json_object_new_object(), *b = json_object_new_object();
		json_object_object_add(d, "state", json_object_new_string(daemon));
		json_object_object_add(d, "started", json_time(s.started));
		json_object_object_add(d, "updated", json_time(s.updated));
		json_object_object_add(d, "updated_unix", json_object_new_int64(s.updated));
		json_object_object_add(d, "alerts_sent", json_object_new_int(s.alerts_sent));
		json_object_object_add(o, "relay", d);
		for (int p = 0; p < HEALTH_NPARTS; p++) {
			const struct health_part_state *ps = &s.h.part[p];
			if ((p == HEALTH_SMS_POLL || p == HEALTH_SMS_SEND) && !s.h.sms)
				continue;
			int bad = ps->state == HEALTH_FAILING;
			struct json_object *j = json_object_new_object();
			json_object_object_add(j, "part", json_object_new_string(health_part_name(p)));
			json_object_object_add(j, "state", json_object_new_string(health_state_name(ps->state)));
			json_object_object_add(j, "last_success", json_time(ps->last_ok));
			json_object_object_add(j, "last_success_unix", json_object_new_int64(ps->last_ok));
			json_object_object_add(j, "failing_since", bad ? json_time(ps->failing_since) : NULL);
			json_object_object_add(j, "failing_since_unix", json_object_new_int64(bad ? ps->failing_since : 0));
			json_object_object_add(j, "reason", bad ? json_text(ps->reason) : NULL);
			json_object_object_add(j, "alerts", json_object_new_int(ps->alerts));
			json_object_object_add(j, "alerted", json_time(ps->alerted_at));
			json_object_array_add(parts, j);
		}
		json_object_object_add(o, "parts", parts);
		json_object_object_add(b, "waiting", json_object_new_int(s.h.waiting));
		json_object_object_add(b, "oldest", json_time(s.h.waiting_since));
		json_object_object_add(b, "oldest_unix", json_object_new_int64(s.h.waiting_since));
		json_object_object_add(b, "replies_waiting", json_object_new_int(s.h.replies_waiting));
		json_object_object_add(b, "replies_oldest", json_time(s.h.replies_since));
		json_object_object_add(o, "backlog", b);
		json_object_object_add(o, "healthy", json_object_new_boolean(!failing));
		json_print(o);
		return failing ? 1 : 0;
	}
	local_time(s.updated, when, sizeof when);
	health_duration_text(r->now - s.updated, age, sizeof age);
	say(t, "relay     %s", daemon);
	if (s.have_relay)
		say(t, " (last seen %s, %s ago; %d alert%s sent since it started)", when, age, s.alerts_sent,
		    s.alerts_sent == 1 ? "" : "s");
	say(t, "\n");
	for (int p = 0; p < HEALTH_NPARTS; p++) {
		const struct health_part_state *ps = &s.h.part[p];
		if ((p == HEALTH_SMS_POLL || p == HEALTH_SMS_SEND) && !s.h.sms)
			continue;
		say(t, "%-9s %-7s", health_part_name(p), health_state_name(ps->state));
		if (ps->state == HEALTH_FAILING) {
			local_time(ps->failing_since, when, sizeof when);
			health_duration_text(r->now - ps->failing_since, age, sizeof age);
			say(t, " since %s (%s): %s", when, age, ps->reason);
			if (ps->alerts)
				say(t, " [%d alert%s sent]", ps->alerts, ps->alerts == 1 ? "" : "s");
		} else if (p != HEALTH_BACKLOG) {
			local_time(ps->last_ok, when, sizeof when);
			say(t, " last success %s", ps->last_ok ? when : "not yet");
		}
		if (p == HEALTH_BACKLOG) {
			local_time(s.h.waiting_since, when, sizeof when);
			say(t, " %d message%s from young people waiting to be forwarded%s%s", s.h.waiting,
			    s.h.waiting == 1 ? "" : "s", s.h.waiting ? ", the oldest since " : "", s.h.waiting ? when : "");
			local_time(s.h.replies_since, when, sizeof when);
			say(t, "; %d repl%s to young people waiting%s%s", s.h.replies_waiting,
			    s.h.replies_waiting == 1 ? "y" : "ies", s.h.replies_waiting ? ", the oldest since " : "",
			    s.h.replies_waiting ? when : "");
		}
		say(t, "\n");
	}
	return failing ? 1 : 0;
}
