/* Unit tests for config.c: every mistake names the file, the line and the key. */
#include "check.h"
#include "config.h"
#include "util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/relay-test-config-XXXXXX";

static const char *base = "[hours]\n"
			  "bank_holidays =\n"
			  "[policy]\n"
			  "urgent_phrases =\n"
			  "[service]\n"
			  "secret_file = secret\n"
			  "database = relay.db\n"
			  "[imap]\n"
			  "host = imap.example.org\n"
			  "username = rusafe@example.org\n"
			  "password_file = pw\n"
			  "[smtp]\n"
			  "host = smtp.example.org\n"
			  "from = R-U-Safe? <rusafe@example.org>\n"
			  "[advisers]\n"
			  "forward_to = a1@example.org, A2@Example.org\n"
			  "allowed = a1@example.org\n";

static char *write_conf(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads base + extra; returns 0/-1 and the error. The receiving server's
 * name (required by the default [advisers] authentication) is added after
 * extra, so that extra's line numbers stay those of the base, unless extra
 * speaks of authentication itself. */
static int try(const char *extra, char *err, size_t errlen, struct config **out)
{
	int own = strstr(extra, "authserv_id") || strstr(extra, "authentication");
	char *text = xasprintf("%s%s%s", base, extra, own ? "" : "\n[advisers]\nauthserv_id = mx.example.org\n");
	char *path = write_conf("relay.conf", text);
	struct config *c = NULL;
	int rc = config_load(path, &c, err, errlen);
	if (out)
		*out = c;
	else
		config_free(c);
	free(text);
	free(path);
	return rc;
}

static void expect_error(const char *name, const char *extra, const char *want)
{
	char err[1024] = "";
	int rc = try(extra, err, sizeof err, NULL);
	CHECK(name, rc == -1 && strstr(err, want) != NULL);
	if (rc != -1 || !strstr(err, want))
		printf("  error was: %s\n  wanted:    %s\n", err, want);
}

int main(void)
{
	char err[1024];
	struct config *c = NULL;

	if (!mkdtemp(dir))
		return 1;
	CHECK("base loads", try("", err, sizeof err, &c) == 0);
	if (c) {
		CHECK_STR("default name", c->name, "R-U-Safe?");
		CHECK_STR("default timezone", c->timezone, "Europe/London");
		CHECK_INT("default imap port for tls", c->imap_port, 993);
		CHECK_INT("default smtp port for starttls", c->smtp_port, 587);
		CHECK_STR("from address", c->from_address, "rusafe@example.org");
		CHECK_STR("from name", c->from_name, "R-U-Safe?");
		CHECK_INT("forward_to count", c->forward_to.n, 2);
		CHECK_STR("addresses lower-cased", c->forward_to.items[1], "a2@example.org");
		CHECK("relative path resolved", strstr(c->secret_file, dir) == c->secret_file);
		CHECK_INT("idle default", c->imap_idle, 1);
		CHECK_INT("max_parts default", c->imap_max_parts, 100);
		CHECK_INT("max_depth default", c->imap_max_depth, 20);
		CHECK_INT("max_message_kb default", c->imap_max_message_kb, 25600);
		CHECK_INT("imap batch_size default", c->imap_batch_size, 200);
		CHECK_INT("outbox batch_size default", c->batch_size, 500);
		CHECK_INT("check_interval_ms default: IDLE alone", c->imap_check_interval_ms, 0);
		config_free(c);
	}
	/* The MIME limits: each bound is accepted, one beyond it is refused. */
	{
		static const struct {
			const char *extra;
			int parts, depth;
		} ok[] = {
			{ "[imap]\nmax_parts = 1\nmax_depth = 1\n", 1, 1 },
			{ "[imap]\nmax_parts = 1000\nmax_depth = 100\n", 1000, 100 },
			{ "[imap]\nmax_parts = 250\n", 250, 20 },
		};
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
			c = NULL;
			CHECK("mime limits load", try(ok[i].extra, err, sizeof err, &c) == 0);
			if (c) {
				CHECK_INT("max_parts set", c->imap_max_parts, ok[i].parts);
				CHECK_INT("max_depth set", c->imap_max_depth, ok[i].depth);
				config_free(c);
			}
		}
	}
	{
		c = NULL;
		CHECK("imap batch_size and check_interval_ms set",
		      try("[imap]\nbatch_size = 1\ncheck_interval_ms = 50\n", err, sizeof err, &c) == 0);
		if (c) {
			CHECK_INT("batch_size 1", c->imap_batch_size, 1);
			CHECK_INT("check_interval_ms 50", c->imap_check_interval_ms, 50);
			config_free(c);
		}
	}
	expect_error("batch_size 0 refused", "[imap]\nbatch_size = 0\n",
	             "relay.conf:19: [imap] batch_size: '0' is not a whole number from 1 to 1000");
	expect_error("batch_size over 1000 refused", "[imap]\nbatch_size = 1001\n", "messages, 1 to 1000");
	expect_error("check_interval_ms too short", "[imap]\ncheck_interval_ms = 10\n",
	             "relay.conf:19: [imap] check_interval_ms: 10 would keep the server busy; use 0 (never) or 50 to 60000");
	expect_error("check_interval_ms too long", "[imap]\ncheck_interval_ms = 60001\n", "from 0 to 60000");
	expect_error("max_parts 0 refused", "[imap]\nmax_parts = 0\n", "relay.conf:19: [imap] max_parts:");
	expect_error("max_parts over 1000 refused", "[imap]\nmax_parts = 1001\n", "MIME parts, 1 to 1000");
	expect_error("max_depth 0 refused", "[imap]\nmax_depth = 0\n", "MIME nesting levels, 1 to 100");
	expect_error("max_depth over 100 refused", "[imap]\nmax_depth = 101\n", "relay.conf:19: [imap] max_depth:");
	expect_error("max_depth not a number", "[imap]\nmax_depth = deep\n", "'deep' is not a whole number");
	expect_error("unknown key names line and key", "poll_intervall = 5\n",
	             "relay.conf:18: [advisers] poll_intervall: unknown key");
	expect_error("bad integer", "[service]\npoll_interval = soon\n",
	             "relay.conf:19: [service] poll_interval: 'soon' is not a whole number");
	expect_error("integer out of range", "[service]\npoll_interval = 1\n", "from 5 to 86400");
	expect_error("bad security", "[imap]\nsecurity = ssl\n",
	             "relay.conf:19: [imap] security: 'ssl' is not one of tls, starttls, none");
	expect_error("set twice", "[imap]\nhost = other\n", "relay.conf:19: [imap] host: set twice (first on line 9)");
	expect_error("none refused off loopback", "[imap]\nsecurity = none\n",
	             "[imap] security: none is refused for imap.example.org");
	expect_error("smtp implicit tls refused", "[smtp]\nsecurity = tls\n", "use starttls on port 587");
	expect_error("bad address", "[advisers]\nurgent_to = not-an-address\n", "'not-an-address' is not an email address");
	expect_error("bad prefix", "[service]\nreference_prefix = rus\n", "2 to 6 capital letters");
	expect_error("bad bool", "[imap]\nidle = maybe\n", "'maybe' is not yes or no");
	expect_error("username needs password_file", "[smtp]\nusername = x@example.org\n",
	             "[smtp] password_file is required");
	expect_error("not a key=value line", "this is not ini\n", "relay.conf:18: not a valid line");
	/* Adviser replies: authenticated by the receiving server unless told otherwise. */
	expect_error("authserv_id needed by the default", "# authserv_id left out\n",
	             "relay.conf: [advisers] authentication is dmarc (the default), so [advisers] authserv_id is required");
	expect_error("authserv_id needed by dmarc", "[advisers]\nauthentication = dmarc\n",
	             "relay.conf:19: [advisers] authentication is dmarc, so [advisers] authserv_id is required");
	expect_error("authentication is dmarc, exchange or none", "[advisers]\nauthentication = spf\nauthserv_id = mx\n",
	             "relay.conf:19: [advisers] authentication: 'spf' is not one of dmarc, exchange, none");
	expect_error("authserv_id is one word", "[advisers]\nauthserv_id = mx.example.org; dmarc=pass\n",
	             "relay.conf:19: [advisers] authserv_id: 'mx.example.org; dmarc=pass' is not one word");
	CHECK("authentication = exchange needs no authserv_id",
	      try("[advisers]\nauthentication = exchange\n", err, sizeof err, &c) == 0 && c &&
	              !strcmp(c->adviser_authentication, "exchange") && !c->authserv_id);
	config_free(c);
	CHECK("authentication = none needs no authserv_id",
	      try("[advisers]\nauthentication = none\n", err, sizeof err, &c) == 0 && c &&
	              !strcmp(c->adviser_authentication, "none") && !c->authserv_id);
	config_free(c);
	CHECK("authserv_id read", try("", err, sizeof err, &c) == 0 && c && !strcmp(c->adviser_authentication, "dmarc") &&
	                                  !strcmp(c->authserv_id, "mx.example.org"));
	config_free(c);
	c = NULL;
	expect_error("loop header must be X-", "[service]\nloop_header = Subject\n", "not an X- header");
	expect_error("own address cannot be an adviser",
	             "[advisers]\nurgent_to = x@example.org\n[smtp]\nusername = rusafe@example.org\n",
	             "password_file is required");

	{
		char *text = xasprintf("%s", base);
		char *p = strstr(text, "from = R-U-Safe? <rusafe@example.org>");
		memcpy(p, "from = R-U-Safe? rusafe.example.org  ", 37);
		char *path = write_conf("badfrom.conf", text);
		CHECK("bad from named", config_load(path, &c, err, sizeof err) == -1 &&
		                                strstr(err, "badfrom.conf:14: [smtp] from:") &&
		                                strstr(err, "Name <address@domain>"));
		free(path);
		free(text);
	}
	/* "key =" leaves a key unset: refused, on its line, where a value is needed. */
	expect_error("a key with a default cannot be emptied", "[service]\ntimezone =\n",
	             "relay.conf:19: [service] timezone: empty; expected a zone such as Europe/London");
	expect_error("nor the user the daemon runs as", "[service]\nuser =\n", "relay.conf:19: [service] user: empty;");
	expect_error("an [sms] url left empty is missing",
	             "[sms]\nprovider = twilio\nurl =\naccount = AC0123456789abcdef0123456789abcdef\n"
	             "password_file = tok\nnumber = +447700900000\n",
	             "relay.conf:19: [sms] provider is twilio, so [sms] url is required");
	{
		char *text = xasprintf("%s", base);
		char *p = strstr(text, "host = imap.example.org\n");
		memmove(p + 6, p + 23, strlen(p + 23) + 1); /* "host =\n" */
		char *path = write_conf("emptyhost.conf", text);
		CHECK("a required key left empty is named on its line",
		      config_load(path, &c, err, sizeof err) == -1 &&
		              strstr(err, "emptyhost.conf:9: [imap] host: empty; expected the IMAP server's host name") !=
		                      NULL);
		free(path);
		free(text);
	}
	{
		char *path = write_conf("missing.conf", "[service]\nname = x\n");
		CHECK("missing required key named", config_load(path, &c, err, sizeof err) == -1 &&
		                                            strstr(err, "[service] secret_file is required") != NULL);
		free(path);
	}
	{
		char *path = xasprintf("%s/nope.conf", dir);
		CHECK("missing file named",
		      config_load(path, &c, err, sizeof err) == -1 && strstr(err, "nope.conf: cannot open") != NULL);
		free(path);
	}
	{
		struct buf b;
		buf_init(&b);
		buf_adds(&b, base);
		buf_adds(&b, "[service]\nname = ");
		for (int i = 0; i < 300; i++)
			buf_addc(&b, 'x');
		buf_adds(&b, "\n");
		char *path = write_conf("long.conf", b.data);
		CHECK("over-long line refused",
		      config_load(path, &c, err, sizeof err) == -1 && strstr(err, "long.conf:19: line too long"));
		free(path);
		buf_free(&b);
	}

	/* Secret files: group- or other-readable ones are refused by name. */
	{
		char *p = write_conf("secret", "0123456789abcdef0123456789abcdef\n");
		char *s = NULL;
		size_t n = 0;
		chmod(p, 0644);
		CHECK("world-readable secret refused", secret_file_read(p, &s, &n, err, sizeof err) == -1 &&
		                                               strstr(err, "readable by group or others") && strstr(err, p));
		chmod(p, 0600);
		CHECK("private secret read", secret_file_read(p, &s, &n, err, sizeof err) == 0 && n == 32);
		free(s);
		s = NULL;
		/* systemd credentials: 0400, or group-readable through an ACL (stat shows 0440) */
		chmod(p, 0440);
		CHECK("group-readable secret outside the credentials directory refused",
		      secret_file_read(p, &s, &n, err, sizeof err) == -1);
		char *cdir = xstrdup(p);
		*strrchr(cdir, '/') = '\0';
		setenv("CREDENTIALS_DIRECTORY", cdir, 1);
		CHECK("a 0440 credential from systemd accepted",
		      secret_file_read(p, &s, &n, err, sizeof err) == 0 && n == 32);
		free(s);
		s = NULL;
		chmod(p, 0444);
		CHECK("a credential readable by others still refused", secret_file_read(p, &s, &n, err, sizeof err) == -1);
		chmod(p, 0640);
		CHECK("a writable credential refused", secret_file_read(p, &s, &n, err, sizeof err) == -1);
		char *sneaky = xasprintf("%s/../%s/secret", cdir, strrchr(cdir, '/') + 1);
		chmod(p, 0440);
		CHECK("a path that leaves the credentials cdirectory is not one",
		      secret_file_read(sneaky, &s, &n, err, sizeof err) == -1);
		unsetenv("CREDENTIALS_DIRECTORY");
		chmod(p, 0600);
		free(sneaky);
		free(cdir);
		free(p);
	}
	CHECK("loopback localhost",
	      host_is_loopback("localhost") && host_is_loopback("127.0.0.2") && host_is_loopback("::1"));
	CHECK("not loopback",
	      !host_is_loopback("127.example.org") && !host_is_loopback("10.0.0.1") && !host_is_loopback(NULL));

	char *cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", dir);
	free(cmd);
	return check_done();
}
