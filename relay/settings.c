/* settings.c: the clients' settings made from the configuration (see settings.h). */
#include "settings.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "login.h"
#include "oauth.h"

int settings_imap(const struct config *c, struct imap_settings *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->host = c->imap_host;
	s->port = c->imap_port;
	s->security = c->imap_security;
	s->username = c->imap_username;
	s->mailbox = c->imap_mailbox;
	s->ca_file = c->imap_ca_file;
	s->timeout = c->imap_timeout;
	if (strcmp(c->imap_auth, "oauth2") != 0) {
		s->password = c->imap_password;
		return 0;
	}
	char why[768];
	s->token = login_token(c, &s->renew_at, why, sizeof why);
	if (!s->token) {
		snprintf(err, errlen, "imap %s: no access token to log in with: %s", c->imap_host, why);
		return -1;
	}
	s->refused_advice = login_refused_advice(c, 0);
	return 0;
}

void settings_smtp(const struct config *c, struct smtp_settings *s)
{
	/* Why no token could be had, for the session to fail with. */
	static char no_token[1024];

	memset(s, 0, sizeof *s);
	s->host = c->smtp_host;
	s->port = c->smtp_port;
	s->security = c->smtp_security;
	s->username = c->smtp_username;
	s->password = c->smtp_password;
	s->ca_file = c->smtp_ca_file;
	s->timeout = c->smtp_timeout;
	if (c->smtp_username && !strcmp(c->smtp_auth, "oauth2")) {
		char why[768];
		long long renew_at;
		s->password = NULL;
		s->token = login_token(c, &renew_at, why, sizeof why);
		if (!s->token) {
			snprintf(no_token, sizeof no_token, "SMTP host %s: no access token to log in with: %s", c->smtp_host,
			         why);
			s->no_token = no_token;
		}
		s->refused_advice = login_refused_advice(c, 1);
	}
}

int settings_graph(const struct config *c, struct graph_settings *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (c->oauth_provider && !strcmp(c->oauth_provider, "google")) {
		snprintf(err, errlen,
		         "[smtp] transport = graph needs [oauth] provider = microsoft (or generic): Graph is "
		         "Microsoft's");
		return -1;
	}
	s->base_url = c->oauth_graph_url;
	s->mailbox = c->smtp_username ? c->smtp_username : c->from_address;
	s->ca_file = c->oauth_ca_file;
	s->timeout = c->oauth_timeout;
	s->oauth = oauth_source(c, OAUTH_GRAPH, err, errlen);
	return s->oauth ? 0 : -1;
}

void settings_sms(const struct config *c, struct sms_settings *s)
{
	memset(s, 0, sizeof *s);
	s->provider = c->sms_provider;
	s->url = c->sms_url;
	s->account = c->sms_account;
	s->username = c->sms_username;
	s->password = c->sms_password;
	s->number = c->sms_number;
	s->ca_file = c->sms_ca_file;
	s->timeout = c->sms_timeout;
	s->send_timeout = c->sms_send_timeout;
}

struct sms_gateway *settings_sms_open(const struct config *c)
{
	struct sms_settings s;
	struct sms_gateway *g = NULL;
	char err[512];
	if (!config_has_sms(c))
		return NULL;
	settings_sms(c, &s);
	if (sms_open(&s, &g, err, sizeof err) < 0) {
		log_error("sms: %s", err);
		return NULL;
	}
	return g;
}
