/* Unit tests for the store (db.c): where an outgoing message lives, an
 * older database brought up to date with nothing lost, large messages stored
 * together, and a full disk told from other failures. */
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "db.h"

/* One number from raw SQL on the file, as another process would see it. */
static long long scalar(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static int run(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	                         sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK
	                 ? 0
	                 : -1;
	sqlite3_close(h);
	return rc;
}

/* Whether SQLite's plan for sql reads index. */
static int plan_uses(const char *path, const char *sql, const char *index)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char q[1024];
	int found = 0;
	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			if (strstr((const char *)sqlite3_column_text(st, 3), index))
				found = 1;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return found;
}

static struct outbox_new email(const char *message_id, const char *data)
{
	struct outbox_new o = {
		.kind = KIND_FORWARD,
		.channel = CHANNEL_EMAIL,
		.message_id = message_id,
		.mail_from = "relay@example.org",
		.rcpt = "adviser@example.org\n",
		.data = data,
		.len = strlen(data),
		.next_attempt_at = 100,
		.created_at = 100,
	};
	return o;
}

/* Stores n received messages of size bytes (raw source and body alike) in
 * one conversation and one transaction, as a fetch batch is stored. 0 when
 * committed. */
static int store_batch(struct db *db, const char *ref, int n, size_t size)
{
	char *text = malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		text[i] = (char)('a' + (i * 7 + i / 76) % 26);
	text[size] = '\0';
	struct conversation c = { .ref = (char *)ref,
		                  .channel = CHANNEL_EMAIL,
		                  .contact = "yp@example.net",
		                  .created_at = 1,
		                  .last_activity = 1 };
	int rc = db_begin(db) == 0 && db_conversation_create(db, &c) == 0 ? 0 : -1;
	for (int i = 0; i < n && rc == 0; i++) {
		struct message_row m = { .conversation_id = c.id,
			                 .kind = KIND_INBOUND,
			                 .channel = CHANNEL_EMAIL,
			                 .at = 1,
			                 .subject = "photo",
			                 .body = text,
			                 .raw = text,
			                 .raw_len = size };
		rc = db_message_add(db, &m, NULL);
	}
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0)
		db_rollback(db);
	free(text);
	return rc;
}

/* Counts the statement journals (a statement's undo copy) SQLite opens as
 * files: a shim over the default VFS. */
static sqlite3_vfs *real_vfs, counting_vfs;
static int subjournal_files;

static int counting_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	if (flags & SQLITE_OPEN_SUBJOURNAL)
		subjournal_files++;
	return real_vfs->xOpen(real_vfs, name, f, flags, out);
}

/* Messages of 300 KiB and more, several in one transaction: a photo each.
 * SQLite reported a full disk (SQLITE_FULL) for the second of two while its
 * undo copy could spill to a file, the disk nearly empty. */
static void large_messages(const char *dir)
{
	char path[256], err[512];
	struct db *db = NULL;

	snprintf(path, sizeof path, "%s/large.db", dir);
	if (db_open(path, &db, err, sizeof err) < 0) {
		CHECK("large: opens", 0);
		return;
	}
	/* SQLite is in use now: the shim counts from here on, for new connections. */
	db_close(db);
	real_vfs = sqlite3_vfs_find(NULL);
	counting_vfs = *real_vfs;
	counting_vfs.zName = "counting";
	counting_vfs.xOpen = counting_open;
	sqlite3_vfs_register(&counting_vfs, 1);
	CHECK_INT("large: opens again", db_open(path, &db, err, sizeof err), 0);
	if (!db)
		return;
	CHECK_INT("large: two messages of 300 KiB in one transaction", store_batch(db, "RUS-LARGE2", 2, 300 << 10), 0);
	CHECK_INT("large: ten of 300 KiB", store_batch(db, "RUS-LARGE3", 10, 300 << 10), 0);
	CHECK_INT("large: three of 160 KiB", store_batch(db, "RUS-LARGE4", 3, 160 << 10), 0);
	CHECK_INT("large: two of 5 MiB", store_batch(db, "RUS-LARGE5", 2, 5 << 20), 0);
	CHECK_INT("large: no disk trouble counted", db_disk_failures(db), 0);
	CHECK_INT("large: no statement's undo copy went to a file", subjournal_files, 0);
	db_close(db);
	sqlite3_vfs_unregister(&counting_vfs);
	CHECK_INT("large: every message stored", scalar(path, "SELECT count(*) FROM message"), 17);
	CHECK_INT("large: whole",
	          scalar(path, "SELECT count(*) FROM message WHERE length(raw) = 300 * 1024 AND "
	                       "length(body) = 300 * 1024"),
	          12);
	CHECK_INT("large: integrity",
	          scalar(path, "SELECT count(*) FROM pragma_integrity_check WHERE "
	                       "integrity_check = 'ok'"),
	          1);
	unlink(path);
}

/* Runs body in a child with its stderr (the log) in a file; returns the
 * child's exit status and the log (owned) in *log. */
static int in_child(const char *dir, int (*body)(const char *dir), char **log)
{
	char path[256];
	snprintf(path, sizeof path, "%s/child.log", dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen(path, "w", stderr);
		int rc = f ? body(dir) : 99;
		fflush(NULL);
		_exit(rc);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	*log = NULL;
	FILE *f = fopen(path, "r");
	if (f) {
		*log = calloc(1, 65536);
		size_t n = fread(*log, 1, 65535, f);
		(*log)[n] = '\0';
		fclose(f);
	}
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* SQLITE_FULL with the disk empty, as SQLite 3.40 gives it when a
 * statement's undo copy spills to a file in chunks over 128 KiB (the
 * setting db.c had). Exits 0 when storing failed and was not counted as
 * trouble with the disk. */
static int sqlite_limit_child(const char *dir)
{
	char path[256], err[512];
	struct db *db = NULL;
	snprintf(path, sizeof path, "%s/limit.db", dir);
	sqlite3_shutdown();
	sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 256 << 10);
	sqlite3_initialize(); /* db_open cannot change it now */
	if (db_open(path, &db, err, sizeof err) < 0)
		return 2;
	int rc = store_batch(db, "RUS-LIMIT1", 2, 300 << 10);
	unsigned long disk = db_disk_failures(db);
	db_close(db);
	return rc < 0 && disk == 0 ? 0 : 3;
}

/* A write the kernel refuses for another reason than space: past the
 * process's file size limit (EFBIG). Exits 0 when storing failed and was
 * counted as trouble with the disk. */
static int file_too_large_child(const char *dir)
{
	char path[256], err[512];
	struct db *db = NULL;
	snprintf(path, sizeof path, "%s/efbig.db", dir);
	if (db_open(path, &db, err, sizeof err) < 0)
		return 2;
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit lim = { 1 << 20, 1 << 20 };
	setrlimit(RLIMIT_FSIZE, &lim);
	int rc = store_batch(db, "RUS-EFBIG1", 4, 300 << 10);
	unsigned long disk = db_disk_failures(db);
	db_close(db);
	return rc < 0 && disk == 1 ? 0 : 3;
}

/* Whether a log says the disk is full (SQLite's own "database or disk is
 * full" is not that). */
static int says_full(const char *log)
{
	for (const char *p = log; p && (p = strstr(p, "the disk holding ")); p++) {
		const char *eol = strchr(p, '\n'), *full = strstr(p, " is full");
		if (full && (!eol || full < eol))
			return 1;
	}
	return 0;
}

/* "The disk is full" only when the file system says so; anything else is
 * named for what it is. (A disk really full: tests/faults/test_surroundings.py.) */
static void honest_reports(const char *dir)
{
	char *log = NULL;
	char path[256];

	CHECK_INT("SQLITE_FULL, disk empty: storing fails, not counted as the disk's",
	          in_child(dir, sqlite_limit_child, &log), 0);
	CHECK("SQLITE_FULL, disk empty: not called a full disk", log && !says_full(log));
	CHECK("SQLITE_FULL, disk empty: SQLite's words and code",
	      log && strstr(log, "database or disk is full") && strstr(log, "(SQLITE_FULL)"));
	CHECK("SQLITE_FULL, disk empty: says the disk has room",
	      log && strstr(log, "MiB free") && strstr(log, "not a full disk"));
	if (log && says_full(log))
		printf("  log: %s", log);
	free(log);
	snprintf(path, sizeof path, "%s/limit.db", dir);
	unlink(path);

	CHECK_INT("file too large: storing fails, counted as the disk's", in_child(dir, file_too_large_child, &log), 0);
	CHECK("file too large: not called a full disk", log && !says_full(log));
	CHECK("file too large: the disk fails, with code and errno",
	      log && strstr(log, "efbig.db fails (") && strstr(log, "SQLITE_IOERR_WRITE: File too large"));
	if (log && !strstr(log, "File too large"))
		printf("  log: %s", log);
	free(log);
	snprintf(path, sizeof path, "%s/efbig.db", dir);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/db-test-XXXXXX", fresh[200], old[200], err[512];
	if (!mkdtemp(dir))
		return 1;
	snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
	snprintf(old, sizeof old, "%s/old.db", dir);

	/* A new database: the message in its own table, the row beside it. */
	struct db *db = NULL;
	CHECK_INT("fresh: opens", db_open(fresh, &db, err, sizeof err), 0);
	CHECK_INT("fresh: schema 8", db_schema_version(db), 8);
	struct outbox_new a = email("<a@x>", "Subject: one\r\n\r\nfirst\r\n");
	long long ida = 0;
	CHECK_INT("add outside a transaction", db_outbox_add(db, &a, &ida), 0);
	CHECK("add: an id", ida > 0);
	struct outbox_new dup = email("<a@x>", "Subject: again\r\n\r\nsame id\r\n");
	CHECK("the same Message-ID twice: refused", db_outbox_add(db, &dup, NULL) < 0);

	struct outbox_row *rows = NULL;
	size_t n = 0;
	CHECK_INT("due: ok", db_outbox_due(db, 200, 10, &rows, &n), 0);
	CHECK_INT("due: one row", n, 1);
	if (n == 1) {
		CHECK_STR("due: the whole message", rows[0].data, "Subject: one\r\n\r\nfirst\r\n");
		CHECK_INT("due: its length", rows[0].len, strlen(a.data));
		CHECK_STR("due: Message-ID", rows[0].message_id, "<a@x>");
	}
	outbox_rows_free(rows, n);
	CHECK_INT("mark sent", db_outbox_mark(db, ida, OUTBOX_SENT, 1, 100, NULL, 150), 0);
	CHECK_INT("sent: nothing due", db_outbox_due(db, 200, 10, &rows, &n), 0);
	CHECK_INT("sent: no row", n, 0);
	outbox_rows_free(rows, n);

	/* A session's emails: up to the count, and no more once they reach the bytes. */
	long long first = 0;
	for (int i = 0; i < 5; i++) {
		char id[32];
		snprintf(id, sizeof id, "<b%d@x>", i);
		struct outbox_new b = email(id, "0123456789"); /* ten bytes each */
		CHECK_INT("bounded: add", db_outbox_add(db, &b, i ? NULL : &first), 0);
	}
	struct {
		int limit;
		size_t bytes;
		size_t want;
	} bounds[] = {
		{ 10, 0, 5 }, { 3, 0, 3 }, { 10, 30, 3 }, { 10, 25, 3 }, { 10, 31, 4 }, { 10, 1, 1 }, { 2, 1000, 2 },
	};
	for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
		char what[96];
		snprintf(what, sizeof what, "bounded: %d rows, %zu bytes: %zu taken", bounds[k].limit, bounds[k].bytes,
		         bounds[k].want);
		CHECK_INT(what, db_outbox_due_emails(db, 200, bounds[k].limit, bounds[k].bytes, &rows, &n), 0);
		CHECK_INT(what, n, bounds[k].want);
		CHECK_INT("bounded: oldest first", n ? rows[0].id : 0, first);
		outbox_rows_free(rows, n);
	}
	for (int i = 0; i < 5; i++)
		CHECK_INT("bounded: sent", db_outbox_mark(db, first + i, OUTBOX_SENT, 1, 100, NULL, 150), 0);
	db_close(db);
	CHECK_INT("fresh: no data column in outbox",
	          scalar(fresh, "SELECT count(*) FROM pragma_table_info('outbox') "
	                        "WHERE name = 'data'"),
	          0);
	CHECK_INT("fresh: every message kept (the refused one left nothing)",
	          scalar(fresh, "SELECT count(*) FROM outbox_data"), 6);
	CHECK_INT("fresh: every row has its message",
	          scalar(fresh, "SELECT count(*) FROM outbox WHERE id NOT IN (SELECT id FROM outbox_data)"), 0);
	CHECK_INT("fresh: a sent row leaves the index of what is due",
	          scalar(fresh, "SELECT count(*) FROM outbox INDEXED BY outbox_due WHERE state = 'pending'"), 0);
	/* As db.c asks, with bound values: a scan of the whole outbox instead
	 * would cost every poll of a long-running relay. */
	CHECK("fresh: what is due is found by its index",
	      plan_uses(fresh,
	                "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND "
	                "channel = 'email' ORDER BY id LIMIT ?",
	                "INDEX outbox_due"));
	CHECK("fresh: every due row too", plan_uses(fresh,
	                                            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
	                                            "ORDER BY id LIMIT ?",
	                                            "INDEX outbox_due"));
	CHECK("fresh: texts awaiting a report are found by theirs",
	      plan_uses(fresh,
	                "SELECT id FROM outbox WHERE channel = 'sms' AND state = 'sent' AND "
	                "provider_id IS NOT NULL AND coalesce(delivery, 'queued') IN ('queued', 'sent', 'unknown') "
	                "AND created_at >= ? ORDER BY id LIMIT ?",
	                "INDEX outbox_delivery"));
	CHECK_INT("fresh: still there once sent", scalar(fresh, "SELECT length(data) FROM outbox_data ORDER BY id LIMIT 1"),
	          (long long)strlen(a.data));

	/* A database of schema 5 (before this change), with a pending email and
	 * a sent one in a conversation past its retention. */
	CHECK_INT("old: opens at 5", db_open_at(old, 5, &db, err, sizeof err), 0);
	CHECK_INT("old: schema 5", db_schema_version(db), 5);
	db_close(db);
	CHECK_INT("old: rows written the old way",
	          run(old, "INSERT INTO conversation(id, ref, channel, contact, created_at, last_activity) "
	                   "VALUES (7, 'RUS-OLD01', 'email', 'yp@example.org', 1, 1);"
	                   "INSERT INTO outbox(id, conversation_id, kind, channel, message_id, rcpt, data, state, "
	                   "next_attempt_at, created_at) VALUES (1, NULL, 'forward', 'email', '<p@x>', 'a@x\n', "
	                   "X'50454E44494E47', 'pending', 10, 10), (2, 7, 'autoreply', 'email', '<s@x>', "
	                   "'yp@example.org\n', X'53454E54', 'sent', 10, 10);"),
	          0);
	CHECK_INT("old: brought up to date", db_open(old, &db, err, sizeof err), 0);
	CHECK_INT("old: schema 8", db_schema_version(db), 8);
	CHECK_INT("old: pending row still due", db_outbox_due(db, 20, 10, &rows, &n), 0);
	CHECK_INT("old: one due", n, 1);
	if (n == 1) {
		CHECK_STR("old: its message moved with it", rows[0].data, "PENDING");
		CHECK_INT("old: id kept", rows[0].id, 1);
	}
	outbox_rows_free(rows, n);
	CHECK_INT("purge", db_purge_conversation(db, 7, 1000, "relay"), 0);
	db_close(db);
	CHECK_INT("old: no data column left",
	          scalar(old, "SELECT count(*) FROM pragma_table_info('outbox') "
	                      "WHERE name = 'data'"),
	          0);
	CHECK_INT("purge: the sent message's text is gone", scalar(old, "SELECT count(*) FROM outbox_data WHERE id = 2"), 0);
	CHECK_INT("purge: its address is gone", scalar(old, "SELECT length(rcpt) FROM outbox WHERE id = 2"), 0);
	CHECK_INT("purge: the row stays (counts, audit)", scalar(old, "SELECT count(*) FROM outbox WHERE id = 2"), 1);
	CHECK_INT("purge: another conversation's pending message is untouched",
	          scalar(old, "SELECT length(data) FROM outbox_data WHERE id = 1"), 7);
	CHECK_INT("old: integrity", scalar(old, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
	          1);
	CHECK_INT("old: foreign keys hold", scalar(old, "SELECT count(*) FROM pragma_foreign_key_check"), 0);

	large_messages(dir);
	honest_reports(dir);

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -f %s/*.db-wal %s/*.db-shm", dir, dir);
	(void)system(cmd);
	unlink(fresh);
	unlink(old);
	rmdir(dir);
	return check_done();
}
