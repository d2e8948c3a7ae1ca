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
	OAUTH_MAIL,     /* IMAP and SMTP logins */
	OAUTH_GRAPH     /* Microsoft Graph */
};

struct oauth;   /* opaque: one token source and its cached token */

/* Checks the [oauth] settings for this use and makes a token source; no
 * request is made yet. c is borrowed for the life of the source (its secrets
 * must be loaded: config_load_secrets). 0, or -1 with err naming the key. */
int oauth_open(const struct config *c, enum oauth_use use, struct oauth **out, char *err, size_t errlen);

/* A token that stays valid for at least min_valid more seconds after now,
 * fetched when the cached one would not. Borrowed: valid until the next call
 * on o or oauth_close. *expires_at (may be NULL) gets when it runs out (unix
 * seconds). NULL with err when none could be had. */
const char *oauth_token(struct oauth *o, long long now, int min_valid, long long *expires_at, char *err,
                        size_t errlen);

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

void oauth_close(struct oauth *o);   /* accepts NULL; wipes the token */

/* The SASL XOAUTH2 client response before base64:
 * "user=" user "\x01auth=Bearer " token "\x01\x01". Owned; wipe it
 * (explicit_bzero) before freeing. */
char *oauth_xoauth2(const char *user, const char *token);

/* --- pure helpers, exposed for the unit tests --------------------------- */

/* Reads a token endpoint's answer (JSON). On 200 with access_token and
 * expires_in: 0, *token owned, *lifetime in seconds. Otherwise -1 with err
 * saying what the provider said (error, the first AADSTS code of
 * error_description or error_codes) — never the body's other text. */
int oauth_parse_token_response(long status, const char *body, size_t len, char **token, long *lifetime, char *err,
                               size_t errlen);

#endif
