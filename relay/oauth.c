/* oauth.c: OAuth2 client-credentials tokens (see oauth.h). */
#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "jsonread.h"
#include "jwt.h"
#include "log.h"
#include "util.h"

enum credential {
	CRED_SECRET,         /* client_secret (microsoft, generic) */
	CRED_CERTIFICATE,    /* a client assertion signed with the certificate's key (microsoft) */
	CRED_SERVICE_ACCOUNT /* a JWT bearer grant signed with the service account's key (google) */
};

struct oauth {
	const struct config *c;
	enum oauth_use use;
	enum credential cred;
	char *token_url;              /* owned */
	char *scope;                  /* owned */
	char *client_id;              /* owned: [oauth] client_id, or the Google key file's client_email */
	char *mailbox;                /* owned, google: the sub asked for */
	struct oauth_google_key gkey; /* google with a JSON key file; private_key wiped */
	struct jwt_cert cert;         /* microsoft with a certificate */
	char *token;                  /* owned, wiped */
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

/* The key's PEM text: the JSON key file's private_key, or the file as it is. */
static const char *key_pem(const struct oauth *o, size_t *len)
{
	if (o->gkey.private_key) {
		*len = strlen(o->gkey.private_key);
		return o->gkey.private_key;
	}
	*len = o->c->oauth_private_key_len;
	return o->c->oauth_private_key;
}

static int key_is_json(const struct config *c)
{
	const char *k = c->oauth_private_key;
	if (!k)
		return 0;
	k += strspn(k, " \t\r\n");
	return *k == '{';
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
	if (c->oauth_secret_expires) {
		long long t;
		if (oauth_parse_date(c->oauth_secret_expires, &t) < 0) {
			snprintf(err, errlen, "%s: [oauth] secret_expires must be a date, YYYY-MM-DD", c->path);
			goto fail;
		}
	}
	if (!strcmp(p, "microsoft")) {
		if (!c->oauth_tenant && !c->oauth_token_url) {
			snprintf(err, errlen, "%s: [oauth] tenant is required with provider = microsoft", c->path);
			goto fail;
		}
		o->token_url = c->oauth_token_url ? xstrdup(c->oauth_token_url)
		                                  : xasprintf("https://login.microsoftonline.com/%s/oauth2/v2.0/token",
		                                              c->oauth_tenant);
		o->scope = xstrdup(use == OAUTH_GRAPH ? "https://graph.microsoft.com/.default"
		                   : c->oauth_scope   ? c->oauth_scope
		                                      : "https://outlook.office365.com/.default");
		if (c->oauth_certificate_file || c->oauth_private_key_file) {
			if (!c->oauth_certificate_file || !c->oauth_private_key_file) {
				snprintf(err, errlen,
				         "%s: [oauth] certificate_file and private_key_file go together (the "
				         "certificate registered with the app and its private key)",
				         c->path);
				goto fail;
			}
			if (!c->oauth_certificate || !c->oauth_private_key) {
				snprintf(err, errlen, "%s: [oauth] the certificate and its key are not loaded", c->path);
				goto fail;
			}
			char cerr[200];
			if (jwt_cert_read(c->oauth_certificate, c->oauth_certificate_len, &o->cert, cerr, sizeof cerr) < 0) {
				snprintf(err, errlen, "%s: %s", c->oauth_certificate_file, cerr);
				goto fail;
			}
			o->cred = CRED_CERTIFICATE;
		} else if (c->oauth_client_secret) {
			o->cred = CRED_SECRET;
		} else {
			snprintf(err, errlen,
			         "%s: provider = microsoft needs [oauth] certificate_file and private_key_file "
			         "(preferred) or client_secret_file",
			         c->path);
			goto fail;
		}
	} else if (!strcmp(p, "google")) {
		if (use == OAUTH_GRAPH) {
			snprintf(err, errlen, "%s: [smtp] transport = graph is Microsoft's: it needs provider = microsoft",
			         c->path);
			goto fail;
		}
		if (!c->oauth_private_key_file || !c->oauth_private_key) {
			snprintf(err, errlen,
			         "%s: provider = google needs [oauth] private_key_file (the service account's "
			         "JSON key file, or its private key as PEM with client_id = its client_email)",
			         c->path);
			goto fail;
		}
		if (key_is_json(c)) {
			char kerr[200];
			if (oauth_google_key_parse(c->oauth_private_key, c->oauth_private_key_len, &o->gkey, kerr,
			                           sizeof kerr) < 0) {
				snprintf(err, errlen, "%s: %s", c->oauth_private_key_file, kerr);
				goto fail;
			}
		}
		o->token_url = xstrdup(c->oauth_token_url  ? c->oauth_token_url
		                       : o->gkey.token_uri ? o->gkey.token_uri
		                                           : "https://oauth2.googleapis.com/token");
		o->scope = xstrdup(c->oauth_scope ? c->oauth_scope : "https://mail.google.com/");
		const char *mb = !strcmp(c->imap_auth, "oauth2") ? c->imap_username : c->smtp_username;
		if (!mb) {
			snprintf(err, errlen, "%s: provider = google needs the mailbox: [imap] username or [smtp] username",
			         c->path);
			goto fail;
		}
		o->mailbox = xstrdup(mb);
		o->cred = CRED_SERVICE_ACCOUNT;
	} else {
		if (!c->oauth_token_url || !c->oauth_scope) {
			snprintf(err, errlen, "%s: [oauth] token_url and scope are required with provider = generic",
			         c->path);
			goto fail;
		}
		if (!c->oauth_client_secret) {
			snprintf(err, errlen, "%s: provider = generic needs [oauth] client_secret_file", c->path);
			goto fail;
		}
		o->token_url = xstrdup(c->oauth_token_url);
		o->scope = xstrdup(c->oauth_scope);
		o->cred = CRED_SECRET;
	}
	if (o->gkey.client_email) {
		/* The key file says whose key it is; client_id may repeat it (or the numeric ID). */
		if (c->oauth_client_id && strcmp(c->oauth_client_id, o->gkey.client_email) &&
		    (!o->gkey.client_id || strcmp(c->oauth_client_id, o->gkey.client_id))) {
			snprintf(err, errlen,
			         "%s: [oauth] client_id is not the client_email of the key in %s (%s): leave "
			         "client_id out",
			         c->path, c->oauth_private_key_file, o->gkey.client_email);
			goto fail;
		}
		o->client_id = xstrdup(o->gkey.client_email);
	} else if (c->oauth_client_id) {
		o->client_id = xstrdup(c->oauth_client_id);
	}
	if (!o->client_id) {
		snprintf(err, errlen, "%s: [oauth] client_id is required", c->path);
		goto fail;
	}
	if (strncmp(o->token_url, "https://", 8) && strncmp(o->token_url, "http://", 7)) {
		snprintf(err, errlen, "%s: [oauth] token_url is not an https URL", c->path);
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
	free(o->client_id);
	free(o->mailbox);
	oauth_google_key_free(&o->gkey);
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

/* Google's error descriptions that tell causes apart, in the words the
 * relay repeats (the body's own text is never copied). */
static const struct {
	const char *sign, *words;
} google_descriptions[] = {
	{ "Invalid JWT Signature", "invalid JWT signature" },
	{ "Invalid email or User ID", "invalid email or user ID" },
	{ "Not a valid email", "invalid email or user ID" },
	{ "short-lived token", "JWT not in a reasonable timeframe" },
	{ "reasonable timeframe", "JWT not in a reasonable timeframe" },
	{ "account not found", "account not found" },
	{ "was disabled", "client disabled" },
	{ "was deleted", "client deleted" },
	{ "not found", "client not found" },
	{ "scopes requested", "not authorized for the scope" },
};

int oauth_parse_token_response(long status, const char *body, size_t len, char **token, long *lifetime, char *err,
                               size_t errlen)
{
	char jerr[128];
	*token = NULL;
	*lifetime = 0;
	struct json_object *j = jsonread_parse(body, len, jerr, sizeof jerr);
	if (!j || !json_object_is_type(j, json_type_object)) {
		snprintf(err, errlen, "HTTP %ld and an answer that is not a JSON object%s%s%s", status, j ? "" : " (",
		         j ? "" : jerr, j ? "" : ")");
		json_object_put(j);
		return -1;
	}
	int rc = -1;
	size_t toklen = 0;
	const char *tok = jsonread_str(j, "access_token", &toklen);
	struct json_object *exp = NULL;
	if (status == 200 && tok && *tok) {
		(void)json_object_object_get_ex(j, "expires_in", &exp);
		long life = !exp                                         ? 0
		            : json_object_is_type(exp, json_type_int)    ? (long)json_object_get_int64(exp)
		            : json_object_is_type(exp, json_type_string) ? strtol(json_object_get_string(exp), NULL, 10)
		                                                         : 0;
		/* A token must fit an AUTH line's world and contain no separator of XOAUTH2. */
		int clean = toklen <= 16384 && toklen == strlen(tok);
		for (size_t i = 0; clean && i < toklen; i++)
			clean = (unsigned char)tok[i] > 0x20 && (unsigned char)tok[i] < 0x7f;
		if (!clean) {
			snprintf(err, errlen,
			         "HTTP %ld: the access_token is not a printable ASCII token of 16384 bytes or less", status);
		} else if (life > 0) {
			*token = xstrdup(tok);
			*lifetime = life > 366L * 86400 ? 366L * 86400 : life;
			rc = 0;
		} else {
			snprintf(err, errlen, "HTTP %ld: the token came without a usable expires_in", status);
		}
	} else {
		/* The error code, kept to the characters OAuth2 allows it (RFC 6749 5.2 is wider; none use more). */
		const char *e = jsonread_str(j, "error", NULL);
		char ecode[48] = "";
		if (e) {
			size_t n = strspn(e, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
			if (n >= sizeof ecode)
				n = sizeof ecode - 1;
			memcpy(ecode, e, n);
			ecode[n] = '\0';
		}
		const char *d = jsonread_str(j, "error_description", NULL);
		const char *code = d ? strstr(d, "AADSTS") : NULL;
		size_t clen = code ? strspn(code + 6, "0123456789") : 0;
		if (clen > 12)
			clen = 12;
		const char *words = NULL;
		for (size_t i = 0; !code && d && i < sizeof google_descriptions / sizeof google_descriptions[0]; i++)
			if (strcasestr(d, google_descriptions[i].sign))
				words = google_descriptions[i].words;
		if (code && clen)
			snprintf(err, errlen, "HTTP %ld: %s (AADSTS%.*s)", status, *ecode ? ecode : "error", (int)clen,
			         code + 6);
		else if (words)
			snprintf(err, errlen, "HTTP %ld: %s (%s)", status, *ecode ? ecode : "error", words);
		else if (*ecode)
			snprintf(err, errlen, "HTTP %ld: %s", status, ecode);
		else
			snprintf(err, errlen, "HTTP %ld: no access_token in the answer", status);
	}
	json_object_put(j);
	return rc;
}

/* The AADSTS number in a refusal, 0 when none. */
static long aadsts(const char *refusal)
{
	const char *c = refusal ? strstr(refusal, "AADSTS") : NULL;
	return c ? strtol(c + 6, NULL, 10) : 0;
}

static int says(const char *refusal, const char *what)
{
	return refusal && strstr(refusal, what) != NULL;
}

#define OR(x, alt) ((x) ? (x) : (alt))
#define RELOAD "systemctl reload relay"
#define ENTRA "Entra admin center > App registrations > "

void oauth_advice(const char *refusal, const struct oauth_places *p, char *out, size_t outlen)
{
	const char *app = OR(p->client_id, "the app");
	const char *secret = OR(p->secret_file, "[oauth] client_secret_file");
	const char *key = OR(p->key_file, "[oauth] private_key_file");
	long code = aadsts(refusal);
	int status = 0;
	if (refusal && !strncmp(refusal, "HTTP ", 5))
		status = atoi(refusal + 5);

	switch (code) {
	case 7000215:
		snprintf(
			out, outlen,
			"the client secret is wrong. In " ENTRA "%s > Certificates & secrets, add a client "
			"secret, put its Value (not its Secret ID) in %s (mode 0600), set [oauth] secret_expires, then " RELOAD,
			app, secret);
		return;
	case 7000222:
		snprintf(out, outlen,
		         "the client secret has expired. In " ENTRA "%s > Certificates & secrets, add a new "
		         "one (or better, a certificate), put its Value in %s, set [oauth] secret_expires to its expiry, "
		         "then " RELOAD,
		         app, secret);
		return;
	case 700016:
		snprintf(out, outlen,
		         "no application %s in tenant %s. Check [oauth] client_id (the Application (client) "
		         "ID on the app's Overview page) and [oauth] tenant (the Directory (tenant) ID); the app must be "
		         "registered in, or consented to by, that tenant",
		         app, OR(p->tenant, "(not set)"));
		return;
	case 65001:
		if (p->graph)
			snprintf(out, outlen,
			         "admin consent is missing. In " ENTRA "%s > API permissions, add Microsoft "
			         "Graph > Application permissions > Mail.Send, then Grant admin consent",
			         app);
		else
			snprintf(
				out, outlen,
				"admin consent is missing. In " ENTRA "%s > API permissions, add Office 365 "
				"Exchange Online > Application permissions > IMAP.AccessAsApp and SMTP.SendAsApp, then Grant "
				"admin consent",
				app);
		return;
	case 700027:
	case 700023:
		snprintf(out, outlen,
		         "the certificate is not registered for the app, or the key is not its key. In " ENTRA
		         "%s > Certificates & secrets > Certificates, upload %s (thumbprint %s); check %s is its key "
		         "(relay check compares them)",
		         app, OR(p->certificate_file, "[oauth] certificate_file"), OR(p->thumbprint, "?"), key);
		return;
	case 700024:
		snprintf(out, outlen,
		         "the client assertion is outside its valid time: this machine's clock is wrong "
		         "(timedatectl; enable NTP)");
		return;
	case 90002:
		snprintf(out, outlen,
		         "tenant %s was not found. Set [oauth] tenant to the Directory (tenant) ID shown on "
		         "the Overview page of Microsoft Entra admin center, or to a verified domain of the tenant",
		         OR(p->tenant, "(not set)"));
		return;
	case 7000112:
		snprintf(out, outlen,
		         "the application %s is disabled (its access was revoked). In Entra admin center > "
		         "Enterprise applications > the app > Properties, set Enabled for users to sign in to Yes, or "
		         "register a new app",
		         app);
		return;
	case 70011:
		snprintf(out, outlen,
		         "the scope %s is not valid for a client-credentials token: leave [oauth] scope out "
		         "(the default is https://outlook.office365.com/.default)",
		         OR(p->scope, "asked for"));
		return;
	case 7000218:
		snprintf(out, outlen,
		         "the app wants a credential: set [oauth] certificate_file and private_key_file, or "
		         "client_secret_file");
		return;
	default:
		break;
	}
	if (code) {
		snprintf(out, outlen,
		         "Microsoft's explanation of AADSTS%ld: https://login.microsoftonline.com/error?code=%ld", code,
		         code);
		return;
	}
	if (says(refusal, "unauthorized_client") && p->provider && !strcmp(p->provider, "google")) {
		char id[80];
		if (p->google_client_id)
			snprintf(id, sizeof id, "client ID %s", p->google_client_id);
		else
			snprintf(id, sizeof id, "numeric client ID of %s", OR(p->client_id, "the service account"));
		snprintf(out, outlen,
		         "domain-wide delegation is not granted. In the Google Admin console > Security > "
		         "Access and data control > API controls > Manage Domain Wide Delegation, add %s with the scope "
		         "%s",
		         id, OR(p->scope, "https://mail.google.com/"));
		return;
	}
	if (says(refusal, "invalid JWT signature") || says(refusal, "client not found") ||
	    says(refusal, "account not found") || says(refusal, "client deleted")) {
		snprintf(out, outlen,
		         "the service account's key was deleted or revoked, or is not this account's. In Google "
		         "Cloud console > IAM & Admin > Service accounts > %s > Keys, add a JSON key, put it in %s (mode "
		         "0600), then " RELOAD,
		         OR(p->client_id, "the account"), key);
		return;
	}
	if (says(refusal, "disabled_client") || says(refusal, "client disabled")) {
		snprintf(out, outlen,
		         "the client %s is disabled (revoked). Enable it again (Google Cloud console > IAM & "
		         "Admin > Service accounts) or make a new one, then " RELOAD,
		         OR(p->client_id, "(not set)"));
		return;
	}
	if (says(refusal, "invalid email or user ID")) {
		snprintf(out, outlen,
		         "%s is not a user of the Workspace domain: set [imap] username (and [smtp] username) "
		         "to the mailbox's primary address",
		         OR(p->mailbox, "the mailbox"));
		return;
	}
	if (says(refusal, "reasonable timeframe")) {
		snprintf(out, outlen,
		         "Google says the assertion is not within its time: this machine's clock is wrong "
		         "(timedatectl; enable NTP)");
		return;
	}
	if (says(refusal, "invalid_grant") && p->provider && !strcmp(p->provider, "google")) {
		snprintf(out, outlen,
		         "Google refused the service account's assertion: check that %s is the current JSON "
		         "key of %s, that the account is enabled, and that %s exists in the domain",
		         key, OR(p->client_id, "the account"), OR(p->mailbox, "the mailbox"));
		return;
	}
	if (says(refusal, "invalid_client") || says(refusal, "unauthorized_client")) {
		snprintf(out, outlen, "the client was refused: check [oauth] client_id and %s%s", secret,
		         says(refusal, "unauthorized_client") ? ", and that the client may use client credentials" : "");
		return;
	}
	if (status == 429 || status >= 500) {
		snprintf(out, outlen, "the token endpoint fails for now; the relay asks again at the next cycle");
		return;
	}
	snprintf(out, outlen, "check the [oauth] settings against the provider's app registration (relay check)");
}

/* Serializes a JSON object built by the caller (and frees it). Owned. */
static char *json_text(struct json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(struct json_object *o, const char *k, long long v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

char *oauth_client_assertion(const char *key_pem, size_t key_len, const char *x5t, const char *x5t_s256,
                             const char *client_id, const char *token_url, const char *jti, long long now, char *err,
                             size_t errlen)
{
	struct json_object *h = json_object_new_object(), *c = json_object_new_object();
	put_str(h, "alg", "RS256");
	put_str(h, "typ", "JWT");
	put_str(h, "x5t", x5t);
	if (x5t_s256)
		put_str(h, "x5t#S256", x5t_s256);
	put_str(c, "aud", token_url);
	put_str(c, "iss", client_id);
	put_str(c, "sub", client_id);
	put_str(c, "jti", jti);
	put_int(c, "nbf", now);
	put_int(c, "iat", now);
	put_int(c, "exp", now + 600);
	char *hs = json_text(h), *cs = json_text(c), *out = NULL;
	(void)jwt_sign_rs256(key_pem, key_len, hs, cs, &out, err, errlen);
	free(hs);
	free(cs);
	return out;
}

char *oauth_google_assertion(const char *key_pem, size_t key_len, const char *key_id, const char *client_email,
                             const char *scope, const char *token_url, const char *mailbox, long long now, char *err,
                             size_t errlen)
{
	struct json_object *h = json_object_new_object(), *c = json_object_new_object();
	put_str(h, "alg", "RS256");
	put_str(h, "typ", "JWT");
	if (key_id)
		put_str(h, "kid", key_id);
	put_str(c, "iss", client_email);
	put_str(c, "scope", scope);
	put_str(c, "aud", token_url);
	put_str(c, "sub", mailbox);
	put_int(c, "iat", now);
	put_int(c, "exp", now + 3600);
	char *hs = json_text(h), *cs = json_text(c), *out = NULL;
	(void)jwt_sign_rs256(key_pem, key_len, hs, cs, &out, err, errlen);
	free(hs);
	free(cs);
	return out;
}

int oauth_google_key_parse(const char *json, size_t len, struct oauth_google_key *out, char *err, size_t errlen)
{
	char jerr[128];
	memset(out, 0, sizeof *out);
	struct json_object *j = jsonread_parse(json, len, jerr, sizeof jerr);
	if (!j || !json_object_is_type(j, json_type_object)) {
		snprintf(err, errlen, "not Google's JSON key file (%s)", j ? "not an object" : jerr);
		json_object_put(j);
		return -1;
	}
	const char *type = jsonread_str(j, "type", NULL);
	int rc = -1;
	if (type && strcmp(type, "service_account")) {
		snprintf(err, errlen, "a JSON key file of type \"%.40s\", not service_account", type);
		goto done;
	}
	out->client_email = jsonread_dup(j, "client_email");
	out->private_key = jsonread_dup(j, "private_key");
	out->client_id = jsonread_dup(j, "client_id");
	out->private_key_id = jsonread_dup(j, "private_key_id");
	out->token_uri = jsonread_dup(j, "token_uri");
	if (!out->client_email || !*out->client_email || !strchr(out->client_email, '@')) {
		snprintf(err, errlen, "the JSON key file has no client_email");
		goto done;
	}
	if (!out->private_key || !strstr(out->private_key, "PRIVATE KEY-----")) {
		snprintf(err, errlen, "the JSON key file has no PEM private_key");
		goto done;
	}
	if (out->token_uri && strncmp(out->token_uri, "https://", 8) && strncmp(out->token_uri, "http://", 7)) {
		snprintf(err, errlen, "the JSON key file's token_uri is not an https URL");
		goto done;
	}
	rc = 0;
done:
	/* json-c's copy of the key goes with the object: wipe what can be reached. */
	{
		struct json_object *pk = NULL;
		if (json_object_object_get_ex(j, "private_key", &pk) && json_object_is_type(pk, json_type_string))
			explicit_bzero((char *)json_object_get_string(pk), (size_t)json_object_get_string_len(pk));
	}
	json_object_put(j);
	if (rc < 0)
		oauth_google_key_free(out);
	return rc;
}

void oauth_google_key_free(struct oauth_google_key *k)
{
	if (!k)
		return;
	free(k->client_email);
	free(k->client_id);
	wipe(&k->private_key);
	free(k->private_key_id);
	free(k->token_uri);
	memset(k, 0, sizeof *k);
}

int oauth_parse_date(const char *text, long long *out)
{
	if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
			return -1;
	int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8);
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
		return -1;
	/* Days from 1970-01-01 (civil calendar, H. Hinnant's days_from_civil). */
	long long yy = y - (m <= 2);
	long long era = yy / 400, yoe = yy - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = (era * 146097 + doe - 719468) * 86400;
	return 0;
}

static void day_text(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%Y-%m-%d", &tm);
}

enum oauth_expiry oauth_expiry_text(long long expires, long long now, char *out, size_t outlen)
{
	char day[16];
	day_text(expires, day, sizeof day);
	if (expires <= now) {
		long long ago = (now - expires) / 86400;
		snprintf(out, outlen, "ran out on %s (%lld day%s ago)", day, ago, ago == 1 ? "" : "s");
		return OAUTH_EXPIRY_PAST;
	}
	long long left = (expires - now) / 86400;
	if (left == 0)
		snprintf(out, outlen, "runs out on %s (today)", day);
	else
		snprintf(out, outlen, "runs out on %s (in %lld day%s)", day, left, left == 1 ? "" : "s");
	return expires - now <= OAUTH_EXPIRY_WARN_DAYS * 86400LL ? OAUTH_EXPIRY_SOON : OAUTH_EXPIRY_FINE;
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

static void places(const struct oauth *o, struct oauth_places *p)
{
	const struct config *c = o->c;
	memset(p, 0, sizeof *p);
	p->provider = c->oauth_provider;
	p->tenant = c->oauth_tenant;
	p->client_id = o->client_id;
	p->google_client_id = o->gkey.client_id;
	p->secret_file = c->oauth_client_secret_file;
	p->certificate_file = c->oauth_certificate_file;
	p->key_file = c->oauth_private_key_file;
	p->thumbprint = o->cred == CRED_CERTIFICATE ? o->cert.sha1_hex : NULL;
	p->scope = o->scope;
	p->mailbox = o->mailbox;
	p->graph = o->use == OAUTH_GRAPH;
}

/* The form of a token request. 0, or -1 with err (an assertion could not be signed). */
static int token_form(const struct oauth *o, long long now, struct buf *form, char *err, size_t errlen)
{
	const struct config *c = o->c;
	char serr[200];
	if (o->cred == CRED_SERVICE_ACCOUNT) {
		size_t klen;
		const char *k = key_pem(o, &klen);
		char *a = oauth_google_assertion(k, klen, o->gkey.private_key_id, o->client_id, o->scope, o->token_url,
		                                 o->mailbox, now, serr, sizeof serr);
		if (!a) {
			snprintf(err, errlen, "oauth: %s: %s", c->oauth_private_key_file, serr);
			return -1;
		}
		form_add(form, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
		form_add(form, "assertion", a);
		wipe(&a);
		return 0;
	}
	form_add(form, "client_id", o->client_id);
	form_add(form, "scope", o->scope);
	if (o->cred == CRED_CERTIFICATE) {
		char jti[37];
		if (jwt_random_id(jti) < 0) {
			snprintf(err, errlen, "oauth: no random bytes for the assertion's jti");
			return -1;
		}
		char *a = oauth_client_assertion(c->oauth_private_key, c->oauth_private_key_len, o->cert.x5t,
		                                 o->cert.x5t_s256, o->client_id, o->token_url, jti, now, serr, sizeof serr);
		if (!a) {
			snprintf(err, errlen, "oauth: %s: %s", c->oauth_private_key_file, serr);
			return -1;
		}
		form_add(form, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
		form_add(form, "client_assertion", a);
		wipe(&a);
	} else {
		form_add(form, "client_secret", c->oauth_client_secret);
	}
	form_add(form, "grant_type", "client_credentials");
	return 0;
}

const char *oauth_token(struct oauth *o, long long now, int min_valid, long long *expires_at, char *err, size_t errlen)
{
	if (o->token && o->expires_at - now >= min_valid) {
		if (expires_at)
			*expires_at = o->expires_at;
		return o->token;
	}
	wipe(&o->token);
	const struct config *c = o->c;
	char *base, *path;
	if (split_url(o->token_url, &base, &path) < 0) {
		snprintf(err, errlen, "oauth: [oauth] token_url is not a URL");
		return NULL;
	}
	struct http_settings hs = {
		.base_url = base, .ca_file = c->oauth_ca_file, .timeout = c->oauth_timeout, .max_body = 256 * 1024
	};
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
	struct http_response resp = { 0 };
	const char *result = NULL;
	if (token_form(o, now, &form, err, errlen) < 0) {
		/* err set */
	} else if (http_request(h, "POST", path, "application/x-www-form-urlencoded", form.data, form.len, &resp, herr,
	                        sizeof herr) < 0) {
		snprintf(err, errlen, "oauth: token endpoint %s: %s", base, herr);
	} else {
		char *tok;
		long life;
		char perr[160];
		if (oauth_parse_token_response(resp.status, resp.body, resp.len, &tok, &life, perr, sizeof perr) < 0) {
			struct oauth_places p;
			char todo[600];
			places(o, &p);
			oauth_advice(perr, &p, todo, sizeof todo);
			snprintf(err, errlen, "oauth: %s refused the token (%s): %s", base + strcspn(base, ":") + 3, perr,
			         todo);
		} else {
			o->token = tok;
			o->expires_at = now + life;
			log_debug("oauth: a %s token from %s, valid for %ld s", o->use == OAUTH_GRAPH ? "graph" : "mail",
			          base + strcspn(base, ":") + 3, life);
			if (expires_at)
				*expires_at = o->expires_at;
			result = o->token;
		}
	}
	if (form.data)
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

int oauth_check(const struct config *c, long long now,
                void (*report)(void *arg, int ok, const char *what, const char *detail), void *arg)
{
	int failed = 0;
	char line[1200], err[1024];
#define REPORT(ok, what, detail) (report(arg, (ok), (what), (detail)), failed += !(ok))
	if (c->oauth_certificate_file && c->oauth_certificate) {
		struct jwt_cert cert;
		if (jwt_cert_read(c->oauth_certificate, c->oauth_certificate_len, &cert, err, sizeof err) < 0) {
			snprintf(line, sizeof line, "%s: %s", c->oauth_certificate_file, err);
			REPORT(0, "oauth certificate", line);
		} else {
			char when[96];
			enum oauth_expiry e = oauth_expiry_text(cert.not_after, now, when, sizeof when);
			int match = c->oauth_private_key
			                    ? jwt_cert_matches_key(c->oauth_certificate, c->oauth_certificate_len,
			                                           c->oauth_private_key, c->oauth_private_key_len, err,
			                                           sizeof err)
			                    : -1;
			if (match == 0)
				snprintf(line, sizeof line, "%s (thumbprint %s) %s; %s is not its private key",
				         c->oauth_certificate_file, cert.sha1_hex, when,
				         c->oauth_private_key_file ? c->oauth_private_key_file : "the key");
			else if (e == OAUTH_EXPIRY_PAST)
				snprintf(
					line, sizeof line,
					"%s (thumbprint %s) %s: make a new certificate, upload it to the app "
					"registration (Certificates & secrets), point certificate_file and private_key_file at it "
					"and reload",
					c->oauth_certificate_file, cert.sha1_hex, when);
			else if (e == OAUTH_EXPIRY_SOON)
				snprintf(line, sizeof line,
				         "WARNING: %s (thumbprint %s) %s: make a new one and upload it to the app "
				         "registration before then",
				         c->oauth_certificate_file, cert.sha1_hex, when);
			else
				snprintf(line, sizeof line, "%s (thumbprint %s) %s", c->oauth_certificate_file,
				         cert.sha1_hex, when);
			REPORT(match != 0 && e != OAUTH_EXPIRY_PAST, "oauth certificate", line);
		}
	}
	if (c->oauth_secret_expires && c->oauth_client_secret_file) {
		long long t;
		if (oauth_parse_date(c->oauth_secret_expires, &t) < 0) {
			REPORT(0, "oauth client secret", "[oauth] secret_expires is not a date (YYYY-MM-DD)");
		} else {
			char when[96];
			enum oauth_expiry e = oauth_expiry_text(t, now, when, sizeof when);
			const char *used = c->oauth_certificate_file ? " (not used: the certificate is)" : "";
			if (e == OAUTH_EXPIRY_PAST)
				snprintf(
					line, sizeof line,
					"%s %s%s: add a new client secret in Entra admin center > App "
					"registrations > the app > Certificates & secrets, put its Value in the file, update "
					"secret_expires and reload",
					c->oauth_client_secret_file, when, used);
			else if (e == OAUTH_EXPIRY_SOON)
				snprintf(line, sizeof line,
				         "WARNING: %s %s%s: add a new client secret before then (Certificates & "
				         "secrets), put its Value in the file and update secret_expires",
				         c->oauth_client_secret_file, when, used);
			else
				snprintf(line, sizeof line, "%s %s%s", c->oauth_client_secret_file, when, used);
			REPORT(e != OAUTH_EXPIRY_PAST || *used, "oauth client secret", line);
		}
	} else if (c->oauth_client_secret_file && !c->oauth_certificate_file && c->oauth_provider &&
	           !strcmp(c->oauth_provider, "microsoft")) {
		REPORT(1, "oauth client secret",
		       "its expiry is not known: set [oauth] secret_expires (YYYY-MM-DD, as the "
		       "portal shows it) to be warned 30 days ahead");
	}
	int uses[2] = { !strcmp(c->imap_auth, "oauth2") || !strcmp(c->smtp_auth, "oauth2"),
		        !strcmp(c->smtp_transport, "graph") };
	for (int u = 0; u < 2; u++) {
		if (!uses[u])
			continue;
		enum oauth_use use = u ? OAUTH_GRAPH : OAUTH_MAIL;
		char what[200];
		snprintf(what, sizeof what, "oauth %s token (%s)", u ? "graph" : "mail", c->oauth_provider);
		/* The process's source: the logins that follow use this token. */
		struct oauth *o = oauth_source(c, use, err, sizeof err);
		if (!o) {
			REPORT(0, what, err);
			continue;
		}
		snprintf(what, sizeof what, "oauth %s token (%s, %s)", u ? "graph" : "mail", c->oauth_provider,
		         o->cred == CRED_CERTIFICATE ? "certificate"
		         : o->cred == CRED_SECRET    ? "client secret"
		                                     : "service account");
		long long exp = 0;
		if (!oauth_token(o, now, 0, &exp, err, sizeof err)) {
			REPORT(0, what, err + (strncmp(err, "oauth: ", 7) ? 0 : 7));
		} else {
			if (o->mailbox)
				snprintf(line, sizeof line, "had from %s for %s, scope %s, valid for %lld s", o->token_url,
				         o->mailbox, o->scope, exp - now);
			else
				snprintf(line, sizeof line, "had from %s, scope %s, valid for %lld s", o->token_url,
				         o->scope, exp - now);
			REPORT(1, what, line);
		}
	}
#undef REPORT
	return failed;
}
