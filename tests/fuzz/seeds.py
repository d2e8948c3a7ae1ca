#!/usr/bin/env python3
"""seeds.py: regenerate the gateway seed corpora (tests/fuzz/corpus/{twilio,
esendex,android}) from the gateway doubles (tests/doubles/sms_gateway.py),
so the fuzzers start from the exact shapes the relay meets: inbox pages,
send answers, statuses, errors. Run from anywhere; overwrites gw-* files only.
"""
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "doubles"))
from sms_gateway import Gateway  # noqa: E402

BODIES = ["I need to talk to someone", "Can u call me? \U0001F61F", "STOP",
          "caf\u00e9 \u201cquoted\u201d \u2014 dash", "x" * 200]


def call(gw, method, path, body=None, ctype=None):
    req = urllib.request.Request(gw.url + path, data=body, method=method)
    auth = base64.b64encode(("%s:%s" % (gw.username, gw.password)).encode()).decode()
    req.add_header("Authorization", "Basic " + auth)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return e.read()


def save(provider, name, data):
    d = os.path.join(HERE, "corpus", provider)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "gw-" + name), "wb") as f:
        f.write(data)


def twilio():
    with Gateway("twilio", page_size=3) as gw:
        for i, b in enumerate(BODIES):
            gw.add_inbound("+4477009001%02d" % i, b)
        gw.add_outbound("+447700900999", "sent elsewhere")
        base = "/2010-04-01/Accounts/%s/Messages" % gw.account
        page = call(gw, "GET", base + ".json?PageSize=3")
        save("twilio", "page0.json", page)
        nxt = json.loads(page).get("next_page_uri")
        if nxt:
            save("twilio", "page1.json", call(gw, "GET", nxt))
        form = urllib.parse.urlencode({"To": "+447700900123", "From": gw.number, "Body": "hello"}).encode()
        sent = call(gw, "POST", base + ".json", form, "application/x-www-form-urlencoded")
        save("twilio", "created.json", sent)
        sid = json.loads(sent)["sid"]
        gw.set_status(sid, "undelivered", 30003)
        save("twilio", "status.json", call(gw, "GET", "%s/%s.json" % (base, sid)))
        gw.opt_out("+447700900666")
        form = urllib.parse.urlencode({"To": "+447700900666", "From": gw.number, "Body": "x"}).encode()
        save("twilio", "optout.json", call(gw, "POST", base + ".json", form, "application/x-www-form-urlencoded"))
        save("twilio", "notfound.json", call(gw, "GET", base + "/SMnope.json"))
        gw.fault("429")
        save("twilio", "429.json", call(gw, "GET", base + ".json"))


def esendex():
    with Gateway("esendex", page_size=3) as gw:
        ids = [gw.add_inbound("4477009001%02d" % i, b) for i, b in enumerate(BODIES)]
        save("esendex", "inbox0.xml", call(gw, "GET", "/v1.0/inbox/messages?startIndex=0&count=3"))
        save("esendex", "inbox1.xml", call(gw, "GET", "/v1.0/inbox/messages?startIndex=3&count=3"))
        save("esendex", "body.xml", call(gw, "GET", "/v1.0/messageheaders/%s/body" % ids[1]))
        doc = ('<?xml version="1.0" encoding="utf-8"?><messages><accountreference>%s</accountreference>'
               '<message><to>447700900123</to><body>hello</body></message></messages>' % gw.account)
        out = call(gw, "POST", "/v1.0/messagedispatcher", doc.encode(), "application/xml")
        save("esendex", "dispatch.xml", out)
        sent = [m for m in gw.messages() if m["direction"] == "Outbound"][0]["id"]
        gw.set_status(sent, "Failed", "Recipient opted out")
        save("esendex", "status.xml", call(gw, "GET", "/v1.0/messageheaders/%s" % sent))
        save("esendex", "header.xml", call(gw, "GET", "/v1.0/messageheaders/%s" % ids[0]))
        save("esendex", "notfound.xml", call(gw, "GET", "/v1.0/messageheaders/nope"))


def android():
    with Gateway("android", page_size=3, utc_offset_minutes=60) as gw:
        for i, b in enumerate(BODIES):
            gw.add_inbound("+4477009001%02d" % i, b)
        gw.add_inbound("07700 900123", "ok", id="text:-1129870522")
        save("android", "inbox0.json", call(gw, "GET", "/inbox?limit=3&offset=0"))
        save("android", "inbox1.json", call(gw, "GET", "/inbox?limit=3&offset=3"))
        req = json.dumps({"textMessage": {"text": "hello"}, "phoneNumbers": ["+447700900123"]}).encode()
        out = call(gw, "POST", "/message", req, "application/json")
        save("android", "sent.json", out)
        mid = json.loads(out)["id"]
        gw.set_status(mid, "Failed", "RESULT_ERROR_GENERIC_FAILURE")
        save("android", "state.json", call(gw, "GET", "/message/%s" % mid))
        gw.fault("500")
        save("android", "500.json", call(gw, "GET", "/inbox"))


if __name__ == "__main__":
    twilio()
    esendex()
    android()
