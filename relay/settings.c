/* settings.c: the clients' settings made from the configuration (see settings.h). */
#include "settings.h"

#include <string.h>

#include "log.h"

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
