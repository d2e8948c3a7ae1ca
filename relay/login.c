/* login.c: tokens for the mail logins, and when to renew them (login.h). */
#include "login.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "oauth.h"

#define MARGIN_MAX 300

/* The longest lifetime a token was seen to have when it came: a fresh
 * token's. 0 until the first. */
static long long lifetime_seen;

int login_margin(long long lifetime)
{
	long long m = lifetime / 5;
	if (m < 1)
		m = 1;
	if (m > MARGIN_MAX)
		m = MARGIN_MAX;
	return (int)m;
}

const char *login_token(const struct config *c, long long *renew_at, char *err, size_t errlen)
{
	char why[768];
	struct oauth *o = oauth_source(c, OAUTH_MAIL, why, sizeof why);
	if (!o) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	long long now = (long long)time(NULL), expires = 0;
	/* Before the first token its lifetime is unknown: ask for a long one,
	 * which is a fresh one unless an hour's token is kept. */
	int margin = lifetime_seen ? login_margin(lifetime_seen) : MARGIN_MAX;
	const char *tok = oauth_token(o, now, 3 * margin, &expires, why, sizeof why);
	if (!tok) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if (expires - now > lifetime_seen)
		lifetime_seen = expires - now;
	*renew_at = expires - login_margin(lifetime_seen);
	return tok;
}

void login_token_refused(const struct config *c)
{
	char why[256];
	struct oauth *o = oauth_source(c, OAUTH_MAIL, why, sizeof why);
	oauth_forget(o);
}

const char *login_refused_advice(const struct config *c, int smtp)
{
	const char *p = c->oauth_provider ? c->oauth_provider : "";
	if (!strcmp(p, "google"))
		return "the token was issued, so Google Workspace's domain-wide delegation for the service account is "
		       "missing the scope https://mail.google.com/, or username is not a mailbox of the domain";
	if (!strcmp(p, "generic"))
		return "the token was issued, so the server does not take it for this mailbox: check [oauth] scope and that "
		       "the application may use the mailbox named by username";
	if (smtp)
		return "the token was issued, so on Exchange Online SMTP AUTH is off for the mailbox (Set-CASMailbox "
		       "-Identity MAILBOX -SmtpClientAuthenticationDisabled $false) or the application has no access to "
		       "it: run New-ServicePrincipal -AppId APP_ID -ObjectId OBJECT_ID and Add-MailboxPermission "
		       "-Identity MAILBOX -User SERVICE_PRINCIPAL_ID -AccessRights FullAccess in Exchange Online "
		       "PowerShell (README: Microsoft 365)";
	return "the token was issued, so on Exchange Online the application's service principal or its permission on "
	       "the mailbox is missing: run New-ServicePrincipal -AppId APP_ID -ObjectId OBJECT_ID (the enterprise "
	       "application's object ID) and Add-MailboxPermission -Identity MAILBOX -User SERVICE_PRINCIPAL_ID "
	       "-AccessRights FullAccess in Exchange Online PowerShell (README: Microsoft 365)";
}
