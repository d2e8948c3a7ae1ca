/* Unit tests for one message's work inside a batch (db.c savepoints, as the
 * intake uses them) and for the set-aside messages `relay retry` hands back. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "util.h"

static long long add(struct db *db, long long conv, const char *kind, const char *raw, size_t len)
{
	struct message_row m = { .conversation_id = conv,
		                 .kind = kind_from_stored(kind),
		                 .channel = CHANNEL_EMAIL,
		                 .at = 100,
		                 .raw = raw,
		                 .raw_len = len,
		                 .detail = "why" };
	long long id = 0;
	return db_message_add(db, &m, &id) < 0 ? -1 : id;
}

struct listing {
	char *out;
	size_t outlen;
};

static void one(void *arg, const struct message_row *m)
{
	struct listing *l = arg;
	size_t k = strlen(l->out);
	snprintf(l->out + k, l->outlen - k, "%s%s", k ? "," : "", kind_stored(m->kind));
}

static int kinds(struct db *db, long long conv, char *out, size_t outlen)
{
	struct listing l = { out, outlen };
	out[0] = '\0';
	return db_transcript(db, conv, one, &l);
}

int main(void)
{
	char dir[] = "/tmp/savepoint-test-XXXXXX", path[200], err[512], got[256];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/relay.db", dir);
	struct db *db = NULL;
	CHECK_INT("opens", db_open(path, &db, err, sizeof err), 0);

	struct conversation c = { .ref = xstrdup("RUS-AAAAA"),
		                  .channel = CHANNEL_EMAIL,
		                  .contact = xstrdup("a@example.net"),
		                  .created_at = 100,
		                  .last_activity = 100 };
	CHECK_INT("a conversation", db_conversation_create(db, &c), 0);

	/* A batch: the first message's work kept, the second's undone, the third's kept. */
	CHECK_INT("begin", db_begin(db), 0);
	CHECK_INT("savepoint 1", db_savepoint(db), 0);
	CHECK("message 1", add(db, c.id, "inbound", "one", 3) > 0);
	CHECK_INT("release 1", db_savepoint_release(db), 0);
	CHECK_INT("savepoint 2", db_savepoint(db), 0);
	CHECK("message 2", add(db, c.id, "inbound", "two", 3) > 0);
	CHECK_INT("inbound key 2", db_inbound_add(db, "imap:2", 0), 0);
	CHECK_INT("undo 2", db_savepoint_undo(db), 0);
	CHECK_INT("savepoint 3", db_savepoint(db), 0);
	long long aside = add(db, c.id, "setaside", "three\0with a NUL", 16);
	CHECK("message 3, set aside", aside > 0);
	CHECK_INT("release 3", db_savepoint_release(db), 0);
	CHECK_INT("commit", db_commit(db), 0);
	CHECK_INT("the transcript: 1 and 3, not 2", kinds(db, c.id, got, sizeof got), 0);
	CHECK_STR("the transcript: 1 and 3, not 2", got, "inbound,setaside");
	CHECK_INT("2's inbound key was undone too", db_inbound_known(db, "imap:2"), 0);

	/* Undo with the transaction already gone (SQLite ends it on a full disk). */
	CHECK_INT("begin again", db_begin(db), 0);
	CHECK_INT("savepoint", db_savepoint(db), 0);
	db_rollback(db);
	CHECK_INT("undo after the transaction ended: -1", db_savepoint_undo(db), -1);

	/* The set-aside list: the raw bytes exactly, NUL included. */
	struct set_aside *list = NULL;
	size_t n = 0;
	CHECK_INT("set-aside list", db_set_aside_list(db, c.id, &list, &n), 0);
	CHECK_INT("one set aside", n, 1);
	if (n == 1) {
		CHECK("its id", list[0].id == aside);
		CHECK_INT("its length", list[0].len, 16);
		CHECK("its bytes", !memcmp(list[0].raw, "three\0with a NUL", 16));
		CHECK_STR("its channel", channel_stored(list[0].channel), "email");
	}
	db_set_aside_free(list, n);
	CHECK_INT("handed back", db_set_aside_done(db, aside, "handed back by relay retry"), 0);
	CHECK_INT("handed back twice: no change, no error", db_set_aside_done(db, aside, "again"), 0);
	CHECK_INT("the list is empty now", db_set_aside_list(db, c.id, &list, &n), 0);
	CHECK_INT("the list is empty now", n, 0);
	db_set_aside_free(list, n);
	CHECK_INT("the entry stays, marked", kinds(db, c.id, got, sizeof got), 0);
	CHECK_STR("the entry stays, marked", got, "inbound,retried");
	CHECK_INT("the other conversation's list: empty", db_set_aside_list(db, c.id + 1, &list, &n), 0);
	CHECK_INT("the other conversation's list: empty", n, 0);
	db_set_aside_free(list, n);

	conversation_free(&c);
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
