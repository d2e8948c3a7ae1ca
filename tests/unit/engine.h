/* engine.h: what the engine's unit tests share (test_intake, test_outgoing,
 * test_replies, test_tools): a relay over a temporary directory, with a
 * configuration the test writes and a fresh database; a received email or
 * text handed to it in a batch of its own, as the mailbox and the gateway's
 * inbox do; and queries of the database by a connection of the test's own.
 *
 * engine_start ... engine_stop around the test. Header-only, for the tests
 * alone (include check.h first). */
#ifndef RELAY_TEST_ENGINE_H
#define RELAY_TEST_ENGINE_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "intake.h"
#include "relay.h"

static char engine_dir[] = "/tmp/engine-test-XXXXXX";
static char engine_db[300];

/* The first column of each row of sql, joined by ','; "" for none. */
static inline void query(const char *sql, char *out, size_t outlen)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	if (sqlite3_open_v2(engine_db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(out, outlen, "(query failed: %s)", h ? sqlite3_errmsg(h) : "no handle");
		sqlite3_close(h);
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t k = strlen(out);
		const unsigned char *v = sqlite3_column_text(st, 0);
		snprintf(out + k, outlen - k, "%s%s", k ? "," : "", v ? (const char *)v : "NULL");
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* A number sql selects; a query that fails is no number any check wants. */
static inline long long count(const char *sql)
{
	char got[256];
	query(sql, got, sizeof got);
	return got[0] == '(' ? -1000000 : atoll(got);
}

/* query() with the SQL formatted first. */
static inline void queryf(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void queryf(char *out, size_t outlen, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	query(sql, out, outlen);
}

/* count() with the SQL formatted first. */
static inline long long countf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline long long countf(const char *fmt, ...)
{
	char sql[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return count(sql);
}

static inline int engine_write(const char *name, const char *text, mode_t mode)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", engine_dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode);
}

/* The directory and the configuration: the service, its advisers proved by
 * the receiving server's Authentication-Results (authserv_id), office hours
 * by default, an SMTP server and a Twilio gateway that are never reached.
 * extra: more lines after it ("[policy]\nreopen_days = 7\n"; a section may
 * be named again, a key may not), "" for none. NULL on failure (printed as a
 * FAIL line). */
static inline struct config *engine_setup(const char *extra)
{
	char cwd[200], conf[4096], path[300], err[512];
	struct config *cfg = NULL;
	if (!mkdtemp(engine_dir) || !getcwd(cwd, sizeof cwd))
		return NULL;
	snprintf(engine_db, sizeof engine_db, "%s/relay.db", engine_dir);
	snprintf(conf, sizeof conf,
	         "[service]\nname = R-U-Safe?\nreference_prefix = RUS\ndatabase = relay.db\ntemplates = %s/templates\n"
	         "timezone = Europe/London\nsecret_file = secret\nuser = root\n\n"
	         "[hours]\nbank_holidays = %s/config/bank-holidays-england-and-wales.txt\n\n"
	         "[policy]\nurgent_phrases = %s/config/urgent.txt\n\n"
	         "[imap]\nhost = localhost\nusername = rusafe@example.org\npassword_file = imap.password\n\n"
	         "[smtp]\nhost = 127.0.0.1\nport = 9\nusername = rusafe@example.org\npassword_file = smtp.password\n"
	         "from = R-U-Safe? <rusafe@example.org>\n\n"
	         "[advisers]\nforward_to = adviser1@example.org, adviser2@example.org\n"
	         "allowed = adviser1@example.org, adviser2@example.org, adviser3@example.org\n"
	         "urgent_to = oncall@example.org\nauthserv_id = mx.example.org\n\n"
	         "[sms]\nprovider = twilio\nurl = http://127.0.0.1:9/\naccount = AC1\npassword_file = sms.password\n"
	         "number = +447700900000\n\n%s",
	         cwd, cwd, cwd, extra);
	if (engine_write("relay.conf", conf, 0600) < 0 ||
	    engine_write("secret", "test-secret-0123456789abcdef0123456789\n", 0600) < 0 ||
	    engine_write("imap.password", "pw\n", 0600) < 0 || engine_write("smtp.password", "pw\n", 0600) < 0 ||
	    engine_write("sms.password", "tok\n", 0600) < 0)
		return NULL;
	snprintf(path, sizeof path, "%s/relay.conf", engine_dir);
	if (config_load(path, &cfg, err, sizeof err) < 0 || config_load_secrets(cfg, err, sizeof err) < 0) {
		printf("FAIL configuration: %s\n", err);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* A relay r over engine_setup(extra)'s configuration and a fresh database,
 * its clock at Tuesday 24 November 2026, 11:00 in London (office hours).
 * 0, or -1 when it cannot start (said in FAIL lines). */
static inline int engine_start(const char *extra, struct relay *r)
{
	char err[512];
	memset(r, 0, sizeof *r);
	r->cfg = engine_setup(extra);
	CHECK("configuration loads", r->cfg != NULL);
	if (!r->cfg)
		return -1;
	CHECK_INT("database opens", db_open(engine_db, &r->db, err, sizeof err), 0);
	if (!r->db) {
		config_free(r->cfg);
		return -1;
	}
	r->now = check_utc(2026, 11, 24, 11, 0);
	return 0;
}

/* Closes r and removes the directory; KEEP=1 leaves it (and the database)
 * to look at. */
static inline void engine_stop(struct relay *r)
{
	char cmd[400];
	db_close(r->db);
	config_free(r->cfg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", engine_dir);
	if (!getenv("KEEP") && system(cmd) != 0)
		printf("could not remove %s\n", engine_dir);
}

/* An email as the mailbox hands it over, in a batch of its own: what
 * intake_email returns, or -2 when the batch could not be committed. */
static inline int engine_email(struct relay *r, const char *key, const char *text)
{
	if (db_begin(r->db) < 0)
		return -2;
	int rc = intake_email(r, key, text, strlen(text), 0);
	if (rc < 0) {
		db_rollback(r->db);
		return rc;
	}
	return db_commit(r->db) < 0 ? -2 : rc;
}

/* A text as the Twilio gateway's inbox hands it over, in a batch of its own. */
static inline int engine_text(struct relay *r, const char *id, const char *sender, const char *body)
{
	if (db_begin(r->db) < 0)
		return -2;
	int rc = intake_text(r, "twilio", id, sender, body, r->now);
	if (rc < 0) {
		db_rollback(r->db);
		return rc;
	}
	return db_commit(r->db) < 0 ? -2 : rc;
}

#endif
