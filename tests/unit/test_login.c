/* test_login.c: when a login made with an OAuth2 token is made again. */
#include <string.h>

#include "check.h"
#include "config.h"
#include "login.h"

int main(void)
{
	/* A fifth of the lifetime, within 1 s and 5 minutes. */
	CHECK_INT("an hour's token: 5 minutes", login_margin(3600), 300);
	CHECK_INT("a 90-minute token: still 5 minutes", login_margin(5400), 300);
	CHECK_INT("a minute's token: 12 s", login_margin(60), 12);
	CHECK_INT("a 30 s token: 6 s", login_margin(30), 6);
	CHECK_INT("a 15 s token: 3 s", login_margin(15), 3);
	CHECK_INT("a 3 s token: at least 1 s", login_margin(3), 1);
	CHECK_INT("no lifetime: 1 s", login_margin(0), 1);
	/* A session lasts at least two margins: three are asked of a token. */
	for (long long life = 5; life <= 7200; life += 5)
		if (3 * login_margin(life) > life) {
			CHECK("a fresh token always satisfies the three margins asked of it", 0);
			break;
		}

	struct config c;
	memset(&c, 0, sizeof c);
	c.oauth_provider = "microsoft";
	const char *imap = login_refused_advice(&c, 0), *smtp = login_refused_advice(&c, 1);
	CHECK("microsoft IMAP: names New-ServicePrincipal", strstr(imap, "New-ServicePrincipal") != NULL);
	CHECK("microsoft IMAP: names Add-MailboxPermission", strstr(imap, "Add-MailboxPermission") != NULL);
	CHECK("microsoft SMTP: names Set-CASMailbox", strstr(smtp, "SmtpClientAuthenticationDisabled") != NULL);
	c.oauth_provider = "generic";
	CHECK("generic: no Exchange commands", strstr(login_refused_advice(&c, 0), "New-ServicePrincipal") == NULL);
	c.oauth_provider = "google";
	CHECK("google: names the delegation's scope", strstr(login_refused_advice(&c, 0), "https://mail.google.com/"));
	return check_done();
}
