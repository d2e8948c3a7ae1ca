/* config.c: table-driven INI configuration with line-numbered errors. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "triage.h"
#include "util.h"

enum opt_type {
	OPT_STRING,    /* free text */
	OPT_PATH,      /* a file or directory; relative to the configuration file */
	OPT_INT,       /* bounded integer */
	OPT_BOOL,      /* yes | no */
	OPT_SECURITY,  /* tls | starttls | none */
	OPT_ADDRESSES, /* comma-separated email addresses */
	OPT_FROM,      /* "Name <address>" */
	OPT_PREFIX,    /* reference prefix: 2-6 capital letters */
	OPT_HEADER,    /* a header field name */
	OPT_PHONE,     /* an E.164 number: + and 8 to 15 digits */
	OPT_DAY,       /* office hours of one weekday: "09:00-17:30" or "closed" */
	OPT_CHOICE,    /* one word of the row's choices */
	OPT_DURATION,  /* seconds, written 10m, 90s, 2h (a bare number is minutes) */
};

/* Whether a key must be written. A text or path written empty ("key =")
 * is left unset, which only an OPTIONAL key may be (bank_holidays = for
 * none): a REQUIRED key must be written with a value, and a NOT_EMPTY one
 * may be left out (it has a default) but not emptied. */
enum { OPTIONAL, REQUIRED, NOT_EMPTY };

struct option {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t offset;
	const char *def;  /* NULL: no default */
	long min, max;    /* OPT_INT bounds (OPT_DURATION: seconds) */
	int required;     /* OPTIONAL, REQUIRED or NOT_EMPTY */
	const char *help; /* what a person should write, for errors */
};

#ifndef RELAY_SHAREDIR
#define RELAY_SHAREDIR "/usr/local/share/relay" /* set by the Makefile from PREFIX */
#endif

#define F(field) offsetof(struct config, field)

/* Every key the relay understands. config/relay.conf.example documents each. */
static const struct option options[] = {
	{ "service", "name", OPT_STRING, F(name), "R-U-Safe?", 0, 0, NOT_EMPTY, "the service's name" },
	{ "service", "reference_prefix", OPT_PREFIX, F(reference_prefix), "RUS", 0, 0, 0, "2 to 6 capital letters" },
	{ "service", "database", OPT_PATH, F(database), "/var/lib/relay/relay.db", 0, 0, NOT_EMPTY, "a file path" },
	{ "service", "templates", OPT_PATH, F(templates), RELAY_SHAREDIR "/templates", 0, 0, NOT_EMPTY, "a directory" },
	{ "service", "timezone", OPT_STRING, F(timezone), "Europe/London", 0, 0, NOT_EMPTY, "a zone such as Europe/London" },
	{ "service", "poll_interval", OPT_INT, F(poll_interval), "60", 5, 86400, 0, "seconds, 5 to 86400" },
	{ "service", "secret_file", OPT_PATH, F(secret_file), NULL, 0, 0, REQUIRED, "a file holding the reply-signing key" },
	{ "service", "retention_days", OPT_INT, F(retention_days), "365", 1, 36500, 0, "days, 1 to 36500" },
	{ "service", "log_level", OPT_CHOICE, F(log_level), "info", 0, 0, 0, "error, warn, info or debug" },
	{ "service", "loop_header", OPT_HEADER, F(loop_header), "X-Relay-Loop", 0, 0, 0, "a header name" },
	{ "service", "show_contact", OPT_CHOICE, F(show_contact), "masked", 0, 0, 0, "masked, full or none" },
	{ "service", "user", OPT_STRING, F(user), "relay", 0, 0, NOT_EMPTY, "a user name (the daemon drops root to it)" },
	{ "service", "log", OPT_CHOICE, F(log), "stderr", 0, 0, 0, "stderr or syslog" },

	{ "imap", "host", OPT_STRING, F(imap_host), NULL, 0, 0, REQUIRED, "the IMAP server's host name" },
	{ "imap", "port", OPT_INT, F(imap_port), "0", 0, 65535, 0, "1 to 65535" },
	{ "imap", "security", OPT_SECURITY, F(imap_security), "tls", 0, 0, 0, "tls, starttls or none" },
	{ "imap", "username", OPT_STRING, F(imap_username), NULL, 0, 0, REQUIRED, "the mailbox login" },
	{ "imap", "auth", OPT_CHOICE, F(imap_auth), "password", 0, 0, 0, "password or oauth2" },
	{ "imap", "password_file", OPT_PATH, F(imap_password_file), NULL, 0, 0, 0, "a file holding the password" },
	{ "imap", "mailbox", OPT_STRING, F(imap_mailbox), "INBOX", 0, 0, NOT_EMPTY, "a mailbox name" },
	{ "imap", "ca_file", OPT_PATH, F(imap_ca_file), NULL, 0, 0, 0, "a PEM file of trusted CAs" },
	{ "imap", "idle", OPT_BOOL, F(imap_idle), "yes", 0, 0, 0, "yes or no" },
	{ "imap", "timeout", OPT_INT, F(imap_timeout), "30", 1, 600, 0, "seconds, 1 to 600" },
	{ "imap", "max_message_kb", OPT_INT, F(imap_max_message_kb), "25600", 64, 1048576, 0, "KiB, 64 to 1048576" },
	/* The bounds keep libetpan's recursion far from the stack's end (mime.h). */
	{ "imap", "max_parts", OPT_INT, F(imap_max_parts), "100", 1, 1000, 0, "MIME parts, 1 to 1000" },
	{ "imap", "max_depth", OPT_INT, F(imap_max_depth), "20", 1, 100, 0, "MIME nesting levels, 1 to 100" },
	{ "imap", "batch_size", OPT_INT, F(imap_batch_size), "200", 1, 1000, 0, "messages, 1 to 1000" },
	{ "imap", "check_interval_ms", OPT_INT, F(imap_check_interval_ms), "0", 0, 60000, 0,
	  "milliseconds, 0 (never) or 50 to 60000" },

	{ "smtp", "transport", OPT_CHOICE, F(smtp_transport), "smtp", 0, 0, 0, "smtp or graph" },
	{ "smtp", "host", OPT_STRING, F(smtp_host), NULL, 0, 0, 0, "the SMTP server's host name" },
	{ "smtp", "port", OPT_INT, F(smtp_port), "0", 0, 65535, 0, "1 to 65535" },
	{ "smtp", "security", OPT_SECURITY, F(smtp_security), "starttls", 0, 0, 0, "starttls or none" },
	{ "smtp", "username", OPT_STRING, F(smtp_username), NULL, 0, 0, 0, "the SMTP login" },
	{ "smtp", "auth", OPT_CHOICE, F(smtp_auth), "password", 0, 0, 0, "password or oauth2" },
	{ "smtp", "password_file", OPT_PATH, F(smtp_password_file), NULL, 0, 0, 0, "a file holding the password" },
	{ "smtp", "from", OPT_FROM, F(smtp_from), NULL, 0, 0, REQUIRED, "Name <address@domain>" },
	{ "smtp", "ca_file", OPT_PATH, F(smtp_ca_file), NULL, 0, 0, 0, "a PEM file of trusted CAs" },
	{ "smtp", "timeout", OPT_INT, F(smtp_timeout), "60", 1, 600, 0, "seconds, 1 to 600" },

	/* [oauth]: how access tokens are had, for [imap] and [smtp] auth = oauth2 and transport = graph (oauth.h). */
	{ "oauth", "provider", OPT_CHOICE, F(oauth_provider), NULL, 0, 0, 0, "microsoft, google or generic" },
	{ "oauth", "tenant", OPT_STRING, F(oauth_tenant), NULL, 0, 0, 0,
	  "the Microsoft Entra tenant: its ID or a domain such as example.org" },
	{ "oauth", "client_id", OPT_STRING, F(oauth_client_id), NULL, 0, 0, 0, "the application (client) ID" },
	{ "oauth", "client_secret_file", OPT_PATH, F(oauth_client_secret_file), NULL, 0, 0, 0,
	  "a file holding the client secret" },
	{ "oauth", "secret_expires", OPT_STRING, F(oauth_secret_expires), NULL, 0, 0, 0,
	  "the client secret's stated expiry, YYYY-MM-DD" },
	{ "oauth", "certificate_file", OPT_PATH, F(oauth_certificate_file), NULL, 0, 0, 0,
	  "the PEM certificate registered with the application" },
	{ "oauth", "private_key_file", OPT_PATH, F(oauth_private_key_file), NULL, 0, 0, 0,
	  "a PEM file holding the private key" },
	{ "oauth", "token_url", OPT_STRING, F(oauth_token_url), NULL, 0, 0, 0,
	  "the token endpoint (https); default: the provider's" },
	{ "oauth", "scope", OPT_STRING, F(oauth_scope), NULL, 0, 0, 0,
	  "the scope asked for; default: the provider's for mail" },
	{ "oauth", "graph_url", OPT_STRING, F(oauth_graph_url), "https://graph.microsoft.com", 0, 0, NOT_EMPTY,
	  "Microsoft Graph's base URL (https)" },
	{ "oauth", "ca_file", OPT_PATH, F(oauth_ca_file), NULL, 0, 0, 0, "a PEM file of trusted CAs" },
	{ "oauth", "timeout", OPT_INT, F(oauth_timeout), "30", 1, 600, 0, "seconds, 1 to 600" },

	{ "advisers", "forward_to", OPT_ADDRESSES, F(forward_to), NULL, 0, 0, REQUIRED,
	  "one or more addresses, comma-separated" },
	{ "advisers", "allowed", OPT_ADDRESSES, F(allowed), NULL, 0, 0, REQUIRED, "one or more addresses, comma-separated" },
	{ "advisers", "urgent_to", OPT_ADDRESSES, F(urgent_to), "", 0, 0, 0, "addresses, comma-separated" },
	/* Secure by default: a reply is trusted on what the receiving server
	 * proved (authres.h), never on its From header alone. */
	{ "advisers", "authentication", OPT_CHOICE, F(adviser_authentication), "dmarc", 0, 0, 0, "dmarc, exchange or none" },
	{ "advisers", "authserv_id", OPT_STRING, F(authserv_id), NULL, 0, 0, 0,
	  "the name the receiving mail server writes first in its Authentication-Results header, e.g. mx.example.org" },
	{ "advisers", "hold_cleaned_percent", OPT_INT, F(hold_cleaned_percent), "50", 1, 100, 0, "percent, 1 to 100" },

	{ "sms", "provider", OPT_CHOICE, F(sms_provider), "none", 0, 0, 0, "twilio, esendex, android or none" },
	{ "sms", "url", OPT_STRING, F(sms_url), NULL, 0, 0, 0, "the gateway's base URL (https)" },
	{ "sms", "account", OPT_STRING, F(sms_account), NULL, 0, 0, 0, "Twilio AccountSid or Esendex account reference" },
	{ "sms", "username", OPT_STRING, F(sms_username), NULL, 0, 0, 0, "the gateway login (default: account)" },
	{ "sms", "password_file", OPT_PATH, F(sms_password_file), NULL, 0, 0, 0, "a file holding the token or password" },
	{ "sms", "number", OPT_PHONE, F(sms_number), NULL, 0, 0, 0, "the service's number in E.164, e.g. +447700900000" },
	{ "sms", "poll_interval", OPT_INT, F(sms_poll_interval), "30", 5, 86400, 0, "seconds, 5 to 86400" },
	{ "sms", "max_parts", OPT_INT, F(sms_max_parts), "4", 1, 10, 0, "1 to 10" },
	{ "sms", "ca_file", OPT_PATH, F(sms_ca_file), NULL, 0, 0, 0, "a PEM file of trusted CAs" },
	{ "sms", "timeout", OPT_INT, F(sms_timeout), "30", 1, 600, 0, "seconds, 1 to 600" },
	{ "sms", "send_timeout", OPT_INT, F(sms_send_timeout), "10", 1, 600, 0, "seconds, 1 to 600" },

	{ "hours", "monday", OPT_DAY, F(hours.day[1]), "09:00-17:30", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "tuesday", OPT_DAY, F(hours.day[2]), "09:00-17:30", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "wednesday", OPT_DAY, F(hours.day[3]), "09:00-17:30", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "thursday", OPT_DAY, F(hours.day[4]), "09:00-17:30", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "friday", OPT_DAY, F(hours.day[5]), "09:00-17:00", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "saturday", OPT_DAY, F(hours.day[6]), "closed", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "sunday", OPT_DAY, F(hours.day[0]), "closed", 0, 0, 0, "HH:MM-HH:MM or closed" },
	{ "hours", "bank_holidays", OPT_PATH, F(bank_holidays), RELAY_SHAREDIR "/bank-holidays-england-and-wales.txt", 0, 0,
	  0, "a file of YYYY-MM-DD dates (empty: none)" },

	{ "policy", "autoreply_window_hours", OPT_INT, F(autoreply_window_hours), "24", 1, 8760, 0, "hours, 1 to 8760" },
	{ "policy", "sender_limit", OPT_INT, F(sender_limit), "3", 1, 100, 0,
	  "auto-replies per sender per ten minutes, 1 to 100" },
	{ "policy", "autoreply_budget", OPT_INT, F(autoreply_budget), "200", 0, 100000, 0,
	  "auto-replies per hour in all, 0 to 100000 (0: no limit)" },
	{ "policy", "urgent_repeat_minutes", OPT_INT, F(urgent_repeat_minutes), "60", 1, 10080, 0, "minutes, 1 to 10080" },
	{ "policy", "urgent_phrases", OPT_PATH, F(urgent_phrases), RELAY_SHAREDIR "/urgent.txt", 0, 0, 0,
	  "a file of urgent phrases, one a line" },
	{ "policy", "close_after_days", OPT_INT, F(close_after_days), "30", 1, 3650, 0, "days, 1 to 3650" },
	{ "policy", "reopen_days", OPT_INT, F(reopen_days), "30", 0, 3650, 0, "days, 0 to 3650" },

	{ "outbox", "retry_min", OPT_INT, F(retry_min), "60", 1, 86400, 0, "seconds, 1 to 86400" },
	{ "outbox", "retry_max", OPT_INT, F(retry_max), "3600", 1, 604800, 0, "seconds, 1 to 604800" },
	{ "outbox", "batch_size", OPT_INT, F(batch_size), "500", 1, 1000, 0, "1 to 1000" },
	{ "outbox", "alert_after_hours", OPT_INT, F(alert_after_hours), "4", 1, 720, 0, "hours, 1 to 720" },

	{ "health", "alert_to", OPT_ADDRESSES, F(health_alert_to), "", 0, 0, 0, "addresses, comma-separated" },
	{ "health", "alert_sms", OPT_PHONE, F(health_alert_sms), NULL, 0, 0, 0,
	  "an on-call number in E.164, e.g. +447700900123" },
	{ "health", "alert_after", OPT_DURATION, F(health_alert_after), "10m", 1, 604800, 0,
	  "a duration such as 10m, 90s or 2h (1s to 7 days)" },
	{ "health", "remind_every", OPT_DURATION, F(health_remind_every), "60m", 1, 604800, 0,
	  "a duration such as 60m, 90s or 2h (1s to 7 days)" },
	{ "health", "backlog_after", OPT_DURATION, F(health_backlog_after), "15m", 1, 604800, 0,
	  "a duration such as 15m, 90s or 2h (1s to 7 days)" },
	{ "health", "metrics_file", OPT_PATH, F(health_metrics_file), NULL, 0, 0, 0,
	  "a file for node_exporter's textfile collector, e.g. /var/lib/prometheus/node-exporter/relay.prom" },
};

#define NOPTIONS (sizeof options / sizeof options[0])

/* The words each OPT_CHOICE key allows. */
static const struct {
	const char *section, *key;
	const char *words[5]; /* NULL-terminated */
} choices[] = {
	{ "service", "show_contact", { "masked", "full", "none", NULL, NULL } },
	{ "service", "log", { "stderr", "syslog", NULL, NULL, NULL } },
	{ "service", "log_level", { "error", "warn", "info", "debug", NULL } },
	{ "sms", "provider", { "twilio", "esendex", "android", "none", NULL } },
	{ "imap", "auth", { "password", "oauth2", NULL, NULL, NULL } },
	{ "smtp", "auth", { "password", "oauth2", NULL, NULL, NULL } },
	{ "smtp", "transport", { "smtp", "graph", NULL, NULL, NULL } },
	{ "oauth", "provider", { "microsoft", "google", "generic", NULL, NULL } },
	{ "advisers", "authentication", { "dmarc", "exchange", "none", NULL, NULL } },
};

struct parse_state {
	struct config *c;
	FILE *f;
	const char *path;
	char *dir;              /* the configuration file's directory */
	int line;               /* line the reader last returned */
	int long_line;          /* the reader met a line longer than inih's buffer */
	int set_line[NOPTIONS]; /* line each option was set on, 0 = unset */
	char err[512];          /* the first error */
	int err_line;
};

int config_uses_oauth(const struct config *c)
{
	return !strcmp(c->imap_auth, "oauth2") || !strcmp(c->smtp_auth, "oauth2") || !strcmp(c->smtp_transport, "graph");
}

int config_has_sms(const struct config *c)
{
	return c->sms_provider && strcmp(c->sms_provider, "none") != 0;
}

int host_is_loopback(const char *host)
{
	if (!host)
		return 0;
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	return strncmp(host, "127.", 4) == 0 && strspn(host + 4, "0123456789.") == strlen(host + 4);
}

int address_plausible(const char *a)
{
	const char *at = strrchr(a, '@');
	if (!at || at == a || !at[1] || strlen(a) > 254 || (size_t)(at - a) > 64)
		return 0;
	for (const char *p = a; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
			return 0;
	}
	if (strchr(a, '@') != at || !strchr(at + 1, '.') || at[1] == '.' || a[strlen(a) - 1] == '.')
		return 0;
	return 1;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int address_split(const char *text, char **name, char **addr)
{
	const char *lt = strchr(text, '<');
	char *n = NULL, *a;

	if (lt) {
		const char *gt = strchr(lt, '>');
		if (!gt || str_is_blank(gt + 1) == 0)
			return -1;
		a = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		n = xstrndup(text, (size_t)(lt - text));
		str_trim(n);
		size_t nl = strlen(n);
		if (nl >= 2 && n[0] == '"' && n[nl - 1] == '"') {
			memmove(n, n + 1, nl - 2);
			n[nl - 2] = '\0';
		}
		if (!*n) {
			free(n);
			n = NULL;
		}
	} else {
		a = xstrdup(text);
	}
	str_trim(a);
	lower(a);
	if (!address_plausible(a)) {
		free(a);
		free(n);
		return -1;
	}
	*name = n;
	*addr = a;
	return 0;
}

int address_list_has(const struct address_list *l, const char *addr)
{
	for (size_t i = 0; addr && i < l->n; i++)
		if (strcasecmp(l->items[i], addr) == 0)
			return 1;
	return 0;
}

static void address_list_clear(struct address_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static char *resolve_path(const char *dir, const char *value)
{
	if (value[0] == '/' || !dir)
		return xstrdup(value);
	return xasprintf("%s/%s", dir, value);
}

/* Sets one option from text; returns 0 or -1 with why in err. */
static int option_set(struct parse_state *st, const struct option *o, const char *value, char *err, size_t errlen)
{
	void *field = (char *)st->c + o->offset;

	if (!value[0] && o->required != OPTIONAL && (o->type == OPT_STRING || o->type == OPT_PATH)) {
		snprintf(err, errlen, "empty");
		return -1;
	}
	switch (o->type) {
	case OPT_DAY: {
		char why[200];
		if (hours_parse_day(value, field, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		return 0;
	}
	case OPT_PHONE: {
		size_t n = strlen(value);
		if (!n && o->required == OPTIONAL) { /* "alert_sms =": none */
			free(*(char **)field);
			*(char **)field = NULL;
			return 0;
		}
		if (n < 9 || n > 16 || value[0] != '+' || strspn(value + 1, "0123456789") != n - 1) {
			snprintf(err, errlen, "'%s' is not an E.164 number (+ then 8 to 15 digits)", value);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	}
	case OPT_CHOICE:
		for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
			if (strcmp(choices[i].section, o->section) || strcmp(choices[i].key, o->key))
				continue;
			struct buf words;
			for (size_t w = 0; choices[i].words[w]; w++)
				if (!strcmp(value, choices[i].words[w])) {
					free(*(char **)field);
					*(char **)field = xstrdup(value);
					return 0;
				}
			buf_init(&words);
			for (size_t w = 0; choices[i].words[w]; w++)
				buf_printf(&words, "%s%s", w ? ", " : "", choices[i].words[w]);
			snprintf(err, errlen, "'%s' is not one of %s", value, buf_str(&words));
			buf_free(&words);
			return -1;
		}
		snprintf(err, errlen, "no words are known for this key");
		return -1;
	case OPT_STRING:
	case OPT_HEADER:
	case OPT_PREFIX: {
		if (o->type == OPT_PREFIX) {
			size_t n = strlen(value);
			if (n < 2 || n > 6 || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n) {
				snprintf(err, errlen, "'%s' is not 2 to 6 capital letters", value);
				return -1;
			}
		}
		if (o->type == OPT_HEADER) {
			size_t n = strlen(value);
			if (n == 0 || n > 64 ||
			    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != n) {
				snprintf(err, errlen, "'%s' is not a header name (letters, digits, '-')", value);
				return -1;
			}
			if (strncasecmp(value, "X-", 2) != 0) {
				snprintf(err, errlen,
				         "'%s' is not an X- header (a standard header cannot be the loop stamp)", value);
				return -1;
			}
		}
		char **s = field;
		free(*s);
		*s = value[0] ? xstrdup(value) : NULL;
		return 0;
	}
	case OPT_PATH: {
		char **s = field;
		free(*s);
		*s = value[0] ? resolve_path(st->dir, value) : NULL;
		return 0;
	}
	case OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < o->min || v > o->max) {
			snprintf(err, errlen, "'%s' is not a whole number from %ld to %ld", value, o->min, o->max);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	}
	case OPT_DURATION: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		long unit = !*end || !strcmp(end, "m") ? 60 : !strcmp(end, "s") ? 1 : !strcmp(end, "h") ? 3600 : 0;
		if (errno || end == value || !unit || v < 0 || v > o->max / unit || v * unit < o->min) {
			snprintf(err, errlen, "'%s' is not a duration from %lds to %ld days (e.g. 10m)", value, o->min,
			         o->max / 86400);
			return -1;
		}
		*(int *)field = (int)(v * unit);
		return 0;
	}
	case OPT_BOOL:
		if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
			*(int *)field = 1;
		else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
			*(int *)field = 0;
		else {
			snprintf(err, errlen, "'%s' is not yes or no", value);
			return -1;
		}
		return 0;
	case OPT_SECURITY:
		if (strcmp(value, "tls") == 0)
			*(enum net_security *)field = NET_SECURITY_TLS;
		else if (strcmp(value, "starttls") == 0)
			*(enum net_security *)field = NET_SECURITY_STARTTLS;
		else if (strcmp(value, "none") == 0)
			*(enum net_security *)field = NET_SECURITY_NONE;
		else {
			snprintf(err, errlen, "'%s' is not one of tls, starttls, none", value);
			return -1;
		}
		return 0;
	case OPT_ADDRESSES: {
		struct address_list *l = field;
		char *copy = xstrdup(value), *save = NULL;
		address_list_clear(l);
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *name = NULL, *addr = NULL;
			str_trim(tok);
			if (!*tok)
				continue;
			if (address_split(tok, &name, &addr) < 0) {
				snprintf(err, errlen, "'%s' is not an email address", tok);
				free(copy);
				address_list_clear(l);
				return -1;
			}
			free(name);
			l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
			l->items[l->n++] = addr;
		}
		free(copy);
		return 0;
	}
	case OPT_FROM: {
		char *name = NULL, *addr = NULL;
		if (address_split(value, &name, &addr) < 0) {
			snprintf(err, errlen, "'%s' is not of the form Name <address@domain>", value);
			return -1;
		}
		free(st->c->smtp_from);
		free(st->c->from_name);
		free(st->c->from_address);
		st->c->smtp_from = xstrdup(value);
		st->c->from_name = name;
		st->c->from_address = addr;
		return 0;
	}
	}
	return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	char why[300];

	if (st->err_line)
		return 1; /* report the first error only; keep inih quiet */
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];
		if (strcmp(o->section, section) || strcmp(o->key, name))
			continue;
		if (st->set_line[i]) {
			snprintf(st->err, sizeof st->err, "%s:%d: [%s] %s: set twice (first on line %d)", st->path, st->line,
			         section, name, st->set_line[i]);
			st->err_line = st->line;
			return 0;
		}
		if (option_set(st, o, value, why, sizeof why) < 0) {
			snprintf(st->err, sizeof st->err, "%s:%d: [%s] %s: %s; expected %s", st->path, st->line, section,
			         name, why, o->help);
			st->err_line = st->line;
			return 0;
		}
		st->set_line[i] = st->line;
		return 1;
	}
	snprintf(st->err, sizeof st->err, "%s:%d: %s%s%s%s: unknown key", st->path, st->line, section[0] ? "[" : "", section,
	         section[0] ? "] " : "", name);
	st->err_line = st->line;
	return 0;
}

/* inih reads through this so that every handler call knows its line. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	if (!fgets(str, num, st->f))
		return NULL;
	st->line++;
	size_t n = strlen(str);
	if (n && str[n - 1] != '\n' && !feof(st->f)) {
		int ch;
		while ((ch = fgetc(st->f)) != EOF && ch != '\n')
			;
		if (!st->long_line)
			st->long_line = st->line;
	}
	return str;
}

static int option_index(const char *section, const char *key)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (!strcmp(options[i].section, section) && !strcmp(options[i].key, key))
			return (int)i;
	return -1;
}

static int validate(struct parse_state *st, char *err, size_t errlen)
{
	struct config *c = st->c;

	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].required == REQUIRED && !st->set_line[i]) {
			snprintf(err, errlen, "%s: [%s] %s is required (%s)", st->path, options[i].section, options[i].key,
			         options[i].help);
			return -1;
		}
	}
#define AT(sec, key) st->path, st->set_line[option_index(sec, key)]
	if (c->imap_security == NET_SECURITY_NONE && !host_is_loopback(c->imap_host)) {
		snprintf(
			err, errlen,
			"%s:%d: [imap] security: none is refused for %s, which is not a loopback address; use tls or starttls",
			AT("imap", "security"), c->imap_host);
		return -1;
	}
	if (c->smtp_security == NET_SECURITY_NONE && !host_is_loopback(c->smtp_host)) {
		snprintf(err, errlen,
		         "%s:%d: [smtp] security: none is refused for %s, which is not a loopback address; use starttls",
		         AT("smtp", "security"), c->smtp_host);
		return -1;
	}
	if (c->smtp_security == NET_SECURITY_TLS) {
		snprintf(
			err, errlen,
			"%s:%d: [smtp] security: tls (implicit TLS, port 465) is not supported by libESMTP; use starttls on port 587",
			AT("smtp", "security"));
		return -1;
	}
	if (!strcmp(c->imap_auth, "password") && !c->imap_password_file) {
		snprintf(err, errlen, "%s: [imap] password_file is required (a file holding the password), or auth = oauth2",
		         st->path);
		return -1;
	}
	if (config_uses_oauth(c) && !c->oauth_provider) {
		snprintf(err, errlen, "%s:%d: [%s] %s needs an [oauth] section with provider = microsoft, google or generic",
		         st->path,
		         !strcmp(c->imap_auth, "oauth2")   ? st->set_line[option_index("imap", "auth")]
		         : !strcmp(c->smtp_auth, "oauth2") ? st->set_line[option_index("smtp", "auth")]
		                                           : st->set_line[option_index("smtp", "transport")],
		         !strcmp(c->imap_auth, "oauth2") ? "imap" : "smtp",
		         !strcmp(c->imap_auth, "oauth2")   ? "auth = oauth2"
		         : !strcmp(c->smtp_auth, "oauth2") ? "auth = oauth2"
		                                           : "transport = graph");
		return -1;
	}
	if (!strcmp(c->smtp_transport, "smtp") && !c->smtp_host) {
		snprintf(err, errlen, "%s: [smtp] host is required (the SMTP server's host name), or transport = graph",
		         st->path);
		return -1;
	}
	if (!strcmp(c->smtp_auth, "oauth2") && !c->smtp_username) {
		snprintf(err, errlen, "%s:%d: [smtp] auth = oauth2 needs [smtp] username (the mailbox the token is for)",
		         AT("smtp", "auth"));
		return -1;
	}
	if (c->smtp_username && !strcmp(c->smtp_auth, "password") && !c->smtp_password_file &&
	    strcmp(c->smtp_transport, "graph")) {
		snprintf(err, errlen, "%s:%d: [smtp] username is set, so [smtp] password_file is required",
		         AT("smtp", "username"));
		return -1;
	}
	/* Even on loopback: a password is never sent in clear. */
	if (c->smtp_username && c->smtp_security == NET_SECURITY_NONE) {
		snprintf(err, errlen,
		         "%s:%d: [smtp] security: none with a username would send the password in clear; "
		         "use starttls, or remove username and password_file",
		         AT("smtp", "security"));
		return -1;
	}
	{
		int open_days = 0;
		for (int d = 0; d < 7; d++)
			open_days += c->hours.day[d].open;
		if (!open_days) {
			snprintf(err, errlen,
			         "%s: [hours]: every day is closed; the auto-reply could not say when the service "
			         "opens",
			         st->path);
			return -1;
		}
	}
	if (c->imap_check_interval_ms > 0 && c->imap_check_interval_ms < 50) {
		snprintf(err, errlen,
		         "%s:%d: [imap] check_interval_ms: %d would keep the server busy; use 0 (never) or "
		         "50 to 60000",
		         AT("imap", "check_interval_ms"), c->imap_check_interval_ms);
		return -1;
	}
	if (c->retry_max < c->retry_min) {
		snprintf(err, errlen, "%s:%d: [outbox] retry_max: must not be less than retry_min (%d)",
		         AT("outbox", "retry_max"), c->retry_min);
		return -1;
	}
	if (c->forward_to.n == 0 || c->allowed.n == 0) {
		snprintf(err, errlen, "%s:%d: [advisers] %s: needs at least one address", st->path,
		         st->set_line[option_index("advisers", c->forward_to.n ? "allowed" : "forward_to")],
		         c->forward_to.n ? "allowed" : "forward_to");
		return -1;
	}
	if (address_list_has(&c->forward_to, c->from_address) || address_list_has(&c->allowed, c->from_address)) {
		snprintf(err, errlen, "%s: [advisers]: the service's own address %s cannot be an adviser (it would loop)",
		         st->path, c->from_address);
		return -1;
	}
	if (!strcmp(c->adviser_authentication, "dmarc")) {
		if (!c->authserv_id) {
			int line = st->set_line[option_index("advisers", "authentication")];
			char at[32] = "";
			if (line)
				snprintf(at, sizeof at, ":%d", line);
			snprintf(
				err, errlen,
				"%s%s: [advisers] authentication is dmarc%s, so [advisers] authserv_id is required: "
				"the name your receiving mail server writes first in its Authentication-Results header (e.g. "
				"mx.example.org); or authentication = none, which trusts a reply on its From header alone",
				st->path, at, line ? "" : " (the default)");
			return -1;
		}
		size_t n = strlen(c->authserv_id);
		if (n > 200 || strcspn(c->authserv_id, " \t;=()\"\\") != n) {
			snprintf(err, errlen,
			         "%s:%d: [advisers] authserv_id: '%s' is not one word (no spaces, ';', '=', "
			         "brackets or quotes)",
			         AT("advisers", "authserv_id"), c->authserv_id);
			return -1;
		}
	}
	if (c->health_alert_sms && !config_has_sms(c)) {
		snprintf(err, errlen, "%s:%d: [health] alert_sms: an alert by text needs an SMS gateway ([sms] provider)",
		         AT("health", "alert_sms"));
		return -1;
	}
	if (address_list_has(&c->health_alert_to, c->from_address)) {
		snprintf(err, errlen,
		         "%s:%d: [health] alert_to: the service's own address %s cannot take alerts (it "
		         "would loop)",
		         AT("health", "alert_to"), c->from_address);
		return -1;
	}
	if (config_has_sms(c)) {
		static const char *need[] = { "url", "number", "password_file" };
		/* Written empty ("url =") is as good as left out. */
		for (size_t i = 0; i < 3; i++)
			if (!*(char **)((char *)c + options[option_index("sms", need[i])].offset)) {
				snprintf(err, errlen, "%s:%d: [sms] provider is %s, so [sms] %s is required",
				         AT("sms", "provider"), c->sms_provider, need[i]);
				return -1;
			}
		if (strcmp(c->sms_provider, "android") && !c->sms_account) {
			snprintf(err, errlen, "%s:%d: [sms] provider is %s, so [sms] account is required",
			         AT("sms", "provider"), c->sms_provider);
			return -1;
		}
		int https = strncasecmp(c->sms_url, "https://", 8) == 0;
		int http = strncasecmp(c->sms_url, "http://", 7) == 0;
		char host[256] = "";
		if (https || http) {
			const char *h = c->sms_url + (https ? 8 : 7);
			size_t hl = strcspn(h, ":/");
			if (*h == '[')
				hl = strcspn(h, "]") + 1;
			snprintf(host, sizeof host, "%.*s", (int)(hl < sizeof host ? hl : sizeof host - 1), h);
		}
		if (!https && !(http && host_is_loopback(host))) {
			snprintf(err, errlen,
			         "%s:%d: [sms] url: '%s' must start with https:// (plain http only for a loopback address)",
			         AT("sms", "url"), c->sms_url);
			return -1;
		}
		if (!c->sms_username && c->sms_account)
			c->sms_username = xstrdup(c->sms_account);
	}
#undef AT
	if (!c->imap_port)
		c->imap_port = c->imap_security == NET_SECURITY_TLS ? 993 : 143;
	if (!c->smtp_port)
		c->smtp_port = c->smtp_security == NET_SECURITY_STARTTLS ? 587 : 25;
	return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parse_state st;
	struct config *c = xcalloc(1, sizeof *c);
	int rc;

	memset(&st, 0, sizeof st);
	st.c = c;
	st.path = path;
	c->path = xstrdup(path);
	{
		const char *slash = strrchr(path, '/');
		st.dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
		if (slash == path) {
			free(st.dir);
			st.dir = xstrdup("/");
		}
	}
	for (size_t i = 0; i < NOPTIONS; i++) {
		char why[300];
		if (options[i].def && option_set(&st, &options[i], options[i].def, why, sizeof why) < 0) {
			snprintf(err, errlen, "internal: default of [%s] %s: %s", options[i].section, options[i].key, why);
			goto fail;
		}
	}
	st.f = fopen(path, "r");
	if (!st.f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	rc = ini_parse_stream(reader, &st, handler, &st);
	fclose(st.f);
	st.f = NULL;
	if (st.long_line && (!st.err_line || st.long_line < st.err_line)) {
		snprintf(err, errlen, "%s:%d: line too long", path, st.long_line);
		goto fail;
	}
	if (st.err_line) {
		snprintf(err, errlen, "%s", st.err);
		goto fail;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: not a valid line (expected [section] or key = value)", path,
		         rc > 0 ? rc : st.line);
		goto fail;
	}
	if (validate(&st, err, errlen) < 0)
		goto fail;
	/* The data files are read now, so that a mistake in one is a start-up
	 * error naming its file and line, never a surprise at 3 a.m. */
	if (c->bank_holidays && hours_load_holidays(&c->hours, c->bank_holidays, err, errlen) < 0)
		goto fail;
	if (c->urgent_phrases && triage_load(c->urgent_phrases, &c->urgent, err, errlen) < 0)
		goto fail;
	free(st.dir);
	*out = c;
	return 0;
fail:
	free(st.dir);
	config_free(c);
	return -1;
}

/* Is path inside systemd's credentials directory for this service? */
static int in_credentials(const char *path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	size_t n = dir ? strlen(dir) : 0;
	if (n && !strncmp(path, dir, n) && path[n] == '/' && !strstr(path + n, "/../"))
		return 1;
	return !strncmp(path, "/run/credentials/", 17) && !strstr(path, "/../");
}

int secret_file_read(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	struct stat sb;
	char *data;
	size_t len;

	if (stat(path, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* systemd's credentials (LoadCredential=) are 0400 on a read-only mount,
	 * and newer systemd grants the service user with an ACL, which stat shows
	 * as group read: there, only other or write bits are a fault. */
	mode_t forbidden = S_IRWXG | S_IRWXO;
	if (in_credentials(path))
		forbidden = S_IWUSR | S_IWGRP | S_IXGRP | S_IRWXO;
	if (sb.st_mode & forbidden) {
		snprintf(err, errlen, "%s: readable by group or others (mode %03o); run: chmod 600 %s", path,
		         (unsigned)(sb.st_mode & 0777), path);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (file_read(path, 64 * 1024, &data, &len, err, errlen) < 0)
		return -1;
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "%s: empty", path);
		free(data);
		return -1;
	}
	*out = data;
	if (outlen)
		*outlen = len;
	return 0;
}

int config_load_secrets(struct config *c, char *err, size_t errlen)
{
	char *s;
	size_t n;

	if (!strcmp(c->imap_auth, "password") &&
	    secret_file_read(c->imap_password_file, &c->imap_password, NULL, err, errlen) < 0)
		return -1;
	if (config_uses_oauth(c) && c->oauth_client_secret_file &&
	    secret_file_read(c->oauth_client_secret_file, &c->oauth_client_secret, NULL, err, errlen) < 0)
		return -1;
	if (config_uses_oauth(c) && c->oauth_private_key_file &&
	    secret_file_read(c->oauth_private_key_file, &c->oauth_private_key, &c->oauth_private_key_len, err, errlen) < 0)
		return -1;
	if (config_uses_oauth(c) && c->oauth_certificate_file &&
	    file_read(c->oauth_certificate_file, 256 * 1024, &c->oauth_certificate, &c->oauth_certificate_len, err, errlen) <
	            0)
		return -1;
	if (!strcmp(c->smtp_auth, "password") && c->smtp_password_file &&
	    secret_file_read(c->smtp_password_file, &c->smtp_password, NULL, err, errlen) < 0)
		return -1;
	if (config_has_sms(c) && secret_file_read(c->sms_password_file, &c->sms_password, NULL, err, errlen) < 0)
		return -1;
	if (secret_file_read(c->secret_file, &s, &n, err, errlen) < 0)
		return -1;
	if (n < 16) {
		snprintf(err, errlen,
		         "%s: too short for a signing key (%zu bytes; use at least 32 random bytes, e.g. "
		         "head -c 32 /dev/urandom | base64 > FILE)",
		         c->secret_file, n);
		free(s);
		return -1;
	}
	c->secret = (unsigned char *)s;
	c->secret_len = n;
	return 0;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NOPTIONS; i++) {
		void *field = (char *)c + options[i].offset;
		switch (options[i].type) {
		case OPT_STRING:
		case OPT_PATH:
		case OPT_PREFIX:
		case OPT_HEADER:
		case OPT_PHONE:
		case OPT_CHOICE:
			free(*(char **)field);
			break;
		case OPT_ADDRESSES:
			address_list_clear(field);
			break;
		default:
			break;
		}
	}
	hours_free(&c->hours);
	triage_free(c->urgent);
	free(c->smtp_from);
	free(c->from_name);
	free(c->from_address);
	free(c->path);
	wipe_free(c->imap_password);
	wipe_free(c->smtp_password);
	wipe_free(c->sms_password);
	wipe_free(c->oauth_client_secret);
	wipe_free(c->oauth_private_key);
	free(c->oauth_certificate);
	if (c->secret) {
		explicit_bzero(c->secret, c->secret_len);
		free(c->secret);
	}
	free(c);
}
