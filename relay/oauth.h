/* oauth.h: access tokens for logging in to IMAP and SMTP with SASL XOAUTH2
 * and for Microsoft Graph (OAuth2 client credentials, RFC 6749 section 4.4).
 *
 * One `struct oauth` is one token source: the [oauth] section of the
 * configuration and a scope (mail: IMAP and SMTP; graph: sendMail). It asks
 * the provider's token endpoint over HTTPS (http.h: certificate verified),
 * keeps the token in memory only (never in the database, a file, a log line
 * or the environment) and asks again before it runs out.
 *
 * Providers (config.h, [oauth] provider):
 * - microsoft: https://login.microsoftonline.com/TENANT/oauth2/v2.0/token,
 *   scope https://outlook.office365.com/.default (mail) or
 *   https://graph.microsoft.com/.default (graph); the client authenticates
 *   with a client secret or a certificate (a signed JWT client assertion);
 * - google: a service account with domain-wide delegation: a signed JWT
 *   (RS256, sub = the mailbox) exchanged at https://oauth2.googleapis.com/token
 *   for scope https://mail.google.com/;
 * - generic: token_url and a client secret.
 *
 * Text in err may be logged and shown by `relay check`: it names the
 * endpoint, the provider's error code and what to do, never a token, secret
 * or assertion. */
#ifndef RELAY_OAUTH_H
#define RELAY_OAUTH_H

#include <stddef.h>

struct config;

enum oauth_use {
	OAUTH_MAIL, /* IMAP and SMTP logins */
	OAUTH_GRAPH /* Microsoft Graph */
};

struct oauth; /* opaque: one token source and its cached token */

/* Checks the [oauth] settings for this use and makes a token source; no
 * request is made yet. c is borrowed for the life of the source (its secrets
 * must be loaded: config_load_secrets). 0, or -1 with err naming the key. */
int oauth_open(const struct config *c, enum oauth_use use, struct oauth **out, char *err, size_t errlen);

/* A token that stays valid for at least min_valid more seconds after now,
 * fetched when the cached one would not. Borrowed: valid until the next call
 * on o or oauth_close. *expires_at (may be NULL) gets when it runs out (unix
 * seconds). NULL with err when none could be had. */
const char *oauth_token(struct oauth *o, long long now, int min_valid, long long *expires_at, char *err, size_t errlen);

/* The process's token source for this use: made on the first call
 * (oauth_open) and kept, with its token, across the daemon's cycles until
 * oauth_reset(). Borrowed. NULL with err. */
struct oauth *oauth_source(const struct config *c, enum oauth_use use, char *err, size_t errlen);

/* Closes the process's sources (before the configuration they borrow is
 * freed: a reload, the end of main). */
void oauth_reset(void);

/* Forgets the cached token (a server refused it), so the next oauth_token
 * asks again. */
void oauth_forget(struct oauth *o);

void oauth_close(struct oauth *o); /* accepts NULL; wipes the token */

/* The SASL XOAUTH2 client response before base64:
 * "user=" user "\x01auth=Bearer " token "\x01\x01". Owned; wipe it
 * (explicit_bzero) before freeing. */
char *oauth_xoauth2(const char *user, const char *token);

/* `relay check`'s part: for each use the configuration has, the settings,
 * the certificate's and client secret's expiry (a warning 30 days ahead), the
 * certificate against its key, and a token request; report is called once a
 * line (ok 1, 0 failed; what and detail borrowed for the call). Returns the
 * number of failed lines. c as for oauth_open. */
int oauth_check(const struct config *c, long long now,
                void (*report)(void *arg, int ok, const char *what, const char *detail), void *arg);

/* --- pure helpers, exposed for the unit tests --------------------------- */

/* What oauth_advice may name (borrowed; any may be NULL). */
struct oauth_places {
	const char *provider; /* "microsoft", "google", "generic" */
	const char *tenant;
	const char *client_id;        /* Microsoft: the application ID; Google: the client_email */
	const char *google_client_id; /* Google: the service account's numeric client ID (its key file) */
	const char *secret_file;      /* [oauth] client_secret_file */
	const char *certificate_file;
	const char *key_file;   /* [oauth] private_key_file */
	const char *thumbprint; /* the certificate's SHA-1 thumbprint, hex */
	const char *scope;
	const char *mailbox; /* Google: the sub the token is asked for */
	int graph;           /* the token is for Microsoft Graph */
};

/* What to do about a token endpoint's refusal, from what
 * oauth_parse_token_response said ("HTTP 401: invalid_client
 * (AADSTS7000215)"): the AADSTS codes, Google's errors, a disabled
 * (revoked) client, and a plain fallback. Pure; out always set. */
void oauth_advice(const char *refusal, const struct oauth_places *p, char *out, size_t outlen);

/* Microsoft's client assertion (certificate credentials): RS256, header
 * x5t and x5t#S256 of the certificate; aud = token_url, iss = sub =
 * client_id, jti, nbf = iat = now, exp = now + 600. Owned (wipe it), NULL
 * with err. x5t, x5t_s256: base64url thumbprints (jwt.h). */
char *oauth_client_assertion(const char *key_pem, size_t key_len, const char *x5t, const char *x5t_s256,
                             const char *client_id, const char *token_url, const char *jti, long long now, char *err,
                             size_t errlen);

/* Google's service account assertion: RS256 (kid = key_id when not NULL);
 * iss = client_email, scope, aud = token_url, sub = mailbox, iat = now,
 * exp = now + 3600. Owned (wipe it), NULL with err. */
char *oauth_google_assertion(const char *key_pem, size_t key_len, const char *key_id, const char *client_email,
                             const char *scope, const char *token_url, const char *mailbox, long long now, char *err,
                             size_t errlen);

/* Google's JSON key file (type service_account). Every field owned. */
struct oauth_google_key {
	char *client_email;
	char *client_id;      /* numeric, what the Admin console's delegation asks for; may be NULL */
	char *private_key;    /* PEM, wiped by oauth_google_key_free */
	char *private_key_id; /* may be NULL */
	char *token_uri;      /* may be NULL */
};
/* 0, or -1 with err (never the key). */
int oauth_google_key_parse(const char *json, size_t len, struct oauth_google_key *out, char *err, size_t errlen);
void oauth_google_key_free(struct oauth_google_key *k);

/* "YYYY-MM-DD" as 00:00 UTC of that day (the earliest the provider may mean). 0 or -1. */
int oauth_parse_date(const char *text, long long *out);

enum oauth_expiry { OAUTH_EXPIRY_FINE, OAUTH_EXPIRY_SOON, OAUTH_EXPIRY_PAST };
#define OAUTH_EXPIRY_WARN_DAYS 30

/* Whether a credential ending at expires is fine, runs out within
 * OAUTH_EXPIRY_WARN_DAYS (30 x 24 h, that instant included) of now, or has
 * (expires <= now); out: "runs out on 2027-01-31 (in 12
 * days)" / "ran out on ... (3 days ago)". Pure. */
enum oauth_expiry oauth_expiry_text(long long expires, long long now, char *out, size_t outlen);


/* Reads a token endpoint's answer (JSON). On 200 with access_token and
 * expires_in: 0, *token owned, *lifetime in seconds. Otherwise -1 with err
 * saying what the provider said (error, the first AADSTS code of
 * error_description or error_codes) — never the body's other text. */
int oauth_parse_token_response(long status, const char *body, size_t len, char **token, long *lifetime, char *err,
                               size_t errlen);

#endif
