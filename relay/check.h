/* check.h: `relay check`, everything a start needs, tried before a start.
 *
 * Decides what is checked and in which order (the configuration, the secret
 * files, the user the daemon runs as, who may write its files, the
 * templates, office hours, urgent triage, how advisers are authenticated,
 * the database, who hears of a failure, the OAuth2 token, then a login to
 * the IMAP server, the SMTP server or Graph, and the SMS gateway), and
 * prints one line per check: "OK" or "FAIL", what, and why, escaped for the
 * terminal (termsafe.h).
 *
 * Leaves to others: the rules themselves (config.h, files.h, template.h,
 * hours.h, triage.h, oauth.h) and the logins (mailbox.h, smtp.h, outbox.h's
 * transport check, sms.h); it changes nothing, only reads and tries. */
#ifndef RELAY_CHECK_H
#define RELAY_CHECK_H

/* Checks the configuration at path and everything it names, dropping root
 * to [service] user first as the daemon does. Returns the process's exit
 * status: 0 every check passed, 1 one failed, 3 the configuration cannot be
 * read. */
int check_run(const char *path);

#endif
