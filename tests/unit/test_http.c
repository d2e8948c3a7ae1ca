/* test_http.c: the parts of http.c that need no server: URL encoding, the
 * rules on base URLs (https, or http on loopback only), and the shape of a
 * transport error (a closed local port), and whether a failed request may
 * have reached the server (a local port that takes the connection, and the
 * request, but never answers). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"

static void check_encode(const char *name, const char *in, const char *want)
{
	char *got = http_urlencode(in);

	CHECK_STR(name, got, want);
	free(got);
}

/* http_open's verdict on a base URL: 0 accepted, -1 refused. */
static int opens(const char *url, char *err, size_t errlen)
{
	struct http_settings s = { 0 };
	struct http *h = NULL;
	int r;

	s.base_url = url;
	s.username = "AC0000";
	s.password = "s3cret-token";
	err[0] = '\0';
	r = http_open(&s, &h, err, errlen);
	CHECK("open: handle only on success", (r == 0) == (h != NULL));
	http_close(h);
	return r;
}

static void test_urlencode(void)
{
	check_encode("encode: empty", "", "");
	check_encode("encode: NULL", NULL, "");
	check_encode("encode: unreserved kept", "AZaz09-._~", "AZaz09-._~");
	check_encode("encode: plus of E.164", "+447700900123", "%2B447700900123");
	check_encode("encode: space and amp", "a b&c=d", "a%20b%26c%3Dd");
	check_encode("encode: DateSent>", "DateSent>", "DateSent%3E");
	check_encode("encode: utf-8 bytes", "caf\xc3\xa9 \xf0\x9f\x98\x80", "caf%C3%A9%20%F0%9F%98%80");
	check_encode("encode: slash, percent, newline", "/%\n", "%2F%25%0A");
	check_encode("encode: high and control bytes", "\x01\x7f\xff", "%01%7F%FF");
}

static void test_base_urls(void)
{
	char err[256];

	CHECK_INT("url: https", opens("https://api.twilio.com", err, sizeof(err)), 0);
	CHECK_INT("url: https with path and slash", opens("https://gw.example.org:8443/api/", err, sizeof(err)), 0);
	CHECK_INT("url: http localhost", opens("http://localhost:8080", err, sizeof(err)), 0);
	CHECK_INT("url: http LOCALHOST", opens("http://LOCALHOST:8080", err, sizeof(err)), 0);
	CHECK_INT("url: http 127.0.0.1", opens("http://127.0.0.1:9", err, sizeof(err)), 0);
	CHECK_INT("url: http 127.200.3.4", opens("http://127.200.3.4", err, sizeof(err)), 0);
	CHECK_INT("url: http [::1]", opens("http://[::1]:8080", err, sizeof(err)), 0);
	CHECK_INT("url: http v4-mapped loopback", opens("http://[::ffff:127.0.0.1]:80", err, sizeof(err)), 0);

	CHECK_INT("url: http public host refused", opens("http://api.twilio.com", err, sizeof(err)), -1);
	CHECK("url: refusal says https", strstr(err, "https") != NULL);
	CHECK("url: refusal names the host", strstr(err, "api.twilio.com") != NULL);
	CHECK_INT("url: http LAN address refused", opens("http://192.168.1.20:8080", err, sizeof(err)), -1);
	CHECK_INT("url: http 128.0.0.1 refused", opens("http://128.0.0.1", err, sizeof(err)), -1);
	CHECK_INT("url: http localhost.evil refused", opens("http://localhost.evil.example:80", err, sizeof(err)), -1);
	CHECK_INT("url: http 127.0.0.1.nip.io refused", opens("http://127.0.0.1.nip.io", err, sizeof(err)), -1);
	CHECK_INT("url: http [::2] refused", opens("http://[::2]:80", err, sizeof(err)), -1);
	CHECK_INT("url: ftp refused", opens("ftp://127.0.0.1", err, sizeof(err)), -1);
	CHECK_INT("url: no scheme refused", opens("api.twilio.com", err, sizeof(err)), -1);
	CHECK_INT("url: empty refused", opens("", err, sizeof(err)), -1);
	CHECK_INT("url: garbage refused", opens("https://", err, sizeof(err)), -1);

	CHECK_INT("url: credentials in URL refused", opens("https://AC1:tok3n@api.twilio.com", err, sizeof(err)), -1);
	CHECK("url: credential refusal does not echo them", strstr(err, "tok3n") == NULL);
	CHECK_INT("url: query refused", opens("https://api.twilio.com/?x=1", err, sizeof(err)), -1);
}

static void test_transport_error(void)
{
	struct http_settings s = { 0 };
	struct http_response resp;
	struct http *h = NULL;
	char err[256] = "";
	int r;

	s.base_url = "http://127.0.0.1:1"; /* nothing listens on port 1 */
	s.username = "AC0000";
	s.password = "s3cret-token";
	s.timeout = 5;
	CHECK_INT("closed port: open", http_open(&s, &h, err, sizeof(err)), 0);
	if (h == NULL)
		return;

	r = http_request(h, "GET", "/inbox", NULL, NULL, 0, &resp, err, sizeof(err));
	CHECK_INT("closed port: -1", r, -1);
	CHECK_INT("closed port: no status", resp.status, 0);
	CHECK("closed port: no body", resp.body == NULL);
	CHECK("closed port: says refused", strstr(err, "refused") != NULL);
	CHECK("closed port: names host", strstr(err, "127.0.0.1:1") != NULL);
	CHECK("closed port: no password", strstr(err, "s3cret") == NULL);
	CHECK_INT("closed port: the request never left", http_may_have_arrived(h), 0);
	http_response_free(&resp);

	r = http_request(h, "GET", "inbox", NULL, NULL, 0, &resp, err, sizeof(err));
	CHECK_INT("relative path refused", r, -1);
	http_response_free(&resp);

	r = http_request(h, "POST", "/message", "application/json", "{}", 2, &resp, err, sizeof(err));
	CHECK_INT("closed port: POST -1 too", r, -1);
	http_response_free(&resp);
	http_response_free(NULL);
	http_close(h);
	http_close(NULL);
}

/* A server that takes the request and never answers: the kernel completes
 * the connection from the listen backlog; nobody reads or writes. */
static void test_no_answer(void)
{
	struct http_settings s = { 0 };
	struct http_response resp;
	struct http *h = NULL;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	char url[64], err[256] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		CHECK("no answer: a local listening socket", 0);
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	s.base_url = url;
	s.timeout = 30;
	CHECK_INT("no answer: open", http_open(&s, &h, err, sizeof err), 0);
	if (h) {
		http_set_timeout(h, 1);
		CHECK_INT("no answer: the request fails",
		          http_request(h, "POST", "/message", "application/json", "{}", 2, &resp, err, sizeof err), -1);
		CHECK("no answer: within the shorter limit", strstr(err, "timed out (limit 1 s)") != NULL);
		CHECK_INT("no answer: the request may have arrived", http_may_have_arrived(h), 1);
		http_response_free(&resp);
		http_set_timeout(h, 0);
	}
	http_close(h);
	CHECK_INT("NULL: nothing arrived", http_may_have_arrived(NULL), 0);
	close(fd);
}

int main(void)
{
	test_urlencode();
	test_base_urls();
	test_transport_error();
	test_no_answer();
	return check_done();
}
