/* Unit tests for the store's answers about received messages (db.c): which
 * conversation a Message-ID names when senders reuse one, and what an
 * inbound key was stored with. */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "db.h"

static long long conversation(struct db *db, const char *ref, const char *contact)
{
	struct conversation c = { .ref = (char *)ref,
		                  .channel = CHANNEL_EMAIL,
		                  .contact = (char *)contact,
		                  .created_at = 100,
		                  .last_activity = 100 };
	long long id = db_conversation_create(db, &c) == 0 ? c.id : -1;
	return id;
}

static long long message(struct db *db, long long conv, const char *kind, const char *message_id, const char *raw,
                         size_t len)
{
	struct message_row m = { .conversation_id = conv,
		                 .kind = kind_from_stored(kind),
		                 .channel = CHANNEL_EMAIL,
		                 .at = 100,
		                 .message_id = message_id,
		                 .body = "text",
		                 .raw = raw,
		                 .raw_len = len };
	long long id = -1;
	return db_message_add(db, &m, &id) == 0 ? id : -1;
}

/* The conversation and kind a Message-ID names, as "id kind", or "none" / "error". */
static const char *names(struct db *db, const char *message_id)
{
	static char out[64];
	long long conv = 0;
	enum message_kind kind = KIND_OTHER;
	int rc = db_conversation_by_message_id(db, message_id, &conv, &kind);
	if (rc == 0)
		snprintf(out, sizeof out, "%lld %s", conv, kind_stored(kind));
	else
		snprintf(out, sizeof out, "%s", rc == 1 ? "none" : "error");
	return out;
}

int main(void)
{
	char dir[] = "/tmp/message-ids-XXXXXX", path[200], err[512], want[64];
	struct db *db = NULL;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/relay.db", dir);
	CHECK_INT("opens", db_open(path, &db, err, sizeof err), 0);
	long long a = conversation(db, "RUS-AAAAA", "a@example.net"), b = conversation(db, "RUS-BBBBB", "b@example.net");
	CHECK("two conversations", a > 0 && b > 0 && a != b);

	/* --- db_conversation_by_message_id ------------------------------------- */
	CHECK_STR("an unknown id names none", names(db, "nobody@x"), "none");
	struct outbox_new o = { .conversation_id = a,
		                .kind = KIND_AUTOREPLY,
		                .channel = CHANNEL_EMAIL,
		                .message_id = "ours.1@rusafe",
		                .mail_from = "r@x",
		                .rcpt = "a@example.net\n",
		                .data = "x",
		                .len = 1,
		                .next_attempt_at = 100,
		                .created_at = 100 };
	CHECK_INT("our auto-reply", db_outbox_add(db, &o, NULL), 0);
	snprintf(want, sizeof want, "%lld autoreply", a);
	CHECK_STR("our own id names its conversation", names(db, "ours.1@rusafe"), want);

	CHECK("a's message", message(db, a, "inbound", "m.1@example.net", "raw", 3) > 0);
	snprintf(want, sizeof want, "%lld inbound", a);
	CHECK_STR("a received id names its conversation", names(db, "m.1@example.net"), want);
	CHECK("a's second message with the same id", message(db, a, "automatic", "m.1@example.net", NULL, 0) > 0);
	CHECK_STR("two rows of one conversation: the earliest", names(db, "m.1@example.net"), want);
	for (int i = 0; i < 20; i++)
		CHECK("more of a's", message(db, a, i % 2 ? "inbound" : "automatic", "m.1@example.net", NULL, 0) > 0);
	CHECK_STR("many rows of one conversation: still the earliest", names(db, "m.1@example.net"), want);
	CHECK("b's message reusing the id", message(db, b, "inbound", "m.1@example.net", NULL, 0) > 0);
	CHECK_STR("an id shared by two conversations names neither", names(db, "m.1@example.net"), "none");

	CHECK("a shares an id with b",
	      message(db, a, "inbound", "s.1@x", NULL, 0) > 0 && message(db, b, "inbound", "s.1@x", NULL, 0) > 0);
	o.conversation_id = b;
	o.kind = KIND_FORWARD;
	o.message_id = "s.1@x";
	CHECK_INT("and one of our ids is the same", db_outbox_add(db, &o, NULL), 0);
	snprintf(want, sizeof want, "%lld forward", b);
	CHECK_STR("our own id comes first", names(db, "s.1@x"), want);

	/* --- db_inbound_message ----------------------------------------------- */
	long long row = -1;
	char *raw = (char *)"untouched";
	size_t len = 99;
	CHECK_INT("an unknown key", db_inbound_message(db, "mid:none", &row, &raw, &len), 1);
	CHECK("... gives nothing", row == 0 && raw == NULL && len == 0);

	CHECK_INT("a key without a row", db_inbound_add(db, "mid:own@rusafe", 0), 0);
	CHECK_INT("the same key again: 1, a duplicate", db_inbound_add(db, "mid:own@rusafe", 7), 1);
	CHECK_INT("is known", db_inbound_message(db, "mid:own@rusafe", &row, &raw, &len), 0);
	CHECK("... with no row and no source", row == 0 && raw == NULL);

	static const char src[] = "Subject: x\r\n\r\na\0b";
	long long m = message(db, b, "inbound", "k.1@x", src, sizeof src - 1);
	CHECK_INT("a key with its row", db_inbound_add(db, "mid:k.1@x", m), 0);
	CHECK_INT("is known", db_inbound_message(db, "mid:k.1@x", &row, &raw, &len), 0);
	CHECK("... with its row and source, NUL and all",
	      row == m && raw && len == sizeof src - 1 && memcmp(raw, src, len) == 0 && raw[len] == '\0');
	free(raw);

	long long e = message(db, b, "inbound", "k.2@x", "", 0);
	CHECK_INT("an empty source", db_inbound_add(db, "mid:k.2@x", e), 0);
	CHECK_INT("is known", db_inbound_message(db, "mid:k.2@x", &row, &raw, &len), 0);
	CHECK("... as empty, not as none", row == e && raw && len == 0);
	free(raw);

	long long p = message(db, b, "inbound", "k.3@x", "gone", 4);
	CHECK_INT("a purged source", db_inbound_add(db, "mid:k.3@x", p), 0);
	CHECK_INT("purge", db_purge_conversation(db, b, 200, "test"), 0);
	CHECK_INT("is known", db_inbound_message(db, "mid:k.3@x", &row, &raw, &len), 0);
	CHECK("... with its row and no source", row == p && raw == NULL && len == 0);

	db_close(db);
	unlink(path);
	char wal[220];
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
	rmdir(dir);
	return check_done();
}
