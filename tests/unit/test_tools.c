/* Unit tests for tools.c, the operator's console (relay list, show, export,
 * close, reopen, send, retry, stats, status, purge), without servers: a
 * temporary database filled through the intake as the daemon fills it, a
 * configuration written by the test, what each tool prints captured (stdout
 * and stderr are put on files, or stdout on a terminal of our own, for the
 * time of one call), and what the database holds afterwards read by a
 * connection of its own. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "db.h"
#include "engine.h"
#include "intake.h"
#include "outbox.h"
#include "relay.h"
#include "tools.h"
#include "util.h"


#define DAY 86400LL
#define OPERATOR "operator alice"
/* A young person's text with terminal controls: clear the screen, ring, and
 * OSC 52 (write the operator's clipboard). */
#define HOSTILE "Help\x1b[2J\a me\x1b]52;c;ZXZpbA==\a"
#define HOSTILE_SHOWN "Help\\x1b[2J\\x07 me\\x1b]52;c;ZXZpbA==\\x07"

/* ---- what a tool prints ----------------------------------------------- */

static char out[65536], errout[65536];
static int saved_out = -1, saved_err = -1;

static void slurp(const char *path, char *buf, size_t buflen)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, buflen - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Puts stdout and stderr on files of their own until captured(). */
static void capture(void)
{
	char path[320];
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	snprintf(path, sizeof path, "%s/stdout", engine_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	snprintf(path, sizeof path, "%s/stderr", engine_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Gives stdout and stderr back; out and errout hold what was printed. */
static void captured(void)
{
	char path[320];
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	snprintf(path, sizeof path, "%s/stdout", engine_dir);
	slurp(path, out, sizeof out);
	snprintf(path, sizeof path, "%s/stderr", engine_dir);
	slurp(path, errout, sizeof errout);
}

/* A tool's exit status, with what it printed in out and errout. */
static int run_rc;
#define RUN(call) (capture(), run_rc = (call), captured(), run_rc)

/* As RUN, with stdout a terminal (a pseudo-terminal in raw mode, read back). */
static int on_terminal(struct tools *t, int (*tool)(struct tools *, const char *), const char *ref)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), slave = -1, rc = -1;
	struct termios tio;
	out[0] = '\0';
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0 || tcgetattr(slave, &tio) < 0) {
		if (master >= 0)
			close(master);
		return -2;
	}
	cfmakeraw(&tio);
	tcsetattr(slave, TCSANOW, &tio);
	fflush(stdout);
	saved_out = dup(STDOUT_FILENO);
	dup2(slave, STDOUT_FILENO);
	rc = tool(t, ref);
	fflush(stdout);
	dup2(saved_out, STDOUT_FILENO);
	close(saved_out);
	close(slave);
	/* What the terminal got (a few KiB: the pty holds it all). */
	fcntl(master, F_SETFL, O_NONBLOCK);
	size_t n = 0;
	ssize_t k;
	while (n < sizeof out - 1 && (k = read(master, out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(master);
	return rc;
}

/* The line of s that holds needle, copied to line ("" when none). */
static void line_with(const char *s, const char *needle, char *line, size_t linelen)
{
	const char *p = strstr(s, needle);
	line[0] = '\0';
	if (!p)
		return;
	while (p > s && p[-1] != '\n')
		p--;
	size_t n = strcspn(p, "\n");
	snprintf(line, linelen, "%.*s", (int)n, p);
}

static int has_byte(const char *s, char c)
{
	return strchr(s, c) != NULL;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static long long json_int(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : -1;
}

static struct json_object *json_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* ---- the tools -------------------------------------------------------- */

static char eref[32], sref[32]; /* the email and the text conversation */
static long long econv, sconv;

static void test_list(struct tools *t)
{
	char line[512];

	CHECK_INT("list: done", RUN(tools_list(t, DB_LIST_ALL)), 0);
	CHECK("list: a header", !strncmp(out, "REFERENCE", 9) && strstr(out, "CONTACT") && strstr(out, "FLAGS"));
	line_with(out, eref, line, sizeof line);
	CHECK("list: the email conversation, by email, open", strstr(line, " open ") && strstr(line, " email "));
	CHECK("list: its contact masked", strstr(line, " s***@example.net ") != NULL);
	CHECK("list: its two transcript entries", strstr(line, " 2  ") != NULL);
	line_with(out, sref, line, sizeof line);
	CHECK("list: the text conversation, by text", strstr(line, " open ") && strstr(line, " text "));
	CHECK("list: its number masked", strstr(line, " +44 7*** ***123 ") != NULL);
	CHECK("list: no contact in full anywhere", !strstr(out, "sam@example.net") && !strstr(out, "+447700900123") &&
	                                                   !strstr(out, "7700900123") && !strstr(out, "07700"));
	CHECK_STR("list: nothing on stderr", errout, "");

	CHECK_INT("list --json: done", RUN((t->json = 1, tools_list(t, DB_LIST_ALL))), 0);
	t->json = 0;
	struct json_object *a = json_tokener_parse(out);
	CHECK("list --json: an array of two",
	      a && json_object_is_type(a, json_type_array) && json_object_array_length(a) == 2);
	int seen = 0;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		const char *ref = json_str(o, "reference"), *contact = json_str(o, "contact");
		if (ref && !strcmp(ref, eref)) {
			seen++;
			CHECK_STR("list --json: the email contact masked", contact, "s***@example.net");
			CHECK_STR("list --json: the email channel", json_str(o, "channel"), "email");
			CHECK_INT("list --json: the email conversation's entries", json_int(o, "messages"), 2);
		} else if (ref && !strcmp(ref, sref)) {
			seen++;
			CHECK_STR("list --json: the number masked", contact, "+44 7*** ***123");
			CHECK_STR("list --json: the text channel", json_str(o, "channel"), "sms");
		}
	}
	CHECK_INT("list --json: both references", seen, 2);
	json_object_put(a);

	CHECK_INT("list urgent: done", RUN(tools_list(t, DB_LIST_URGENT)), 0);
	CHECK("list urgent: none", strstr(out, "(no conversations urgent and open)\n") && !strstr(out, "RUS-"));
}

static void test_show(struct tools *t)
{
	char line[512];
	long long audit = countf("SELECT count(*) FROM audit");

	CHECK_INT("show: done", RUN(tools_show(t, sref)), 0);
	line_with(out, "Conversation ", line, sizeof line);
	CHECK("show: the reference", strstr(line, sref) != NULL);
	CHECK("show: the channel", strstr(out, "  channel:  text\n") != NULL);
	CHECK("show: the number masked", strstr(out, "  contact:  +44 7*** ***123\n") && !strstr(out, "900123\n"));
	CHECK("show: the young person's entry", strstr(out, "young person (text)") != NULL);
	CHECK("show: the controls in their text shown escaped", strstr(out, HOSTILE_SHOWN "\n") != NULL);
	CHECK("show: no ESC reaches the terminal", !has_byte(out, '\x1b'));
	CHECK("show: no BEL reaches the terminal", !has_byte(out, '\a'));
	line_with(out, "Deliveries:", line, sizeof line);
	CHECK("show: the deliveries", line[0] && strstr(out, "forward") && strstr(out, "autoreply"));
	CHECK("show: no audit trail (export has it)", !strstr(out, "Audit trail:"));
	CHECK_INT("show: nothing recorded", countf("SELECT count(*) FROM audit"), audit);

	/* JSON keeps the exact text, escaped by JSON itself. */
	CHECK_INT("show --json: done", RUN((t->json = 1, tools_show(t, sref))), 0);
	t->json = 0;
	CHECK("show --json: no raw ESC or BEL", !has_byte(out, '\x1b') && !has_byte(out, '\a'));
	struct json_object *o = json_tokener_parse(out), *msgs = o ? json_get(o, "messages") : NULL;
	CHECK_STR("show --json: the reference", o ? json_str(o, "reference") : NULL, sref);
	CHECK_STR("show --json: the exact text", msgs ? json_str(json_object_array_get_idx(msgs, 0), "text") : NULL,
	          HOSTILE);
	CHECK_STR("show --json: the contact masked", o ? json_str(o, "contact") : NULL, "+44 7*** ***123");
	CHECK("show --json: no audit (export has it)", o && !json_get(o, "audit"));
	json_object_put(o);

	/* One field, one line: whatever a stored author, subject or detail holds,
	 * it cannot forge a transcript entry or reach the terminal raw. */
	struct message_row mr = { .conversation_id = sconv,
		                  .kind = KIND_HELD,
		                  .channel = CHANNEL_EMAIL,
		                  .at = t->r->now,
		                  .author = "x@example.com\n--- forged author",
		                  .subject = "Re: \x1b]0;title\a",
		                  .body = "held text",
		                  .detail = "the reason\r\n--- 2026-11-24 11:00  young person (text)" };
	CHECK_INT("odd fields: stored", db_message_add(t->r->db, &mr, NULL), 0);
	CHECK_INT("show odd fields: done", RUN(tools_show(t, sref)), 0);
	CHECK("show odd fields: the author on its line",
	      strstr(out, "HELD, not relayed (email)  by x@example.com\\x0a--- forged author\n") != NULL);
	CHECK("show odd fields: the detail on its line",
	      strstr(out, "    why: the reason\\x0d\\x0a--- 2026-11-24 11:00  young person (text)\n") != NULL);
	CHECK("show odd fields: the subject escaped", strstr(out, "    subject: Re: \\x1b]0;title\\x07\n") != NULL);
	CHECK("show odd fields: no ESC, BEL or CR", !has_byte(out, '\x1b') && !has_byte(out, '\a') && !has_byte(out, '\r'));
	CHECK("show odd fields: no forged entry",
	      !strstr(out, "\n--- forged") && !strstr(out, "\n--- 2026-11-24 11:00  young"));

	/* An unknown reference. */
	CHECK_INT("show unknown: exit 1", RUN(tools_show(t, "RUS-ZZZZZ")), 1);
	CHECK_STR("show unknown: nothing on stdout", out, "");
	CHECK("show unknown: says so on stderr",
	      strstr(errout, "relay: no conversation RUS-ZZZZZ (relay list shows them all)\n") != NULL);
	CHECK_INT("show typed controls: exit 1", RUN(tools_show(t, "RUS-\x1b[2J")), 1);
	CHECK("show typed controls: echoed escaped", strstr(errout, "no conversation RUS-\\x1b[2J ") != NULL);
	CHECK("show typed controls: no raw ESC", !has_byte(errout, '\x1b'));
}

static void test_export(struct tools *t)
{
	char line[512], want[256];
	long long audit = countf("SELECT ifnull(max(id), 0) FROM audit");

	/* To a file: exact, with full dates, who, the audit trail. */
	CHECK_INT("export: done", RUN(tools_export(t, eref)), 0);
	snprintf(want, sizeof want, "R-U-Safe?: conversation %s\nExported ", eref);
	CHECK("export: headed with the service and the reference", !strncmp(out, want, strlen(want)));
	CHECK("export: who exported it, why", strstr(out, " by " OPERATOR ", for a safeguarding referral.\n") != NULL);
	CHECK("export: confidential", strstr(out, "Confidential: it holds what a young person told the service.") != NULL);
	CHECK("export: the young person's message",
	      strstr(out, "young person (email)") && strstr(out, "I need to talk to someone.\r\n"));
	line_with(out, "reply sent", line, sizeof line);
	CHECK("export: the adviser's reply, by whom", strstr(line, "reply sent (email)  by adviser1@example.org") != NULL);
	CHECK("export: the reply's text", strstr(out, "We are here for you, Sam.\n") != NULL);
	CHECK("export: the young person's entry comes first",
	      strstr(out, "young person (email)") && strstr(out, "young person (email)") < strstr(out, "reply sent"));
	CHECK("export: the deliveries", strstr(out, "\nDeliveries:\n") != NULL);
	CHECK("export: the audit trail", strstr(out, "\nAudit trail:\n") != NULL);
	snprintf(want, sizeof want, "%-22s %s", "exported", OPERATOR);
	CHECK("export: the trail has this export",
	      strstr(strstr(out, "Audit trail:") ? strstr(out, "Audit trail:") : "", want) != NULL);
	CHECK("export: the contact masked",
	      strstr(out, "  contact:  s***@example.net\n") && !strstr(out, "sam@example.net"));
	queryf(line, sizeof line,
	       "SELECT at || ':' || conversation_id || ':' || actor || ':' || action FROM audit WHERE id > %lld", audit);
	snprintf(want, sizeof want, "%lld:%lld:" OPERATOR ":exported", t->r->now, econv);
	CHECK_STR("export: recorded in the audit trail", line, want);

	/* A file keeps the young person's exact words; a terminal shows them escaped. */
	CHECK_INT("export text to a file: done", RUN(tools_export(t, sref)), 0);
	CHECK("export text to a file: exact", strstr(out, HOSTILE "\n") != NULL);
	int rc = on_terminal(t, tools_export, sref);
	CHECK_INT("export text to a terminal: done", rc, 0);
	CHECK("export text to a terminal: escaped", strstr(out, HOSTILE_SHOWN) != NULL);
	CHECK("export text to a terminal: no ESC or BEL", !has_byte(out, '\x1b') && !has_byte(out, '\a'));
	CHECK("export text to a terminal: still a full export", strstr(out, "Audit trail:") != NULL);
	t->exact = 0;
	CHECK_INT(
		"export text: each one recorded",
		countf("SELECT count(*) FROM audit WHERE conversation_id = %lld AND action = 'exported' AND actor = '" OPERATOR
	               "'",
	               sconv),
		2);

	/* JSON. */
	CHECK_INT("export --json: done", RUN((t->json = 1, tools_export(t, eref))), 0);
	t->json = 0;
	struct json_object *o = json_tokener_parse(out), *msgs = o ? json_get(o, "messages") : NULL,
			   *trail = o ? json_get(o, "audit") : NULL;
	CHECK_STR("export --json: exported by", o ? json_str(o, "exported_by") : NULL, OPERATOR);
	char kinds[256] = "";
	for (size_t i = 0; msgs && i < json_object_array_length(msgs); i++) {
		const char *k = json_str(json_object_array_get_idx(msgs, i), "kind");
		snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", i ? "," : "", k ? k : "?");
	}
	CHECK_STR("export --json: the whole transcript, in order", kinds, "inbound,reply");
	int exports = 0;
	for (size_t i = 0; trail && i < json_object_array_length(trail); i++) {
		struct json_object *a = json_object_array_get_idx(trail, i);
		const char *action = json_str(a, "action"), *actor = json_str(a, "actor");
		if (action && !strcmp(action, "exported") && actor && !strcmp(actor, OPERATOR))
			exports++;
	}
	CHECK_INT("export --json: the trail has both exports", exports, 2);
	json_object_put(o);

	long long before = countf("SELECT count(*) FROM audit");
	CHECK_INT("export unknown: exit 1", RUN(tools_export(t, "RUS-ZZZZZ")), 1);
	CHECK("export unknown: says so", strstr(errout, "relay: no conversation RUS-ZZZZZ") != NULL);
	CHECK_INT("export unknown: nothing recorded", countf("SELECT count(*) FROM audit"), before);
}

static void test_state(struct tools *t)
{
	char got[512], want[256];
	long long message = countf("SELECT max(id) FROM message"), audit = countf("SELECT max(id) FROM audit");

	t->r->now += 60;
	CHECK_INT("close: done", RUN(tools_set_state(t, eref, 0)), 0);
	snprintf(want, sizeof want, "%s closed\n", eref);
	CHECK_STR("close: says so", out, want);
	queryf(got, sizeof got, "SELECT state || ':' || closed_at || ':' || last_activity FROM conversation WHERE id = %lld",
	       econv);
	snprintf(want, sizeof want, "closed:%lld:%lld", t->r->now, t->r->now);
	CHECK_STR("close: closed now", got, want);
	queryf(got, sizeof got, "SELECT kind || ':' || channel || ':' || author || ':' || body FROM message WHERE id > %lld",
	       message);
	CHECK_STR("close: a transcript entry by the operator", got, "command:email:" OPERATOR ":#close");
	queryf(got, sizeof got,
	       "SELECT at || ':' || conversation_id || ':' || actor || ':' || action || ':' || detail FROM audit WHERE id > %lld",
	       audit);
	snprintf(want, sizeof want, "%lld:%lld:" OPERATOR ":command:#close", t->r->now, econv);
	CHECK_STR("close: an audit row naming the operator", got, want);

	CHECK_INT("list open: done", RUN(tools_list(t, DB_LIST_OPEN)), 0);
	CHECK("list open: the closed one left out", !strstr(out, eref) && strstr(out, sref));

	message = countf("SELECT max(id) FROM message");
	audit = countf("SELECT max(id) FROM audit");
	CHECK_INT("close again: done", RUN(tools_set_state(t, eref, 0)), 0);
	snprintf(want, sizeof want, "%s is already closed\n", eref);
	CHECK_STR("close again: says so", out, want);
	CHECK_INT("close again: nothing recorded",
	          countf("SELECT count(*) FROM message WHERE id > %lld", message) +
	                  countf("SELECT count(*) FROM audit WHERE id > %lld", audit),
	          0);

	t->r->now += 60;
	CHECK_INT("reopen: done", RUN(tools_set_state(t, eref, 1)), 0);
	snprintf(want, sizeof want, "%s reopened\n", eref);
	CHECK_STR("reopen: says so", out, want);
	queryf(got, sizeof got, "SELECT state || ':' || closed_at FROM conversation WHERE id = %lld", econv);
	CHECK_STR("reopen: open, no closing time", got, "open:0");
	queryf(got, sizeof got, "SELECT actor || ':' || action || ':' || detail FROM audit WHERE id > %lld", audit);
	CHECK_STR("reopen: an audit row naming the operator", got, OPERATOR ":command:#reopen");
	CHECK_INT("reopen again: done", RUN(tools_set_state(t, eref, 1)), 0);
	snprintf(want, sizeof want, "%s is already open\n", eref);
	CHECK_STR("reopen again: says so", out, want);

	t->r->now += 60;
	CHECK_INT("close --json: done", RUN((t->json = 1, tools_set_state(t, sref, 0))), 0);
	t->json = 0;
	struct json_object *o = json_tokener_parse(out);
	CHECK_STR("close --json: the reference", o ? json_str(o, "reference") : NULL, sref);
	CHECK_STR("close --json: the state", o ? json_str(o, "state") : NULL, "closed");
	json_object_put(o);
	CHECK_INT("close --json: closed",
	          countf("SELECT count(*) FROM conversation WHERE id = %lld AND state = 'closed'", sconv), 1);

	audit = countf("SELECT max(id) FROM audit");
	CHECK_INT("close unknown: exit 1", RUN(tools_set_state(t, "RUS-ZZZZZ", 0)), 1);
	CHECK("close unknown: says so", !out[0] && strstr(errout, "relay: no conversation RUS-ZZZZZ") != NULL);
	CHECK_INT("close unknown: nothing recorded", countf("SELECT count(*) FROM audit WHERE id > %lld", audit), 0);
}

/* relay send's refusals, which come before anything is sent (replies_from_console
 * itself is in test_replies.c). */
static void test_send(struct tools *t)
{
	long long message = countf("SELECT max(id) FROM message"), outbox = countf("SELECT max(id) FROM outbox");
	static const char nul[] = "Hello\0there";
	FILE *in = fmemopen((void *)nul, sizeof nul - 1, "r");
	CHECK_INT("send with a NUL: exit 1", RUN(tools_send(t, eref, in)), 1);
	fclose(in);
	CHECK("send with a NUL: says so",
	      strstr(errout, "relay: the message contains a NUL byte; nothing was sent\n") != NULL);
	in = fmemopen((void *)" \n\n", 3, "r");
	CHECK_INT("send blank: exit 1", RUN(tools_send(t, eref, in)), 1);
	fclose(in);
	CHECK("send blank: says why", strstr(errout, "relay: nothing to send") != NULL);
	struct buf big;
	buf_init(&big);
	for (int i = 0; i < 70 * 1024 / 16; i++)
		buf_adds(&big, "a long message. ");
	in = fmemopen(big.data, big.len, "r");
	CHECK_INT("send too long: exit 1", RUN(tools_send(t, eref, in)), 1);
	fclose(in);
	buf_free(&big);
	CHECK("send too long: says so", strstr(errout, "longer than 64 KiB") != NULL);
	in = fmemopen((void *)"Hello", 5, "r");
	CHECK_INT("send unknown: exit 1", RUN(tools_send(t, "RUS-ZZZZZ", in)), 1);
	fclose(in);
	CHECK("send unknown: says so", strstr(errout, "relay: no conversation RUS-ZZZZZ") != NULL);
	CHECK_INT("send refused: nothing stored or queued",
	          countf("SELECT count(*) FROM message WHERE id > %lld", message) +
	                  countf("SELECT count(*) FROM outbox WHERE id > %lld", outbox),
	          0);
	CHECK_INT("send refused: no transaction left open", db_begin(t->r->db), 0);
	db_rollback(t->r->db);

	/* Queued. The relay is stopping (as when SIGTERM comes), so delivering at
	 * once sends nothing and opens no connection: both stay queued for the
	 * daemon, and what send says is about the text it queued, not the
	 * receipt queued after it. */
	volatile sig_atomic_t stop = 1;
	t->r->stopping = &stop;
	t->r->now += 60;
	in = fmemopen((void *)"Hello from the office.\n", 23, "r");
	CHECK_INT("send by text: done", RUN((t->json = 1, tools_send(t, sref, in))), 0);
	fclose(in);
	t->json = 0;
	t->r->stopping = NULL;
	struct json_object *o = json_tokener_parse(out);
	CHECK_STR("send by text: its reference", o ? json_str(o, "reference") : NULL, sref);
	CHECK_STR("send by text: the text is pending", o ? json_str(o, "state") : NULL, "pending");
	CHECK_INT("send by text: in one part", o ? json_int(o, "parts") : -1, 1);
	CHECK("send by text: no error yet", o && !json_get(o, "last_error"));
	json_object_put(o);
	char got[512];
	queryf(got, sizeof got, "SELECT kind || ':' || channel || ':' || state FROM outbox WHERE id > %lld ORDER BY id",
	       outbox);
	CHECK_STR("send by text: the text and the receipt queued", got, "reply:sms:pending,receipt:email:pending");
	queryf(got, sizeof got, "SELECT kind || ':' || author || ':' || body FROM message WHERE id > %lld", message);
	CHECK_STR("send by text: recorded as the operator's", got, "reply:" OPERATOR ":Hello from the office.");
	outbox_end(t->r);
}

static void test_retry_status(struct tools *t)
{
	char want[128];
	CHECK_INT("retry, nothing set aside: done", RUN(tools_retry(t, eref)), 0);
	snprintf(want, sizeof want, "%s: nothing is set aside\n", eref);
	CHECK_STR("retry, nothing set aside: says so", out, want);
	CHECK_INT("retry unknown: exit 1", RUN(tools_retry(t, "RUS-ZZZZZ")), 1);
	CHECK("retry unknown: says so", strstr(errout, "relay: no conversation RUS-ZZZZZ") != NULL);
	CHECK_INT("status, daemon never run: exit 1", RUN(tools_status(t)), 1);
	CHECK("status, daemon never run: says so", !strncmp(out, "relay     never run\n", 20));
}

static void test_stats(struct tools *t)
{
	CHECK_INT("stats: done", RUN(tools_stats(t, 0)), 0);
	CHECK("stats: since the start", !strncmp(out, "Since the start\n", 16));
	char line[256], want[256];
	line_with(out, "email ", line, sizeof line);
	snprintf(want, sizeof want, "%-8s %10d %10d %13d", "email", 1, 1, 1);
	CHECK_STR("stats: email received, replies, auto-replies", line, want);
	line_with(out, "text ", line, sizeof line);
	snprintf(want, sizeof want, "%-8s %10d %10d %13d", "text", 1, 1, 1);
	CHECK_STR("stats: texts received, replies, auto-replies", line, want);
	CHECK("stats: conversations",
	      strstr(out, "Conversations started:     2 (0 urgent, 2 answered by an adviser)\n") != NULL);
	CHECK("stats: open now", strstr(out, "Open conversations now:    1\n") != NULL);

	CHECK_INT("stats --json: done", RUN((t->json = 1, tools_stats(t, 0))), 0);
	t->json = 0;
	struct json_object *o = json_tokener_parse(out), *e = o ? json_get(o, "email") : NULL,
			   *x = o ? json_get(o, "text") : NULL;
	CHECK_INT("stats --json: email in", e ? json_int(e, "in") : -1, 1);
	CHECK_INT("stats --json: email replies", e ? json_int(e, "replies") : -1, 1);
	CHECK_INT("stats --json: text in", x ? json_int(x, "in") : -1, 1);
	CHECK_INT("stats --json: text replies", x ? json_int(x, "replies") : -1, 1);
	CHECK_INT("stats --json: conversations", o ? json_int(o, "conversations") : -1, 2);
	CHECK_INT("stats --json: answered", o ? json_int(o, "answered") : -1, 2);
	CHECK_INT("stats --json: open now", o ? json_int(o, "open_now") : -1, 1);
	json_object_put(o);
}

/* The text conversation was closed in test_state; 31 days on it is due. */
static void test_purge(struct tools *t)
{
	char got[512];
	t->r->now += 31 * DAY;
	CHECK_INT("purge dry run: done", RUN(tools_purge(t, 1, OPERATOR)), 0);
	CHECK_STR("purge dry run: counts", out,
	          "1 conversation closed more than 30 days ago would have their text removed\n");
	CHECK_INT("purge dry run: nothing removed",
	          countf("SELECT count(*) FROM message WHERE conversation_id = %lld AND purged_at IS NOT NULL", sconv), 0);

	CHECK_INT("purge: done", RUN(tools_purge(t, 0, OPERATOR)), 0);
	CHECK_STR("purge: says so", out, "1 conversation purged (text removed; counts kept for statistics)\n");
	queryf(got, sizeof got,
	       "SELECT kind || ':' || ifnull(body, '-') FROM message WHERE conversation_id = %lld ORDER BY id", sconv);
	CHECK_STR("purge: the text gone, the entries kept", got, "inbound:-,held:-,command:-,reply:-");
	queryf(got, sizeof got,
	       "SELECT actor || ':' || action FROM audit WHERE conversation_id = %lld AND action = 'purged'", sconv);
	CHECK_STR("purge: recorded", got, OPERATOR ":purged");
	CHECK_INT("purge: the email conversation (open) untouched",
	          countf("SELECT count(*) FROM message WHERE conversation_id = %lld AND body IS NULL", econv), 0);

	CHECK_INT("show purged: done", RUN(tools_show(t, sref)), 0);
	CHECK("show purged: the contact removed", strstr(out, "  contact:  (removed after the retention period)\n") != NULL);
	CHECK("show purged: the text removed",
	      strstr(out, "(text removed after the retention period)") && !strstr(out, "Help"));
	CHECK_INT("purge again: nothing due", RUN(tools_purge(t, 1, OPERATOR)), 0);
	CHECK_STR("purge again: none", out, "0 conversations closed more than 30 days ago would have their text removed\n");
}

int main(void)
{
	struct relay r;
	if (engine_start("[service]\nretention_days = 30\n", &r) < 0)
		return check_done();
	struct tools t = { .r = &r, .operator= OPERATOR };

	/* A young person by email, answered by an adviser; another by text, with controls in it. */
	CHECK_INT("young email: handled",
	          engine_email(&r, "imap:INBOX:1:1",
	                       "From: Sam <sam@example.net>\r\nTo: rusafe@example.org\r\nSubject: hello\r\n"
	                       "Message-ID: <s1@example.net>\r\n\r\nI need to talk to someone.\r\n"),
	          0);
	char fwd[300], msg[1024];
	query("SELECT message_id FROM outbox WHERE kind = 'forward' ORDER BY id LIMIT 1", fwd, sizeof fwd);
	fwd[strcspn(fwd, ">")] = '\0';
	r.now += 60;
	snprintf(msg, sizeof msg,
	         "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n"
	         "From: Adviser One <adviser1@example.org>\r\nTo: rusafe@example.org\r\nSubject: Re: hello\r\n"
	         "Message-ID: <a1@example.org>\r\nIn-Reply-To: <%s>\r\n\r\nWe are here for you, Sam.\r\n",
	         fwd[0] == '<' ? fwd + 1 : fwd);
	CHECK_INT("adviser reply: handled", engine_email(&r, "imap:INBOX:1:2", msg), 0);
	r.now += 60;
	CHECK_INT("young text: handled", engine_text(&r, "SM1", "07700 900123", HOSTILE), 0);
	query("SELECT ref FROM conversation WHERE channel = 'email'", eref, sizeof eref);
	query("SELECT ref FROM conversation WHERE channel = 'sms'", sref, sizeof sref);
	econv = countf("SELECT id FROM conversation WHERE channel = 'email'");
	sconv = countf("SELECT id FROM conversation WHERE channel = 'sms'");
	CHECK("two conversations", !strncmp(eref, "RUS-", 4) && !strncmp(sref, "RUS-", 4) && econv != sconv);
	CHECK_INT("the adviser's reply is in the transcript", countf("SELECT count(*) FROM message WHERE kind = 'reply'"),
	          1);

	test_list(&t);
	test_show(&t);
	test_export(&t);
	test_state(&t);
	test_send(&t);
	test_retry_status(&t);
	test_stats(&t);
	test_purge(&t);

	engine_stop(&r);
	return check_done();
}
