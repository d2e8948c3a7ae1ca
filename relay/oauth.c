/* oauth.c: OAuth2 client-credentials tokens (see oauth.h). */
#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "jsonread.h"
#include "util.h"

struct oauth {
	const struct config *c;
	enum oauth_use use;
	char *token_url;          /* owned */
	char *scope;              /* owned */
	char *token;              /* owned, wiped */
	long long expires_at;
};

static void wipe(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

int oauth_open(const struct config *c, enum oauth_use use, struct oauth **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!c->oauth_provider) {
		snprintf(err, errlen, "%s: [oauth] provider is not set", c->path);
		return -1;
	}
	struct oauth *o = xcalloc(1, sizeof *o);
	o->c = c;
	o->use = use;
	const char *p = c->oauth_provider;
	if (!strcmp(p, "microsoft")) {
		if (!c->oauth_tenant && !c->oauth_token_url) {
			snprintf(err, errlen, "%s: [oauth] tenant is required with provider = microsoft", c->path);
			goto fail;
		}
		o->token_url = c->oauth_token_url ? xstrdup(c->oauth_token_url)
		               : xasprintf("https://login.microsoftonline.com/%s/oauth2/v2.0/token", c->oauth_tenant);
		o->scope = xstrdup(use == OAUTH_GRAPH ? "https://graph.microsoft.com/.default"
		                   : c->oauth_scope ? c->oauth_scope : "https://outlook.office365.com/.default");
	} else if (!strcmp(p, "google")) {
		o->token_url = xstrdup(c->oauth_token_url ? c->oauth_token_url : "https://oauth2.googleapis.com/token");
		o->scope = xstrdup(c->oauth_scope ? c->oauth_scope : "https://mail.google.com/");
	} else {
		if (!c->oauth_token_url || !c->oauth_scope) {
			snprintf(err, errlen, "%s: [oauth] token_url and scope are required with provider = generic", c->path);
			goto fail;
		}
		o->token_url = xstrdup(c->oauth_token_url);
		o->scope = xstrdup(c->oauth_scope);
	}
	if (!c->oauth_client_id) {
		snprintf(err, errlen, "%s: [oauth] client_id is required", c->path);
		goto fail;
	}
	*out = o;
	return 0;
fail:
	oauth_close(o);
	return -1;
}

void oauth_forget(struct oauth *o)
{
	if (o) {
		wipe(&o->token);
		o->expires_at = 0;
	}
}

void oauth_close(struct oauth *o)
{
	if (!o)
		return;
	wipe(&o->token);
	free(o->token_url);
	free(o->scope);
	free(o);
}

static struct oauth *sources[2];

struct oauth *oauth_source(const struct config *c, enum oauth_use use, char *err, size_t errlen)
{
	struct oauth **slot = &sources[use == OAUTH_GRAPH];
	if (*slot && (*slot)->c != c)
		oauth_reset();
	if (!*slot && oauth_open(c, use, slot, err, errlen) < 0)
		return NULL;
	return *slot;
}

void oauth_reset(void)
{
	for (size_t i = 0; i < 2; i++) {
		oauth_close(sources[i]);
		sources[i] = NULL;
	}
}

char *oauth_xoauth2(const char *user, const char *token)
{
	return xasprintf("user=%s\001auth=Bearer %s\001\001", user, token);
}

int oauth_parse_token_response(long status, const char *body, size_t len, char **token, long *lifetime, char *err,
                               size_t errlen)
{
	char jerr[128];
	*token = NULL;
	*lifetime = 0;
	struct json_object *j = jsonread_parse(body, len, jerr, sizeof jerr);
	if (!j) {
		snprintf(err, errlen, "HTTP %ld and an answer that is not JSON (%s)", status, jerr);
		return -1;
	}
	int rc = -1;
	const char *tok = jsonread_str(j, "access_token", NULL);
	struct json_object *exp = NULL;
	if (status == 200 && tok && *tok && json_object_object_get_ex(j, "expires_in", &exp)) {
		long life = json_object_is_type(exp, json_type_int) ? (long)json_object_get_int64(exp)
		            : json_object_is_type(exp, json_type_string) ? strtol(json_object_get_string(exp), NULL, 10)
		                                                          : 0;
		if (life > 0) {
			*token = xstrdup(tok);
			*lifetime = life;
			rc = 0;
		} else {
			snprintf(err, errlen, "HTTP %ld: the token came without a usable expires_in", status);
		}
	} else {
		const char *e = jsonread_str(j, "error", NULL);
		const char *d = jsonread_str(j, "error_description", NULL);
		const char *code = d ? strstr(d, "AADSTS") : NULL;
		size_t clen = code ? 6 + strspn(code + 6, "0123456789") : 0;
		if (code)
			snprintf(err, errlen, "HTTP %ld: %s (%.*s)", status, e ? e : "error", (int)clen, code);
		else
			snprintf(err, errlen, "HTTP %ld: %s", status, e ? e : "no access_token in the answer");
	}
	json_object_put(j);
	return rc;
}

/* Splits "https://host[:port]/path" into the base and the path (from the
 * first '/' after the host). Owned results. */
static int split_url(const char *url, char **base, char **path)
{
	const char *s = strstr(url, "://");
	if (!s)
		return -1;
	const char *slash = strchr(s + 3, '/');
	if (!slash) {
		*base = xstrdup(url);
		*path = xstrdup("/");
	} else {
		*base = xstrndup(url, (size_t)(slash - url));
		*path = xstrdup(slash);
	}
	return 0;
}

static void form_add(struct buf *b, const char *key, const char *value)
{
	char *v = http_urlencode(value);
	buf_printf(b, "%s%s=%s", b->len ? "&" : "", key, v);
	explicit_bzero(v, strlen(v));
	free(v);
}

const char *oauth_token(struct oauth *o, long long now, int min_valid, long long *expires_at, char *err,
                        size_t errlen)
{
	if (o->token && o->expires_at - now >= min_valid) {
		if (expires_at)
			*expires_at = o->expires_at;
		return o->token;
	}
	wipe(&o->token);
	const struct config *c = o->c;
	if (!c->oauth_client_secret) {
		snprintf(err, errlen, "oauth: provider %s needs [oauth] client_secret_file here", c->oauth_provider);
		return NULL;
	}
	char *base, *path;
	if (split_url(o->token_url, &base, &path) < 0) {
		snprintf(err, errlen, "oauth: [oauth] token_url is not a URL");
		return NULL;
	}
	struct http_settings hs = { .base_url = base, .ca_file = c->oauth_ca_file, .timeout = c->oauth_timeout,
	                            .max_body = 256 * 1024 };
	struct http *h = NULL;
	char herr[256];
	if (http_open(&hs, &h, herr, sizeof herr) < 0) {
		snprintf(err, errlen, "oauth: %s", herr);
		free(base);
		free(path);
		return NULL;
	}
	struct buf form;
	buf_init(&form);
	form_add(&form, "client_id", c->oauth_client_id);
	form_add(&form, "scope", o->scope);
	form_add(&form, "client_secret", c->oauth_client_secret);
	form_add(&form, "grant_type", "client_credentials");
	struct http_response resp = { 0 };
	const char *result = NULL;
	if (http_request(h, "POST", path, "application/x-www-form-urlencoded", form.data, form.len, &resp, herr,
	                 sizeof herr) < 0) {
		snprintf(err, errlen, "oauth: token endpoint %s: %s", base, herr);
	} else {
		char *tok;
		long life;
		char perr[256];
		if (oauth_parse_token_response(resp.status, resp.body, resp.len, &tok, &life, perr, sizeof perr) < 0) {
			snprintf(err, errlen, "oauth: token endpoint %s: %s", base, perr);
		} else {
			o->token = tok;
			o->expires_at = now + life;
			if (expires_at)
				*expires_at = o->expires_at;
			result = o->token;
		}
	}
	explicit_bzero(form.data, form.len);
	buf_free(&form);
	if (resp.body)
		explicit_bzero(resp.body, resp.len);
	http_response_free(&resp);
	http_close(h);
	free(base);
	free(path);
	return result;
}
