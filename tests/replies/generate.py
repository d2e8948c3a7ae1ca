#!/usr/bin/env python3
"""Writes the reply-cleaning corpus: tests/replies/cases/NNN-client-lang.eml.

Each case is one file: '#' comment lines saying which client and what it
does, the raw reply email as that client writes it (headers, MIME parts,
transfer encoding), a line "%%%% sent %%%%" (or "%%%% held %%%%": the reply
must be held and given back to the adviser), then the exact text the young
person must receive (for a held reply: what would have been sent).

The quoted history in each reply is the forward the relay sent
(tests/replies/forward.txt) and the young person's first message
(tests/replies/young.txt), transformed as that client transforms it: '>'
quoted with or without a space, re-wrapped, squashed onto one line, indented,
or turned into HTML with entities. Fields that differ from run to run are
placeholders, filled in by the tests in the decoded text:
{{reference}} {{reply_to}} {{forward_id}} {{received}} {{contact}}.

The forms of the attribution lines and header blocks are those the clients
write (their documentation, their localisation files, and replies seen in
the wild, as collected by talon, email_reply_parser and mail-parser-reply).

Run it from anywhere; it rewrites the cases directory. The cases are
committed, so a reader never needs to run it.
"""
import base64
import os
import quopri
import shutil
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")

FORWARD = open(os.path.join(HERE, "forward.txt"), encoding="utf-8").read().rstrip("\n")
YOUNG = open(os.path.join(HERE, "young.txt"), encoding="utf-8").read().rstrip("\n")
US = "R-U-Safe?"
TAG = "{{reply_to}}"
SUBJ = "[{{reference}}] New message by email"

# --- what advisers write (some in Welsh); used in turn, so texts repeat --------
ADVISER = [
    "Hi Sam,\n\nThank you for telling us. You did the right thing by writing.\n\nJo",
    "Hi Sam, are you somewhere safe right now?\nWe can talk on the phone if that is easier.",
    "Thank you for writing to us, Sam. What happened is not your fault.\n\nTake care,\nPriya",
    "Hello Sam\n\nI'm really glad you wrote. Can you tell me a bit more about what happens at home?\n\nBest wishes\nTom",
    "Sam, you can call Childline any time on 0800 1111. It's free and it won't show on the bill.",
    "Hi Sam\n\nOn Monday we can meet at the centre at 4pm if you would like to.\nSee you then.\n\nJo",
    "Dear Sam,\n\nWe won't tell your mum without talking to you first.\nIs there an adult at school you trust?\n\nKind regards,\nAlex",
    "Hi Sam,\nI've read your message twice. Being pushed is never OK.\nIf it happens again and you are in danger, call 999.\nPriya",
    "Thanks Sam.\nSee you Thursday.",
    "Hi Sam - yes, we can talk tomorrow after school. Would 4pm work?",
    "Helo Sam,\n\nDiolch am ysgrifennu atom. Rwyt ti wedi gwneud y peth iawn.\n\nCofion,\nSiân",
    "Sam, mae'n ddrwg gen i glywed hyn. Wyt ti'n ddiogel heno?\nGallwn siarad ar y ffôn os yw'n haws.",
    "Hi Sam,\n\nHere is what you can do tonight:\n- stay in your room if it starts\n- text us on this number\n- call 999 if you are hurt\n\nJo",
    "Ok, thank you.",
    "Yes.",
    "Hi Sam,\n\nSent from my desk, is much easier than my mobile phone.\nI'll ring the school in the morning.\n\nTom",
    "Hi Sam\n\nFrom: your adviser Jo. I'll be your contact from now on.\nTo: be clear, you can write any time.",
    "Hi Sam,\n\nYou wrote that you are scared to go home. That must be really hard.\nWe are here for you.",
    "Sam, that sounds frightening.\n\nOn Friday at 10:30 I spoke to my manager: we can help you find somewhere safe.\n\nAlex",
    "Hi Sam,\nYou are not in trouble. Please write again when you can.\n-- \nJo Adviser\nYouth Service\n01234 567890",
    "Hi Sam, thank you.\n\nJo\n\nThis email and any attachments are confidential and intended solely for the addressee.\n"
    "If you have received it in error, please delete it.",
    "Bore da Sam,\nByddwn ni'n cwrdd ddydd Iau am 4.\nSiân",
    "Hi Sam - I know it took courage to write. Is your mum someone you feel safe with?",
    "Hello Sam, we have a youth worker near your school. Would you like to meet her?\n\nPriya",
    "Sam,\n\nPlease keep this number safe: 0800 1111.\nWrite back whenever you want.\n\nTom",
]

# --- localised pieces ----------------------------------------------------------
OUTLOOK_FIELDS = {   # From, Sent, To, Subject (Outlook desktop / web, Windows)
    "en": ("From:", "Sent:", "To:", "Subject:", "Saturday, November 21, 2026 10:01 AM"),
    "cy": ("Oddi wrth:", "Anfonwyd:", "At:", "Pwnc:", "Dydd Sadwrn, 21 Tachwedd 2026 10:01"),
    "fr": ("De :", "Envoyé :", "À :", "Objet :", "samedi 21 novembre 2026 10:01"),
    "de": ("Von:", "Gesendet:", "An:", "Betreff:", "Samstag, 21. November 2026 10:01"),
    "es": ("De:", "Enviado el:", "Para:", "Asunto:", "sábado, 21 de noviembre de 2026 10:01"),
    "pl": ("Od:", "Wysłano:", "Do:", "Temat:", "sobota, 21 listopada 2026 10:01"),
    "ro": ("De la:", "Trimis:", "Către:", "Subiect:", "sâmbătă, 21 noiembrie 2026 10:01"),
    "ar": ("من:", "تم الإرسال:", "إلى:", "الموضوع:", "السبت، 21 نوفمبر، 2026 10:01 ص"),
    "ur": ("منجانب:", "بھیجا گیا:", "بنام:", "موضوع:", "ہفتہ، 21 نومبر، 2026 10:01 صبح"),
    "pt": ("De:", "Enviado:", "Para:", "Assunto:", "sábado, 21 de novembro de 2026 10:01"),
    "it": ("Da:", "Inviato:", "A:", "Oggetto:", "sabato 21 novembre 2026 10:01"),
    "nl": ("Van:", "Verzonden:", "Aan:", "Onderwerp:", "zaterdag 21 november 2026 10:01"),
}
ORIGINAL = {   # Outlook desktop's "-----Original Message-----"
    "en": "-----Original Message-----", "cy": "-----Neges Wreiddiol-----", "fr": "-----Message d'origine-----",
    "de": "-----Ursprüngliche Nachricht-----", "pl": "-----Wiadomość oryginalna-----",
    "ro": "-----Mesaj original-----", "es": "-----Mensaje original-----",
}
ANDROID_ORIGINAL = {   # Samsung Email and other Android clients, with their Date: block
    "en": ("-------- Original message --------", "From:", "Date:", "To:", "Subject:"),
    "cy": ("-------- Neges wreiddiol --------", "Oddi wrth:", "Dyddiad:", "At:", "Pwnc:"),
    "fr": ("-------- Message d'origine --------", "De :", "Date :", "À :", "Objet :"),
    "de": ("-------- Ursprüngliche Nachricht --------", "Von:", "Datum:", "An:", "Betreff:"),
    "pl": ("-------- Oryginalna wiadomość --------", "Od:", "Data:", "Do:", "Temat:"),
    "ro": ("-------- Mesaj original --------", "De la:", "Dată:", "Către:", "Subiect:"),
    "es": ("-------- Mensaje original --------", "De:", "Fecha:", "Para:", "Asunto:"),
    "ar": ("-------- الرسالة الأصلية --------", "من:", "التاريخ:", "إلى:", "الموضوع:"),
    "ur": ("-------- اصل پیغام --------", "منجانب:", "تاریخ:", "بنام:", "موضوع:"),
}
ANDROID_FOOTER = {
    "en": "Sent from my Galaxy", "cy": "Anfonwyd o fy Galaxy", "fr": "Envoyé depuis mon appareil Galaxy",
    "de": "Von meinem Galaxy gesendet", "pl": "Wysłane z mojego Galaxy", "ro": "Trimis de pe Galaxy",
    "es": "Enviado desde mi Galaxy", "ar": "تم الإرسال من Galaxy", "ur": "میرے Galaxy سے بھیجا گیا",
}
A = US + " <" + TAG + ">"
GMAIL_ATTR = {   # Gmail web, by interface language
    "en": f"On Sat, 21 Nov 2026 at 10:01, {A} wrote:",
    "cy": f"Ar Sad, 21 Tach 2026 am 10:01, {A} ysgrifennodd:",
    "fr": f"Le sam. 21 nov. 2026 à 10:01, {A} a écrit\u00a0:",
    "de": f"Am Sa., 21. Nov. 2026 um 10:01 Uhr schrieb {A}:",
    "pl": f"sob., 21 lis 2026 o 10:01 {A} napisał(a):",
    "ro": f"Pe sâm., 21 nov. 2026 la 10:01, {A} a scris:",
    "ar": f"\u202bفي السبت، 21 نوفمبر 2026 في 10:01 ص تمت كتابة ما يلي بواسطة \u202a{US}\u202c\u200f <\u202a{TAG}\u202c\u200f>:\u202c",
    "ur": f"\u202bہفتہ، 21 نومبر، 2026 کو 10:01 بجے {A} نے لکھا:\u202c",
    "es": f"El sáb, 21 nov 2026 a las 10:01, {US} (<{TAG}>) escribió:",
    "it": f"Il giorno sab 21 nov 2026 alle ore 10:01 {A} ha scritto:",
    "nl": f"Op za 21 nov 2026 om 10:01 schreef {A}:",
    "pt": f"Em sáb., 21 de nov. de 2026 às 10:01, {A} escreveu:",
    "date-first": f"2026-11-21 10:01 GMT+00:00 {A}:",
    "mobile": f"On Sat, 21 Nov 2026, 10:01 {US}, <{TAG}> wrote:",
}
APPLE_ATTR = {
    "en": f"On 21 Nov 2026, at 10:01, {A} wrote:",
    "us": f"On Nov 21, 2026, at 10:01 AM, {A} wrote:",
    "fr": f"Le 21 nov. 2026 à 10:01, {A} a écrit :",
    "de": f"Am 21.11.2026 um 10:01 schrieb {A}:",
    "pl": f"Wiadomość napisana przez {A} w dniu 21.11.2026, o godz. 10:01:",
    "cy": f"Ar 21 Tach 2026, am 10:01, ysgrifennodd {A}:",
    "ro": f"Pe 21 nov. 2026, la 10:01, {A} a scris:",
    "ar": f"في 21\u200f/11\u200f/2026، الساعة 10:01 ص، كتب {A}:",
}
IPHONE_FOOTER = {
    "en": "Sent from my iPhone", "us": "Sent from my iPhone", "fr": "Envoyé de mon iPhone",
    "de": "Von meinem iPhone gesendet", "pl": "Wysłane z iPhone'a", "cy": "Anfonwyd o fy iPhone",
    "ro": "Trimis de pe iPhone-ul meu", "ar": "أُرسلت من الـ iPhone",
}
THUNDERBIRD_ATTR = {
    "en": f"On 21/11/2026 10:01, {US} wrote:",
    "de": f"Am 21.11.26 um 10:01 schrieb {US}:",
    "fr": f"Le 21/11/2026 à 10:01, {US} a écrit :",
    "pl": f"W dniu 21.11.2026 o 10:01, {US} pisze:",
    "ro": f"Pe 21.11.2026 10:01, {US} a scris:",
    "cy": f"Ar 21/11/2026 10:01, ysgrifennodd {US}:",
}

# --- transforming the history ----------------------------------------------------


def history():
    return FORWARD


def quote(text, prefix="> ", empty=">"):
    return "\n".join(prefix + l if l else empty for l in text.split("\n"))


def rewrap(text, width):
    out = []
    for l in text.split("\n"):
        out.extend(textwrap.wrap(l, width, break_on_hyphens=False) or [""])
    return "\n".join(out)


def squash(text):
    return " ".join(l.strip() for l in text.split("\n") if l.strip())


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;") \
            .replace('"', "&quot;")


def html_lines(text):
    """Text as an HTML client writes it: a <div> a line, <div><br></div> for blank ones."""
    return "".join(f"<div>{esc(l)}</div>" if l else "<div><br></div>" for l in text.split("\n"))


def html_paras(text):
    return "".join("<p>" + "<br>".join(esc(l) for l in p.split("\n")) + "</p>" for p in text.split("\n\n"))


# --- writing a case ----------------------------------------------------------------

cases = []


def case(client, lang, what, plain, want, html=None, mode="alternative", outcome="sent",
         cte="8bit", charset="utf-8", frm="Adviser One <adviser1@example.org>"):
    cases.append(dict(client=client, lang=lang, what=what, plain=plain, want=want, html=html, mode=mode,
                      outcome=outcome, cte=cte, charset=charset, frm=frm))


def encode(body, cte, charset):
    data = body.replace("\n", "\r\n").encode(charset)
    if cte == "base64":
        return base64.encodebytes(data).decode().replace("\n", "\r\n")
    if cte == "quoted-printable":
        return quopri.encodestring(data).decode().replace("\r\n", "\n").replace("=0D\n", "\n") \
            .replace("\n", "\r\n")
    return data.decode(charset)


def part(ctype, body, cte, charset):
    return (f"Content-Type: {ctype}; charset=\"{charset}\"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
            + encode(body, cte, charset))


def render(n, c):
    hdr = [f"From: {c['frm']}", f"To: {US} <{TAG}>", f"Subject: RE: {SUBJ}",
           "Date: Sat, 21 Nov 2026 10:15:00 +0000", f"Message-ID: <corpus-{n:03d}@example.org>",
           "In-Reply-To: <{{forward_id}}>", "References: <{{forward_id}}>", "MIME-Version: 1.0"]
    if c["mode"] == "plain":
        body = "\r\n".join(hdr) + "\r\n" + part("text/plain", c["plain"], c["cte"], c["charset"])
    elif c["mode"] == "html":
        body = "\r\n".join(hdr) + "\r\n" + part("text/html", c["html"], c["cte"], c["charset"])
    else:
        b = f"=_corpus_{n:03d}"
        body = ("\r\n".join(hdr) + f"\r\nContent-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n"
                f"--{b}\r\n" + part("text/plain", c["plain"], c["cte"], c["charset"]) +
                f"\r\n--{b}\r\n" + part("text/html", c["html"], c["cte"], c["charset"]) + f"\r\n--{b}--\r\n")
    comment = f"# {c['client']} ({c['lang']}): {c['what']}\r\n"
    return (comment + body.rstrip("\r\n") + f"\r\n%%%% {c['outcome']} %%%%\r\n" +
            c["want"].replace("\n", "\r\n") + "\r\n")


def html_doc(inner):
    return f"<html><head><meta charset=\"utf-8\"></head><body>{inner}</body></html>"


# --- the clients -------------------------------------------------------------------

def adviser(i):
    return ADVISER[i % len(ADVISER)]


def want_of(text):
    """What the young person receives of an adviser's text: its signature and
    disclaimer go (they are the adviser's, but not for the young person)."""
    if "\n-- \n" in text:
        text = text.split("\n-- \n")[0]
    if "\n\nThis email and any attachments" in text:
        text = text.split("\n\nThis email and any attachments")[0]
    return text


k = 0


def nxt():
    global k
    k += 1
    return adviser(k)


def outlook_block(lang, date_first=False):
    f, s, t, subj, date = OUTLOOK_FIELDS[lang]
    if date_first:
        return f"Date: Sat, 21 Nov 2026 10:01:00 +0000\nFrom: {A}\nTo: adviser1@example.org\nSubject: {SUBJ}"
    return f"{f} {A}\n{s} {date}\n{t} Adviser One <adviser1@example.org>\n{subj} {SUBJ}"


def outlook_html_block(lang):
    f, s, t, subj, date = OUTLOOK_FIELDS[lang]
    return ('<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">'
            f'<b>{esc(f)}</b> {esc(A)}<br><b>{esc(s)}</b> {esc(date)}<br><b>{esc(t)}</b> Adviser One '
            f'&lt;adviser1@example.org&gt;<br><b>{esc(subj)}</b> {esc(SUBJ)}</font><div>&nbsp;</div></div>')


for lang in OUTLOOK_FIELDS:
    # Outlook desktop (Windows): plain part unquoted under "____" and the block
    for variant in range(2):
        a = nxt()
        plain = f"{a}\n\n________________________________\n{outlook_block(lang)}\n\n{history()}\n"
        html = html_doc(html_lines(a) + '<hr style="display:inline-block;width:98%" tabindex="-1">' +
                        outlook_html_block(lang) + html_lines(history()))
        case("Outlook desktop", lang, "top-posted above ____ and the From/Sent/To/Subject block, history unquoted",
             plain, want_of(a), html=html, mode="alternative" if variant == 0 else "html",
             cte="quoted-printable" if variant else "8bit")
    # Outlook on the web: HTML only, the block in divRplyFwdMsg
    a = nxt()
    case("Outlook on the web", lang, "HTML only: divRplyFwdMsg block, history as HTML with entities",
         None, want_of(a), html=html_doc(html_lines(a) + "<div><br></div><hr>" + outlook_html_block(lang) +
                                         html_paras(history())), mode="html", cte="base64")

for lang in ORIGINAL:
    a = nxt()
    f, s, t, subj, date = OUTLOOK_FIELDS[lang]
    plain = f"{a}\n\n{ORIGINAL[lang]}\n{outlook_block(lang)}\n\n{history()}\n"
    case("Outlook desktop, plain-text mode", lang, "-----Original Message----- in the interface's language",
         plain, want_of(a), mode="plain", cte="quoted-printable", charset="utf-8")

for lang in ("en", "fr", "de", "pl", "cy"):
    a = nxt()
    plain = f"{a}\n\n{outlook_block(lang, date_first=True)}\n\n{history()}\n"
    case("Outlook.com / Hotmail", lang, "header block that begins with Date: rather than From:", plain, want_of(a),
         mode="plain")

for lang in ("en", "fr", "de", "cy", "pl"):
    a = nxt()
    footer = {"en": "Get Outlook for iOS<https://aka.ms/o0ukef>", "fr": "Télécharger Outlook pour iOS<https://aka.ms/o0ukef>",
              "de": "Outlook für iOS<https://aka.ms/o0ukef> herunterladen", "cy": "Cael Outlook ar gyfer iOS<https://aka.ms/o0ukef>",
              "pl": "Pobierz aplikację Outlook dla systemu iOS<https://aka.ms/o0ukef>"}[lang]
    plain = f"{a}\n\n{footer}\n________________________________\n{outlook_block(lang)}\n\n{history()}\n"
    case("Outlook for iOS", lang, "mobile footer, ____, block, history unquoted", plain, want_of(a),
         html=html_doc(html_lines(a) + f"<div><br></div><div>{esc(footer)}</div><hr>" + outlook_html_block(lang) +
                       html_lines(history())))
    a = nxt()
    footer = footer.replace("iOS", "Android")
    plain = f"{a}\n\n{footer}\n________________________________\n{outlook_block(lang)}\n\n{history()}\n"
    case("Outlook for Android", lang, "mobile footer, ____, block, history unquoted", plain, want_of(a),
         mode="plain", cte="base64")

for lang in ("en", "fr"):
    a = nxt()
    block = f"From: {A}\nDate: Saturday, 21 November 2026 at 10:01\nTo: Adviser One <adviser1@example.org>\nSubject: {SUBJ}"
    if lang == "fr":
        block = block.replace("From:", "De :").replace("Date:", "Date :").replace("To:", "À :").replace("Subject:", "Objet :")
    plain = f"{a}\n\n{block}\n\n{history()}\n"
    case("Outlook for Mac", lang, "From/Date/To/Subject block without a separator", plain, want_of(a), mode="plain")

# Gmail web: plain '> ' quoted after the attribution, HTML gmail_quote
for lang in GMAIL_ATTR:
    for variant in range(2 if lang in ("en", "cy", "fr", "pl", "ar", "ur", "ro", "date-first") else 1):
        a = nxt()
        attr = GMAIL_ATTR[lang]
        client = "Gmail app (Android/iOS)" if lang == "mobile" else "Gmail web"
        plain = f"{a}\n\n{attr}\n\n{quote(rewrap(history(), 76))}\n"
        html = html_doc(f'<div dir="ltr">{html_lines(a)}</div><br><div class="gmail_quote"><div dir="ltr" '
                        f'class="gmail_attr">{esc(attr)}<br></div><blockquote class="gmail_quote" style="margin:0px '
                        f'0px 0px 0.8ex">{html_lines(history())}</blockquote></div>')
        case(client, lang, "top-posted above the attribution and the '>'-quoted forward (re-wrapped at 76)",
             plain, want_of(a), html=html, mode="alternative" if variant == 0 else "html",
             cte="quoted-printable" if variant else "8bit")

# Gmail wraps a long attribution line in its plain part
for n in range(3):
    a = nxt()
    attr = f"On Sat, 21 Nov 2026 at 10:01, {US} Relay Service for Young People <\n{TAG}> wrote:"
    if n == 1:
        attr = f"On Sat, 21 Nov 2026 at 10:01, {US} Relay Service for Young People in the Valleys\n<{TAG}> wrote:"
    if n == 2:
        attr = f"Ar Sad, 21 Tach 2026 am 10:01, {US} Gwasanaeth i Bobl Ifanc <\n{TAG}> ysgrifennodd:"
    case("Gmail web", "cy" if n == 2 else "en", "attribution wrapped over two lines in the plain part",
         f"{a}\n\n{attr}\n\n{quote(history())}\n", want_of(a), mode="plain")

# Apple Mail (macOS) and iPhone: attribution inside the quote
for lang in APPLE_ATTR:
    a = nxt()
    plain = f"{a}\n\n> {APPLE_ATTR[lang]}\n> \n{quote(history())}\n"
    case("Apple Mail (macOS)", lang, "attribution quoted with the history", plain, want_of(a),
         html=html_doc(html_lines(a) + f"<div><br><blockquote type=\"cite\"><div>{esc(APPLE_ATTR[lang])}</div><br>"
                       + html_lines(history()) + "</blockquote></div>"))
    a = nxt()
    plain = f"{a}\n\n{IPHONE_FOOTER[lang]}\n\n> {APPLE_ATTR[lang]}\n> \n{quote(history())}\n"
    case("iPhone Mail", lang, "phone footer, then the quoted attribution and history", plain, want_of(a),
         mode="plain", cte="quoted-printable")
    a = nxt()
    plain = f"{a}\n\n{IPHONE_FOOTER[lang]}\n\n{APPLE_ATTR[lang]}\n\n{quote(history())}\n"
    case("iPhone Mail", lang, "attribution unquoted above the quote", plain, want_of(a), mode="plain")

# The failure: last lines directly above the attribution, no blank line
for n, (text, attr) in enumerate([
        ("Thanks Sam.\nSee you Thursday.", APPLE_ATTR["us"]),
        ("Ok.", APPLE_ATTR["en"]),
        ("Hi Sam,\nI will call the school tomorrow.\nJo", GMAIL_ATTR["en"]),
        ("Yes, 4pm is fine.", THUNDERBIRD_ATTR["en"]),
        ("Diolch Sam.\nWela i di ddydd Iau.", GMAIL_ATTR["cy"]),
        ("Oui, à jeudi.", APPLE_ATTR["fr"]),
        ("Tak, do czwartku.", GMAIL_ATTR["pl"]),
        ("Call us after school.\nWe'll be here.", APPLE_ATTR["en"].replace(" wrote:", "\nwrote:")),
]):
    case("iPhone Mail" if "at 10:01" in attr else "Gmail web", "mixed", "the reply's last line sits right above the "
         "attribution, no blank line between", f"{text}\n{attr}\n\n{quote(history())}\n", text, mode="plain")

# Thunderbird: top-posted and bottom-posted, '> ' quoting, format=flowed
for lang in THUNDERBIRD_ATTR:
    a = nxt()
    case("Thunderbird", lang, "top-posted", f"{a}\n\n{THUNDERBIRD_ATTR[lang]}\n{quote(history())}\n", want_of(a),
         mode="plain")
    a = nxt()
    case("Thunderbird", lang, "bottom-posted under the quote", f"{THUNDERBIRD_ATTR[lang]}\n{quote(history())}\n\n{a}\n",
         want_of(a), mode="plain")

# Inline answers between quoted lines
young = YOUNG.split("\n")
for n, (answers) in enumerate([
        ("I'm so sorry. That is not OK.", "We will not tell your mum without asking you first."),
        ("Pushing you is never OK, Sam.", "You can write to us any time."),
        ("Mae'n ddrwg gen i, Sam.", "Ni fyddwn ni'n dweud wrth dy fam heb ofyn i ti."),
]):
    body = THUNDERBIRD_ATTR["en"] + "\n" + quote("\n".join(young[:2])) + "\n\n" + answers[0] + "\n\n" + \
        quote("\n".join(young[2:])) + "\n\n" + answers[1] + "\n"
    case("Thunderbird", "en", "inline answers between quoted lines", body, answers[0] + "\n\n" + answers[1], mode="plain")
    body = GMAIL_ATTR["en"] + "\n\n" + quote(young[0]) + "\n\n" + answers[0] + "\n\n" + quote("\n".join(young[1:])) + \
        "\n\n" + answers[1] + "\n\nJo\n"
    case("Gmail web", "en", "inline answers, ending with a sign-off", body,
         answers[0] + "\n\n" + answers[1] + "\n\nJo", mode="plain")

# Android clients
for lang in ANDROID_ORIGINAL:
    a = nxt()
    o, f, d, t, s = ANDROID_ORIGINAL[lang]
    block = f"{o}\n{f} {A}\n{d} 21/11/2026 10:01 (GMT+00:00)\n{t} adviser1@example.org\n{s} {SUBJ}"
    plain = f"{a}\n\n\n\n{ANDROID_FOOTER[lang]}\n\n\n{block}\n\n{history()}\n"
    case("Samsung Email (Android)", lang, "phone footer then -------- Original message -------- and its block",
         plain, want_of(a), html=html_doc(html_lines(a) + f"<div><br></div><div>{esc(ANDROID_FOOTER[lang])}</div>"
                                          f"<div><br></div><div>{esc(o)}</div><div>" +
                                          "<br>".join(esc(x) for x in block.split("\n")[1:]) + "</div>" +
                                          html_lines(history())))
for n in range(4):
    a = nxt()
    footer = ["Sent from my Huawei phone", "Sent from my Android phone", "Sent from my Samsung Galaxy smartphone.",
              "Sent from my Xiaomi"][n]
    case("Android phone mail", "en", "phone footer followed by the previous message with no header",
         f"{a}\n\n{footer}\n\n{history()}\n", want_of(a), mode="plain")
for n in range(3):
    a = nxt()
    case("K-9 Mail / FairEmail (Android)", "en", "quoted under a long attribution with the footer",
         f"{a}\n\nSent from my Android device with K-9 Mail. Please excuse my brevity.\n\n"
         f"On 21 November 2026 10:01:00 GMT, {A} wrote:\n{quote(history())}\n", want_of(a), mode="plain")
    a = nxt()
    case("FairEmail (Android)", "en", "top-posted, attribution with a time zone",
         f"{a}\n\n21 Nov 2026 10:01:00 {US} <{TAG}>:\n\n{quote(history())}\n", want_of(a), mode="plain")

# Yahoo
for n in range(6):
    a = nxt()
    if n % 3 == 0:
        plain = (f"{a}\n\nSent from Yahoo Mail on Android\n\n  On Sat, 21 Nov 2026 at 10:01, {US}<{TAG}> wrote:   "
                 f"{squash(history())}\n")
        what = "Yahoo Mail for Android: the history squashed onto the attribution's line"
    elif n % 3 == 1:
        plain = (f"{a}\n\n\n    On Saturday, 21 November 2026, 10:01:00 GMT, {A} wrote:  \n \n"
                 + "\n".join(" " + l for l in history().split("\n")) + "\n")
        what = "Yahoo web: indented attribution and history, not '>'-quoted"
    else:
        plain = (f"{a}\n\nSent from Yahoo Mail for iPhone\n\n\nOn Saturday, November 21, 2026, 10:01 AM, {A} wrote:\n\n"
                 f"{history()}\n")
        what = "Yahoo Mail for iPhone: footer, attribution, history unquoted"
    case("Yahoo Mail", "en", what, plain, want_of(a), mode="plain" if n < 3 else "alternative",
         html=html_doc(html_lines(a) + '<div class="yahoo_quoted"><div>On Saturday, 21 November 2026, 10:01:00 GMT, '
                       + esc(A) + ' wrote:</div><div><br></div>' + html_lines(history()) + "</div>"))

# Zoho
for n in range(4):
    a = nxt()
    plain = (f"{a}\n\n\n\n---- On Sat, 21 Nov 2026 10:01:00 +0000 {US} <{TAG}> wrote ----\n\n"
             + (quote(history()) if n % 2 else history()) + "\n")
    case("Zoho Mail", "en", "---- On ... wrote ---- then the history" + (" quoted" if n % 2 else " unquoted"),
         plain, want_of(a), mode="plain")

# mail.ru
for n in range(4):
    a = nxt()
    plain = (f"{a}\n\n\n>Суббота, 21 ноября 2026, 10:01 +00:00 от {US} <{TAG}>:\n>\n" +
             quote(history(), prefix=">", empty=">") + "\n") if n % 2 == 0 else \
        (f"{a}\n\n--\nОтправлено из Почты Mail.ru\n\n\nСуббота, 21 ноября 2026, 10:01 +00:00 от {US} <{TAG}>:\n\n" +
         quote(history(), prefix=">", empty=">") + "\n")
    case("mail.ru", "ru", "'>' with no space; attribution 'от Name <addr>:'", plain, want_of(a), mode="plain")

# attribution forms the old cleaner did not know
odd = [
    ("Gmail web", "en", "On ... wrote with no colon", f"On Sat, 21 Nov 2026 at 10:01, {A} wrote"),
    ("unknown client", "en", "<addr>wrote: with no space", f"On Sat, 21 Nov 2026 at 10:01, {US} <{TAG}>wrote:"),
    ("Lotus Notes / HCL", "en", "time-first attribution", f"11:00 AM, November 21, 2026, \"{US}\" <{TAG}>:"),
    ("Gmail web (old)", "en", "date-first attribution", f"2026/11/21 {US} <{TAG}>"),
    ("Polish webmail (WP, Onet)", "pl", "Polish attribution", f"Dnia 21 listopada 2026 10:01 {US} <{TAG}> napisał(a):"),
    ("Romanian webmail", "ro", "Romanian attribution", f"În sâm., 21 nov. 2026 la 10:01, {US} <{TAG}> a scris:"),
    ("French webmail (Orange)", "fr", "French attribution with the time first",
     f"> Message du 21/11/26 10:01\n> De : {US} <{TAG}>\n> A : adviser1@example.org\n> Objet : {SUBJ}"),
    ("Arabic Outlook mobile", "ar", "Arabic attribution", f"في 21 نوفمبر 2026 10:01 ص، كتب {US} <{TAG}>:"),
    ("Urdu Gmail mobile", "ur", "Urdu attribution", f"{US} <{TAG}> نے ہفتہ، 21 نومبر، 2026 کو لکھا:"),
    ("Welsh Thunderbird", "cy", "Welsh attribution with the name first", f"{US} ysgrifennodd ar 21/11/2026 10:01:"),
]
for client, lang, what, attr in odd:
    for quoted in (1, 0):
        a = nxt()
        hist = quote(history()) if quoted else history()
        case(client, lang, what + (", history quoted" if quoted else ", history unquoted"),
             f"{a}\n\n{attr}\n\n{hist}\n", want_of(a), mode="plain")

# footers: only the real ones go
for text, want in [
        ("Sent from my desk, is much easier than my mobile phone.\nI'll call you at 4.",
         "Sent from my desk, is much easier than my mobile phone.\nI'll call you at 4."),
        ("I'll call you at 4.\n\nSent from my desk, is much easier than my mobile phone.",
         "I'll call you at 4.\n\nSent from my desk, is much easier than my mobile phone."),
        ("Sent from my office last week: the leaflet you asked for.", "Sent from my office last week: the leaflet you asked for."),
        ("Get Outlook for iOS and you can read this anywhere, Sam: it's free.",
         "Get Outlook for iOS and you can read this anywhere, Sam: it's free."),
]:
    case("Outlook desktop", "en", "a sentence that starts like a phone footer is the adviser's",
         f"{text}\n\n________________________________\n{outlook_block('en')}\n\n{history()}\n", want, mode="plain")

# history in other encodings and charsets
for n, (charset, cte, lang) in enumerate([("windows-1252", "quoted-printable", "fr"), ("iso-8859-2", "quoted-printable", "pl"),
                                          ("windows-1250", "quoted-printable", "pl"), ("iso-8859-1", "base64", "en"),
                                          ("windows-1252", "base64", "es")]):
    a = nxt() if lang != "pl" else "Dzień dobry Sam,\nczy jesteś teraz bezpieczny?\nJo"
    a = a.replace("ŵ", "w").replace("’", "'")
    if charset in ("iso-8859-2", "windows-1250"):
        a = a if lang == "pl" else "Hi Sam"
    try:
        a.encode(charset)
    except UnicodeEncodeError:
        a = "Hi Sam, thank you for writing."
    blk = outlook_block(lang if lang in OUTLOOK_FIELDS else "en")
    plain = f"{a}\n\n________________________________\n{blk}\n\n{history()}\n"
    case("Outlook desktop", lang, f"{charset}, {cte}", plain, want_of(a), mode="plain", cte=cte, charset=charset)

# replies that must be held: what is left is not certain
held = [
    ("unknown client", "en", "an Outlook block followed by text the relay never sent (history it cannot match)",
     "Hi Sam,\n\nYes.\n\nFrom: Someone Else <someone@example.com>\nSent: Friday, 20 November 2026 17:00\n"
     "To: Adviser One <adviser1@example.org>\nSubject: notes\n\nThese are the notes from the meeting about the\n"
     "case conference next week, including who will attend, the agenda and the minutes of the last one, which\n"
     "ran long because the room was double-booked.\n", "Hi Sam,\n\nYes."),
    ("unknown client", "en", "a reply that is only an attribution and text the relay never sent",
     f"On Fri, 20 Nov 2026 at 17:00, Someone Else <someone@example.com> wrote:\nMinutes of the meeting, draft two.\n", ""),
]
for client, lang, what, plain, want in held:
    case(client, lang, what, plain, want, mode="plain", outcome="held")

# history the relay cannot match (a client that quotes some other message):
# the heuristics cut it, and when what they cut is most of the reply it is
# held rather than guessed; '>' quoting and known separators are evidence
OTHER = ("Minutes of the safeguarding meeting on Thursday: present were the team leader, two social workers\n"
         "and the school nurse. The next review is in six weeks and the plan stays as agreed by everyone.")
OTHER_FROM = "Team Leader <lead@council.example>"
unmatched = [
    ("Gmail web (old)", "en", "date-first attribution", f"2026-11-20 17:00 GMT+00:00 {OTHER_FROM}:", "held"),
    ("Lotus Notes / HCL", "en", "time-first attribution", f"05:00 PM, November 20, 2026, \"Team Leader\" <lead@council.example>:", "held"),
    ("Gmail web", "en", "On ... wrote with no colon", f"On Fri, 20 Nov 2026 at 17:00, {OTHER_FROM} wrote", "held"),
    ("unknown client", "en", "<addr>wrote: with no space", f"On Fri, 20 Nov 2026 at 17:00, Team Leader <lead@council.example>wrote:", "held"),
    ("mail.ru", "ru", "attribution 'от Name <addr>:'", f"Пятница, 20 ноября 2026, 17:00 +00:00 от {OTHER_FROM}:", "held"),
    ("Arabic Outlook mobile", "ar", "Arabic attribution", f"في 20 نوفمبر 2026 05:00 م، كتب {OTHER_FROM}:", "held"),
    ("Outlook.com / Hotmail", "en", "a Date: block", f"Date: Fri, 20 Nov 2026 17:00:00 +0000\nFrom: {OTHER_FROM}\nTo: adviser1@example.org\nSubject: minutes", "held"),
    ("Outlook desktop", "fr", "De :/Envoyé :/À :/Objet :", f"De : {OTHER_FROM}\nEnvoyé : vendredi 20 novembre 2026 17:00\nÀ : adviser1@example.org\nObjet : compte rendu", "held"),
    ("Outlook desktop", "cy", "Welsh block", f"Oddi wrth: {OTHER_FROM}\nAnfonwyd: Dydd Gwener, 20 Tachwedd 2026 17:00\nAt: adviser1@example.org\nPwnc: cofnodion", "held"),
    ("Zoho Mail", "en", "---- On ... wrote ---- (a known separator)", f"---- On Fri, 20 Nov 2026 17:00:00 +0000 {OTHER_FROM} wrote ----", "sent"),
    ("Samsung Email (Android)", "pl", "-------- Oryginalna wiadomość -------- (a known separator)",
     f"-------- Oryginalna wiadomość --------\nOd: {OTHER_FROM}\nData: 20/11/2026 17:00 (GMT+00:00)\nDo: adviser1@example.org\nTemat: protokół", "sent"),
    ("Outlook desktop", "de", "-----Ursprüngliche Nachricht----- (a known separator)",
     f"-----Ursprüngliche Nachricht-----\nVon: {OTHER_FROM}\nGesendet: Freitag, 20. November 2026 17:00\nAn: adviser1@example.org\nBetreff: Protokoll", "sent"),
]
for client, lang, what, attr, outcome in unmatched:
    a = "Yes, 4pm on Monday is fine, Sam."
    case(client, lang, what + ", then text the relay never sent", f"{a}\n\n{attr}\n\n{OTHER}\n", a, mode="plain",
         outcome=outcome)
for client, lang, what, attr, outcome in unmatched[:3]:
    a = ("Hi Sam,\n\nThank you for writing again. I have spoken to the school and your head of year will see you\n"
         "on Monday morning; you can bring a friend. We will not tell your mum anything without asking you.\n"
         "If anything happens this weekend, call 999 or Childline on 0800 1111.\n\nJo")
    case(client, lang, what + ", text the relay never sent, but most of the reply is the adviser's",
         f"{a}\n\n{attr}\n\n{OTHER}\n", a, mode="plain")
    case(client, lang, what + ", then '>'-quoted text the relay never sent (quoting is evidence)",
         f"Ok.\n\n{attr}\n\n{quote(OTHER)}\n", "Ok.", mode="plain")

# whole reply quoted, nothing of the adviser's: held, nothing to send
for n in range(2):
    case("Gmail web" if n else "Outlook desktop", "en", "the adviser pressed send without writing anything",
         (f"{GMAIL_ATTR['en']}\n\n{quote(history())}\n" if n else
          f"\n\n________________________________\n{outlook_block('en')}\n\n{history()}\n"), "", mode="plain",
         outcome="held")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for n, c in enumerate(cases, 1):
        slug = (c["client"].split(" (")[0].split(" /")[0].lower().replace(" ", "-").replace(".", "")
                .replace(",", ""))
        name = f"{n:03d}-{slug}-{c['lang']}.eml"
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
            f.write(render(n, c))
    print(f"{len(cases)} cases in {OUT}")


if __name__ == "__main__":
    main()
