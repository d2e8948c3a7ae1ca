"""The service's own tools at the server, on real Dovecot and Postfix and the
Twilio double: list (--open, --urgent), show, close, reopen, send (by email
and by text, cleaned and limited like an emailed reply), stats (--since),
export, purge --dry-run, --json for each, usage errors, and the progress line
on a terminal. What a young person wrote reaches an operator's terminal with
its control characters shown escaped (show, export, list on a pty), and
exact in JSON and in an export to a file; dates on the command line are
days the calendar has."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "doubles"))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SID = "AC" + "2" * 32
YOUNG = "tools.young@example.net"
NUMBER = "+447700900321"


body = rt.body


def as_json(r):
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def refs_in(text):
    return re.findall(r"RUS-[A-Z0-9]{5}", text)


def tools(sb):
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-tools")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID))
        sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, "school", "Something happened at school.\n"))
        sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
        gw.add_inbound("07700 900321", "please help hes outside my house")
        r = rt.relay(conf, "poll")
        check("poll ok", r.returncode == 0, r.stderr[-600:])
        db = rt.db(conf)
        email_ref = db.execute("SELECT ref FROM conversation WHERE channel = 'email'").fetchone()[0]
        sms_ref = db.execute("SELECT ref FROM conversation WHERE channel = 'sms'").fetchone()[0]

        # --- list ------------------------------------------------------------------
        r = rt.relay(conf, "list")
        check("list: both conversations", r.returncode == 0 and email_ref in r.stdout and sms_ref in r.stdout, r.stdout)
        check("list: a header line", r.stdout.startswith("REFERENCE"), r.stdout)
        check("list: contacts masked", YOUNG not in r.stdout and "7700900321" not in r.stdout and
              "+44 7*** ***321" in r.stdout, r.stdout)
        check("list: the urgent flag", re.search(sms_ref + r".*urgent", r.stdout) is not None, r.stdout)
        r = rt.relay(conf, "list", "--urgent")
        check("list --urgent: only the urgent one", sms_ref in r.stdout and email_ref not in r.stdout, r.stdout)
        r = rt.relay(conf, "--json", "list")
        j = as_json(r)
        check("list --json: an array of two", isinstance(j, list) and len(j) == 2, r.stdout)
        if isinstance(j, list) and len(j) == 2:
            by = {c["reference"]: c for c in j}
            check("list --json: fields", by[sms_ref]["urgent"] is True and by[email_ref]["urgent"] is False and
                  by[sms_ref]["channel"] == "sms" and by[email_ref]["messages"] == 1 and
                  by[email_ref]["state"] == "open", j)
            check("list --json: contact masked", by[sms_ref]["contact"] == "+44 7*** ***321", j)
        r = rt.relay(conf, "list", "--open", "--json")
        check("list --open --json (option after the command)", isinstance(as_json(r), list) and len(as_json(r)) == 2,
              r.stdout)

        # --- send: by email, cleaned; the advisers get a receipt naming the operator ---------
        advisers_before = len(sb.messages(rt.ADVISERS[0]))
        p = subprocess.run([rt.RELAY, "-c", conf, "send", email_ref], input="Hello from the team.\nWe are here.\n\n"
                           "On Sat, 21 Nov 2026, someone wrote:\n> old words\n", capture_output=True, text=True,
                           timeout=60)
        check("send email: exit 0", p.returncode == 0, p.stderr[-600:])
        check("send email: says it went", "sent by email" in p.stdout, p.stdout)
        got = sb.wait_for(YOUNG, 2)   # the auto-reply, then this
        check("send email: the young person has it", got and "Hello from the team." in body(got[-1]), got)
        if got:
            check("send email: quoted history removed", "old words" not in body(got[-1]), body(got[-1]))
            check("send email: threaded on the young person's mail", got[-1]["In-Reply-To"] is not None,
                  dict(got[-1]))
        rc = sb.wait_for(rt.ADVISERS[0], advisers_before + 1)
        check("send email: receipt to the advisers naming the operator",
              rc and "operator" in body(rc[-1]) and "Hello from the team." in body(rc[-1]),
              rc and body(rc[-1]))

        # --- send: by text ----------------------------------------------------------------
        n = len(gw.sent)
        p = subprocess.run([rt.RELAY, "-c", conf, "send", sms_ref], input="We have called the police. Stay inside.\n",
                           capture_output=True, text=True, timeout=60)
        check("send text: exit 0", p.returncode == 0, p.stderr[-600:])
        check("send text: says the parts", "sent by text in 1 part" in p.stdout, p.stdout)
        new = gw.sent[n:]
        check("send text: the gateway got it", len(new) == 1 and new[0]["to"] == NUMBER and
              "We have called the police" in new[0]["body"], new)
        n = len(gw.sent)
        p = subprocess.run([rt.RELAY, "-c", conf, "send", sms_ref], input="x" * 700, capture_output=True, text=True,
                           timeout=60)
        check("send text: too long refused with the part count", p.returncode == 1 and "parts" in p.stderr and
              len(gw.sent) == n, p.stderr)
        p = subprocess.run([rt.RELAY, "-c", conf, "send", sms_ref], input="\n  \n", capture_output=True, text=True,
                           timeout=60)
        check("send: nothing to send is refused", p.returncode == 1 and "nothing to send" in p.stderr, p.stderr)
        p = subprocess.run([rt.RELAY, "-c", conf, "send", "RUS-ZZZZZ"], input="hi", capture_output=True, text=True,
                           timeout=60)
        check("send: an unknown reference", p.returncode == 1 and "no conversation RUS-ZZZZZ" in p.stderr, p.stderr)
        p = subprocess.run([rt.RELAY, "-c", conf, "--json", "send", sms_ref], input="Are you safe now?\n",
                           capture_output=True, text=True, timeout=60)
        j = as_json(p)
        check("send --json", p.returncode == 0 and j and j["state"] == "sent" and j["parts"] == 1, p.stdout)

        # --- show -------------------------------------------------------------------------
        r = rt.relay(conf, "show", sms_ref)
        check("show: the transcript with who replied", "please help hes outside my house" in r.stdout and
              "We have called the police" in r.stdout and "by operator" in r.stdout, r.stdout)
        check("show: deliveries", "Deliveries:" in r.stdout and "text, 1 part" in r.stdout, r.stdout)
        r = rt.relay(conf, "--json", "show", email_ref)
        j = as_json(r)
        check("show --json: messages and deliveries", j and j["reference"] == email_ref and
              j["messages"][0]["kind"] == "inbound" and "Something happened" in j["messages"][0]["text"] and
              any(d["kind"] == "forward" and d["state"] == "sent" for d in j["deliveries"]), r.stdout)

        # --- close and reopen -------------------------------------------------------------
        r = rt.relay(conf, "close", email_ref)
        check("close: done", r.returncode == 0 and f"{email_ref} closed" in r.stdout, r.stdout + r.stderr)
        state = db.execute("SELECT state, closed_at FROM conversation WHERE ref = ?", (email_ref,)).fetchone()
        check("close: stored with its time", state[0] == "closed" and state[1] > 0, state)
        r = rt.relay(conf, "list", "--open")
        check("list --open: the closed one is gone", email_ref not in r.stdout and sms_ref in r.stdout, r.stdout)
        r = rt.relay(conf, "close", email_ref)
        check("close twice: says so", r.returncode == 0 and "already closed" in r.stdout, r.stdout)
        r = rt.relay(conf, "--json", "reopen", email_ref)
        check("reopen --json", as_json(r) == {"reference": email_ref, "state": "open"}, r.stdout)
        audit = db.execute("SELECT actor, action, detail FROM audit a JOIN conversation c ON c.id = a.conversation_id "
                           "WHERE c.ref = ? ORDER BY a.id", (email_ref,)).fetchall()
        actions = [a[1] for a in audit]
        check("audit: received, sent, replied, closed and reopened by the operator",
              "received" in actions and "sent forward" in actions and "replied" in actions and
              (rt.OPERATOR, "command", "#close") in audit and (rt.OPERATOR, "command", "#reopen") in audit,
              audit)
        check("audit: no message text", not any("Something happened" in str(a) or "Hello from" in str(a)
                                                for a in audit), audit)

        # --- stats ------------------------------------------------------------------------
        r = rt.relay(conf, "--json", "stats")
        j = as_json(r)
        check("stats --json: counts per channel", j and j["email"]["in"] == 1 and j["text"]["in"] == 1 and
              j["email"]["replies"] == 1 and j["text"]["replies"] == 2 and j["email"]["autoreplies"] == 1 and
              j["text"]["autoreplies"] == 1, r.stdout)
        if j:
            check("stats --json: in and out of hours add up", j["in_office_hours"] + j["out_of_hours"] == 2, j)
            check("stats --json: conversations, urgent, answered", j["conversations"] == 2 and j["urgent"] == 1 and
                  j["answered"] == 2 and j["open_now"] == 2, j)
            check("stats --json: reply times", j["first_reply_median_seconds"] is not None and
                  0 <= j["first_reply_median_seconds"] <= j["first_reply_p90_seconds"] < 600, j)
        r = rt.relay(conf, "stats")
        check("stats: a table", r.returncode == 0 and re.search(r"email\s+1\s+1\s+1", r.stdout) and
              re.search(r"text\s+1\s+2\s+1", r.stdout) and "median" in r.stdout and "90th percentile" in r.stdout,
              r.stdout)
        tomorrow = time.strftime("%Y-%m-%d", time.localtime(time.time() + 2 * 86400))
        j = as_json(rt.relay(conf, "--json", "stats", "--since", tomorrow))
        check("stats --since a later date: nothing", j and j["email"]["in"] == 0 and j["conversations"] == 0 and
              j["open_now"] == 2, j)
        r = rt.relay(conf, "stats", "--since", "21/11/2026")
        check("stats --since a bad date: usage error", r.returncode == 2 and "YYYY-MM-DD" in r.stderr, r.stderr)

        # --- export -----------------------------------------------------------------------
        r = rt.relay(conf, "export", sms_ref)
        check("export: a document with the transcript and the audit trail",
              r.returncode == 0 and "Exported" in r.stdout and "safeguarding referral" in r.stdout and
              "please help hes outside my house" in r.stdout and "Audit trail:" in r.stdout and
              "received" in r.stdout, r.stdout)
        j = as_json(rt.relay(conf, "--json", "export", sms_ref))
        check("export --json", j and j["reference"] == sms_ref and j["exported_by"] == rt.OPERATOR and
              any(a["action"] == "exported" for a in j["audit"]) and len(j["messages"]) >= 3, j)
        n_exports = db.execute("SELECT count(*) FROM audit WHERE action = 'exported'").fetchone()[0]
        check("export: recorded in the audit trail", n_exports == 2, n_exports)

        # --- purge --dry-run (the purge itself: test_privacy.py) --------------------------
        r = rt.relay(conf, "purge", "--dry-run")
        check("purge --dry-run: nothing old enough", r.returncode == 0 and r.stdout.startswith("0 conversations"),
              r.stdout)

        # --- usage ------------------------------------------------------------------------
        for args, why in [(("list", "--bogus"), "an unknown option"), (("list", "--open", "--urgent"), "both filters"),
                          (("show",), "no reference"), (("close", "A", "B"), "two references"),
                          (("stats", "--dry-run"), "another command's option"), (("frobnicate",), "unknown command")]:
            r = rt.relay(conf, *args)
            check(f"usage: {why} exits 2", r.returncode == 2 and "relay" in r.stderr, (r.returncode, r.stderr))
        r = rt.relay(conf, "--help")
        check("--help names every command", all(f"  {c}" in r.stdout for c in (
            "run", "poll", "check", "list", "show", "close", "reopen", "send", "stats", "export", "purge")), r.stdout)
        db.close()


def progress(sb):
    """A backlog drained on a terminal shows how far it is."""
    work = os.path.join(sb.dir, "relay-progress")
    conf = rt.make_config(sb, work)
    for i in range(120):
        sb.append(rt.SERVICE, rt.mail(f"backlog{i}@example.net", rt.SERVICE, f"backlog {i}", "hello\n"))
    rc, _, text = rt.relay_on_terminal(conf, "poll")
    check("progress: poll ok", rc == 0, text[-600:])
    check("progress: the last figure on a terminal", "mailbox: messages 120/120 (100%)" in text, text[-600:])
    r = rt.relay(conf, "poll")
    check("progress: none when stderr is not a terminal", "mailbox: messages" not in r.stderr, r.stderr[-300:])


def on_terminal(conf, *args):
    """Runs the relay with stdout and stderr on a pseudo-terminal, as an
    operator at a console would; (exit code, the bytes the terminal got)."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([rt.RELAY, "-c", conf, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # EIO: the relay has closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    p.wait(timeout=60)
    os.close(master)
    return p.returncode, shown


# What an attacker writing as a young person puts in: ESC sequences that
# clear the screen and hide text, BEL, backspaces over "not", an OSC 52
# clipboard write, a right-to-left override, a C1 CSI.
HOSTILE = ("I am \x1b[2J\x1b[Hsafe\x07 I am not\x08\x08\x08ok \x1b]52;c;cm0gLXJmIH4=\x07 "
           "call \u202e0999 \u009b31m end")
HOSTILE_SHOWN = [b"\\x1b[2J\\x1b[Hsafe\\x07", b"not\\x08\\x08\\x08ok", b"\\x1b]52;c;cm0gLXJmIH4=\\x07",
                 b"call <U+202E>0999", b"<U+009B>31m end"]
RAW = [b"\x1b", b"\x07", b"\x08", b"\xe2\x80\xae", b"\xc2\x9b"]


def terminal(sb):
    with Gateway("twilio", username=SID, password="tok", account=SID, number="+447700900000") as gw:
        work = os.path.join(sb.dir, "relay-terminal")
        conf = rt.make_config(sb, work, extra=rt.twilio_section(gw, work, SID))
        gw.add_inbound("07700 900322", HOSTILE)
        # By email too: the subject (one line: its encoded newline must not
        # start a forged line) and the body.
        sb.send(YOUNG, [rt.SERVICE], rt.mail(YOUNG, rt.SERVICE, "=?utf-8?q?help=1B[8m=0A---_forged_reply?=",
                                             "mail \x1b]52;c;eA==\x07 body\n"))
        sb.wait_for(rt.SERVICE, len(sb.messages(rt.SERVICE)))
        r = rt.relay(conf, "poll")
        check("terminal: poll ok", r.returncode == 0, r.stderr[-600:])
        db = rt.db(conf)
        row = db.execute("SELECT c.ref, m.body FROM message m JOIN conversation c ON c.id = m.conversation_id "
                         "WHERE m.kind = 'inbound' AND m.channel = 'sms'").fetchone()
        mail_row = db.execute("SELECT c.ref, m.subject, m.body FROM message m JOIN conversation c "
                              "ON c.id = m.conversation_id WHERE m.kind = 'inbound' AND m.channel = 'email'").fetchone()
        db.close()
        check("terminal: the young person's text is stored exactly", row and row[1] == HOSTILE, row)
        if not row:
            return
        ref = row[0]
        for cmd in ("show", "export"):
            rc, shown = on_terminal(conf, cmd, ref)
            check(f"terminal: {cmd} on a terminal exits 0", rc == 0, shown[-600:])
            check(f"terminal: {cmd} on a terminal shows ESC, BEL, BS, OSC 52, U+202E and C1 escaped",
                  all(s in shown for s in HOSTILE_SHOWN), shown[-1500:])
            check(f"terminal: {cmd} on a terminal sends no control character but newline, CR (the pty's) and tab",
                  not any(c in shown for c in RAW) and
                  all(b >= 0x20 or b in (0x0a, 0x0d, 0x09) for b in shown) and b"\x7f" not in shown,
                  [c for c in RAW if c in shown])
        if mail_row and "\x1b" in (mail_row[1] or "") + (mail_row[2] or ""):
            rc, shown = on_terminal(conf, "show", mail_row[0])
            check("terminal: an email's subject and body on a terminal: escaped, the subject on one line",
                  rc == 0 and b"\x1b" not in shown and b"\x07" not in shown and
                  b"\\x1b]52;c;eA==\\x07" in shown and
                  (b"\n--- forged" not in shown and b"\r--- forged" not in shown), shown[-1500:])
        else:
            print("info: the email's control characters were not kept (%r), so show has none to escape" % (mail_row,))
        rc, shown = on_terminal(conf, "list")
        check("terminal: list on a terminal sends no escape", rc == 0 and b"\x1b" not in shown, shown[-600:])
        rc, shown = on_terminal(conf, "show", "RUS-\x1b]52;c;eA==\x07")
        check("terminal: an error echoing what was typed shows it escaped",
              rc == 1 and b"\x1b" not in shown and b"\\x1b]52;c;eA==\\x07" in shown, shown)
        # For a file (and a pipe) an export keeps the exact words; so does JSON.
        p = subprocess.run([rt.RELAY, "-c", conf, "export", ref], capture_output=True, timeout=60)
        check("terminal: an export to a file keeps the exact text", p.returncode == 0 and
              HOSTILE.encode() in p.stdout, p.stdout[-800:])
        j = as_json(rt.relay(conf, "--json", "show", ref))
        check("terminal: show --json keeps the exact text", j and any(m["text"] == HOSTILE for m in j["messages"]), j)


def dates(sb):
    """--since takes a day the calendar has, in exactly YYYY-MM-DD."""
    work = os.path.join(sb.dir, "relay-dates")
    conf = rt.make_config(sb, work)
    for bad in ("2026-02-30", "2026-13-01", "2026-04-31", "2026-00-10", "2026-2-3", "2026-02-28x", "1969-12-31",
                "2025-02-29"):
        r = rt.relay(conf, "stats", "--since", bad)
        check(f"dates: --since {bad} refused (exit 2, named)", r.returncode == 2 and bad in r.stderr and
              "YYYY-MM-DD" in r.stderr, (r.returncode, r.stderr))
    r = rt.relay(conf, "stats", "--since=2026-02-30")
    check("dates: --since=2026-02-30 refused", r.returncode == 2, (r.returncode, r.stderr))
    for good in ("2028-02-29", "2026-03-29", "2026-10-25", "2026-12-31"):
        r = rt.relay(conf, "--json", "stats", "--since", good)
        j = as_json(r)
        check(f"dates: --since {good} (a leap day, the clock changes, the year's end) accepted",
              r.returncode == 0 and j and j["since"] is not None, (r.returncode, r.stderr))


def main():
    with Sandbox() as sb:
        # `python3 test_tools.py PART...` runs only those parts.
        parts = [p for p in (tools, progress, terminal, dates) if len(sys.argv) < 2 or p.__name__ in sys.argv[1:]]
        rt.run_parts(sb, *parts)
    done()


if __name__ == "__main__":
    main()
