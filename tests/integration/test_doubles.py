"""test_doubles.py: the SMS gateway doubles (tests/doubles/sms_gateway.py)
spoken to over real HTTP with urllib, the way the relay will: Basic auth is
required; every list pages to the end (Twilio next_page_uri, Esendex
startindex, Android offset + X-Total-Count); the shapes carry the providers'
field names and types; a send shows in .sent and moves through its states;
each fault kind behaves (429 body and Retry-After, drop gives a short read,
stall times out on the client); HTTPS with a throwaway certificate; the CLI
with its control endpoints."""

import base64
import email.utils
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "doubles"))
from lib import check, done  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

NS = "{http://api.esendex.com/ns/}"
OURS = "+447700900000"
YOUNG = ["+4477009001%02d" % i for i in range(10)]


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def xml(self):
        return ET.fromstring(self.body)


def call(gw, method, path, data=None, ctype=None, auth=True, user=None, password=None,
         timeout=5, context=None, base=None):
    """One request; HTTP errors come back as a Reply too."""
    req = urllib.request.Request((base or gw.url) + path, data=data, method=method)
    if auth:
        cred = "%s:%s" % (user or gw.username, password or gw.password)
        req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return Reply(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read())


def raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test wants to see which
        return e
    return None


def form(**kw):
    return urllib.parse.urlencode(kw).encode()


# -- Twilio -----------------------------------------------------------------

def test_twilio():
    with Gateway("twilio", number=OURS) as gw:
        base = "/2010-04-01/Accounts/%s" % gw.account
        r = call(gw, "GET", base + "/Messages.json", auth=False)
        body = r.json() if r.body else {}
        check("twilio: no credentials -> 401", r.status == 401, r.status)
        check("twilio: 401 carries code 20003 and the error fields",
              body.get("code") == 20003 and body.get("status") == 401
              and "more_info" in body and "message" in body, body)
        check("twilio: 401 asks for Basic", "Basic" in (r.headers.get("WWW-Authenticate") or ""))
        r = call(gw, "GET", base + "/Messages.json", password="wrong")
        check("twilio: wrong token -> 401", r.status == 401, r.status)
        check("twilio: request log records auth failure",
              gw.requests[-1].auth_ok is False and gw.requests[-1].method == "GET")

        t0 = 1795000000  # Nov 2026
        old = gw.add_inbound(YOUNG[9], "from long ago", when=t0 - 400 * 86400)
        sids = [gw.add_inbound(YOUNG[i], "text %d" % i, when=t0 + i * 60) for i in range(5)]
        other = gw.add_outbound(OURS, "sent from the account to our own number", sender="+447700900999",
                                when=t0 + 10)

        # Page through with next_page_uri exactly as given, like the relay must.
        uri = base + "/Messages.json?" + urllib.parse.urlencode(
            [("To", OURS), ("DateSent>", "2026-01-01"), ("PageSize", "100")])
        check("twilio: DateSent> is sent literally as DateSent%3E", "DateSent%3E=2026-01-01" in uri)
        seen, pages, envelopes = [], 0, []
        while uri and pages < 20:
            r = call(gw, "GET", uri)
            if r.status != 200:
                break
            env = r.json()
            envelopes.append(env)
            seen.extend(env["messages"])
            uri = env["next_page_uri"]
            pages += 1
        check("twilio: list pages until next_page_uri is null", uri is None and pages == 3, (uri, pages))
        check("twilio: the double logged the literal DateSent> parameter",
              any(rq.query.get("DateSent>") == "2026-01-01" for rq in gw.requests))
        env = envelopes[0]
        keys = {"messages", "page", "page_size", "first_page_uri", "next_page_uri",
                "previous_page_uri", "uri"}
        check("twilio: envelope fields", keys <= set(env), sorted(env))
        check("twilio: page_size honours the double's cap", env["page_size"] == 2, env["page_size"])
        check("twilio: next_page_uri is relative and keeps the filter",
              envelopes[0]["next_page_uri"].startswith("/2010-04-01/Accounts/")
              and "DateSent%3E=2026-01-01" in envelopes[0]["next_page_uri"]
              and "PageToken=" in envelopes[0]["next_page_uri"], envelopes[0]["next_page_uri"])
        check("twilio: previous_page_uri null on the first page, set later",
              envelopes[0]["previous_page_uri"] is None and envelopes[1]["previous_page_uri"])
        got = [m["sid"] for m in seen]
        check("twilio: every message once, the old one filtered out by DateSent>",
              sorted(got) == sorted(sids + [other]) and old not in got, got)
        dates = [email.utils.parsedate_to_datetime(m["date_sent"]) for m in seen]
        check("twilio: newest first", dates == sorted(dates, reverse=True))
        inbound = [m for m in seen if m["direction"] == "inbound"]
        check("twilio: the relay must filter direction (an outbound-api is listed)",
              len(inbound) == 5 and any(m["direction"] == "outbound-api" for m in seen))
        m = seen[0]
        fields = {"sid", "account_sid", "from", "to", "body", "direction", "status", "num_segments",
                  "date_created", "date_sent", "date_updated", "error_code", "error_message", "uri"}
        check("twilio: message fields", fields <= set(m), sorted(m))
        check("twilio: sid is SM + 32 hex", all(re.match(r"^SM[0-9a-f]{32}$", x["sid"]) for x in seen))
        check("twilio: num_segments is a string", all(isinstance(x["num_segments"], str) for x in seen))
        check("twilio: dates are RFC 2822 GMT",
              re.match(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$",
                       m["date_created"]) is not None, m["date_created"])
        check("twilio: message uri ends .json", m["uri"].endswith(m["sid"] + ".json"), m["uri"])

        # Send, status, delete.
        r = call(gw, "POST", base + "/Messages.json",
                 form(To=YOUNG[1], From=OURS, Body="Thanks \u2014 an adviser will reply",
                      StatusCallback="https://relay.example/cb"),
                 "application/x-www-form-urlencoded")
        msg = r.json() if r.status == 201 else {}
        check("twilio: send -> 201 queued", r.status == 201 and msg.get("status") == "queued",
              (r.status, r.body[:200]))
        check("twilio: send appears in .sent",
              gw.sent and gw.sent[-1]["to"] == YOUNG[1] and gw.sent[-1]["from"] == OURS
              and gw.sent[-1]["body"] == "Thanks \u2014 an adviser will reply"
              and gw.sent[-1]["auth_user"] == gw.account
              and gw.sent[-1]["status_callback"] == "https://relay.example/cb"
              and "Body=" in gw.sent[-1]["raw"], gw.sent[-1:])
        sid = msg.get("sid", "")
        r = call(gw, "GET", base + "/Messages/%s.json" % sid)
        check("twilio: status queued", r.status == 200 and r.json()["status"] == "queued")
        gw.set_status(sid, "delivered")
        r = call(gw, "GET", base + "/Messages/%s.json" % sid)
        check("twilio: status moves to delivered with a date_sent",
              r.json()["status"] == "delivered" and r.json()["date_sent"] is not None)
        gw.set_status(sid, "undelivered", error=30005)
        r = call(gw, "GET", base + "/Messages/%s.json" % sid)
        check("twilio: undelivered carries error_code", r.json()["error_code"] == 30005, r.json())
        r = call(gw, "DELETE", base + "/Messages/%s.json" % sids[0])
        check("twilio: DELETE -> 204", r.status == 204 and r.body == b"", r.status)
        r = call(gw, "GET", base + "/Messages/%s.json" % sids[0])
        check("twilio: deleted message -> 404 code 20404",
              r.status == 404 and r.json()["code"] == 20404, r.body[:200])

        gw.opt_out(YOUNG[2])
        n = len(gw.sent)
        r = call(gw, "POST", base + "/Messages.json", form(To=YOUNG[2], From=OURS, Body="hello"),
                 "application/x-www-form-urlencoded")
        check("twilio: opted-out recipient -> 400 code 21610",
              r.status == 400 and r.json()["code"] == 21610 and r.json()["status"] == 400, r.body[:200])
        check("twilio: refused send not in .sent", len(gw.sent) == n)
        r = call(gw, "POST", base + "/Messages.json", form(To=YOUNG[3], From=OURS),
                 "application/x-www-form-urlencoded")
        check("twilio: missing Body -> 400 code 21602", r.status == 400 and r.json()["code"] == 21602)

        # Faults.
        gw.fault("429", count=2, retry_after=7)
        r1 = call(gw, "GET", base + "/Messages.json")
        r2 = call(gw, "GET", base + "/Messages.json")
        r3 = call(gw, "GET", base + "/Messages.json")
        check("twilio: 429 for the next two requests only",
              (r1.status, r2.status, r3.status) == (429, 429, 200), (r1.status, r2.status, r3.status))
        check("twilio: 429 body is code 20429 with status",
              r1.json().get("code") == 20429 and r1.json().get("status") == 429, r1.body)
        check("twilio: 429 has Retry-After", r1.headers.get("Retry-After") == "7")
        gw.fault("500", path_prefix="/elsewhere")
        r = call(gw, "GET", base + "/Messages.json")
        check("twilio: a fault for another path prefix leaves this one alone", r.status == 200)
        gw._faults.clear()
        for kind, code in (("401", 20003), ("403", 20403), ("500", 20500), ("503", 20503)):
            gw.fault(kind)
            r = call(gw, "GET", base + "/Messages.json")
            check("twilio: fault %s -> status and code %d" % (kind, code),
                  r.status == int(kind) and r.json().get("code") == code, (r.status, r.body[:120]))
        gw.fault("slow", seconds=0.6)
        t = time.monotonic()
        r = call(gw, "GET", base + "/Messages.json")
        check("twilio: slow answers late but answers", r.status == 200 and time.monotonic() - t >= 0.55)
        gw.fault("drop", path_prefix=base + "/Messages.json")
        e = raised(lambda: call(gw, "GET", base + "/Messages.json"))
        check("twilio: drop gives an incomplete read",
              isinstance(e, (http.client.IncompleteRead, ConnectionError)), repr(e))
        n = len(gw.sent)
        gw.fault("drop")
        e = raised(lambda: call(gw, "POST", base + "/Messages.json",
                                form(To=YOUNG[4], From=OURS, Body="dropped answer"),
                                "application/x-www-form-urlencoded"))
        check("twilio: a dropped send was still done (resending would duplicate)",
              e is not None and len(gw.sent) == n + 1)
        gw.fault("stall")
        t = time.monotonic()
        e = raised(lambda: call(gw, "GET", base + "/Messages.json", timeout=1))
        check("twilio: stall times out on the client side",
              isinstance(e, (socket.timeout, TimeoutError))
              or (isinstance(e, urllib.error.URLError) and isinstance(e.reason, (socket.timeout, TimeoutError))),
              repr(e))
        check("twilio: the stall held for the client's timeout", time.monotonic() - t >= 0.9)
        r = call(gw, "GET", base + "/Messages.json")
        check("twilio: serving again after a stall", r.status == 200)
        # late: the send is done at once, the answer comes after the client gave up
        n = len(gw.sent)
        gw.fault("late", seconds=1.5, method="POST")
        r = call(gw, "GET", base + "/Messages.json")
        check("twilio: a POST-only fault leaves a GET alone", r.status == 200)
        e = raised(lambda: call(gw, "POST", base + "/Messages.json",
                                form(To=YOUNG[5], From=OURS, Body="late answer"),
                                "application/x-www-form-urlencoded", timeout=0.5))
        check("twilio: late: the client times out, the send is done", e is not None and len(gw.sent) == n + 1,
              repr(e))
        r = call(gw, "GET", base + "/Messages.json?To=%2B" + YOUNG[5].lstrip("+") + "&PageSize=5")
        got = r.json()["messages"]
        check("twilio: the late send is in the list by To, outbound-api, queued, dated by date_created",
              len(got) == 1 and got[0]["direction"] == "outbound-api" and got[0]["body"] == "late answer"
              and got[0]["status"] == "queued" and got[0]["date_sent"] is None and got[0]["date_created"], got)
        r = call(gw, "GET", base + "/Messages.json?To=%2B" + YOUNG[5].lstrip("+") + "&DateSent%3E=2000-01-01")
        check("twilio: a queued text matches no DateSent filter", r.json()["messages"] == [], r.json()["messages"])
        gw.fault("long", method="POST")
        r = call(gw, "POST", base + "/Messages.json", form(To=YOUNG[6], From=OURS, Body="long answer"),
                 "application/x-www-form-urlencoded")
        check("twilio: long: the answer is the message and 5 MiB of white space, still JSON",
              r.status == 201 and len(r.body) > 5 * 1024 * 1024 and r.json()["body"] == "long answer")
        t = time.monotonic()
    check("twilio: stop() releases a stalled request promptly", time.monotonic() - t < 3)


# -- Esendex ----------------------------------------------------------------

def test_esendex():
    with Gateway("esendex", number=OURS) as gw:
        r = call(gw, "GET", "/v1.0/inbox/messages", auth=False)
        check("esendex: no credentials -> 401", r.status == 401, r.status)
        root = r.xml()
        check("esendex: 401 body is namespaced XML",
              root.tag == NS + "response" and root.find(NS + "errors/" + NS + "error") is not None, r.body)
        check("esendex: wrong password -> 401",
              call(gw, "GET", "/v1.0/inbox/messages", password="nope").status == 401)

        long_text = "Hi, I need to talk to someone about what happened at home last night"
        ids = [gw.add_inbound(YOUNG[i], long_text if i == 0 else "msg %d" % i, when=1795000000 + i)
               for i in range(5)]
        start, total, seen, pages = 0, None, [], 0
        while pages < 10:
            r = call(gw, "GET", "/v1.0/inbox/messages?startindex=%d&count=100" % start)
            root = r.xml()
            check_root = root.tag == NS + "messageheaders"
            total = int(root.get("totalcount"))
            got = root.findall(NS + "messageheader")
            if pages == 0:
                check("esendex: <messageheaders startindex count totalcount> in the ns",
                      check_root and root.get("startindex") == "0" and root.get("count") == "2"
                      and total == 5, root.attrib)
            seen.extend(got)
            pages += 1
            start += len(got)
            if not got or start >= total:
                break
        seen_ids = [h.get("id") for h in seen]
        check("esendex: paging by startindex reaches every message once",
              sorted(seen_ids) == sorted(ids) and pages == 3, (seen_ids, pages))
        h = next(x for x in seen if x.get("id") == ids[0])
        names = ["reference", "status", "receivedat", "type", "to/" + NS + "phonenumber",
                 "from/" + NS + "phonenumber", "summary", "body", "direction", "parts", "readat", "readby"]
        missing = [n for n in names if h.find(NS + n) is None]
        check("esendex: messageheader elements", not missing and h.get("uri"), missing)
        check("esendex: direction Inbound", h.findtext(NS + "direction") == "Inbound")
        check("esendex: from phonenumber is the young person's (no +)",
              h.findtext(NS + "from/" + NS + "phonenumber") == YOUNG[0].lstrip("+"))
        check("esendex: receivedat is ISO with ms and Z",
              re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", h.findtext(NS + "receivedat") or ""))
        summary = h.findtext(NS + "summary")
        check("esendex: summary is truncated", summary and len(summary) < len(long_text)
              and long_text.startswith(summary), summary)
        body_uri = h.find(NS + "body").get("uri")
        check("esendex: body uri points at messageheaders/{id}/body",
              body_uri.endswith("/v1.0/messageheaders/%s/body" % ids[0]), body_uri)
        r = call(gw, "GET", "/v1.0/messageheaders/%s/body" % ids[0])
        b = r.xml()
        check("esendex: full text from the body resource",
              b.tag == NS + "messagebody" and b.findtext(NS + "bodytext") == long_text
              and b.findtext(NS + "characterset") == "GSM", r.body)
        r = call(gw, "GET", "/v1.0/inbox/%s/messages?startIndex=0&count=1" % gw.account)
        check("esendex: account inbox path (and startIndex spelled either way)",
              r.status == 200 and r.xml().get("count") == "1")
        r = call(gw, "GET", "/v1.0/inbox/EX9999999/messages")
        check("esendex: another account's inbox -> 403", r.status == 403, r.status)

        r = call(gw, "PUT", "/v1.0/inbox/messages/%s?action=read" % ids[1], b"")
        check("esendex: mark read -> 200", r.status == 200, r.status)
        r = call(gw, "GET", "/v1.0/messageheaders/%s" % ids[1])
        check("esendex: readat and readby set once read",
              not r.xml().findtext(NS + "readat").startswith("0001")
              and r.xml().findtext(NS + "readby") == gw.username, r.body)
        r = call(gw, "DELETE", "/v1.0/inbox/messages/%s" % ids[2])
        check("esendex: delete -> 200", r.status == 200, r.status)
        r = call(gw, "GET", "/v1.0/inbox/messages?startindex=0&count=2")
        check("esendex: deleted message leaves the inbox", r.xml().get("totalcount") == "4")
        check("esendex: acks record read and delete",
              gw.acks == [("read", ids[1]), ("delete", ids[2])], gw.acks)
        check("esendex: deleting twice -> 404",
              call(gw, "DELETE", "/v1.0/inbox/messages/%s" % ids[2]).status == 404)

        # Send: the default GSM character set mangles; Auto does not.
        text = "Caf\u00e9 \u201cnow\u201d \u2014 ok \U0001F642"

        def dispatch(to, charset):
            cs = "<characterset>%s</characterset>" % charset if charset else ""
            xml = ('<?xml version="1.0" encoding="utf-8"?><messages xmlns="http://api.esendex.com/ns/">'
                   "<accountreference>%s</accountreference><message><to>%s</to><body>%s</body>%s"
                   "</message></messages>" % (gw.account, to, text, cs))
            return call(gw, "POST", "/v1.0/messagedispatcher", xml.encode("utf-8"), "application/xml")
        r = dispatch("447700900101", None)
        root = r.xml()
        mh = root.find(NS + "messageheader")
        check("esendex: dispatch -> <messageheaders batchid><messageheader id uri/>",
              r.status == 200 and root.get("batchid") and mh is not None and mh.get("uri"), r.body)
        gsm_id = mh.get("id")
        check("esendex: .sent records characterset as received (absent)",
              gw.sent[-1]["characterset"] is None and gw.sent[-1]["body"] == text
              and gw.sent[-1]["to"] == "447700900101")
        b = call(gw, "GET", "/v1.0/messageheaders/%s/body" % gsm_id).xml()
        check("esendex: GSM default mangles non-GSM text",
              b.findtext(NS + "bodytext") == "Caf\u00e9 ?now? ? ok ?" and b.findtext(NS + "characterset") == "GSM",
              b.findtext(NS + "bodytext"))
        r = dispatch("447700900102", "Auto")
        auto_id = r.xml().find(NS + "messageheader").get("id")
        b = call(gw, "GET", "/v1.0/messageheaders/%s/body" % auto_id).xml()
        check("esendex: Auto keeps the text as Unicode",
              b.findtext(NS + "bodytext") == text and b.findtext(NS + "characterset") == "Unicode"
              and gw.sent[-1]["characterset"] == "Auto")
        h = call(gw, "GET", "/v1.0/messageheaders/%s" % auto_id).xml()
        check("esendex: status Submitted, direction Outbound",
              h.findtext(NS + "status") == "Submitted" and h.findtext(NS + "direction") == "Outbound")
        gw.set_status(auto_id, "Delivered")
        h = call(gw, "GET", "/v1.0/messageheaders/%s" % auto_id).xml()
        check("esendex: Delivered with deliveredat",
              h.findtext(NS + "status") == "Delivered" and h.findtext(NS + "deliveredat"))
        gw.set_status(gsm_id, "Failed", error="Network unreachable")
        h = call(gw, "GET", "/v1.0/messageheaders/%s" % gsm_id).xml()
        check("esendex: Failed with failurereason",
              h.findtext(NS + "status") == "Failed"
              and h.findtext(NS + "failurereason/" + NS + "description") == "Network unreachable")
        gw.opt_out("+447700900103")
        r = dispatch("447700900103", "Auto")
        oid = r.xml().find(NS + "messageheader").get("id")
        h = call(gw, "GET", "/v1.0/messageheaders/%s" % oid).xml()
        check("esendex: opted-out recipient accepted, then Failed",
              r.status == 200 and h.findtext(NS + "status") == "Failed")
        bad = ('<messages><accountreference>EX9999999</accountreference><message><to>447700900101</to>'
               '<body>x</body></message></messages>')
        r = call(gw, "POST", "/v1.0/messagedispatcher", bad.encode(), "application/xml")
        check("esendex: wrong accountreference -> 403", r.status == 403, r.status)
        r = call(gw, "POST", "/v1.0/messagedispatcher", b"<messages><oops", "application/xml")
        check("esendex: malformed XML -> 400", r.status == 400, r.status)

        gw.fault("429", retry_after=3)
        r = call(gw, "GET", "/v1.0/inbox/messages")
        check("esendex: 429 with Retry-After and an XML error",
              r.status == 429 and r.headers.get("Retry-After") == "3" and r.xml().tag == NS + "response")
        gw.fault("503")
        check("esendex: 503 fault", call(gw, "GET", "/v1.0/inbox/messages").status == 503)
        gw.fault("drop", path_prefix="/v1.0/inbox")
        e = raised(lambda: call(gw, "GET", "/v1.0/inbox/messages"))
        check("esendex: drop gives an incomplete read",
              isinstance(e, (http.client.IncompleteRead, ConnectionError)), repr(e))
        gw.fault("stall")
        e = raised(lambda: call(gw, "GET", "/v1.0/inbox/messages", timeout=1))
        check("esendex: stall times out on the client", e is not None, repr(e))

        # the sent messages: the inbox's envelope, Outbound headers, newest first
        r = call(gw, "GET", "/v1.0/messageheaders?startindex=0&count=50")
        root = r.xml()
        heads = root.findall(NS + "messageheader")
        check("esendex: sent list in <messageheaders startindex count totalcount>",
              r.status == 200 and root.tag == NS + "messageheaders" and root.get("startindex") == "0"
              and root.get("totalcount") is not None and int(root.get("count")) == len(heads), r.body[:300])
        check("esendex: sent list holds only Outbound headers with submittedat, to, summary and body",
              heads and all(h.findtext(NS + "direction") == "Outbound" and h.findtext(NS + "submittedat")
                            and h.find(NS + "to/" + NS + "phonenumber") is not None
                            and h.find(NS + "summary") is not None and h.find(NS + "body") is not None
                            for h in heads), r.body[:300])
        times = [h.findtext(NS + "submittedat") for h in heads]
        check("esendex: sent list newest first", times == sorted(times, reverse=True), times)


# -- SMS Gateway for Android ----------------------------------------------------

def test_android():
    with Gateway("android", number=OURS, utc_offset_minutes=60) as gw:
        r = call(gw, "GET", "/inbox", auth=False)
        check("android: no credentials -> 401 with the app's realm",
              r.status == 401 and 'realm="Access to SMS Gateway"' in (r.headers.get("WWW-Authenticate") or ""))
        check("android: wrong password -> 401", call(gw, "GET", "/inbox", password="x").status == 401)

        t0 = 1795000000
        ids = [gw.add_inbound(YOUNG[i], "text %d" % i, when=t0 + i) for i in range(4)]
        dup = gw.add_inbound(YOUNG[5], "yes", when=t0 + 10, id="text:12345")
        dup2 = gw.add_inbound(YOUNG[5], "yes", when=t0 + 20, id="text:12345")
        check("android: a repeated id is kept on purpose", dup == dup2 == "text:12345")
        offset, total, seen, pages = 0, None, [], 0
        while pages < 10:
            r = call(gw, "GET", "/inbox?type=SMS&limit=50&offset=%d" % offset)
            if r.status != 200:
                break
            total = int(r.headers.get("X-Total-Count"))
            items = r.json()
            seen.extend(items)
            pages += 1
            offset += len(items)
            if not items or offset >= total:
                break
        check("android: offset paging with X-Total-Count reaches all six",
              total == 6 and len(seen) == 6 and pages == 3, (total, len(seen), pages))
        check("android: ids repeat, (id, sender, createdAt) does not",
              [x["id"] for x in seen].count("text:12345") == 2
              and len({(x["id"], x["sender"], x["createdAt"]) for x in seen}) == 6)
        x = seen[-1]
        check("android: inbox item fields",
              set(x) == {"id", "type", "sender", "recipient", "simNumber", "contentPreview", "createdAt"}, x)
        check("android: types", x["type"] == "SMS" and isinstance(x["simNumber"], int)
              and x["recipient"] == OURS and isinstance(x["contentPreview"], str))
        check("android: createdAt in the phone's zone with ms",
              re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+01:00$", x["createdAt"]), x["createdAt"])
        check("android: newest first", seen[0]["id"] == "text:12345" and seen[-1]["id"] == ids[0])
        r = call(gw, "GET", "/inbox?from=2026-11-18T12:06:45%2B01:00&to=2026-11-18T11:07:00Z")
        check("android: from/to filter by createdAt", r.status == 200
              and r.headers.get("X-Total-Count") == "2", (r.status, r.headers.get("X-Total-Count"), r.body[:200]))
        r = call(gw, "GET", "/inbox?from=yesterday")
        check("android: bad from -> 400 {message}",
              r.status == 400 and r.json() == {"message": "Invalid from datetime"}, r.body)
        check("android: limit 0 -> 400", call(gw, "GET", "/inbox?limit=0").status == 400)

        payload = {"textMessage": {"text": "An adviser will text you back"},
                   "phoneNumbers": [YOUNG[1]], "withDeliveryReport": True}
        r = call(gw, "POST", "/message", json.dumps(payload).encode(), "application/json")
        out = r.json() if r.status == 202 else {}
        check("android: send -> 202 Pending",
              r.status == 202 and out.get("state") == "Pending" and out.get("id")
              and out.get("recipients") == [{"phoneNumber": YOUNG[1], "state": "Pending", "error": None}],
              (r.status, r.body[:300]))
        check("android: send appears in .sent",
              gw.sent[-1]["to"] == YOUNG[1] and gw.sent[-1]["body"] == payload["textMessage"]["text"]
              and gw.sent[-1]["with_delivery_report"] is True and gw.sent[-1]["auth_user"] == "sms")
        mid = out.get("id", "none")
        gw.set_status(mid, "Delivered")
        r = call(gw, "GET", "/message/%s" % mid)
        st = r.json()
        check("android: state moves to Delivered",
              st["state"] == "Delivered" and st["recipients"][0]["state"] == "Delivered"
              and "Pending" in st["states"] and "Delivered" in st["states"], st)
        r = call(gw, "POST", "/3rdparty/v1/messages", json.dumps(payload).encode(), "application/json")
        check("android: the cloud path works too", r.status == 202)
        check("android: unknown message -> 404", call(gw, "GET", "/message/nope").status == 404)
        bad = dict(payload, phoneNumbers=[])
        r = call(gw, "POST", "/message", json.dumps(bad).encode(), "application/json")
        check("android: empty phoneNumbers -> 400 {message}",
              r.status == 400 and r.json() == {"message": "phoneNumbers is empty"}, r.body)

        gw.fault("429")
        r = call(gw, "GET", "/inbox")
        check("android: 429 fault with Retry-After",
              r.status == 429 and r.headers.get("Retry-After") == "1" and "message" in r.json())
        gw.fault("500")
        check("android: 500 fault", call(gw, "GET", "/inbox").status == 500)
        gw.fault("drop")
        e = raised(lambda: call(gw, "GET", "/inbox"))
        check("android: drop gives an incomplete read",
              isinstance(e, (http.client.IncompleteRead, ConnectionError)), repr(e))

        # the messages the phone was asked to send (MessagesRoutes.kt GET /messages)
        r = call(gw, "GET", "/messages?limit=1&offset=0&from=2000-01-01T00:00:00Z")
        items = r.json()
        check("android: GET /messages pages with X-Total-Count",
              r.status == 200 and len(items) == 1 and int(r.headers.get("X-Total-Count")) >= 2, r.body[:300])
        if items:
            m = items[0]
            check("android: a listed message has id, createdAt, textMessage.text and recipients",
                  m["id"] and m["createdAt"] and m["textMessage"]["text"] and m["recipients"][0]["phoneNumber"]
                  and "state" in m and "isEncrypted" in m, m)
        r = call(gw, "GET", "/messages?from=2999-01-01T00:00:00Z&to=2999-01-02T00:00:00Z")
        check("android: from/to bound the list", r.status == 200 and r.json() == [], r.body[:200])
        r = call(gw, "GET", "/messages?from=2999-01-02T00:00:00Z&to=2999-01-01T00:00:00Z")
        check("android: from after to -> 400", r.status == 400, r.status)


# -- HTTPS and the CLI ----------------------------------------------------------

def test_https():
    if not shutil.which("openssl"):
        check("https: openssl present (skipped)", True)
        return
    d = tempfile.mkdtemp(prefix="sms-double-tls-")
    try:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", key, "-out", cert], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check("https: throwaway certificate made", r.returncode == 0, r.stdout[-300:])
        with Gateway("twilio", tls=(cert, key), url_host="localhost") as gw:
            check("https: url is https", gw.url.startswith("https://localhost:"), gw.url)
            ctx = ssl.create_default_context(cafile=cert)
            gw.add_inbound(YOUNG[0], "over TLS")
            r = call(gw, "GET", "/2010-04-01/Accounts/%s/Messages.json" % gw.account, context=ctx)
            check("https: verified TLS request works",
                  r.status == 200 and r.json()["messages"][0]["body"] == "over TLS")
            e = raised(lambda: call(gw, "GET", "/", context=ssl.create_default_context()))
            check("https: an untrusted client refuses the throwaway cert",
                  e is not None and "CERTIFICATE_VERIFY_FAILED" in repr(e), repr(e))
            e = raised(lambda: call(gw, "GET", "/", base="http://127.0.0.1:%d" % gw.port, timeout=2))
            check("https: plain HTTP to the TLS port fails", e is not None, repr(e))
            r = call(gw, "GET", "/2010-04-01/Accounts/%s/Messages.json" % gw.account, context=ctx)
            check("https: still serving after a bad client", r.status == 200)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_cli():
    script = os.path.join(HERE, "..", "doubles", "sms_gateway.py")
    p = subprocess.Popen([sys.executable, script, "--provider", "android", "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(p.stdout.readline())
        check("cli: prints where it listens", info["url"].startswith("http://127.0.0.1:"), info)

        class Conn:  # enough of a Gateway for call()
            url, username, password = info["url"], info["username"], info["password"]
        r = call(Conn, "POST", "/_control/inbound",
                 json.dumps({"sender": YOUNG[3], "body": "from the demo"}).encode(), "application/json",
                 auth=False)
        check("cli: control inbound", r.status == 200 and r.json()["id"].startswith("text:"), r.body)
        r = call(Conn, "GET", "/inbox")
        check("cli: the injected text is in the inbox",
              r.status == 200 and r.json()[0]["contentPreview"] == "from the demo")
        call(Conn, "POST", "/message",
             json.dumps({"textMessage": {"text": "reply"}, "phoneNumbers": [YOUNG[3]]}).encode(),
             "application/json")
        r = call(Conn, "GET", "/_control/sent", auth=False)
        check("cli: control sent", r.status == 200 and r.json()[-1]["body"] == "reply", r.body[:200])
    finally:
        p.terminate()
        try:
            rc = p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        p.stdout.close()
        p.stderr.close()
    check("cli: exits cleanly on SIGTERM", rc == 0, rc)


if __name__ == "__main__":
    test_twilio()
    test_esendex()
    test_android()
    test_https()
    test_cli()
    done()
