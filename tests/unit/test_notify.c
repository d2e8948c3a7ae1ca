/* Unit tests for notify.c: sd_notify's datagram protocol and the watchdog's
 * interval, against a socket of our own (a path and the abstract namespace). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "notify.h"

/* A datagram socket bound at name ('@' for the abstract namespace). */
static int listener(const char *name)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
		return -1;
	return fd;
}

static void got(int fd, const char *want, const char *what)
{
	char buf[256];
	struct timeval tv = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR(what, buf, want);
}

int main(void)
{
	char path[128], abstract[64], pid[32];

	unsetenv("NOTIFY_SOCKET");
	CHECK_INT("no socket: nothing sent", notify_send("READY=1"), 1);
	CHECK_INT("no socket: no watchdog", notify_watchdog_ms(), 0);
	CHECK_INT("no socket: nothing due", notify_due_in_ms(), -1);

	snprintf(path, sizeof path, "/tmp/relay-test-notify-%ld.sock", (long)getpid());
	unlink(path);
	int fd = listener(path);
	CHECK("a path socket bound", fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_INT("path: sent", notify_send("READY=1\nSTATUS=starting"), 0);
	got(fd, "READY=1\nSTATUS=starting", "path: the whole datagram arrives");

	setenv("WATCHDOG_USEC", "2000000", 1);
	unsetenv("WATCHDOG_PID");
	CHECK_INT("watchdog: half of WATCHDOG_USEC", notify_watchdog_ms(), 1000);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_INT("watchdog: for this process", notify_watchdog_ms(), 1000);
	setenv("WATCHDOG_PID", "1", 1);
	CHECK_INT("watchdog: for another process, none", notify_watchdog_ms(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "junk", 1);
	CHECK_INT("watchdog: junk, none", notify_watchdog_ms(), 0);
	setenv("WATCHDOG_USEC", "1500", 1);
	CHECK_INT("watchdog: under 2 ms, still 1 ms", notify_watchdog_ms(), 1);
	setenv("WATCHDOG_USEC", "60000000", 1);
	CHECK_INT("keep-alive due at once", notify_due_in_ms(), 0);
	notify_keepalive();
	got(fd, "WATCHDOG=1", "keep-alive sent");
	CHECK("then not due for about 30 s", notify_due_in_ms() > 29000);
	notify_keepalive();
	char buf[64];
	CHECK("and not sent again before", recv(fd, buf, sizeof buf, MSG_DONTWAIT) < 0);
	close(fd);
	unlink(path);

	snprintf(abstract, sizeof abstract, "@relay-test-notify-%ld", (long)getpid());
	fd = listener(abstract);
	CHECK("an abstract socket bound", fd >= 0);
	setenv("NOTIFY_SOCKET", abstract, 1);
	CHECK_INT("abstract: sent", notify_send("STATUS=inbox ok"), 0);
	got(fd, "STATUS=inbox ok", "abstract: arrives");
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_INT("neither a path nor abstract: ignored", notify_send("READY=1"), 1);
	setenv("NOTIFY_SOCKET", "/nonexistent/relay.sock", 1);
	CHECK_INT("nobody listening: failed", notify_send("READY=1"), -1);
	return check_done();
}
