"""soak_mail.py: the hostile mix of the soak test (tests/faults/test_soak.py).

    from soak_mail import Plan
    plan = Plan(seed, n)                  # n items, reproducible from seed
    for item in plan.items: ...           # item.token, item.kind, item.sub, item.channel
    raw = plan.email(item, ctx)           # bytes of one email (ctx: what the run has seen)
    sender, body, body_bytes = plan.text(item)

Every item carries a token ("soak-000042") in its Subject and on the first line
of its body ("soak-000042.b") (texts: at the start of the body; bare keywords, which cannot carry
one, come from a number of their own), and in its Message-ID when it has its
own. The plan (kinds, variants, sizes, order) depends on the seed alone; items
that answer something (a reply to an auto-reply, an adviser's reply, a reused
Message-ID, an exact copy) are completed at delivery from what the run has seen
(ctx), so their bytes depend on the run too.

Python 3 standard library only.
"""

import base64
import email.utils
import random
import re

TOKEN_RE = r"soak-(\d{6})"
# An email's body starts with its token and this, so that a forward is seen to
# carry the text and not only the subject (which it quotes too).
BODY = ".b"
SERVICE = "rusafe@example.org"
DATE = "Sat, 21 Nov 2026 10:00:00 +0000"
KiB = 1024
MiB = 1024 * 1024

# Kinds, their weights in the mix, and whether the relay must forward them.
EMAIL_KINDS = [
    ("ordinary", 22), ("odd_address", 6), ("attachment", 8), ("malformed", 10), ("html_only", 4),
    ("no_from", 2), ("autoreply_reply", 6), ("automatic", 8), ("repeated_mid", 3), ("exact_dup", 2),
    ("adviser_reply", 5),
]
SMS_KINDS = [("text", 10), ("text_emoji", 3), ("text_long", 2), ("text_invalid_utf8", 3), ("text_keyword", 3),
             ("text_odd_sender", 3)]
SMS_SHARE = 0.24

# Forwarded exactly once: a young person's message that is not automatic mail.
FORWARDED = {"ordinary", "odd_address", "attachment", "malformed", "html_only", "no_from", "autoreply_reply",
             "repeated_mid", "canary"} | {k for k, _ in SMS_KINDS}
NOT_FORWARDED = {"automatic", "adviser_reply"}

MALFORMED = ["bad_boundary", "missing_close", "deep200", "bad_base64", "wrong_charset", "unknown_charset",
             "nul_bytes", "bare_cr", "bare_lf", "long_header", "garbage_header"]
AUTOMATIC = ["ooo", "bounce_report", "bounce_plain", "list", "bulk"]
ODD = ["quoted", "idn_raw", "idn_encoded_name", "trailing_dot", "literal", "long_local"]
ADVISER = ["normal", "unaddressable", "purged"]
NO_FROM = ["none", "group", "null", "bare_word"]
KEYWORDS = ["STOP", "stop", "Stop.", "START", "start!", "HELP", " help "]
ODD_SENDERS = ["HSBC", "80010", "+44 (0) 7700 900{k:03d}", "0044 7700 900{k:03d}", "Vodafone UK",
               "+1 202 555 0143", "", "<b>x</b>", "447700900{k:03d}", "07700900{k:03d}x"]

WORDS = ("i dont know who else to tell about this my mum says its fine but it is not fine and school is "
         "hard at the moment can someone talk to me please i feel really alone most days and my friends "
         "dont get it").split()


class Item:
    """One message of the plan. channel: "email" or "sms"; kind and sub as in
    the tables above; size: attachment bytes (0 none); via: "imap", "smtp" or
    None (the test's choice); no_msgid: sent without a Message-ID."""

    def __init__(self, idx, seed, kind, sub=None):
        self.idx = idx
        self.token = "soak-%06d" % idx
        self.kind = kind
        self.sub = sub
        self.channel = "sms" if kind.startswith("text") else "email"
        self.rng = random.Random(seed * 1000003 + idx)
        self.size = 0
        self.via = None
        self.no_msgid = False
        self.msgid = None         # set when built
        self.sender = None        # the email address or phone number it comes from
        self.expect_forward = kind in FORWARDED

    def label(self):
        return "%s %s%s" % (self.token, self.kind, "/" + self.sub if self.sub else "")


class Plan:
    def __init__(self, seed, n, attach_budget=None, young=None, skip=()):
        """skip: kinds left out of the mix (their weight goes to the others)."""
        self.seed = seed
        self.n = n
        rng = random.Random(seed)
        # Attachments: most 100-400 KiB, some up to 2 MiB, a few up to 10 MiB,
        # within a budget (default about 0.12 MiB a message, 600 MiB at most).
        self.budget = attach_budget if attach_budget is not None else int(min(600, max(20, n * 0.12)) * MiB)
        self.young = young or max(12, n // 6)     # ordinary young people (some write more than once)
        self.items = []
        spent, big_done = 0, False
        keyword_numbers = list(range(400, 1000))
        rng.shuffle(keyword_numbers)
        email_kinds = [(k, w) for k, w in EMAIL_KINDS if k not in skip]
        sms_kinds = [(k, w) for k, w in SMS_KINDS if k not in skip]
        share = SMS_SHARE if email_kinds and sms_kinds else 1.0 if sms_kinds else 0.0
        for idx in range(1, n + 1):
            if rng.random() < share:
                kind = _weighted(rng, sms_kinds)
            else:
                kind = _weighted(rng, email_kinds)
            sub = {"malformed": MALFORMED, "automatic": AUTOMATIC, "odd_address": ODD,
                   "adviser_reply": ADVISER, "no_from": NO_FROM}.get(kind)
            it = Item(idx, seed, kind, rng.choice(sub) if sub else None)
            if kind == "autoreply_reply":
                it.sub = rng.choice(["in_reply_to_only", "references_autoreply_only"])
            if kind == "attachment" and rng.random() < 0.15:
                it.sub = "inline_text_named"   # one text/plain part, inline, with a filename
            elif kind == "attachment":
                r = rng.random()
                size = (rng.randint(100 * KiB, 400 * KiB) if r < 0.80 else
                        rng.randint(400 * KiB, 2 * MiB) if r < 0.94 else rng.randint(2 * MiB, 10 * MiB))
                if n >= 100 and not big_done and idx > n // 2:
                    size, big_done = rng.randint(8 * MiB, 10 * MiB), True   # one near the 10 MiB end
                if spent + size > self.budget:
                    size = 100 * KiB
                spent += size
                it.size = size
                it.sub = rng.choice(["photo", "pdf", "two_photos"])
            if kind == "ordinary" and rng.random() < 0.12:
                it.no_msgid = True    # the first message without a Message-ID (case 4's second form)
                it.sub = "no_msgid"
            if kind == "text_keyword":
                it.sender = "07700 900%03d" % keyword_numbers.pop() if keyword_numbers else "07700 900999"
            # What only IMAP APPEND can deliver as it is: no From, no
            # Message-ID (Postfix adds both), NUL bytes, more than Postfix's
            # 10,240,000-byte limit, and copies that must stay byte-identical.
            if kind in ("no_from", "exact_dup") or it.no_msgid or it.sub in ("nul_bytes", "bare_cr", "bare_lf") \
                    or it.size > 6 * MiB:
                it.via = "imap"
            self.items.append(it)
        self.attachment_bytes = spent

    # -- texts -----------------------------------------------------------------------------

    def text(self, it):
        """(sender, body, body_bytes) of a text item; body_bytes is None or raw bytes."""
        r = it.rng
        k = r.randint(0, 399)
        sender = it.sender or "07700 900%03d" % k
        words = " ".join(r.choice(WORDS) for _ in range(r.randint(3, 25)))
        body, raw = "%s %s" % (it.token, words), None
        if it.kind == "text_emoji":
            body = "%s %s 😢💔 %s 🙏🏽👩‍👧 ✨" % (it.token, words, "".join(r.choice("🙂😭🤯🫠💬") for _ in range(5)))
        elif it.kind == "text_long":
            long = []
            while sum(len(w) + 1 for w in long) < 10000:
                long.append(r.choice(WORDS))
            body = "%s %s" % (it.token, " ".join(long))
        elif it.kind == "text_invalid_utf8":
            raw = (it.token + " caf").encode() + r.choice([b"\xe9", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80",
                                                            b"\xf0\x9f\x98", b"\x80\x80"]) + b" " + words.encode()
            body = raw.decode("utf-8", "replace")
        elif it.kind == "text_keyword":
            body = r.choice(KEYWORDS)
        elif it.kind == "text_odd_sender":
            sender = r.choice(ODD_SENDERS).format(k=k)
        it.sender = sender
        return sender, body, raw

    # -- emails ----------------------------------------------------------------------------

    def young_address(self, it):
        return "young%d@%s" % (it.rng.randint(0, self.young - 1), it.rng.choice(["example.net", "example.com"]))

    def email(self, it, ctx=None):
        """The raw bytes of an email item. ctx (a dict) completes answers:
        autoreply_reply: young, autoreply_id, autoreply_subject; adviser_reply:
        adviser, tag, forward_id, forward_subject; repeated_mid: reuse_id;
        exact_dup: raw (returned unchanged)."""
        ctx = ctx or {}
        r = it.rng
        if it.kind == "exact_dup":
            return ctx["raw"]
        it.msgid = None if it.no_msgid else "%s.%d@soak.example.net" % (it.token, self.seed)
        words = " ".join(r.choice(WORDS) for _ in range(r.randint(5, 60)))
        text = "%s\n%s\n" % (it.token + BODY, words)
        frm = self.young_address(it)
        it.sender = frm
        subject = "%s %s" % (r.choice(["help", "need to talk", "hi", "question", "can u help", "worried"]), it.token)
        headers = []
        ctype, body, cte = "text/plain; charset=utf-8", text, "8bit"
        extra = []
        k = r.randint(0, 999)

        if it.kind == "odd_address":
            frm, disp = {
                "quoted": ('"sam young %d"@example.org' % k, None),
                "idn_raw": ("sam%d@bücher.example" % k, "Sam"),
                "idn_encoded_name": ("jurgen%d@bücher.example" % k, "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?="),
                "trailing_dot": ("sam%d@example.org." % k, None),
                "literal": ("sam%d@[192.0.2.1]" % k, None),
                "long_local": ("a%d" % k + "x" * 66 + "@example.net", None),
            }[it.sub]
            it.sender = frm
            headers.append("From: %s<%s>" % (disp + " " if disp else "", frm))
        elif it.kind == "no_from":
            it.sender = None
            headers.append({"none": "", "group": "From: undisclosed-recipients:;", "null": "From: <>",
                            "bare_word": "From: nobody"}[it.sub])
        elif it.kind == "automatic":
            frm, headers, ctype, body, cte, subject = self._automatic(it, frm, text, subject)
            it.sender = frm
        elif it.kind == "autoreply_reply":
            frm = ctx["young"]
            it.sender = frm
            # The auto-reply's subject repeats the first message's, token and all: only ours stays.
            theirs = re.sub(TOKEN_RE, "", ctx.get("autoreply_subject") or "Your message").strip()
            subject = "Re: %s %s" % (theirs, it.token)
            body = "%s\nthanks, yes i want to talk. %s\n\n> %s\n" % (it.token + BODY, words, "Thank you for writing")
            extra.append("In-Reply-To: <%s>" % ctx["autoreply_id"])
            if it.sub == "references_autoreply_only":
                extra.append("References: <%s>" % ctx["autoreply_id"])
        elif it.kind == "adviser_reply":
            frm = ctx["adviser"]
            it.sender = frm
            subject = "RE: %s %s" % (re.sub(TOKEN_RE, "", ctx["forward_subject"]).strip(), it.token)
            body = "%s\nThank you for telling us. We are here to listen; write back any time.\n" % it.token
            # The receiving server's field (tests/sandbox/sandbox writes one too, on top, for the SMTP path).
            headers.append("Authentication-Results: sandbox.localhost; dkim=pass header.d=%s" % frm.split("@")[-1])
            headers.append("From: Adviser <%s>" % frm)
            headers.append("To: %s" % ctx["tag"])
            extra.append("In-Reply-To: <%s>" % ctx["forward_id"])
        elif it.kind == "html_only":
            ctype = "text/html; charset=utf-8"
            body = ("<html><head><style>p{color:red}</style></head><body><p>%s</p><p>%s</p>"
                    "<div><b>please</b> &amp; thank you &lt;3</div><script>alert(1)</script></body></html>\n"
                    % (it.token + BODY, words))
        elif it.kind == "repeated_mid":
            it.msgid = ctx["reuse_id"]
        elif it.kind == "attachment" and it.sub == "inline_text_named":
            ctype = 'text/plain; charset=utf-8; name="msg.txt"'
            extra.append('Content-Disposition: inline; filename="msg.txt"')
        elif it.kind == "attachment":
            ctype, body, cte = self._attachment(it, text)
        elif it.kind == "malformed":
            return self._malformed(it, frm, subject, text)

        if not any(h.startswith("From:") for h in headers) and it.kind != "no_from":
            headers.insert(0, "From: %s" % frm)
        if not any(h.startswith("To:") for h in headers):
            headers.append("To: R-U-Safe? <%s>" % SERVICE)
        headers += ["Subject: %s" % subject, "Date: %s" % DATE]
        if it.msgid:
            headers.append("Message-ID: <%s>" % it.msgid)
        headers += extra
        headers += ["MIME-Version: 1.0", "Content-Type: %s" % ctype]
        if cte:
            headers.append("Content-Transfer-Encoding: %s" % cte)
        head = "\r\n".join(h for h in headers if h) + "\r\n\r\n"
        if isinstance(body, str):
            body = body.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        return head.encode() + body

    def _automatic(self, it, frm, text, subject):
        headers, ctype, cte = [], "text/plain; charset=utf-8", "8bit"
        body = text
        if it.sub == "ooo":
            headers = ["Auto-Submitted: auto-replied", "X-Autoreply: yes"]
            subject = "Automatic reply: %s" % it.token
            body = "%s\nI am away until Monday with no access to email.\n" % it.token
        elif it.sub == "bounce_report":
            frm = "MAILER-DAEMON@example.net"
            b = "report-%s" % it.token
            ctype = 'multipart/report; report-type=delivery-status; boundary="%s"' % b
            cte = None
            subject = "Undelivered Mail Returned to Sender %s" % it.token
            body = ("This is a MIME-encapsulated message.\r\n\r\n--{b}\r\nContent-Type: text/plain\r\n\r\n{t}\r\n"
                    "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
                    "--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
                    "Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
                    "--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {s}\r\nTo: gone@example.net\r\n"
                    "Subject: Re: help\r\n\r\n--{b}--\r\n").format(b=b, t=it.token, s=SERVICE)
            headers = ["Auto-Submitted: auto-replied"]
        elif it.sub == "bounce_plain":
            frm = "MAILER-DAEMON@example.com"
            subject = "Undelivered Mail Returned to Sender %s" % it.token
            body = ("%s\nThis is the mail system at host mx.example.com.\n\nI'm sorry to have to inform you that "
                    "your message could not\nbe delivered to one or more recipients.\n\n<gone@example.com>: "
                    "user unknown\n" % it.token)
        elif it.sub == "list":
            frm = "kids-news@lists.example.com"
            headers = ["List-Id: Kids news <kids-news.lists.example.com>",
                       "List-Unsubscribe: <mailto:kids-news-leave@lists.example.com>"]
            subject = "[kids-news] weekly digest %s" % it.token
        elif it.sub == "bulk":
            frm = "offers@shop.example.com"
            headers = ["Precedence: bulk"]
            subject = "50%% off everything %s" % it.token
        return frm, ["From: %s" % frm] + headers, ctype, body, cte, subject

    def _attachment(self, it, text):
        r = it.rng
        b = "att-%s-%d" % (it.token, r.randint(0, 1 << 30))
        parts = ["--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (b, text.replace("\n", "\r\n"))]
        n = 2 if it.sub == "two_photos" else 1
        for i in range(n):
            size = it.size // n
            if it.sub == "pdf":
                ct, name = "application/pdf", "school-letter.pdf"
                data = b"%PDF-1.4\n" + r.randbytes(max(0, size - 9))
            else:
                ct, name = "image/jpeg", "IMG_%04d.jpg" % r.randint(0, 9999)
                data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + r.randbytes(max(0, size - 11))
            disp = "attachment"
            enc = base64.encodebytes(data).decode().replace("\n", "\r\n")
            parts.append("--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: %s; filename=\"%s\"\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\n%s" % (b, ct, name, disp, name, enc))
        body = "".join(parts) + "--%s--\r\n" % b
        return 'multipart/mixed; boundary="%s"' % b, body, None

    def _malformed(self, it, frm, subject, text):
        r = it.rng
        crlf = text.replace("\n", "\r\n")
        head = ["From: %s" % frm, "To: %s" % SERVICE, "Subject: %s" % subject, "Date: %s" % DATE]
        if it.msgid:
            head.append("Message-ID: <%s>" % it.msgid)
        head.append("MIME-Version: 1.0")
        body = b""
        s = it.sub
        if s == "bad_boundary":
            head.append('Content-Type: multipart/mixed; boundary="declared-%d"' % r.randint(0, 999))
            body = ("--other\r\nContent-Type: text/plain\r\n\r\n%s--other--\r\n" % crlf).encode()
        elif s == "missing_close":
            head.append('Content-Type: multipart/alternative; boundary="b1"')
            body = ("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n--b1\r\n"
                    "Content-Type: text/html\r\n\r\n<p>%s</p>\r\n" % (crlf, it.token)).encode()
        elif s == "deep200":
            head.append('Content-Type: multipart/mixed; boundary="d0"')
            depth = 200
            opening = "".join("--d%d\r\nContent-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n" % (i, i + 1)
                              for i in range(depth))
            inner = "--d%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (depth, crlf)
            closing = "".join("--d%d--\r\n" % i for i in range(depth, -1, -1))
            body = (opening + inner + closing).encode()
        elif s == "bad_base64":
            head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64"]
            good = base64.b64encode(text.encode()).decode()
            body = (good[: len(good) // 2] + "!!**not base64 at all**$$\r\n=====\r\nQUJD\r\n").encode()
        elif s == "wrong_charset":
            head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
            body = (it.token + BODY + "\r\n").encode() + "caf\u00e9 na\u00efve \u00e0 bient\u00f4t\r\n".encode("latin-1") + \
                b"\x1b$B\x1b(J stray iso-2022-jp escapes\r\n"
        elif s == "unknown_charset":
            head += ["Content-Type: text/plain; charset=x-klingon-9", "Content-Transfer-Encoding: quoted-printable"]
            body = (it.token + BODY + "\r\nsoft=\r\nbreak =E9=FF=ZZ bad escape=\r\n").encode()
        elif s == "nul_bytes":
            head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
            body = (it.token + BODY + "\r\n").encode() + b"before\x00after \x00\x00 nul bytes\r\n" + text.encode()
        elif s == "bare_cr":
            head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
            body = (it.token + BODY + "\r\n").encode() + b"line one\rline two\r\rline three\r\n" + text.encode() + b"\r"
        elif s == "bare_lf":
            head += ["Content-Type: text/plain; charset=utf-8"]
            return ("\n".join(head) + "\n\n" + text + "bare\nline\nfeeds\n").encode()
        elif s == "long_header":
            head.append("X-Long: " + "x" * 12000)
            head.append("Content-Type: text/plain; charset=utf-8")
            body = crlf.encode()
        elif s == "garbage_header":
            head += ["this line has no colon", ": empty name", "X-\u00fcml\u00e4ut: value", "Content-Type: text/plain;;;"
                     " charset=\"utf-8; boundary=", "Content-Transfer-Encoding: x-unknown"]
            body = crlf.encode()
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def canary(self, token):
        """The last message of the run: an ordinary email."""
        it = Item(0, self.seed, "canary")
        it.token = token
        it.msgid = "%s.%d@soak.example.net" % (token, self.seed)
        it.sender = "canary@example.net"
        raw = ("From: %s\r\nTo: %s\r\nSubject: canary %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\nthe last message of the soak\r\n"
               % (it.sender, SERVICE, token, email.utils.formatdate(), it.msgid, token + BODY)).encode()
        return it, raw


def _weighted(rng, table):
    total = sum(w for _, w in table)
    x = rng.uniform(0, total)
    for k, w in table:
        x -= w
        if x <= 0:
            return k
    return table[-1][0]
