/* db.c: the store's connection: opening it (the file, its directory,
 * pragmas, the schema brought up to date by db_schema.c), transactions and
 * savepoints, the statement cache, and what a failed statement means (a full
 * or failing disk logged once, until a commit works again). The other db_*.c
 * files hold the tables' own calls, over the helpers declared in db_p.h. */
#include "db_p.h"

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
	static const struct {
		int rc;
		const char *name;
	} names[] = {
		{ SQLITE_FULL, "SQLITE_FULL" },
		{ SQLITE_IOERR, "SQLITE_IOERR" },
		{ SQLITE_IOERR_READ, "SQLITE_IOERR_READ" },
		{ SQLITE_IOERR_SHORT_READ, "SQLITE_IOERR_SHORT_READ" },
		{ SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE" },
		{ SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC" },
		{ SQLITE_IOERR_DIR_FSYNC, "SQLITE_IOERR_DIR_FSYNC" },
		{ SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE" },
		{ SQLITE_IOERR_FSTAT, "SQLITE_IOERR_FSTAT" },
		{ SQLITE_IOERR_UNLOCK, "SQLITE_IOERR_UNLOCK" },
		{ SQLITE_IOERR_RDLOCK, "SQLITE_IOERR_RDLOCK" },
		{ SQLITE_IOERR_DELETE, "SQLITE_IOERR_DELETE" },
		{ SQLITE_IOERR_NOMEM, "SQLITE_IOERR_NOMEM" },
		{ SQLITE_IOERR_ACCESS, "SQLITE_IOERR_ACCESS" },
		{ SQLITE_IOERR_CHECKRESERVEDLOCK, "SQLITE_IOERR_CHECKRESERVEDLOCK" },
		{ SQLITE_IOERR_LOCK, "SQLITE_IOERR_LOCK" },
		{ SQLITE_IOERR_CLOSE, "SQLITE_IOERR_CLOSE" },
		{ SQLITE_IOERR_SHMOPEN, "SQLITE_IOERR_SHMOPEN" },
		{ SQLITE_IOERR_SHMSIZE, "SQLITE_IOERR_SHMSIZE" },
		{ SQLITE_IOERR_SHMLOCK, "SQLITE_IOERR_SHMLOCK" },
		{ SQLITE_IOERR_SHMMAP, "SQLITE_IOERR_SHMMAP" },
		{ SQLITE_IOERR_SEEK, "SQLITE_IOERR_SEEK" },
		{ SQLITE_IOERR_DELETE_NOENT, "SQLITE_IOERR_DELETE_NOENT" },
		{ SQLITE_IOERR_MMAP, "SQLITE_IOERR_MMAP" },
		{ SQLITE_IOERR_GETTEMPPATH, "SQLITE_IOERR_GETTEMPPATH" },
		{ SQLITE_IOERR_DATA, "SQLITE_IOERR_DATA" },
		{ SQLITE_IOERR_CORRUPTFS, "SQLITE_IOERR_CORRUPTFS" },
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
	const char *dirs[] = {
		sqlite3_temp_directory, getenv("SQLITE_TMPDIR"), getenv("TMPDIR"), "/var/tmp", "/usr/tmp", "/tmp", "."
	};
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
void db_failed(struct db *db, int rc, const char *msg)
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
	char *tmp = NULL, *where = NULL; /* where: the directory out of room, when not the database's */
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
		          "%llu and %llu MiB free: a limit of SQLite's, not a full disk",
		          what, code, db->path, tmp, mib, tmp_mib);
		goto out;
	}
	db->disk_failures++;
	if (db->disk_trouble)
		goto out;
	db->disk_trouble = 1;
	if (full && where)
		log_error(
			"the disk holding SQLite's temporary files (%s) is full (%s): nothing is taken in, acknowledged or "
			"sent until there is room; will retry",
			where, code);
	else if (full)
		log_error("the disk holding %s is full%s: nothing is taken in, acknowledged or sent until there is room; "
		          "will retry",
		          db->path, sys == EDQUOT ? " (the disk quota is used up)" : "");
	else
		log_error("the disk holding %s fails (%s, %s%s%s): nothing is taken in, acknowledged or sent until it "
		          "works; will retry",
		          db->path, what, code, sys ? ": " : "", sys ? strerror(sys) : "");
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
		db_failed(db, rc, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int db_open(const char *path, struct db **out, char *err, size_t errlen)
{
	return db_open_at(path, db_schema_latest(), out, err, errlen);
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
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	                         NULL);
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
	if (db_migrate(db, version < db_schema_latest() ? version : db_schema_latest(), err, errlen) < 0)
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

/* A statement for sql, from the cache when one is free; db_release() it after
 * use. A nested use of the same SQL (a callback querying while a listing
 * runs) gets a statement of its own. */
sqlite3_stmt *db_prepare(struct db *db, const char *sql)
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
		db_failed(db, sqlite3_extended_errcode(db->h), NULL);
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

/* Done with a statement from db_prepare(): reset at once, so that no read
 * stays open to hold back a checkpoint. */
void db_release(struct db *db, sqlite3_stmt *st)
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

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

char *db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

int db_step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	db_release(db, st);
	if (rc != SQLITE_DONE) {
		db_failed(db, rc, NULL);
		return -1;
	}
	return 0;
}

/* The first column of st's one row as a number (a count), -1 on failure. Releases st. */
int db_single_int(struct db *db, sqlite3_stmt *st)
{
	int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	db_release(db, st);
	return n;
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
