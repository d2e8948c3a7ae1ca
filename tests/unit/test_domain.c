/* Unit tests for domain.c and for the database's side of it: a channel, a
 * conversation's state, a message's kind and an outbox row's state are enums in memory and
 * words on disk, and every table that keeps one (conversation, message,
 * outbox, contact) gives back what it was given. */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "domain.h"
#include "check.h"
#include "db.h"
#include "util.h"

static char path[200];

/* The words a table holds, joined by ','. */
static void stored(const char *sql, char *out, size_t outlen)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			size_t k = strlen(out);
			snprintf(out + k, outlen - k, "%s%s", k ? "," : "", (const char *)sqlite3_column_text(st, 0));
		}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void note_message(void *arg, const struct message_row *m)
{
	char *out = arg;
	size_t k = strlen(out);
	snprintf(out + k, 64 - k, "%s%s/%s", k ? "," : "", kind_stored(m->kind), channel_said(m->channel));
}

static void note_outbox(void *arg, const struct outbox_row *o)
{
	char *out = arg;
	size_t k = strlen(out);
	snprintf(out + k, 64 - k, "%s%s/%s", k ? "," : "", kind_stored(o->kind), channel_said(o->channel));
}

static void note_state(void *arg, const struct outbox_row *o)
{
	char *out = arg;
	size_t k = strlen(out);
	snprintf(out + k, 64 - k, "%s%s", k ? "," : "",
	         o->state == OUTBOX_SENT     ? "sent"
	         : o->state == OUTBOX_FAILED ? "failed"
	                                     : "pending");
}

static void pure(void)
{
	CHECK_STR("email is stored as email", channel_stored(CHANNEL_EMAIL), "email");
	CHECK_STR("a text is stored as sms", channel_stored(CHANNEL_SMS), "sms");
	CHECK_STR("people read email", channel_said(CHANNEL_EMAIL), "email");
	CHECK_STR("people read text", channel_said(CHANNEL_SMS), "text");
	CHECK_INT("sms is read back as a text", channel_from_stored("sms"), CHANNEL_SMS);
	CHECK_INT("email is read back as email", channel_from_stored("email"), CHANNEL_EMAIL);
	CHECK_INT("each stored word reads back (email)", channel_from_stored(channel_stored(CHANNEL_EMAIL)), CHANNEL_EMAIL);
	CHECK_INT("each stored word reads back (sms)", channel_from_stored(channel_stored(CHANNEL_SMS)), CHANNEL_SMS);
	/* A word the relay never writes is never a text: no number is texted for it. */
	static const char *odd[] = { "SMS", "sms ", "text", "", "smsx", NULL };
	for (int i = 0; odd[i]; i++) {
		char name[64];
		snprintf(name, sizeof name, "'%s' is not a text", odd[i]);
		CHECK_INT(name, channel_from_stored(odd[i]), CHANNEL_EMAIL);
	}
	CHECK_INT("NULL is not a text", channel_from_stored(NULL), CHANNEL_EMAIL);

	CHECK_STR("open is stored as open", conversation_state_stored(CONVERSATION_OPEN), "open");
	CHECK_STR("closed is stored as closed", conversation_state_stored(CONVERSATION_CLOSED), "closed");
	CHECK_INT("closed reads back", conversation_state_from_stored("closed"), CONVERSATION_CLOSED);
	CHECK_INT("open reads back", conversation_state_from_stored("open"), CONVERSATION_OPEN);
	CHECK_INT("an odd word is open (the schema's default)", conversation_state_from_stored("Closed"), CONVERSATION_OPEN);
	CHECK_INT("NULL is open", conversation_state_from_stored(NULL), CONVERSATION_OPEN);

	static const struct {
		enum outbox_state s;
		const char *word;
	} states[] = { { OUTBOX_PENDING, "pending" }, { OUTBOX_SENT, "sent" }, { OUTBOX_FAILED, "failed" } };
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "outbox state %s is stored as its word", states[i].word);
		CHECK_STR(name, outbox_state_stored(states[i].s), states[i].word);
		snprintf(name, sizeof name, "outbox state %s reads back", states[i].word);
		CHECK_INT(name, outbox_state_from_stored(states[i].word), states[i].s);
	}
	/* A row of unknown standing is tried again, never taken as sent or failed. */
	CHECK_INT("an odd outbox word is pending", outbox_state_from_stored("SENT"), OUTBOX_PENDING);
	CHECK_INT("NULL is pending", outbox_state_from_stored(NULL), OUTBOX_PENDING);
}

static long long conversation(struct db *db, const char *ref, enum channel ch, const char *contact)
{
	struct conversation c = {
		.ref = xstrdup(ref), .channel = ch, .contact = xstrdup(contact), .created_at = 100, .last_activity = 100
	};
	long long id = db_conversation_create(db, &c) == 0 ? c.id : -1;
	conversation_free(&c);
	return id;
}

int main(void)
{
	char dir[] = "/tmp/channel-test-XXXXXX", err[512], got[256];
	pure();
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/relay.db", dir);
	struct db *db = NULL;
	CHECK_INT("opens", db_open(path, &db, err, sizeof err), 0);

	/* The same contact string on both channels: two conversations, each found by its own channel. */
	long long mail = conversation(db, "RUS-AAAAA", CHANNEL_EMAIL, "+447700900123");
	long long text = conversation(db, "RUS-BBBBB", CHANNEL_SMS, "+447700900123");
	CHECK("two conversations", mail > 0 && text > 0);
	stored("SELECT channel FROM conversation ORDER BY id", got, sizeof got);
	CHECK_STR("conversation rows hold the words", got, "email,sms");
	struct conversation c;
	CHECK_INT("the text conversation is found", db_conversation_latest_for(db, CHANNEL_SMS, "+447700900123", &c), 0);
	CHECK_INT("by its channel", c.id, text);
	CHECK_INT("and read back as a text", c.channel, CHANNEL_SMS);
	conversation_free(&c);
	CHECK_INT("the email conversation is found", db_conversation_latest_for(db, CHANNEL_EMAIL, "+447700900123", &c), 0);
	CHECK_INT("by its channel", c.id, mail);
	CHECK_INT("and read back as email", c.channel, CHANNEL_EMAIL);
	conversation_free(&c);
	CHECK_INT("a ref is read back with its channel", db_conversation_by_ref(db, "RUS-BBBBB", &c), 0);
	CHECK_INT("RUS-BBBBB is a text conversation", c.channel, CHANNEL_SMS);
	CHECK_INT("a new conversation is open", c.state, CONVERSATION_OPEN);
	c.state = CONVERSATION_CLOSED;
	c.closed_at = 200;
	CHECK_INT("closed", db_conversation_update(db, &c), 0);
	conversation_free(&c);
	stored("SELECT state FROM conversation ORDER BY id", got, sizeof got);
	CHECK_STR("conversation rows hold the state words", got, "open,closed");
	CHECK_INT("read again", db_conversation_by_ref(db, "RUS-BBBBB", &c), 0);
	CHECK_INT("and read back closed", c.state, CONVERSATION_CLOSED);
	c.state = CONVERSATION_OPEN;
	CHECK_INT("reopened", db_conversation_update(db, &c), 0);
	conversation_free(&c);
	CHECK_INT("read once more", db_conversation_by_ref(db, "RUS-BBBBB", &c), 0);
	CHECK_INT("and read back open", c.state, CONVERSATION_OPEN);
	conversation_free(&c);

	/* Transcript rows and outbox rows. */
	struct message_row m = {
		.conversation_id = text, .kind = KIND_INBOUND, .channel = CHANNEL_SMS, .at = 100, .body = "hi"
	};
	long long row = 0;
	CHECK_INT("a text's transcript row", db_message_add(db, &m, &row), 0);
	m.kind = KIND_NOTE;
	m.channel = CHANNEL_EMAIL;
	CHECK_INT("an email's transcript row", db_message_add(db, &m, &row), 0);
	stored("SELECT channel FROM message ORDER BY id", got, sizeof got);
	CHECK_STR("message rows hold the words", got, "sms,email");
	char seen[64] = "";
	stored("SELECT kind FROM message ORDER BY id", got, sizeof got);
	CHECK_STR("message rows hold the kind words", got, "inbound,note");
	CHECK_INT("the transcript reads", db_transcript(db, text, note_message, seen), 0);
	CHECK_STR("and gives the kinds and channels back", seen, "inbound/text,note/email");

	struct outbox_new o = { .conversation_id = text,
		                .kind = KIND_REPLY,
		                .channel = CHANNEL_SMS,
		                .message_id = "m1@example.org",
		                .rcpt = "+447700900123",
		                .data = "hi",
		                .len = 2 };
	CHECK_INT("a text queued", db_outbox_add(db, &o, &row), 0);
	o.kind = KIND_RECEIPT;
	o.channel = CHANNEL_EMAIL;
	o.message_id = "m2@example.org";
	o.rcpt = "adviser@example.org";
	long long first = row;
	CHECK_INT("an email queued", db_outbox_add(db, &o, &row), 0);
	stored("SELECT channel FROM outbox ORDER BY id", got, sizeof got);
	CHECK_STR("outbox rows hold the words", got, "sms,email");
	seen[0] = '\0';
	stored("SELECT kind FROM outbox ORDER BY id", got, sizeof got);
	CHECK_STR("outbox rows hold the kind words", got, "reply,receipt");
	CHECK_INT("the outbox reads", db_outbox_for(db, text, note_outbox, seen), 0);
	CHECK_STR("and gives the kinds and channels back", seen, "reply/text,receipt/email");
	stored("SELECT state FROM outbox ORDER BY id", got, sizeof got);
	CHECK_STR("queued rows are pending", got, "pending,pending");
	CHECK_INT("the text marked failed", db_outbox_mark(db, first, OUTBOX_FAILED, 1, 100, "refused", 0), 0);
	CHECK_INT("the email marked sent", db_outbox_mark(db, row, OUTBOX_SENT, 1, 100, NULL, 150), 0);
	stored("SELECT state FROM outbox ORDER BY id", got, sizeof got);
	CHECK_STR("outbox rows hold the state words", got, "failed,sent");
	seen[0] = '\0';
	CHECK_INT("the outbox reads again", db_outbox_for(db, text, note_state, seen), 0);
	CHECK_STR("and gives the states back", seen, "failed,sent");

	/* Contacts: an opt-out on one channel is not an opt-out on the other. */
	CHECK_INT("STOP recorded for the number", db_contact_set_opted_out(db, CHANNEL_SMS, "+447700900123", 100), 0);
	CHECK_INT("the number is opted out of texts", db_contact_opted_out(db, CHANNEL_SMS, "+447700900123"), 1);
	CHECK_INT("the same string by email is not", db_contact_opted_out(db, CHANNEL_EMAIL, "+447700900123"), 0);
	stored("SELECT channel FROM contact", got, sizeof got);
	CHECK_STR("contact rows hold the word", got, "sms");

	db_close(db);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
