/* login.h: the access token the relay logs in to its mailbox and its SMTP
 * server with, when [imap] or [smtp] auth = oauth2.
 *
 * A session logged in with a token ends when the token does (Exchange Online
 * says "* BYE Session invalidated - AccessTokenExpired"), so each login is
 * given a time to be made again: the token's expiry less a margin. The
 * margin is a fifth of the tokens' lifetime, at most five minutes (an hour's
 * token from Entra or Google: 5 minutes; a 30-second token in the tests: 6
 * seconds), and a login is never given a token with less than three margins
 * left: each session then lasts at least two margins.
 *
 * The token is one oauth.h keeps in memory (OAUTH_MAIL); nothing here
 * writes it anywhere. */
#ifndef RELAY_LOGIN_H
#define RELAY_LOGIN_H

#include <stddef.h>

struct config;

/* A token for c's mail logins ([oauth], OAUTH_MAIL), fetched when the one
 * kept would not last three margins. Borrowed: valid until the next call
 * here or on oauth.h. *renew_at (unix seconds, real time) gets when a
 * session logged in with it must be made again. NULL with err (oauth.h's
 * words: the endpoint, the provider's error, what to do). */
const char *login_token(const struct config *c, long long *renew_at, char *err, size_t errlen);

/* A server refused the token: the next login_token asks for a new one. */
void login_token_refused(const struct config *c);

/* What to do when a server refuses a token the provider issued, for the
 * provider of c (one sentence; static): for Microsoft the Exchange Online
 * PowerShell commands (New-ServicePrincipal, Add-MailboxPermission; for SMTP
 * also Set-CASMailbox), for Google the delegation's scope. IMAP and SMTP put
 * it after the server's own words. */
const char *login_refused_advice(const struct config *c, int smtp);

/* --- pure helpers, exposed for the unit tests --------------------------- */

/* The renewal margin in seconds for tokens that live `lifetime` seconds:
 * lifetime / 5, at least 1, at most 300. */
int login_margin(long long lifetime);

#endif
