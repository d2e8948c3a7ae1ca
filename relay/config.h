/* config.h: the relay's configuration (INI), table-driven and validated.
 *
 * Every key is a row in one table (config.c) with its type, bounds and
 * default; an unknown key, a bad value or a missing required key is an error
 * naming the file, the line and the key. Secrets are read from files that
 * must not be readable by group or others. */
#ifndef RELAY_CONFIG_H
#define RELAY_CONFIG_H

#include <stddef.h>

#include "hours.h"
#include "net.h"

struct triage;

struct address_list {
	char **items; /* owned, each a bare lowercase address */
	size_t n;
};

struct config {
	char *path; /* owned: the file this was read from */

	/* [service] */
	char *name;             /* "R-U-Safe?" */
	char *reference_prefix; /* "RUS" */
	char *database;
	char *templates;   /* directory */
	char *timezone;    /* "Europe/London" */
	int poll_interval; /* seconds */
	char *secret_file;
	int retention_days;
	char *log_level;
	char *loop_header;  /* our loop stamp header name */
	char *show_contact; /* "masked" | "full" | "none": what advisers see of a contact */
	char *user;         /* started as root, the relay drops to this user */
	char *log;          /* "stderr" | "syslog" */

	/* [imap] */
	char *imap_host;
	int imap_port; /* 0: default for the security */
	enum net_security imap_security;
	char *imap_username;
	char *imap_auth;          /* "password" | "oauth2" (a token from [oauth], SASL XOAUTH2) */
	char *imap_password_file; /* required with auth = password */
	char *imap_mailbox;
	char *imap_ca_file; /* NULL: system store */
	int imap_idle;
	int imap_timeout;
	int imap_max_message_kb;
	int imap_max_parts;         /* MIME parts read per message */
	int imap_max_depth;         /* MIME nesting read */
	int imap_check_interval_ms; /* while idling, also ask every so often; 0: never */
	int imap_batch_size;        /* messages fetched, stored and marked \Seen together */

	/* [smtp] */
	char *smtp_transport; /* "smtp" | "graph" (Microsoft Graph sendMail, a token from [oauth]) */
	char *smtp_host;      /* required with transport = smtp */
	int smtp_port;
	enum net_security smtp_security;
	char *smtp_username; /* NULL: no AUTH; with auth = oauth2 (required) the mailbox the token is for */
	char *smtp_auth;     /* "password" | "oauth2" */
	char *smtp_password_file;
	char *smtp_from;    /* as written: "R-U-Safe? <rusafe@example.org>" */
	char *from_name;    /* derived: "R-U-Safe?" (may be NULL) */
	char *from_address; /* derived: "rusafe@example.org" */
	char *smtp_ca_file;
	int smtp_timeout;

	/* [oauth]: used when config_uses_oauth() (oauth.h) */
	char *oauth_provider;  /* "microsoft" | "google" | "generic"; NULL: no [oauth] */
	char *oauth_tenant;    /* microsoft */
	char *oauth_client_id; /* microsoft, generic; google: the service account's client_email */
	char *oauth_client_secret_file;
	char *oauth_secret_expires;   /* YYYY-MM-DD as the provider stated it, or NULL */
	char *oauth_certificate_file; /* microsoft: certificate credentials (with private_key_file) */
	char *oauth_private_key_file; /* microsoft certificate's key; google: the service account's key */
	char *oauth_token_url;        /* NULL: the provider's */
	char *oauth_scope;            /* NULL: the provider's for IMAP and SMTP */
	char *oauth_graph_url;        /* "https://graph.microsoft.com" */
	char *oauth_ca_file;          /* NULL: system store */
	int oauth_timeout;

	/* [advisers] */
	struct address_list forward_to;
	struct address_list allowed;
	struct address_list urgent_to;
	char *adviser_authentication; /* "dmarc" | "exchange" | "none": what proves a reply is an adviser's (authres.h) */
	char *authserv_id;            /* the receiving server's name in Authentication-Results; NULL: unset */
	int hold_cleaned_percent;     /* hold a reply when cleaning removed more than this share without evidence */

	/* [sms] */
	char *sms_provider; /* "twilio" | "esendex" | "android" | "none" */
	char *sms_url;
	char *sms_account;
	char *sms_username; /* defaults to sms_account */
	char *sms_password_file;
	char *sms_number; /* the service's own number, E.164 */
	int sms_poll_interval;
	int sms_max_parts;
	char *sms_ca_file;
	int sms_timeout;
	int sms_send_timeout; /* a send or a look-up; at most sms_timeout (sms.h) */

	/* [hours] */
	struct office_hours hours; /* the week from [hours], bank holidays loaded from bank_holidays */
	char *bank_holidays;       /* path, NULL: none */

	/* [policy] */
	int autoreply_window_hours;
	int sender_limit;     /* auto-replies per sender per ten minutes */
	int autoreply_budget; /* auto-replies per hour in all; 0: no limit (policy.h) */
	int urgent_repeat_minutes;
	char *urgent_phrases;  /* path of the urgent list */
	struct triage *urgent; /* owned: the compiled list */
	int close_after_days;  /* inactivity before a conversation closes */
	int reopen_days;       /* a closed conversation reopens when written to within this */

	/* [outbox] */
	int retry_min;         /* seconds before the first retry */
	int retry_max;         /* the longest wait between retries */
	int batch_size;        /* messages per SMTP session */
	int alert_after_hours; /* a message still undelivered this long alerts the advisers */

	/* [health] (durations in seconds, written as 10m, 90s or 2h) */
	struct address_list health_alert_to; /* who hears when a part fails, by email */
	char *health_alert_sms;              /* an on-call number, E.164, for alerts by text; NULL: none */
	int health_alert_after;              /* a part failing this long alerts */
	int health_remind_every;             /* reminders while it still fails */
	int health_backlog_after;            /* a young person's message waiting this long to be forwarded alerts */
	char *health_metrics_file;           /* Prometheus text file written each cycle; NULL: none */

	/* Loaded by config_load_secrets(), owned. */
	char *imap_password;
	char *smtp_password;
	char *sms_password;
	char *oauth_client_secret; /* from oauth_client_secret_file, when set and OAuth2 is used */
	char *oauth_private_key;   /* private_key_file's text (PEM, or Google's JSON key file), wiped */
	size_t oauth_private_key_len;
	char *oauth_certificate; /* certificate_file's text (PEM; not a secret) */
	size_t oauth_certificate_len;
	unsigned char *secret; /* HMAC key for reply tags */
	size_t secret_len;
};

/* Reads and validates path. On success returns 0 and *out (free with
 * config_free). On failure returns -1 and err holds "FILE:LINE: [section] key: what is wrong". */
int config_load(const char *path, struct config **out, char *err, size_t errlen);

/* Reads password files and the secret file, refusing any readable by group or
 * others. 0 or -1 with err naming the file. */
int config_load_secrets(struct config *c, char *err, size_t errlen);

void config_free(struct config *c);

/* Reads a secret file: refuses group/other permissions, strips one trailing
 * newline. *out owned by the caller. */
int secret_file_read(const char *path, char **out, size_t *outlen, char *err, size_t errlen);

/* True when [imap] or [smtp] auth = oauth2, or [smtp] transport = graph. */
int config_uses_oauth(const struct config *c);

/* True when SMS is configured (provider other than none). */
int config_has_sms(const struct config *c);

/* True when host is a loopback name or address (localhost, 127/8, ::1). */
int host_is_loopback(const char *host);

/* Splits "Name <addr>" or "addr" into owned parts; 0 or -1 when addr is not valid. */
int address_split(const char *text, char **name, char **addr);

/* Bare address syntax check used for configuration (ASCII local@domain). */
int address_plausible(const char *addr);

/* True when addr (any case) is in the list. */
int address_list_has(const struct address_list *l, const char *addr);

#endif
