"""corpus.py: a realistic backlog of young people's mail, written straight into
a Maildir (as Dovecot's LMTP would have left it) so that filling 100,000
messages takes seconds, not hours of SMTP.

The mix, by message: 60% plain text (short, with the Received/DKIM headers a
real provider adds), 28% HTML mail as Gmail and Outlook send it
(multipart/alternative, text and a styled HTML part), 12% multipart/mixed
with a phone screenshot attached (10-80 KB of base64). About 70% of
messages come from someone writing for the first time (so an auto-reply is
due), the rest from earlier senders; about 2% carry urgent wording.
Deterministic for a given seed.
"""

import base64
import os
import random
import time

FIRST = ["amy", "ben", "chloe", "dan", "ella", "finn", "grace", "harry", "isla", "jack", "kai", "lily",
         "mia", "noah", "olivia", "poppy", "ruby", "sam", "tia", "zara", "leo", "evie", "josh", "maya"]
DOMAINS = ["gmail.com", "outlook.com", "hotmail.co.uk", "icloud.com", "yahoo.co.uk", "live.co.uk"]
LINES = [
    "I don't really know who else to talk to about this.",
    "Someone I met online keeps asking me to send pictures and I said no but he keeps messaging.",
    "My friend told me about you. Is this confidential?",
    "I'm not sure if this is the right place but something happened at a party last weekend.",
    "He said if I told anyone he would share the photos with everyone at school.",
    "I feel stupid for even writing this.",
    "Can I talk to someone without my mum finding out?",
    "There is an older guy who gives me lifts and buys me stuff and now he says I owe him.",
    "I blocked him on Snapchat but he made a new account.",
    "Thanks for your reply yesterday, I thought about what you said.",
    "I can meet at school on Thursday if that is ok.",
    "My worker said I should email you.",
    "I'm ok today, just wanted to say thank you.",
    "What happens after I tell you? Will the police get involved?",
]
URGENT = ["I want to kill myself tonight.", "he is outside my house right now and i'm scared",
          "im gonna hurt myself"]


class Backlog:
    """Senders and texts for n messages, drawn from seed."""

    def __init__(self, n, seed=8):
        self.n = n
        self.rng = random.Random(seed)
        self.senders = []

    def sender(self):
        rng = self.rng
        if self.senders and rng.random() < 0.30:
            return rng.choice(self.senders)
        a = "%s.%s%d@%s" % (rng.choice(FIRST), rng.choice(FIRST), len(self.senders), rng.choice(DOMAINS))
        self.senders.append(a)
        return a

    def text(self):
        rng = self.rng
        words = [rng.choice(LINES) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.02:
            words.insert(0, rng.choice(URGENT))
        return "\n\n".join(words) + "\n"


def _headers(rng, frm, to, subject, msgid, date, i):
    hops = "".join(
        "Received: from mail-%s.%s (mail-%s.%s [203.0.113.%d])\n\tby mx.example.org (Postfix) with ESMTPS id %X\n"
        "\tfor <%s>; %s\n" % (h, frm.split("@")[1], h, frm.split("@")[1], rng.randint(1, 254),
                               rng.getrandbits(40), to, date)
        for h in ("wr1", "sor2")[:rng.randint(1, 2)])
    dkim = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=20230601; h=to:subject:date:from:\n" \
           "\tmessage-id:mime-version; bh=%s;\n\tb=%s\n" % (
               frm.split("@")[1], base64.b64encode(rng.randbytes(32)).decode(),
               base64.b64encode(rng.randbytes(192)).decode())
    return ("Return-Path: <%s>\nDelivered-To: %s\n%s%sFrom: %s\nTo: %s\nSubject: %s\nDate: %s\n"
            "Message-ID: <%s>\nMIME-Version: 1.0\n" % (frm, to, hops, dkim, frm.split("@")[0].split(".")[0].title()
                                                       + " <" + frm + ">", to, subject, date, msgid))


def _html(text):
    paras = "".join('<p style="margin:0 0 12px 0;font-family:Calibri,Arial,sans-serif;font-size:11pt">%s</p>\n'
                    % p.replace("\n", "<br>") for p in text.strip().split("\n\n"))
    style = "".join("p.MsoNormal%d, li.MsoNormal%d {margin:0cm; font-size:11.0pt; font-family:\"Calibri\",sans-serif;}\n"
                    % (k, k) for k in range(40))
    return ("<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head>\n<meta http-equiv=\"Content-Type\" "
            "content=\"text/html; charset=utf-8\">\n<style>\n%s</style></head>\n<body lang=\"EN-GB\">\n"
            "<div class=\"WordSection1\">\n%s<p>&nbsp;</p>\n<div id=\"signature\"><p>Sent from my iPhone</p></div>"
            "\n</div></body></html>\n" % (style, paras))


def message(b, i, to, now):
    """Message i of backlog b as bytes (LF line ends, as in a Maildir)."""
    rng = b.rng
    frm = b.sender()
    text = b.text()
    subject = rng.choice(["help", "hi", "can you help me", "Re: hi", "worried", "question", "it's me again", ""])
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now - (b.n - i) * 20))
    msgid = "%x.%d@%s" % (rng.getrandbits(64), i, frm.split("@")[1])
    head = _headers(rng, frm, to, subject, msgid, date, i)
    kind = rng.random()
    if kind < 0.60:
        body = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + text
        return (head + body).encode(), "plain"
    bnd = "000000000000%x" % rng.getrandbits(48)
    alt = ("Content-Type: multipart/alternative; boundary=\"%s\"\n\n--%s\nContent-Type: text/plain; charset=\"UTF-8\"\n"
           "Content-Transfer-Encoding: quoted-printable\n\n%s\n--%s\nContent-Type: text/html; charset=\"UTF-8\"\n"
           "Content-Transfer-Encoding: 8bit\n\n%s\n--%s--\n" % (bnd, bnd, text, bnd, _html(text), bnd))
    if kind < 0.88:
        return (head + alt).encode(), "html"
    outer = "mixed%x" % rng.getrandbits(48)
    picture = base64.encodebytes(rng.randbytes(rng.randint(10, 80) * 1024 * 3 // 4)).decode()
    body = ("Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n%s\n--%s\nContent-Type: image/jpeg; "
            "name=\"Screenshot_%d.jpg\"\nContent-Disposition: attachment; filename=\"Screenshot_%d.jpg\"\n"
            "Content-Transfer-Encoding: base64\n\n%s\n--%s--\n" % (outer, outer, alt, outer, i, i, picture, outer))
    return (head + body).encode(), "attachment"


def fill_maildir(maildir, n, to, seed=8, uid=None, gid=None):
    """Writes n messages into maildir/new as Dovecot's LMTP names them
    (,S=size,W=virtual size). Returns (distinct senders, {kind: count}, bytes)."""
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    b = Backlog(n, seed)
    now = time.time()
    kinds, total = {}, 0
    for i in range(n):
        raw, kind = message(b, i, to, now)
        kinds[kind] = kinds.get(kind, 0) + 1
        total += len(raw)
        name = "%d.M%dP%d.bench,S=%d,W=%d" % (int(now) - n + i, i, os.getpid(), len(raw), len(raw) + raw.count(b"\n"))
        path = os.path.join(maildir, "new", name)
        with open(path, "wb") as f:
            f.write(raw)
        if uid is not None:
            os.chown(path, uid, gid)
        # Arrival order is UID order: Dovecot sorts new/ by name.
    if uid is not None:
        for root, dirs, _ in os.walk(maildir):
            os.chown(root, uid, gid)
    return len(b.senders), kinds, total
