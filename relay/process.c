/* process.c: dropping root, naming the operator. */
#include "process.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"

int process_drop_root(const char *user, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0;
	if (!strcmp(user, "root"))
		return 1;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen,
		         "[service] user: there is no user '%s' on this system: create it with "
		         "`useradd --system --home-dir /var/lib/relay --shell /usr/sbin/nologin %s`, or name another",
		         user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "[service] user: '%s' has uid 0; name an unprivileged user", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "cannot become user '%s': %s", user, strerror(errno));
		return -1;
	}
	/* Libraries look in $HOME (libESMTP refuses to send when it cannot
	 * inspect root's ~/.config/libesmtp): the user's own, from now on. */
	setenv("HOME", pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : "/", 1);
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
	/* For good: root must not be reachable again. */
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "root privileges could not be dropped for good");
		return -1;
	}
	return 0;
}

char *process_operator(void)
{
	/* The login session's user: the person, even under sudo or runuser -u relay. */
	const char *login = getlogin();
	if (login && *login)
		return xasprintf("operator %s", login);
	const char *sudo = getenv("SUDO_USER");
	if (sudo && *sudo && getuid() == 0)
		return xasprintf("operator %s", sudo);
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		return xasprintf("operator %s", pw->pw_name);
	return xasprintf("operator uid %u", (unsigned)getuid());
}
