/* db.c: SQLite store with migrations keyed on PRAGMA user_version. */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Prepared statements are kept for the connection's life: parsing the SQL
 * again for every row cost a sixth of a backlog's drain. */
#define STATEMENT_CACHE 64

struct statement {
	unsigned hash;
	char *sql;          /* owned */
	sqlite3_stmt *st;   /* owned */
	int in_use;
};

struct db {
	sqlite3 *h;
	struct statement cache[STATEMENT_CACHE];
	size_t ncache;
	int lazy;           /* this transaction commits without waiting for the disk */
	char *path;                  /* owned: named when the disk fails us */
	int disk_trouble;            /* writes fail for want of space or a disk error */
	unsigned long disk_failures; /* how many have failed so */
};

/* Each step of the schema, applied in order, each in its own transaction. */
static const char *const migrations[] = {
	/* 1: conversations, transcript, outbox, cursors */
	"CREATE TABLE conversation ("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL UNIQUE,"
	"  channel TEXT NOT NULL CHECK (channel IN ('email','sms')),"
	"  contact TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','closed')),"
	"  urgent INTEGER NOT NULL DEFAULT 0,"
	"  subject TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  last_activity INTEGER NOT NULL,"
	"  last_inbound_at INTEGER NOT NULL DEFAULT 0,"
	"  last_autoreply_at INTEGER NOT NULL DEFAULT 0,"
	"  last_adviser_reply_at INTEGER NOT NULL DEFAULT 0,"
	"  previous_ref TEXT);"
	"CREATE INDEX conversation_by_contact ON conversation(channel, contact, id);"
	"CREATE TABLE message ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation_id INTEGER NOT NULL REFERENCES conversation(id),"
	"  kind TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  message_id TEXT,"
	"  refs TEXT,"
	"  author TEXT,"
	"  subject TEXT,"
	"  body TEXT,"
	"  raw BLOB,"
	"  attachments TEXT,"
	"  detail TEXT);"
	"CREATE INDEX message_by_conversation ON message(conversation_id, id);"
	"CREATE INDEX message_by_message_id ON message(message_id);"
	"CREATE TABLE inbound_key ("
	"  key TEXT PRIMARY KEY,"
	"  message INTEGER REFERENCES message(id)) WITHOUT ROWID;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation_id INTEGER REFERENCES conversation(id),"
	"  message INTEGER REFERENCES message(id),"
	"  kind TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  message_id TEXT NOT NULL UNIQUE,"
	"  mail_from TEXT,"
	"  rcpt TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt_at);"
	"CREATE INDEX outbox_by_conversation ON outbox(conversation_id, kind, id);"
	"CREATE TABLE cursor ("
	"  source TEXT PRIMARY KEY,"
	"  validity INTEGER NOT NULL,"
	"  position INTEGER NOT NULL);",
	/* 2: text messages: delivery states, provider ids, text cursors, opted-out contacts */
	"ALTER TABLE outbox ADD COLUMN provider_id TEXT;"
	"ALTER TABLE outbox ADD COLUMN delivery TEXT;"
	"ALTER TABLE outbox ADD COLUMN parts INTEGER;"
	"CREATE INDEX outbox_delivery ON outbox(channel, state, delivery);"
	"ALTER TABLE cursor ADD COLUMN position_text TEXT;"
	"CREATE TABLE contact ("
	"  channel TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  opted_out_at INTEGER,"
	"  PRIMARY KEY (channel, address)) WITHOUT ROWID;",
	/* 3: safeguarding policy: urgency, closing, blocking, per-sender limits */
	"ALTER TABLE conversation ADD COLUMN last_urgent_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE conversation ADD COLUMN closed_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE contact ADD COLUMN blocked_until INTEGER;"
	"CREATE INDEX outbox_by_rcpt ON outbox(rcpt, kind, created_at);"
	"CREATE INDEX conversation_by_state ON conversation(state, last_activity);",
	/* 4: alerts about messages that stay undelivered */
	"ALTER TABLE outbox ADD COLUMN alerted_at INTEGER;",
	/* 5: the audit trail (who did what, never what was written) and retention.
	 * The triggers record every transcript entry and every send as it is
	 * committed, so no code path can forget to. */
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  conversation_id INTEGER,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX audit_by_conversation ON audit(conversation_id, id);"
	"ALTER TABLE conversation ADD COLUMN purged_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE message ADD COLUMN purged_at INTEGER;"
	"CREATE TRIGGER audit_message AFTER INSERT ON message BEGIN"
	"  INSERT INTO audit(at, conversation_id, actor, action, detail) VALUES (NEW.at, NEW.conversation_id,"
	"    CASE WHEN NEW.kind = 'inbound' THEN 'young person' ELSE coalesce(NEW.author, 'relay') END,"
	"    CASE NEW.kind WHEN 'inbound' THEN 'received' WHEN 'reply' THEN 'replied' WHEN 'held' THEN 'held'"
	"      WHEN 'automatic' THEN 'automatic mail kept' WHEN 'note' THEN 'note'"
	"      WHEN 'command' THEN 'command' ELSE NEW.kind END,"
	/* a command's body is the command itself (#close, #block 7), never message text */
	"    CASE WHEN NEW.kind = 'command' THEN substr(NEW.body, 1, 40) ELSE NEW.channel END);"
	"END;"
	"CREATE TRIGGER audit_outbox AFTER UPDATE OF state ON outbox WHEN NEW.state <> OLD.state BEGIN"
	"  INSERT INTO audit(at, conversation_id, actor, action, detail) VALUES (coalesce(NEW.sent_at,"
	"    CAST(strftime('%s','now') AS INTEGER)), NEW.conversation_id, 'relay', NEW.state || ' ' || NEW.kind,"
	"    NEW.channel || CASE WHEN NEW.attempts > 1 THEN ', attempt ' || NEW.attempts ELSE '' END);"
	"END;",
	/* 6: the complete outgoing message in a table of its own. SQLite rewrites
	 * a whole row to change one column, so marking a forward sent rewrote the
	 * forward, and secure_delete zeroed the old copy: three writes of every
	 * message the relay sent. Now a row's state changes in a few bytes. */
	"CREATE TABLE outbox_data ("
	"  id INTEGER PRIMARY KEY REFERENCES outbox(id),"
	"  data BLOB NOT NULL);"
	"INSERT INTO outbox_data(id, data) SELECT id, data FROM outbox;"
	"ALTER TABLE outbox DROP COLUMN data;",
	/* 7: the indexes hold only the rows they are asked about: what is still
	 * to send, and texts awaiting a delivery report. A sent email left both
	 * (a delete and an insert in each) and stayed in them for good. The
	 * columns stay as they were: SQLite's planner (without statistics)
	 * chose a scan of the whole outbox for a session's due rows when
	 * outbox_due no longer began with state. */
	"DROP INDEX outbox_due;"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt_at) WHERE state = 'pending';"
	"DROP INDEX outbox_delivery;"
	"CREATE INDEX outbox_delivery ON outbox(state, delivery) WHERE channel = 'sms';",
	/* 8: each part's health as the daemon last saw it, for relay status and
	 * so that an incident's alerts survive a restart (one row per part, and
	 * "relay" for the daemon itself: started, last written, alerts sent). */
	"CREATE TABLE health ("
	"  part TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  last_ok INTEGER NOT NULL DEFAULT 0,"
	"  failing_since INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  alerted_at INTEGER NOT NULL DEFAULT 0,"
	"  reminded_at INTEGER NOT NULL DEFAULT 0,"
	"  alerts INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL) WITHOUT ROWID;",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

const char *db_path(const struct db *db)
{
	return db->path;
}

const char *db_error(struct db *db)
{
	return db && db->h ? sqlite3_errmsg(db->h) : "no database";
}

/* SQLite's name for an extended result code of the kinds a disk gives;
 * sqlite3_errstr() has only the primary code's words. */
static const char *code_name(int rc)
{
	static const struct { int rc; const char *name; } names[] = {
		{ SQLITE_FULL, "SQLITE_FULL" }, { SQLITE_IOERR, "SQLITE_IOERR" },
		{ SQLITE_IOERR_READ, "SQLITE_IOERR_READ" }, { SQLITE_IOERR_SHORT_READ, "SQLITE_IOERR_SHORT_READ" },
		{ SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE" }, { SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC" },
		{ SQLITE_IOERR_DIR_FSYNC, "SQLITE_IOERR_DIR_FSYNC" }, { SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE" },
		{ SQLITE_IOERR_FSTAT, "SQLITE_IOERR_FSTAT" }, { SQLITE_IOERR_UNLOCK, "SQLITE_IOERR_UNLOCK" },
		{ SQLITE_IOERR_RDLOCK, "SQLITE_IOERR_RDLOCK" }, { SQLITE_IOERR_DELETE, "SQLITE_IOERR_DELETE" },
		{ SQLITE_IOERR_NOMEM, "SQLITE_IOERR_NOMEM" }, { SQLITE_IOERR_ACCESS, "SQLITE_IOERR_ACCESS" },
		{ SQLITE_IOERR_CHECKRESERVEDLOCK, "SQLITE_IOERR_CHECKRESERVEDLOCK" },
		{ SQLITE_IOERR_LOCK, "SQLITE_IOERR_LOCK" }, { SQLITE_IOERR_CLOSE, "SQLITE_IOERR_CLOSE" },
		{ SQLITE_IOERR_SHMOPEN, "SQLITE_IOERR_SHMOPEN" }, { SQLITE_IOERR_SHMSIZE, "SQLITE_IOERR_SHMSIZE" },
		{ SQLITE_IOERR_SHMLOCK, "SQLITE_IOERR_SHMLOCK" }, { SQLITE_IOERR_SHMMAP, "SQLITE_IOERR_SHMMAP" },
		{ SQLITE_IOERR_SEEK, "SQLITE_IOERR_SEEK" }, { SQLITE_IOERR_DELETE_NOENT, "SQLITE_IOERR_DELETE_NOENT" },
		{ SQLITE_IOERR_MMAP, "SQLITE_IOERR_MMAP" }, { SQLITE_IOERR_GETTEMPPATH, "SQLITE_IOERR_GETTEMPPATH" },
		{ SQLITE_IOERR_DATA, "SQLITE_IOERR_DATA" }, { SQLITE_IOERR_CORRUPTFS, "SQLITE_IOERR_CORRUPTFS" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].rc == rc)
			return names[i].name;
	return NULL;
}

/* Whether the file system holding dir is out of room: less than 1 MiB, or
 * no inode, left to this process (root may use the blocks kept for it).
 * SQLite writes a page at a time, so a write refused for want of space
 * leaves less than that. *mib: the MiB left. */
static int out_of_room(const char *dir, unsigned long long *mib)
{
	struct statvfs fs;
	*mib = 0;
	if (statvfs(dir, &fs) < 0)
		return 0;
	unsigned long long blocks = geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
	unsigned long long inodes = geteuid() == 0 ? fs.f_ffree : fs.f_favail;
	*mib = blocks * fs.f_frsize >> 20;
	return *mib < 1 || (fs.f_files > 0 && inodes == 0);
}

/* Where SQLite puts its temporary files (sorting, a statement's undo copy
 * where it does not stay in memory): the first writable directory of its
 * unix VFS's list. Owned. */
static char *temp_dir(void)
{
	const char *dirs[] = { sqlite3_temp_directory, getenv("SQLITE_TMPDIR"), getenv("TMPDIR"), "/var/tmp", "/usr/tmp",
	                       "/tmp", "." };
	struct stat st;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (dirs[i] && stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode) && access(dirs[i], W_OK | X_OK) == 0)
			return xstrdup(dirs[i]);
	return xstrdup(".");
}

/* Logs a failed statement. A full disk makes every write fail the same way
 * until someone makes room: one line says so, naming the file, not one line
 * per message and cycle; the next commit that works says it is over.
 *
 * Only the file system's word makes a full disk: ENOSPC or EDQUOT from a
 * system call, or, for SQLITE_FULL (SQLite's unix VFS reports a write refused
 * for want of space so, with errno cleared), no room left in the database's
 * directory or in SQLite's temporary one. Any other SQLITE_FULL (a limit of
 * SQLite's own) is an ordinary failure of that statement, named with SQLite's
 * words and code; a failing disk is named with its code and errno. */
static void failed(struct db *db, int rc, const char *msg)
{
	int sys = sqlite3_system_errno(db->h);
	const char *what = msg ? msg : sqlite3_errmsg(db->h);
	if (rc == (rc & 0xff) && (sqlite3_extended_errcode(db->h) & 0xff) == rc)
		rc = sqlite3_extended_errcode(db->h);
	int primary = rc & 0xff;
	const char *code = code_name(rc);
	char codebuf[48];
	if (!code) {
		snprintf(codebuf, sizeof codebuf, "extended code %d", rc);
		code = codebuf;
	}

	if ((primary != SQLITE_FULL && primary != SQLITE_IOERR) || rc == SQLITE_IOERR_NOMEM) {
		log_error("database: %s", what);
		return;
	}
	char *dir = xstrdup(db->path), *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	char *tmp = NULL, *where = NULL;   /* where: the directory out of room, when not the database's */
	unsigned long long mib = 0, tmp_mib = 0;
	int full = sys == ENOSPC || sys == EDQUOT;
	if (!full && primary == SQLITE_FULL) {
		full = out_of_room(dir, &mib);
		if (!full) {
			tmp = temp_dir();
			if ((full = out_of_room(tmp, &tmp_mib)))
				where = tmp;
		}
	}
	if (!full && primary == SQLITE_FULL) {
		log_error("database: %s (%s), although the file systems holding %s and SQLite's temporary files (%s) have "
		          "%llu and %llu MiB free: a limit of SQLite's, not a full disk", what, code, db->path, tmp, mib,
		          tmp_mib);
		goto out;
	}
	db->disk_failures++;
	if (db->disk_trouble)
		goto out;
	db->disk_trouble = 1;
	if (full && where)
		log_error("the disk holding SQLite's temporary files (%s) is full (%s): nothing is taken in, acknowledged or "
		          "sent until there is room; will retry", where, code);
	else if (full)
		log_error("the disk holding %s is full%s: nothing is taken in, acknowledged or sent until there is room; "
		          "will retry", db->path, sys == EDQUOT ? " (the disk quota is used up)" : "");
	else
		log_error("the disk holding %s fails (%s, %s%s%s): nothing is taken in, acknowledged or sent until it "
		          "works; will retry", db->path, what, code, sys ? ": " : "", sys ? strerror(sys) : "");
out:
	free(tmp);
	free(dir);
}

static void recovered(struct db *db)
{
	if (!db->disk_trouble)
		return;
	db->disk_trouble = 0;
	log_info("the disk holding %s takes writes again; carrying on", db->path);
}

static int exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		failed(db, rc, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int db_schema_version(struct db *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(struct db *db, int upto, char *err, size_t errlen)
{
	int v = db_schema_version(db);
	if (v < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", db_error(db));
		return -1;
	}
	if (v > NMIGRATIONS) {
		snprintf(err, errlen, "database schema version %d is newer than this relay knows (%d): "
		         "run the newer relay or restore a backup", v, NMIGRATIONS);
		return -1;
	}
	for (; v < upto; v++) {
		char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;", migrations[v], v + 1);
		char *msg = NULL;
		int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "schema migration %d failed: %s", v + 1, msg ? msg : db_error(db));
			sqlite3_free(msg);
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

int db_open(const char *path, struct db **out, char *err, size_t errlen)
{
	return db_open_at(path, NMIGRATIONS, out, err, errlen);
}

int db_open_at(const char *path, int version, struct db **out, char *err, size_t errlen)
{
	struct db *db = xcalloc(1, sizeof *db);
	struct stat sb;

	db->path = xstrdup(path);
	/* The database holds what children wrote: owner-only from birth, in a
	 * directory of its own made private when the relay creates it. */
	{
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create the directory %s: %s", path, dir, strerror(errno));
				free(dir);
				goto fail;
			}
		}
		free(dir);
	}
	if (stat(path, &sb) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
			goto fail;
		}
		if (fd >= 0)
			close(fd);
	}
	/* A statement that may have to undo itself (a trigger, a foreign key)
	 * keeps a copy of the pages it changes that existed before it began: a
	 * few leaf and index pages, and also every page an earlier statement of
	 * the transaction left dirty that the page cache (cache_size, below) has
	 * to write to the WAL during this one, since undoing this statement cuts
	 * the WAL back and would lose them. That copy is at most about the page
	 * cache, whatever the size of the messages (ten of 5 MiB in one
	 * transaction, or ten of 300 KiB: 440 KiB), so it stays in memory (-1). At
	 * SQLite's default it moves to a file in /var/tmp past 64 KiB, which
	 * storing a batch passed: every such page written twice.
	 *
	 * Never a threshold of 128 KiB or more: past it SQLite writes the copy
	 * to the file in chunks of the threshold's size, one write call each,
	 * and its unix VFS masks a write's length with 0x1ffff (it never writes
	 * more than 128 KiB - 1 at once). The rest of the chunk then "writes"
	 * 0 bytes, which SQLite takes for a full disk: at 256 KiB every batch
	 * holding two messages of about 160 KiB failed with SQLITE_FULL on an
	 * empty disk. Only possible before SQLite's first use, so once; if that
	 * has passed, SQLite's default (64 KiB, then files) is as safe, only
	 * slower. */
	static int configured;
	if (!configured) {
		(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
		configured = 1;
	}
	mode_t old = umask(077);
	/* SQLITE_OPEN_NOFOLLOW: a symbolic link planted at the path is refused (files.h). */
	int rc = sqlite3_open_v2(path, &db->h,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 10000);
	sqlite3_extended_result_codes(db->h, 1);
	/* A 512 KiB page cache, not SQLite's 2 MiB: a drain is as fast (the pages
	 * come back from the kernel's cache) and the relay 1.7 MB smaller. */
	if (exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	             "PRAGMA secure_delete = ON; PRAGMA cache_size = -512;") < 0) {
		snprintf(err, errlen, "%s: %s", path, db_error(db));
		goto fail;
	}
	if (migrate(db, version < NMIGRATIONS ? version : NMIGRATIONS, err, errlen) < 0)
		goto fail;
	*out = db;
	return 0;
fail:
	db_close(db);
	return -1;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->ncache; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	if (db->h)
		sqlite3_close_v2(db->h);
	free(db->path);
	free(db);
}

int db_begin(struct db *db)
{
	return exec(db, "BEGIN IMMEDIATE");
}

int db_begin_lazy(struct db *db)
{
	if (exec(db, "PRAGMA synchronous = NORMAL") < 0)
		return -1;
	db->lazy = 1;
	if (exec(db, "BEGIN IMMEDIATE") < 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

/* Back to waiting for the disk once the lazy transaction is over. */
static void end_lazy(struct db *db)
{
	if (db->lazy && sqlite3_get_autocommit(db->h)) {
		db->lazy = 0;
		(void)exec(db, "PRAGMA synchronous = FULL");
	}
}

int db_commit(struct db *db)
{
	int rc = exec(db, "COMMIT");
	end_lazy(db);
	if (rc == 0)
		recovered(db);
	return rc;
}

int db_has_room(struct db *db)
{
	if (!db->disk_trouble)
		return 1;
	/* A real write: rewriting the schema version dirties a page. */
	int v = db_schema_version(db);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	if (v < 0 || db_begin(db) < 0 || exec(db, sql) < 0 || db_commit(db) < 0) {
		db_rollback(db);
		return 0;
	}
	return 1;
}

unsigned long db_disk_failures(struct db *db)
{
	return db ? db->disk_failures : 0;
}

void db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	end_lazy(db);
}

int db_savepoint(struct db *db)
{
	return exec(db, "SAVEPOINT one_message");
}

int db_savepoint_release(struct db *db)
{
	return exec(db, "RELEASE one_message");
}

int db_savepoint_undo(struct db *db)
{
	/* A full disk, an I/O error or a lack of memory can end the whole
	 * transaction, savepoint and all: then there is nothing to go back to. */
	if (sqlite3_get_autocommit(db->h))
		return -1;
	if (exec(db, "ROLLBACK TO one_message") < 0 || exec(db, "RELEASE one_message") < 0)
		return -1;
	return 0;
}

static unsigned sql_hash(const char *sql)
{
	unsigned h = 2166136261u;
	for (; *sql; sql++)
		h = (h ^ (unsigned char)*sql) * 16777619u;
	return h;
}

/* A statement for sql, from the cache when one is free; release() it after
 * use. A nested use of the same SQL (a callback querying while a listing
 * runs) gets a statement of its own. */
static sqlite3_stmt *prepare(struct db *db, const char *sql)
{
	unsigned hash = sql_hash(sql);
	sqlite3_stmt *st = NULL;

	for (size_t i = 0; i < db->ncache; i++) {
		struct statement *c = &db->cache[i];
		if (c->hash == hash && !c->in_use && strcmp(c->sql, sql) == 0) {
			c->in_use = 1;
			return c->st;
		}
	}
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		failed(db, sqlite3_extended_errcode(db->h), NULL);
		return NULL;
	}
	if (db->ncache < STATEMENT_CACHE) {
		struct statement *c = &db->cache[db->ncache++];
		c->hash = hash;
		c->sql = xstrdup(sql);
		c->st = st;
		c->in_use = 1;
	}
	return st;
}

/* Done with a statement from prepare(): reset at once, so that no read
 * stays open to hold back a checkpoint. */
static void release(struct db *db, sqlite3_stmt *st)
{
	for (size_t i = 0; i < db->ncache; i++) {
		if (db->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			db->cache[i].in_use = 0;
			return;
		}
	}
	sqlite3_finalize(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static int step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	release(db, st);
	if (rc != SQLITE_DONE) {
		failed(db, rc, NULL);
		return -1;
	}
	return 0;
}

int db_cursor_get(struct db *db, const char *source, long long *validity, long long *position)
{
	sqlite3_stmt *st = prepare(db, "SELECT validity, position FROM cursor WHERE source = ?");
	if (!st)
		return -1;
	bind_text(st, 1, source);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*validity = sqlite3_column_int64(st, 0);
		*position = sqlite3_column_int64(st, 1);
	}
	release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_cursor_set(struct db *db, const char *source, long long validity, long long position)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO cursor(source, validity, position) VALUES (?, ?, ?) "
	                               "ON CONFLICT(source) DO UPDATE SET validity = excluded.validity, "
	                               "position = excluded.position");
	if (!st)
		return -1;
	bind_text(st, 1, source);
	sqlite3_bind_int64(st, 2, validity);
	sqlite3_bind_int64(st, 3, position);
	return step_done(db, st);
}

int db_inbound_known(struct db *db, const char *key)
{
	sqlite3_stmt *st = prepare(db, "SELECT 1 FROM inbound_key WHERE key = ?");
	if (!st)
		return -1;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_inbound_add(struct db *db, const char *key, long long message_row)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO inbound_key(key, message) VALUES (?, ?) ON CONFLICT DO NOTHING");
	if (!st)
		return -1;
	bind_text(st, 1, key);
	if (message_row)
		sqlite3_bind_int64(st, 2, message_row);
	else
		sqlite3_bind_null(st, 2);
	return step_done(db, st);
}

int db_inbound_message(struct db *db, const char *key, long long *message_row, char **raw, size_t *len)
{
	sqlite3_stmt *st = prepare(db, "SELECT k.message, m.raw FROM inbound_key k LEFT JOIN message m ON m.id = k.message "
	                               "WHERE k.key = ?");
	*message_row = 0;
	*raw = NULL;
	*len = 0;
	if (!st)
		return -1;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*message_row = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
			const void *b = sqlite3_column_blob(st, 1);
			size_t n = (size_t)sqlite3_column_bytes(st, 1);
			*raw = xmalloc(n + 1);
			if (n)
				memcpy(*raw, b, n);
			(*raw)[n] = '\0';
			*len = n;
		}
	} else if (rc != SQLITE_DONE) {
		failed(db, rc, NULL);
	}
	release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

#define CONVERSATION_COLUMNS                                                                   \
	"id, ref, channel, contact, state, urgent, subject, created_at, last_activity, last_inbound_at, " \
	"last_autoreply_at, last_adviser_reply_at, previous_ref, last_urgent_at, closed_at"

static void conversation_read(sqlite3_stmt *st, struct conversation *c)
{
	c->id = sqlite3_column_int64(st, 0);
	c->ref = col_text(st, 1);
	c->channel = col_text(st, 2);
	c->contact = col_text(st, 3);
	c->state = col_text(st, 4);
	c->urgent = sqlite3_column_int(st, 5);
	c->subject = col_text(st, 6);
	c->created_at = sqlite3_column_int64(st, 7);
	c->last_activity = sqlite3_column_int64(st, 8);
	c->last_inbound_at = sqlite3_column_int64(st, 9);
	c->last_autoreply_at = sqlite3_column_int64(st, 10);
	c->last_adviser_reply_at = sqlite3_column_int64(st, 11);
	c->previous_ref = col_text(st, 12);
	c->last_urgent_at = sqlite3_column_int64(st, 13);
	c->closed_at = sqlite3_column_int64(st, 14);
}

static int conversation_one(struct db *db, sqlite3_stmt *st, struct conversation *c)
{
	int rc = sqlite3_step(st);
	memset(c, 0, sizeof *c);
	if (rc == SQLITE_ROW)
		conversation_read(st, c);
	else if (rc != SQLITE_DONE)
		failed(db, rc, NULL);
	release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_conversation_by_id(struct db *db, long long id, struct conversation *c)
{
	sqlite3_stmt *st = prepare(db, "SELECT " CONVERSATION_COLUMNS " FROM conversation WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return conversation_one(db, st, c);
}

int db_conversation_by_ref(struct db *db, const char *ref, struct conversation *c)
{
	sqlite3_stmt *st = prepare(db, "SELECT " CONVERSATION_COLUMNS " FROM conversation WHERE ref = ? COLLATE NOCASE");
	if (!st)
		return -1;
	bind_text(st, 1, ref);
	return conversation_one(db, st, c);
}

int db_conversation_latest_for(struct db *db, const char *channel, const char *contact, struct conversation *c)
{
	sqlite3_stmt *st = prepare(db, "SELECT " CONVERSATION_COLUMNS " FROM conversation "
	                               "WHERE channel = ? AND contact = ? ORDER BY id DESC LIMIT 1");
	if (!st)
		return -1;
	bind_text(st, 1, channel);
	bind_text(st, 2, contact);
	return conversation_one(db, st, c);
}

int db_conversation_by_message_id(struct db *db, const char *message_id, long long *conversation_id, char **kind)
{
	/* Our own ids are unique (outbox.message_id); a received message's id
	 * is the sender's choice and may be shared by messages of several
	 * conversations: then it names none of them. */
	sqlite3_stmt *st = prepare(db, "SELECT conversation_id, kind FROM ("
	                               "  SELECT 0 AS mine, id, conversation_id, kind FROM outbox WHERE message_id = ?1"
	                               "  UNION ALL"
	                               "  SELECT 1, id, conversation_id, kind FROM message WHERE message_id = ?1"
	                               "    AND NOT EXISTS (SELECT 1 FROM message x WHERE x.message_id = ?1"
	                               "                    AND x.conversation_id <> message.conversation_id))"
	                               " ORDER BY mine, id LIMIT 1");
	if (!st)
		return -1;
	bind_text(st, 1, message_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*conversation_id = sqlite3_column_int64(st, 0);
		if (kind)
			*kind = col_text(st, 1);
	} else if (rc != SQLITE_DONE) {
		failed(db, rc, NULL);
	}
	release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_conversation_create(struct db *db, struct conversation *c)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO conversation(ref, channel, contact, state, urgent, subject, "
	                               "created_at, last_activity, previous_ref) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?) "
	                               "ON CONFLICT(ref) DO NOTHING");
	if (!st)
		return -1;
	bind_text(st, 1, c->ref);
	bind_text(st, 2, c->channel);
	bind_text(st, 3, c->contact);
	sqlite3_bind_int(st, 4, c->urgent);
	bind_text(st, 5, c->subject);
	sqlite3_bind_int64(st, 6, c->created_at);
	sqlite3_bind_int64(st, 7, c->last_activity);
	bind_text(st, 8, c->previous_ref);
	if (step_done(db, st) < 0)
		return -1;
	if (sqlite3_changes(db->h) == 0)
		return 1;
	c->id = sqlite3_last_insert_rowid(db->h);
	free(c->state);
	c->state = xstrdup("open");
	return 0;
}

int db_conversation_update(struct db *db, const struct conversation *c)
{
	sqlite3_stmt *st = prepare(db, "UPDATE conversation SET state = ?, urgent = ?, subject = ?, last_activity = ?, "
	                               "last_inbound_at = ?, last_autoreply_at = ?, last_adviser_reply_at = ?, "
	                               "last_urgent_at = ?, closed_at = ? WHERE id = ?");
	if (!st)
		return -1;
	bind_text(st, 1, c->state);
	sqlite3_bind_int(st, 2, c->urgent);
	bind_text(st, 3, c->subject);
	sqlite3_bind_int64(st, 4, c->last_activity);
	sqlite3_bind_int64(st, 5, c->last_inbound_at);
	sqlite3_bind_int64(st, 6, c->last_autoreply_at);
	sqlite3_bind_int64(st, 7, c->last_adviser_reply_at);
	sqlite3_bind_int64(st, 8, c->last_urgent_at);
	sqlite3_bind_int64(st, 9, c->closed_at);
	sqlite3_bind_int64(st, 10, c->id);
	return step_done(db, st);
}

void conversation_free(struct conversation *c)
{
	if (!c)
		return;
	free(c->ref);
	free(c->channel);
	free(c->contact);
	free(c->state);
	free(c->subject);
	free(c->previous_ref);
	memset(c, 0, sizeof *c);
}

int db_message_add(struct db *db, const struct message_row *m, long long *id)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO message(conversation_id, kind, channel, at, message_id, refs, author, "
	                               "subject, body, raw, attachments, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, m->conversation_id);
	bind_text(st, 2, m->kind);
	bind_text(st, 3, m->channel);
	sqlite3_bind_int64(st, 4, m->at);
	bind_text(st, 5, m->message_id);
	bind_text(st, 6, m->refs);
	bind_text(st, 7, m->author);
	bind_text(st, 8, m->subject);
	bind_text(st, 9, m->body);
	if (m->raw)
		sqlite3_bind_blob64(st, 10, m->raw, m->raw_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 10);
	bind_text(st, 11, m->attachments);
	bind_text(st, 12, m->detail);
	if (step_done(db, st) < 0)
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

static int outbox_add(struct db *db, const struct outbox_row *o, long long *id)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO outbox(conversation_id, message, kind, channel, message_id, mail_from, "
	                               "rcpt, state, attempts, next_attempt_at, created_at, parts) "
	                               "VALUES (?,?,?,?,?,?,?,'pending',0,?,?,?)");
	if (!st)
		return -1;
	if (o->conversation_id)
		sqlite3_bind_int64(st, 1, o->conversation_id);
	else
		sqlite3_bind_null(st, 1);
	if (o->message_row)
		sqlite3_bind_int64(st, 2, o->message_row);
	else
		sqlite3_bind_null(st, 2);
	bind_text(st, 3, o->kind);
	bind_text(st, 4, o->channel);
	bind_text(st, 5, o->message_id);
	bind_text(st, 6, o->mail_from);
	bind_text(st, 7, o->rcpt);
	sqlite3_bind_int64(st, 8, o->next_attempt_at);
	sqlite3_bind_int64(st, 9, o->created_at);
	if (o->parts)
		sqlite3_bind_int(st, 10, o->parts);
	else
		sqlite3_bind_null(st, 10);
	if (step_done(db, st) < 0)
		return -1;
	long long row = sqlite3_last_insert_rowid(db->h);
	if (!(st = prepare(db, "INSERT INTO outbox_data(id, data) VALUES (?, ?)")))
		return -1;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_blob64(st, 2, o->data, o->len, SQLITE_TRANSIENT);
	if (step_done(db, st) < 0)
		return -1;
	if (id)
		*id = row;
	return 0;
}

/* Inside the caller's transaction (which it rolls back on failure), or a
 * transaction of its own: never a row without its message. */
int db_outbox_add(struct db *db, const struct outbox_row *o, long long *id)
{
	int own = sqlite3_get_autocommit(db->h);
	if (own && db_begin(db) < 0)
		return -1;
	int rc = outbox_add(db, o, id);
	if (own && (rc < 0 || db_commit(db) < 0)) {
		db_rollback(db);
		rc = -1;
	}
	return rc;
}

#define OUTBOX_COLUMNS                                                                                 \
	"id, conversation_id, message, kind, channel, message_id, mail_from, rcpt, "                         \
	"(SELECT data FROM outbox_data d WHERE d.id = outbox.id), state, attempts, "                      \
	"next_attempt_at, created_at, last_error, provider_id, delivery, parts"

static void outbox_read(sqlite3_stmt *st, struct outbox_row *o)
{
	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(st, 0);
	o->conversation_id = sqlite3_column_int64(st, 1);
	o->message_row = sqlite3_column_int64(st, 2);
	o->kind = col_text(st, 3);
	o->channel = col_text(st, 4);
	o->message_id = col_text(st, 5);
	o->mail_from = col_text(st, 6);
	o->rcpt = col_text(st, 7);
	o->len = (size_t)sqlite3_column_bytes(st, 8);
	o->data = xmalloc(o->len + 1);
	if (o->len)
		memcpy(o->data, sqlite3_column_blob(st, 8), o->len);
	o->data[o->len] = '\0';
	o->state = col_text(st, 9);
	o->attempts = sqlite3_column_int(st, 10);
	o->next_attempt_at = sqlite3_column_int64(st, 11);
	o->created_at = sqlite3_column_int64(st, 12);
	o->last_error = col_text(st, 13);
	o->provider_id = col_text(st, 14);
	o->delivery = col_text(st, 15);
	o->parts = sqlite3_column_int(st, 16);
}

/* Steps st to its end, reading each row as an outbox row into a new array
 * (*rows owned by the caller; NULL and 0 on failure). Releases st. With
 * max_bytes, stops after the row that brings their messages to max_bytes
 * (so one at least). */
static int outbox_rows_upto(struct db *db, sqlite3_stmt *st, size_t max_bytes, struct outbox_row **rows, size_t *n)
{
	size_t bytes = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*rows = xrealloc(*rows, (*n + 1) * sizeof **rows);
		outbox_read(st, &(*rows)[(*n)++]);
		bytes += (*rows)[*n - 1].len;
		if (max_bytes && bytes >= max_bytes) {
			rc = SQLITE_DONE;
			break;
		}
	}
	release(db, st);
	if (rc != SQLITE_DONE) {
		outbox_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return rc;
}

static int outbox_rows(struct db *db, sqlite3_stmt *st, struct outbox_row **rows, size_t *n)
{
	return outbox_rows_upto(db, st, 0, rows, n);
}

/* The first column of st's one row as a number (a count), -1 on failure. Releases st. */
static int single_int(struct db *db, sqlite3_stmt *st)
{
	int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	release(db, st);
	return n;
}

static int outbox_due(struct db *db, sqlite3_stmt *st, long long now, int limit, size_t max_bytes,
                      struct outbox_row **rows, size_t *n)
{
	int rc;
	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	rc = outbox_rows_upto(db, st, max_bytes, rows, n);
	if (rc != SQLITE_DONE) {
		failed(db, rc, NULL);
		return -1;
	}
	return 0;
}

int db_outbox_due(struct db *db, long long now, int limit, struct outbox_row **rows, size_t *n)
{
	/* The ids first, from the index: sorting whole rows (with each message)
	 * to pick a few hundred of a backlog of thousands was costly. */
	return outbox_due(db, prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id IN (SELECT id FROM outbox "
	                                  "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?) "
	                                  "ORDER BY id"), now, limit, 0, rows, n);
}

int db_outbox_due_emails(struct db *db, long long now, int limit, size_t max_bytes, struct outbox_row **rows,
                         size_t *n)
{
	return outbox_due(db, prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id IN (SELECT id FROM outbox "
	                                  "WHERE state = 'pending' AND next_attempt_at <= ? AND channel = 'email' "
	                                  "ORDER BY id LIMIT ?) ORDER BY id"), now, limit, max_bytes, rows, n);
}

int db_outbox_pending_count(struct db *db)
{
	sqlite3_stmt *st = prepare(db, "SELECT count(*) FROM outbox WHERE state = 'pending'");
	if (!st)
		return -1;
	return single_int(db, st);
}

int db_outbox_mark_received(struct db *db, long long id, const char *message_id, long long sent_at)
{
	sqlite3_stmt *st = prepare(db, "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL, "
	                               "sent_at = ? WHERE id = ? AND message_id = ? AND state = 'pending' AND "
	                               "channel = 'email'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, sent_at);
	sqlite3_bind_int64(st, 2, id);
	bind_text(st, 3, message_id);
	if (step_done(db, st) < 0)
		return -1;
	return sqlite3_changes(db->h) > 0;
}

int db_outbox_mark(struct db *db, long long id, const char *state, int attempts, long long next_attempt_at,
                   const char *last_error, long long sent_at)
{
	sqlite3_stmt *st = prepare(db, "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
	                               "sent_at = ? WHERE id = ?");
	if (!st)
		return -1;
	bind_text(st, 1, state);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, next_attempt_at);
	bind_text(st, 4, last_error);
	if (sent_at)
		sqlite3_bind_int64(st, 5, sent_at);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, id);
	return step_done(db, st);
}

void strings_free(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

int db_outbox_message_ids(struct db *db, long long conversation_id, const char *kind, char ***ids, size_t *n)
{
	sqlite3_stmt *st = prepare(db, "SELECT message_id FROM outbox WHERE conversation_id = ? AND kind = ? ORDER BY id");
	int rc;
	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	bind_text(st, 2, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = col_text(st, 0);
	}
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_last_inbound_ids(struct db *db, long long conversation_id, char **message_id, char ***refs, size_t *nrefs)
{
	sqlite3_stmt *st = prepare(db, "SELECT message_id, refs FROM message WHERE conversation_id = ? AND "
	                               "kind = 'inbound' AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1");
	*message_id = NULL;
	*refs = NULL;
	*nrefs = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*message_id = col_text(st, 0);
		char *r = col_text(st, 1), *save = NULL;
		for (char *tok = r ? strtok_r(r, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
			*refs = xrealloc(*refs, (*nrefs + 1) * sizeof **refs);
			(*refs)[(*nrefs)++] = xstrdup(tok);
		}
		free(r);
	}
	release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

void outbox_row_clear(struct outbox_row *o)
{
	free(o->kind);
	free(o->channel);
	free(o->message_id);
	free(o->mail_from);
	free(o->rcpt);
	free(o->data);
	free(o->state);
	free(o->last_error);
	free(o->provider_id);
	free(o->delivery);
	memset(o, 0, sizeof *o);
}

void outbox_rows_free(struct outbox_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		outbox_row_clear(&rows[i]);
	free(rows);
}

int db_list_conversations(struct db *db, enum db_list_filter filter, long long now, db_conversation_cb cb, void *arg)
{
	static const char *const where[] = { "", "WHERE state = 'open' ", "WHERE state = 'open' AND urgent " };
	char *sql = xasprintf("SELECT " CONVERSATION_COLUMNS ", (SELECT count(*) FROM message m WHERE "
	                      "m.conversation_id = conversation.id), "
	                      "EXISTS (SELECT 1 FROM contact k WHERE k.channel = conversation.channel AND "
	                      "k.address = conversation.contact AND k.blocked_until > ?1), "
	                      "EXISTS (SELECT 1 FROM contact k WHERE k.channel = conversation.channel AND "
	                      "k.address = conversation.contact AND k.opted_out_at IS NOT NULL), "
	                      "(SELECT count(*) FROM message m WHERE m.conversation_id = conversation.id AND "
	                      "m.kind = 'setaside') "
	                      "FROM conversation %sORDER BY last_activity DESC, id DESC", where[filter]);
	sqlite3_stmt *st = prepare(db, sql);
	int rc;
	free(sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct conversation c;
		struct conversation_summary s = { sqlite3_column_int(st, 15), sqlite3_column_int(st, 16),
		                                  sqlite3_column_int(st, 17), sqlite3_column_int(st, 18) };
		conversation_read(st, &c);
		cb(arg, &c, &s);
		conversation_free(&c);
	}
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_set_aside_list(struct db *db, long long conversation_id, struct set_aside **out, size_t *n)
{
	sqlite3_stmt *st = prepare(db, "SELECT id, channel, raw FROM message WHERE conversation_id = ? AND "
	                               "kind = 'setaside' ORDER BY id");
	struct set_aside *a = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *raw = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		a = xrealloc(a, (k + 1) * sizeof *a);
		a[k].id = sqlite3_column_int64(st, 0);
		a[k].channel = xstrdup((const char *)sqlite3_column_text(st, 1));
		a[k].raw = xmalloc(len + 1);
		if (len)
			memcpy(a[k].raw, raw, len);
		a[k].raw[len] = '\0';
		a[k].len = len;
		k++;
	}
	release(db, st);
	if (rc != SQLITE_DONE) {
		db_set_aside_free(a, k);
		return -1;
	}
	*out = a;
	*n = k;
	return 0;
}

void db_set_aside_free(struct set_aside *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free(a[i].channel);
		free(a[i].raw);
	}
	free(a);
}

int db_set_aside_done(struct db *db, long long id, const char *note)
{
	sqlite3_stmt *st = prepare(db, "UPDATE message SET kind = 'retried', detail = coalesce(detail || '; ', '') || ? "
	                               "WHERE id = ? AND kind = 'setaside'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return step_done(db, st);
}

int db_transcript(struct db *db, long long conversation_id, db_transcript_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(db, "SELECT id, kind, channel, at, message_id, author, subject, body, attachments, "
	                               "detail, purged_at FROM message WHERE conversation_id = ? ORDER BY id");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct message_row m;
		memset(&m, 0, sizeof m);
		m.id = sqlite3_column_int64(st, 0);
		m.conversation_id = conversation_id;
		m.kind = (const char *)sqlite3_column_text(st, 1);
		m.channel = (const char *)sqlite3_column_text(st, 2);
		m.at = sqlite3_column_int64(st, 3);
		m.message_id = (const char *)sqlite3_column_text(st, 4);
		m.author = (const char *)sqlite3_column_text(st, 5);
		m.subject = (const char *)sqlite3_column_text(st, 6);
		m.body = (const char *)sqlite3_column_text(st, 7);
		m.attachments = (const char *)sqlite3_column_text(st, 8);
		m.detail = (const char *)sqlite3_column_text(st, 9);
		m.purged_at = sqlite3_column_int64(st, 10);
		cb(arg, &m);
	}
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_outbox_for(struct db *db, long long conversation_id, db_outbox_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE conversation_id = ? ORDER BY id");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_row o;
		outbox_read(st, &o);
		cb(arg, &o);
		outbox_row_clear(&o);
	}
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_cursor_get_text(struct db *db, const char *source, char **position)
{
	sqlite3_stmt *st = prepare(db, "SELECT position_text FROM cursor WHERE source = ?");
	*position = NULL;
	if (!st)
		return -1;
	bind_text(st, 1, source);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*position = col_text(st, 0);
	release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_cursor_set_text(struct db *db, const char *source, const char *position)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO cursor(source, validity, position, position_text) VALUES (?, 0, 0, ?) "
	                               "ON CONFLICT(source) DO UPDATE SET position_text = excluded.position_text");
	if (!st)
		return -1;
	bind_text(st, 1, source);
	bind_text(st, 2, position);
	return step_done(db, st);
}

int db_contact_opted_out(struct db *db, const char *channel, const char *address)
{
	sqlite3_stmt *st = prepare(db, "SELECT 1 FROM contact WHERE channel = ? AND address = ? AND opted_out_at IS NOT NULL");
	if (!st)
		return -1;
	bind_text(st, 1, channel);
	bind_text(st, 2, address);
	int rc = sqlite3_step(st);
	release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_contact_set_opted_out(struct db *db, const char *channel, const char *address, long long at)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO contact(channel, address, opted_out_at) VALUES (?, ?, ?) "
	                               "ON CONFLICT(channel, address) DO UPDATE SET opted_out_at = excluded.opted_out_at");
	if (!st)
		return -1;
	bind_text(st, 1, channel);
	bind_text(st, 2, address);
	if (at)
		sqlite3_bind_int64(st, 3, at);
	else
		sqlite3_bind_null(st, 3);
	return step_done(db, st);
}

int db_outbox_set_delivery(struct db *db, long long id, const char *provider_id, const char *delivery)
{
	sqlite3_stmt *st = prepare(db, "UPDATE outbox SET provider_id = coalesce(?, provider_id), delivery = ? WHERE id = ?");
	if (!st)
		return -1;
	bind_text(st, 1, provider_id);
	bind_text(st, 2, delivery);
	sqlite3_bind_int64(st, 3, id);
	return step_done(db, st);
}

int db_outbox_awaiting_delivery(struct db *db, long long since, int limit, struct outbox_row **rows, size_t *n)
{
	sqlite3_stmt *st = prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE channel = 'sms' AND state = 'sent' "
	                               "AND provider_id IS NOT NULL AND coalesce(delivery, 'queued') IN ('queued', 'sent', 'unknown') "
	                               "AND created_at >= ? ORDER BY id LIMIT ?");
	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, limit);
	return outbox_rows(db, st, rows, n) == SQLITE_DONE ? 0 : -1;
}

int db_contact_blocked(struct db *db, const char *channel, const char *address, long long now)
{
	sqlite3_stmt *st = prepare(db, "SELECT 1 FROM contact WHERE channel = ? AND address = ? AND blocked_until > ?");
	if (!st)
		return -1;
	bind_text(st, 1, channel);
	bind_text(st, 2, address);
	sqlite3_bind_int64(st, 3, now);
	int rc = sqlite3_step(st);
	release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_contact_set_blocked(struct db *db, const char *channel, const char *address, long long until)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO contact(channel, address, blocked_until) VALUES (?, ?, ?) "
	                               "ON CONFLICT(channel, address) DO UPDATE SET blocked_until = excluded.blocked_until");
	if (!st)
		return -1;
	bind_text(st, 1, channel);
	bind_text(st, 2, address);
	if (until)
		sqlite3_bind_int64(st, 3, until);
	else
		sqlite3_bind_null(st, 3);
	return step_done(db, st);
}

int db_outbox_recent(struct db *db, const char *rcpt, const char *kind, long long since)
{
	/* Email rows hold "address\n"; texts hold the bare number. */
	sqlite3_stmt *st = prepare(db, "SELECT count(*) FROM outbox WHERE rcpt IN (?, ? || char(10)) AND kind = ? "
	                               "AND created_at >= ?");
	if (!st)
		return -1;
	bind_text(st, 1, rcpt);
	bind_text(st, 2, rcpt);
	bind_text(st, 3, kind);
	sqlite3_bind_int64(st, 4, since);
	return single_int(db, st);
}

int db_close_inactive(struct db *db, long long before, long long now)
{
	sqlite3_stmt *st = prepare(db, "UPDATE conversation SET state = 'closed', closed_at = ? "
	                               "WHERE state = 'open' AND last_activity < ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, before);
	if (step_done(db, st) < 0)
		return -1;
	int n = sqlite3_changes(db->h);
	if (n > 0) {
		st = prepare(db, "INSERT INTO audit(at, conversation_id, actor, action, detail) SELECT ?, id, 'relay', "
		                 "'closed', 'no activity' FROM conversation WHERE state = 'closed' AND closed_at = ? "
		                 "AND last_activity < ?");
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, before);
		if (step_done(db, st) < 0)
			return -1;
	}
	return n;
}

int db_conversation_set_previous(struct db *db, long long id, const char *previous_ref)
{
	sqlite3_stmt *st = prepare(db, "UPDATE conversation SET previous_ref = ? WHERE id = ?");
	if (!st)
		return -1;
	bind_text(st, 1, previous_ref);
	sqlite3_bind_int64(st, 2, id);
	return step_done(db, st);
}

int db_outbox_stale(struct db *db, long long created_before, int limit, struct outbox_row **rows, size_t *n)
{
	sqlite3_stmt *st = prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE state = 'pending' AND "
	                               "alerted_at IS NULL AND created_at <= ? ORDER BY id LIMIT ?");
	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, created_before);
	sqlite3_bind_int(st, 2, limit);
	return outbox_rows(db, st, rows, n) == SQLITE_DONE ? 0 : -1;
}

int db_outbox_mark_alerted(struct db *db, long long id, long long at)
{
	sqlite3_stmt *st = prepare(db, "UPDATE outbox SET alerted_at = ? WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, id);
	return step_done(db, st);
}

int db_audit(struct db *db, long long at, long long conversation_id, const char *actor, const char *action,
             const char *detail)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO audit(at, conversation_id, actor, action, detail) VALUES (?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, at);
	if (conversation_id)
		sqlite3_bind_int64(st, 2, conversation_id);
	else
		sqlite3_bind_null(st, 2);
	bind_text(st, 3, actor);
	bind_text(st, 4, action);
	bind_text(st, 5, detail);
	return step_done(db, st);
}

int db_audit_for(struct db *db, long long conversation_id, db_audit_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(db, "SELECT at, actor, action, detail FROM audit WHERE conversation_id = ? ORDER BY id");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		   (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3));
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_purge_candidates(struct db *db, long long closed_before, long long **ids, size_t *n)
{
	sqlite3_stmt *st = prepare(db, "SELECT id FROM conversation WHERE state = 'closed' AND closed_at > 0 AND "
	                               "closed_at < ? AND purged_at = 0 ORDER BY id");
	size_t cap = 0;
	int rc;
	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, closed_before);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ids = xrealloc(*ids, cap * sizeof **ids);
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	release(db, st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int db_purge_conversation(struct db *db, long long id, long long now, const char *actor)
{
	static const char *const steps[] = {
		("UPDATE message SET subject = NULL, body = NULL, raw = NULL, attachments = NULL, detail = NULL, "
		 "refs = NULL, purged_at = ?2 WHERE conversation_id = ?1 AND purged_at IS NULL"),
		/* what was sent carried the same words, and a young person's address */
		"DELETE FROM outbox_data WHERE id IN (SELECT id FROM outbox WHERE conversation_id = ?1 AND state <> 'pending')",
		"UPDATE outbox SET rcpt = '', last_error = NULL WHERE conversation_id = ?1 AND state <> 'pending'",
		"UPDATE conversation SET contact = '', subject = NULL, purged_at = ?2 WHERE id = ?1",
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		sqlite3_stmt *st = prepare(db, steps[i]);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, now);
		if (step_done(db, st) < 0)
			return -1;
	}
	return db_audit(db, now, id, actor, "purged", "text removed after the retention period");
}

int db_checkpoint(struct db *db)
{
	int logged = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, &logged, &copied);
	if (rc == SQLITE_BUSY)
		return 1;
	if (rc != SQLITE_OK) {
		log_error("database: checkpoint: %s", sqlite3_errmsg(db->h));
		return -1;
	}
	return 0;
}

int db_stats_messages(struct db *db, long long since, db_stats_message_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(db, "SELECT kind, channel, at FROM message WHERE at >= ?1 AND kind IN ('inbound', 'reply') "
	                               "UNION ALL SELECT kind, channel, created_at FROM outbox WHERE created_at >= ?1 "
	                               "AND kind = 'autoreply' AND state <> 'failed'");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int64(st, 2));
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_stats_conversations(struct db *db, long long since, db_stats_conversation_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(db, "SELECT urgent, "
	                               "(SELECT min(at) FROM message m WHERE m.conversation_id = c.id AND kind = 'inbound'), "
	                               "(SELECT min(at) FROM message m WHERE m.conversation_id = c.id AND kind = 'reply') "
	                               "FROM conversation c WHERE created_at >= ?");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sqlite3_column_int(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_count_open(struct db *db)
{
	sqlite3_stmt *st = prepare(db, "SELECT count(*) FROM conversation WHERE state = 'open'");
	if (!st)
		return -1;
	return single_int(db, st);
}

int db_outbox_set_error(struct db *db, long long id, const char *error)
{
	sqlite3_stmt *st = prepare(db, "UPDATE outbox SET last_error = ? WHERE id = ? AND state = 'pending'");
	if (!st)
		return -1;
	bind_text(st, 1, error);
	sqlite3_bind_int64(st, 2, id);
	return step_done(db, st);
}

int db_health_put(struct db *db, const struct db_health *h)
{
	sqlite3_stmt *st = prepare(db, "INSERT OR REPLACE INTO health(part, state, last_ok, failing_since, reason, "
	                               "alerted_at, reminded_at, alerts, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	bind_text(st, 1, h->part);
	bind_text(st, 2, h->state);
	sqlite3_bind_int64(st, 3, h->last_ok);
	sqlite3_bind_int64(st, 4, h->failing_since);
	bind_text(st, 5, h->reason && *h->reason ? h->reason : NULL);
	sqlite3_bind_int64(st, 6, h->alerted_at);
	sqlite3_bind_int64(st, 7, h->reminded_at);
	sqlite3_bind_int64(st, 8, h->alerts);
	sqlite3_bind_int64(st, 9, h->updated_at);
	return step_done(db, st);
}

int db_health_get(struct db *db, db_health_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(db, "SELECT part, state, last_ok, failing_since, reason, alerted_at, reminded_at, "
	                               "alerts, updated_at FROM health ORDER BY part");
	int rc;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_health h = {
			.part = (const char *)sqlite3_column_text(st, 0),
			.state = (const char *)sqlite3_column_text(st, 1),
			.last_ok = sqlite3_column_int64(st, 2),
			.failing_since = sqlite3_column_int64(st, 3),
			.reason = (const char *)sqlite3_column_text(st, 4),
			.alerted_at = sqlite3_column_int64(st, 5),
			.reminded_at = sqlite3_column_int64(st, 6),
			.alerts = sqlite3_column_int(st, 7),
			.updated_at = sqlite3_column_int64(st, 8),
		};
		cb(arg, &h);
	}
	release(db, st);
	if (rc != SQLITE_DONE) {
		failed(db, rc, NULL);
		return -1;
	}
	return 0;
}

int db_backlog(struct db *db, int *forwards, long long *oldest_forward, int *replies, long long *oldest_reply)
{
	sqlite3_stmt *st = prepare(db, "SELECT count(*) FILTER (WHERE kind = 'forward'),"
	                               " coalesce(min(created_at) FILTER (WHERE kind = 'forward'), 0),"
	                               " count(*) FILTER (WHERE kind IN ('reply', 'autoreply')),"
	                               " coalesce(min(created_at) FILTER (WHERE kind IN ('reply', 'autoreply')), 0)"
	                               " FROM outbox WHERE state = 'pending'");
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*forwards = sqlite3_column_int(st, 0);
		*oldest_forward = sqlite3_column_int64(st, 1);
		*replies = sqlite3_column_int(st, 2);
		*oldest_reply = sqlite3_column_int64(st, 3);
	}
	release(db, st);
	if (rc != SQLITE_ROW) {
		failed(db, rc, NULL);
		return -1;
	}
	return 0;
}
