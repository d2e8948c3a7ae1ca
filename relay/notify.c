/* notify.c: sd_notify's datagram protocol, for Type=notify and WatchdogSec=. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int notify_send(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n = path ? strlen(path) : 0;

	if (n < 2 || (path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path)
		return 1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* the abstract namespace: no NUL at the end, the length says it */
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t sent;
	do
		sent = sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	while (sent < 0 && errno == EINTR);
	close(fd);
	return sent == (ssize_t)strlen(text) ? 0 : -1;
}

long long notify_watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	if (!usec || !getenv("NOTIFY_SOCKET"))
		return 0;
	if (pid && *pid) {
		long p = strtol(pid, &end, 10);
		if (*end || p != (long)getpid())
			return 0;
	}
	long long u = strtoll(usec, &end, 10);
	if (*end || u <= 0)
		return 0;
	long long ms = u / 2000;
	return ms > 0 ? ms : 1;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long last_keepalive;

long long notify_due_in_ms(void)
{
	long long every = notify_watchdog_ms();
	if (!every)
		return -1;
	long long left = last_keepalive + every - monotonic_ms();
	return left > 0 ? left : 0;
}

void notify_keepalive(void)
{
	long long *last = &last_keepalive;
	long long every = notify_watchdog_ms(), now = monotonic_ms();
	if (!every || (*last && now - *last < every))
		return;
	if (notify_send("WATCHDOG=1") == 0)
		*last = now;
}
