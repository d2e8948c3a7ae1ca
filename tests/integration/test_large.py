"""Large messages and text shown inline, end to end, on real Dovecot and
Postfix (tests/sandbox).

Photos of 300 KiB and texts of 300 KiB, several in one fetch batch, beside an
ordinary message: every one stored, forwarded (the forward lists the photo)
and marked \\Seen. SQLite once said the disk was full for the second of two
such messages, on an empty disk, and every poll after stopped there. Then
attachments of 5 and 10 MiB in one batch, whole and cut by [imap]
max_message_kb; and a text part marked inline with a file name, which is text.

Messages go into the relay's inbox by IMAP APPEND: Postfix takes at most
about 10 MB, and a 10 MiB photo is more once encoded."""
import os
import re
import sys
import time
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(__file__))
from lib import Sandbox, check, done  # noqa: E402
import relaytest as rt  # noqa: E402


def empty_inbox(sb, user=rt.SERVICE):
    conn = sb.imap(user)
    typ, data = conn.select("INBOX")
    if int(data[0]):
        conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        conn.expunge()
    conn.logout()


def message(n, token, text=None, attachments=(), disposition=None):
    """A young person's email carrying token. attachments: (filename, type,
    bytes). disposition: the Content-Disposition of a one-part message."""
    m = EmailMessage()
    m["From"] = f"young{n}@example.net"
    m["To"] = rt.SERVICE
    m["Subject"] = f"message {token}"
    m["Date"] = "Sat, 21 Nov 2026 10:00:00 +0000"
    m["Message-ID"] = f"<{token}.{time.time_ns()}@example.net>"
    m.set_content(text or f"Hello, this is {token}. Can someone talk to me?\n")
    if disposition:
        m["Content-Disposition"] = disposition
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


def deliver(sb, raws):
    before = len(sb.messages(rt.SERVICE))
    for raw in raws:
        sb.append(rt.SERVICE, raw)
    sb.wait_for(rt.SERVICE, before + len(raws))


def fresh(sb, name, extra=""):
    """A relay of its own (configuration, database) and an empty inbox."""
    empty_inbox(sb)
    return rt.make_config(sb, os.path.join(sb.dir, name), extra=extra)


def poll(conf, what):
    r = rt.relay(conf, "poll", timeout=180)
    check(f"{what}: relay poll exits 0", r.returncode == 0, r.stderr[-2000:])
    check(f"{what}: no full disk claimed", " is full" not in r.stderr, r.stderr[-2000:])
    return r


def forwards_with(sb, before, tokens, timeout=30):
    """The advisers' forwards since before, by the token each carries."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = sb.messages(rt.ADVISERS[0])[before:]
        found = {}
        for m in msgs:
            for t in tokens:
                if t in str(m["Subject"] or "") or t in rt.body(m)[:4000]:
                    found.setdefault(t, []).append(m)
        if len(found) == len(tokens) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def stored(conf, tokens):
    db = rt.db(conf)
    try:
        rows = db.execute("SELECT subject, length(raw), attachments FROM message WHERE kind = 'inbound'").fetchall()
    finally:
        db.close()
    return {t: [r for r in rows if t in (r[0] or "")] for t in tokens}


def batch_of_three(sb, what, big):
    """Two big messages (big(n, token) makes one) and an ordinary one, in one batch."""
    conf = fresh(sb, what)
    before = len(sb.messages(rt.ADVISERS[0]))
    tokens = [f"{what}-{i}" for i in range(3)]
    deliver(sb, [big(1, tokens[0]), big(2, tokens[1]), message(3, tokens[2])])
    poll(conf, what)
    rows = stored(conf, tokens)
    check(f"{what}: all three stored, once each", all(len(rows[t]) == 1 for t in tokens),
          {t: len(r) for t, r in rows.items()})
    fwd = forwards_with(sb, before, tokens)
    check(f"{what}: all three forwarded, once each", all(len(fwd.get(t, [])) == 1 for t in tokens),
          {t: len(fwd.get(t, [])) for t in tokens})
    check(f"{what}: all marked \\Seen", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))
    r = poll(conf, what + ", the next poll")
    check(f"{what}: the next poll has nothing to complain of", "error" not in r.stderr, r.stderr[-2000:])
    return conf, fwd, tokens


def photos(sb):
    def big(n, token):
        return message(n, token, attachments=[(f"photo{n}.jpg", "image/jpeg", os.urandom(300 * 1024))])
    conf, fwd, tokens = batch_of_three(sb, "photos", big)
    for i, n in ((0, 1), (1, 2)):
        body = rt.body(fwd[tokens[i]][0]) if fwd.get(tokens[i]) else ""
        check(f"photos: forward {n} lists its photo", f"photo{n}.jpg (image/jpeg, 307200 bytes)" in body, body[-600:])
        check(f"photos: forward {n} carries the text", f"this is {tokens[i]}" in body, body[:600])
    rows = stored(conf, tokens)
    check("photos: the raw source kept whole", all(rows[t] and rows[t][0][1] > 400 * 1024 for t in tokens[:2]),
          {t: rows[t][0][1] if rows[t] else None for t in tokens})


def big_text(token):
    """300 KiB of text."""
    line = f"{token} wrote this line, and many more like it.\n"
    return line * (300 * 1024 // len(line) + 1)


def texts(sb):
    def big(n, token):
        return message(n, token, text=big_text(token))
    conf, fwd, tokens = batch_of_three(sb, "texts", big)
    for i in (0, 1):
        body = rt.body(fwd[tokens[i]][0]) if fwd.get(tokens[i]) else ""
        lines = big_text(tokens[i]).count("\n")
        check(f"texts: forward {i + 1} carries the whole text ({lines} lines)",
              body.count(f"{tokens[i]} wrote this line") == lines, body.count(f"{tokens[i]} wrote this line"))


def huge(sb, what, limit_kb=None):
    """Attachments of 5 and 10 MiB in one batch, beside an ordinary message;
    with limit_kb, [imap] max_message_kb cuts the two."""
    conf = fresh(sb, what)
    if limit_kb is not None:
        rt.edit_config(conf, "timeout = 5\n", f"timeout = 5\nmax_message_kb = {limit_kb}\n")
    before = len(sb.messages(rt.ADVISERS[0]))
    tokens = [f"{what}-{i}" for i in range(3)]
    deliver(sb, [message(1, tokens[0], attachments=[("video.mp4", "video/mp4", os.urandom(5 << 20))]),
                 message(2, tokens[1], attachments=[("scan.pdf", "application/pdf", os.urandom(10 << 20))]),
                 message(3, tokens[2])])
    poll(conf, what)
    rows = stored(conf, tokens)
    check(f"{what}: all three stored, once each", all(len(rows[t]) == 1 for t in tokens),
          {t: len(r) for t, r in rows.items()})
    fwd = forwards_with(sb, before, tokens)
    check(f"{what}: all three forwarded, once each", all(len(fwd.get(t, [])) == 1 for t in tokens),
          {t: len(fwd.get(t, [])) for t in tokens})
    check(f"{what}: all marked \\Seen", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))
    for i, (name, size) in enumerate((("video.mp4", 5 << 20), ("scan.pdf", 10 << 20))):
        body = rt.body(fwd[tokens[i]][0]) if fwd.get(tokens[i]) else ""
        check(f"{what}: forward {i + 1} carries the text", f"this is {tokens[i]}" in body, body[:600])
        if limit_kb is None:
            check(f"{what}: forward {i + 1} lists the attachment whole", f"{name} (" in body and f"{size} bytes)" in body,
                  body[-600:])
            check(f"{what}: forward {i + 1} not cut", "was cut" not in body, body[:800])
        else:
            check(f"{what}: forward {i + 1} says it was cut", re.search(r"this message was cut: .*max_message_kb", body)
                  is not None, body[:800])
    body = rt.body(fwd[tokens[2]][0]) if fwd.get(tokens[2]) else ""
    check(f"{what}: the ordinary message is not cut", "was cut" not in body and f"this is {tokens[2]}" in body,
          body[:800])
    if limit_kb is not None:
        cut = [r[1] for t in tokens[:2] for r in rows[t]]
        check(f"{what}: what was kept of each is at most the limit", cut and all(c <= limit_kb * 1024 for c in cut), cut)


def huge_whole(sb):
    huge(sb, "huge")


def huge_cut(sb):
    huge(sb, "huge-cut", 4096)


def inline_text(sb):
    """A text part marked inline with a file name is the message's text."""
    conf = fresh(sb, "inline")
    before = len(sb.messages(rt.ADVISERS[0]))
    token = "inline-0"
    deliver(sb, [message(4, token, text=f"{token}: I could not say this out loud, so I wrote it down.\n",
                         disposition="inline; filename=msg.txt")])
    poll(conf, "inline")
    fwd = forwards_with(sb, before, [token])
    body = rt.body(fwd[token][0]) if fwd.get(token) else ""
    check("inline: the forward shows the text", "I could not say this out loud" in body, body[:800])
    check("inline: not listed as an attachment", "msg.txt" not in body, body[-600:])
    check("inline: marked \\Seen", sb.unseen(rt.SERVICE) == 0, sb.unseen(rt.SERVICE))


def main():
    with Sandbox() as sb:
        rt.run_parts(sb, photos, texts, huge_whole, huge_cut, inline_text)
    done()


if __name__ == "__main__":
    main()
