/* test_sms_android.c: "SMS Gateway for Android" local-server answers, parsed
 * exactly in the app's shapes (GET /inbox, POST /message, GET /message/{id}). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "sms.h"
#include "sms_android.h"

/* One page as the app lists it: newest first, ids repeating for identical texts. */
static const char inbox[] =
	"[\n"
	"  {\"id\": \"text:-1129870522\", \"type\": \"SMS\", \"sender\": \"+447700900123\", "
	"\"recipient\": \"+447700900001\", \"simNumber\": 1, \"contentPreview\": \"ok\", "
	"\"createdAt\": \"2024-03-05T10:00:02.250+00:00\"},\n"
	"  {\"id\": \"text:-1129870522\", \"type\": \"SMS\", \"sender\": \"+447700900123\", "
	"\"recipient\": \"+447700900001\", \"simNumber\": 1, \"contentPreview\": \"ok\", "
	"\"createdAt\": \"2024-03-05T10:00:01.000+00:00\"},\n"
	"  {\"id\": \"text:-1129870522\", \"type\": \"SMS\", \"sender\": \"+447700900456\", "
	"\"recipient\": null, \"simNumber\": null, \"contentPreview\": \"ok\", "
	"\"createdAt\": \"2024-03-05T10:00:01.000+00:00\"},\n"
	"  {\"id\": \"mms:77\", \"type\": \"MMS\", \"sender\": \"+447700900123\", \"recipient\": null, "
	"\"simNumber\": 1, \"contentPreview\": \"MMS notification\", \"createdAt\": \"2024-03-05T09:00:00Z\"},\n"
	"  {\"id\": \"text:42\", \"type\": \"SMS\", \"sender\": \"+447700900123\", "
	"\"recipient\": \"+447700900001\", \"simNumber\": 2, "
	"\"contentPreview\": \"I need to talk to someone \\ud83d\\ude1f\", \"createdAt\": \"2024-03-05T11:00:00+03:00\"}\n"
	"]";

static void test_inbox(void)
{
	struct sms_text *t = NULL;
	char **created = NULL, err[256];
	size_t n = 0, count = 0;

	CHECK_INT("inbox parses", android_parse_inbox(inbox, strlen(inbox), &t, &n, &created, &count, err, sizeof(err)), 0);
	CHECK_INT("inbox: all entries counted for paging", count, 5);
	CHECK_INT("inbox: SMS only", n, 4);
	if (n == 4) {
		CHECK_STR("id: id|sender|createdAt", t[0].id,
		          "text:-1129870522|+447700900123|2024-03-05T10:00:02.250+00:00");
		CHECK_STR("repeated id made unique by time", t[1].id,
		          "text:-1129870522|+447700900123|2024-03-05T10:00:01.000+00:00");
		CHECK_STR("repeated id made unique by sender", t[2].id,
		          "text:-1129870522|+447700900456|2024-03-05T10:00:01.000+00:00");
		CHECK("three distinct ids",
		      strcmp(t[0].id, t[1].id) && strcmp(t[1].id, t[2].id) && strcmp(t[0].id, t[2].id));
		CHECK_STR("from", t[0].from, "+447700900123");
		CHECK_STR("to", t[0].to, "+447700900001");
		CHECK("null recipient: NULL", t[2].to == NULL);
		CHECK_STR("body from contentPreview", t[3].body, "I need to talk to someone \xf0\x9f\x98\x9f");
		CHECK_INT("time with fraction", t[0].received_at, 1709632802LL);
		CHECK_INT("time with +03:00", t[3].received_at, 1709625600LL);
		CHECK("no ack handle", t[0].ack == NULL);
		CHECK_STR("createdAt kept raw", created[3], "2024-03-05T11:00:00+03:00");
	}
	sms_texts_free(t, n);
	android_strings_free(created, n);

	/* created may be NULL when the caller does not want it. */
	CHECK_INT("inbox without created", android_parse_inbox(inbox, strlen(inbox), &t, &n, NULL, &count, err, sizeof(err)),
	          0);
	sms_texts_free(t, n);
}

static void expect_inbox_error(const char *name, const char *json, size_t len)
{
	struct sms_text *t = (struct sms_text *)1;
	char **created = (char **)1, err[256] = "";
	size_t n = 9, count = 9;

	CHECK_INT(name, android_parse_inbox(json, len, &t, &n, &created, &count, err, sizeof(err)), -1);
	CHECK("error: nothing returned", t == NULL && n == 0 && created == NULL && count == 0);
	CHECK("error: has text", err[0] != '\0');
}

static void test_malformed(void)
{
	static const char *bad[] = {
		"",
		"[",
		"{}",
		"null",
		"\"x\"",
		"7",
		"{\"messages\": []}",
		"[] []",
		"[{\"id\": \"a\",]",
		"[{\"id\": \"a\"}",
		"\xff\xfe[]",
	};
	static const char odd[] =
		"[1, null, \"x\", [], {}, "
		"{\"id\": 5, \"type\": \"SMS\", \"sender\": \"+447700900123\", \"contentPreview\": \"numeric id\", "
		"\"createdAt\": \"2024-03-05T10:00:00Z\"}, "
		"{\"id\": 1e400, \"sender\": \"+447700900123\", \"createdAt\": \"2024-03-05T10:00:00Z\"}, "
		"{\"id\": \"a\", \"sender\": 447700900123, \"createdAt\": \"2024-03-05T10:00:00Z\"}, "
		"{\"id\": \"b\", \"sender\": \"+447700900123\"}, "
		"{\"id\": \"c\", \"sender\": \"+447700900123\", \"createdAt\": 1709632800000}, "
		"{\"id\": \"d\", \"sender\": \"+447700900123\", \"createdAt\": \"last tuesday\", "
		"\"contentPreview\": {\"text\": \"x\"}, \"recipient\": 5}, "
		"{\"id\": \"e\", \"type\": 3, \"sender\": \"+447700900123\", \"createdAt\": \"2024-03-05T10:00:00Z\", "
		"\"contentPreview\": \"a\\u0000b\"}, "
		"{\"id\": \"\", \"sender\": \"+447700900123\", \"createdAt\": \"2024-03-05T10:00:00Z\"}]";
	struct sms_text *t;
	char **created, err[256], *deep;
	size_t i, n, count, depth = 50000;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_inbox_error(bad[i], bad[i], strlen(bad[i]));
	expect_inbox_error("NULL", NULL, 0);
	deep = malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	expect_inbox_error("deep nesting", deep, 2 * depth);
	free(deep);

	CHECK_INT("empty array", android_parse_inbox("[]", 2, &t, &n, &created, &count, err, sizeof(err)), 0);
	CHECK_INT("empty array: none", n + count, 0);
	sms_texts_free(t, n);
	android_strings_free(created, n);

	CHECK_INT("odd entries parse", android_parse_inbox(odd, strlen(odd), &t, &n, &created, &count, err, sizeof(err)), 0);
	CHECK_INT("odd entries: counted", count, 13);
	CHECK_INT("odd entries: kept", n, 3);
	if (n == 3) {
		CHECK_STR("numeric id taken", t[0].id, "5|+447700900123|2024-03-05T10:00:00Z");
		CHECK_STR("object body: empty", t[1].body, "");
		CHECK("number recipient: NULL", t[1].to == NULL);
		CHECK_INT("unparsable time: 0", t[1].received_at, 0);
		CHECK_STR("wrong-type type kept, NUL dropped", t[2].body, "ab");
	}
	sms_texts_free(t, n);
	android_strings_free(created, n);
	android_strings_free(NULL, 4);
}

static void test_times(void)
{
	long long t = -1;

	CHECK_INT("iso Z", android_parse_time("2020-01-01T00:00:00Z", &t), 0);
	CHECK_INT("iso Z value", t, 1577836800LL);
	CHECK_INT("iso millis +00:00", android_parse_time("2020-01-01T00:00:00.999+00:00", &t), 0);
	CHECK_INT("iso millis value", t, 1577836800LL);
	CHECK_INT("iso +0300", android_parse_time("2020-01-01T03:00:00+0300", &t), 0);
	CHECK_INT("iso +0300 value", t, 1577836800LL);
	CHECK_INT("iso -05", android_parse_time("2019-12-31T19:00:00-05", &t), 0);
	CHECK_INT("iso -05 value", t, 1577836800LL);
	CHECK_INT("iso no zone = UTC", android_parse_time("2020-01-01T00:00:00", &t), 0);
	CHECK_INT("iso no zone value", t, 1577836800LL);
	CHECK_INT("iso no seconds", android_parse_time("2020-01-01T00:00Z", &t), 0);
	CHECK_INT("iso space", android_parse_time("2020-01-01 00:00:00Z", &t), 0);

	CHECK_INT("iso NULL", android_parse_time(NULL, &t), -1);
	CHECK_INT("iso empty", android_parse_time("", &t), -1);
	CHECK_INT("iso date only", android_parse_time("2020-01-01", &t), -1);
	CHECK_INT("iso 13th month", android_parse_time("2020-13-01T00:00:00Z", &t), -1);
	CHECK_INT("iso 30 Feb", android_parse_time("2020-02-30T00:00:00Z", &t), -1);
	CHECK_INT("iso bad fraction", android_parse_time("2020-01-01T00:00:00.Z", &t), -1);
	CHECK_INT("iso trailing", android_parse_time("2020-01-01T00:00:00Zx", &t), -1);
	CHECK_INT("iso zone 25h", android_parse_time("2020-01-01T00:00:00+25:00", &t), -1);
	CHECK_INT("iso RFC 2822 refused", android_parse_time("Wed, 01 Jan 2020 00:00:00 +0000", &t), -1);
	CHECK_INT("iso millis epoch refused", android_parse_time("1577836800000", &t), -1);
}

static void test_messages(void)
{
	static const char accepted[] =
		"{\"id\": \"PyDmBQZZXYmyxMwED8Fzy\", \"state\": \"Pending\", \"recipients\": "
		"[{\"phoneNumber\": \"+447700900123\", \"state\": \"Pending\", \"error\": null}], "
		"\"isHashed\": false, \"isEncrypted\": false, \"states\": {\"Pending\": \"2024-03-05T10:00:00.000+00:00\"}}";
	static const char failed[] =
		"{\"id\": \"PyDmBQZZXYmyxMwED8Fzy\", \"state\": \"Failed\", \"recipients\": "
		"[{\"phoneNumber\": \"+447700900123\", \"state\": \"Failed\", \"error\": \"RESULT_ERROR_GENERIC_FAILURE\"}]}";
	static const char recipient_only[] =
		"{\"id\": \"x1\", \"recipients\": [{\"phoneNumber\": \"+447700900123\", \"state\": \"Delivered\"}]}";
	enum sms_delivery d;
	char err[256], *id = NULL;

	CHECK_INT("accepted parses", android_parse_message(accepted, strlen(accepted), &id, &d, err, sizeof(err)), 0);
	CHECK_STR("accepted id", id, "PyDmBQZZXYmyxMwED8Fzy");
	CHECK_INT("accepted: queued", d, SMS_DELIVERY_QUEUED);
	free(id);
	CHECK_INT("failed parses", android_parse_message(failed, strlen(failed), &id, &d, err, sizeof(err)), 0);
	CHECK_INT("failed: failed", d, SMS_DELIVERY_FAILED);
	free(id);
	CHECK_INT("recipient state",
	          android_parse_message(recipient_only, strlen(recipient_only), &id, &d, err, sizeof(err)), 0);
	CHECK_INT("recipient state: delivered", d, SMS_DELIVERY_DELIVERED);
	free(id);
	CHECK_INT("no delivery wanted", android_parse_message(accepted, strlen(accepted), &id, NULL, err, sizeof(err)), 0);
	free(id);

	CHECK_INT("no id", android_parse_message("{\"state\": \"Sent\"}", 17, &id, &d, err, sizeof(err)), -1);
	CHECK("no id: NULL", id == NULL);
	CHECK_INT("array", android_parse_message("[]", 2, &id, &d, err, sizeof(err)), -1);
	CHECK_INT("not JSON", android_parse_message("Accepted", 8, &id, &d, err, sizeof(err)), -1);
	CHECK_INT("recipients not array",
	          android_parse_message("{\"id\": \"a\", \"recipients\": 3}", 28, &id, &d, err, sizeof(err)), 0);
	CHECK_INT("recipients not array: unknown", d, SMS_DELIVERY_UNKNOWN);
	free(id);
	CHECK_INT("recipients of wrong things",
	          android_parse_message("{\"id\": \"a\", \"recipients\": [7]}", 30, &id, &d, err, sizeof(err)), 0);
	CHECK_INT("recipients of wrong things: unknown", d, SMS_DELIVERY_UNKNOWN);
	free(id);

	CHECK_INT("map Pending", android_delivery("Pending"), SMS_DELIVERY_QUEUED);
	CHECK_INT("map Processed", android_delivery("Processed"), SMS_DELIVERY_QUEUED);
	CHECK_INT("map Sent", android_delivery("Sent"), SMS_DELIVERY_SENT);
	CHECK_INT("map Delivered", android_delivery("Delivered"), SMS_DELIVERY_DELIVERED);
	CHECK_INT("map Failed", android_delivery("Failed"), SMS_DELIVERY_FAILED);
	CHECK_INT("map other", android_delivery("Lost"), SMS_DELIVERY_UNKNOWN);
	CHECK_INT("map NULL", android_delivery(NULL), SMS_DELIVERY_UNKNOWN);
}

static void test_send_body(void)
{
	char *body = android_send_body("+447700900123", "line 1\n\"quoted\" / caf\xc3\xa9");
	struct json_object *root = json_tokener_parse(body), *v, *m;

	CHECK("send body is JSON", root != NULL);
	CHECK("textMessage.text", json_object_object_get_ex(root, "textMessage", &m) &&
	                                  json_object_object_get_ex(m, "text", &v) &&
	                                  strcmp(json_object_get_string(v), "line 1\n\"quoted\" / caf\xc3\xa9") == 0);
	CHECK("phoneNumbers", json_object_object_get_ex(root, "phoneNumbers", &v) && json_object_array_length(v) == 1 &&
	                              strcmp(json_object_get_string(json_object_array_get_idx(v, 0)), "+447700900123") == 0);
	CHECK("withDeliveryReport", json_object_object_get_ex(root, "withDeliveryReport", &v) && json_object_get_boolean(v));
	CHECK("slash not escaped", strstr(body, "\\/") == NULL);
	json_object_put(root);
	free(body);
}

int main(void)
{
	test_inbox();
	test_malformed();
	test_times();
	test_messages();
	test_send_body();
	return check_done();
}
