/* Unit tests for clean.c: replies as the common mail clients write them, in
 * English and the common European languages, and the adviser's own text
 * that must survive. */
#include "check.h"
#include "clean.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define US "R-U-Safe <relay+RUS-7K3F2.c2ln@rusafe.example.org>"

/* What our forward looks like once quoted. */
#define QUOTED "> New message from a young person (RUS-7K3F2):\n>\n> I don't feel safe at home.\n"

/* An Outlook header block, in several languages. */
#define OUTLOOK_EN                                                                                     \
	"From: " US "\nSent: Friday, November 21, 2026 9:14 AM\nTo: Jo Adviser <jo@council.example>\n" \
	"Subject: [RUS-7K3F2] New message\n\nI don't feel safe at home.\n"

struct tcase {
	const char *name;
	const char *in;
	const char *want;
};

static const struct tcase cases[] = {
	/* --- text that is all the adviser's ----------------------------------- */
	{ "plain text unchanged", "Hi Sam,\n\nThanks for writing to us.\n\nJo",
	  "Hi Sam,\n\nThanks for writing to us.\n\nJo" },
	{ "blank edges and trailing blanks", "\n \n\t\nHi Sam,   \nSecond line\t \n\n\n", "Hi Sam,\nSecond line" },
	{ "no-break space lines are blank", "\xC2\xA0\nHi\n\xC2\xA0\n \xC2\xA0\nBye\xC2\xA0 \n\xC2\xA0", "Hi\n\nBye" },
	{ "blank runs collapse", "One\n\n\n\nTwo\n \n  \nThree", "One\n\nTwo\n\nThree" },
	{ "leading indentation kept", "Steps:\n  1. breathe\n  2. call us", "Steps:\n  1. breathe\n  2. call us" },
	{ "final line without newline", "Ok", "Ok" },
	{ "empty", "", "" },
	{ "only blanks", " \n\t\n\r\n", "" },
	{ "CRLF", "Hi Sam,\r\n\r\nSee you at 4.\r\n", "Hi Sam,\n\nSee you at 4." },
	{ "lone CR line ends", "Hi\rThere\r\rBye", "Hi\nThere\n\nBye" },
	{ "emoji and accents kept", "Hi Zoë \xF0\x9F\x98\x8A\nÇa va? Schöne Grüße — Jo",
	  "Hi Zoë \xF0\x9F\x98\x8A\nÇa va? Schöne Grüße — Jo" },
	{ "invalid utf-8 replaced", "ok \xFF end", "ok \xEF\xBF\xBD end" },
	{ "adviser sentence On Monday", "On Monday we can meet at the centre at 4pm.\nSee you then.",
	  "On Monday we can meet at the centre at 4pm.\nSee you then." },
	{ "adviser On Monday you wrote", "On Monday you wrote:\nI feel scared at night.\nThat must be so hard.",
	  "On Monday you wrote:\nI feel scared at night.\nThat must be so hard." },
	{ "adviser On Monday at 10:30 you wrote", "On Monday at 10:30 you wrote:\nI feel scared.\nI'm sorry.",
	  "On Monday at 10:30 you wrote:\nI feel scared.\nI'm sorry." },
	{ "sentence then a line ending wrote",
	  "On Monday 24 November 2026 at 10:30 we meet.\nYour teacher wrote:\nbring a friend",
	  "On Monday 24 November 2026 at 10:30 we meet.\nYour teacher wrote:\nbring a friend" },
	{ "wrote: inside a line", "Here is what you wrote: I am scared.\nThank you for telling us.",
	  "Here is what you wrote: I am scared.\nThank you for telling us." },
	{ "From: in prose", "From: your adviser Jo\nHi Sam, from Monday the office opens at 9.\nTo: be clear, you can call.",
	  "From: your adviser Jo\nHi Sam, from Monday the office opens at 9.\nTo: be clear, you can call." },
	{ "From: with one field under it", "From: Jo\nTo: Sam\n\nHello", "From: Jo\nTo: Sam\n\nHello" },
	{ "lone separator line kept", "Part one\n________________________________\nPart two",
	  "Part one\n________________________________\nPart two" },
	{ "dashes that are not a signature", "Price --- none\n---\nfree", "Price --- none\n---\nfree" },

	/* --- quoted lines ------------------------------------------------------- */
	{ "nothing but a quote", QUOTED, "" },
	{ "nothing but a quote with header", "On Fri, 21 Nov 2026 at 09:14, " US " wrote:\n\n" QUOTED, "" },
	{ "nothing but an Outlook block", "-----Original Message-----\n" OUTLOOK_EN, "" },
	{ "indented quote", "Yes.\n  > did you\n  > get it?\nGood.", "Yes.\n\nGood." },
	{ "inline answers", "> Can you call me?\nYes.\n> When?\nAt 4pm today.\n>\n> Thanks\n", "Yes.\n\nAt 4pm today." },
	{ "bottom-posted under Gmail header",
	  "On Fri, 21 Nov 2026 at 09:14, " US " wrote:\n" QUOTED "\nYes, I will call you at 4pm.\n\nJo",
	  "Yes, I will call you at 4pm.\n\nJo" },
	{ "bottom-posted under Thunderbird header", "On 21/11/2026 09:14, R-U-Safe wrote:\n" QUOTED "Call us any time.\n",
	  "Call us any time." },
	{ "adviser's own quote header goes with the quote",
	  "Dear Sam,\n\nAs you wrote:\n> I am scared\nThat sounds really hard.", "Dear Sam,\n\nThat sounds really hard." },

	/* --- Gmail ---------------------------------------------------------------- */
	{ "gmail short", "Hi Sam, yes we can talk.\n\nOn Fri, 21 Nov 2026 at 09:14, " US " wrote:\n\n" QUOTED,
	  "Hi Sam, yes we can talk." },
	{ "gmail wrapped header",
	  "Hello Sam\n\nOn Fri, 21 Nov 2026 at 09:14, R-U-Safe Relay Service for Young People <\n"
	  "relay+RUS-7K3F2.c2ln@rusafe.example.org> wrote:\n\n" QUOTED,
	  "Hello Sam" },
	{ "gmail wrapped header without quote marks",
	  "Hello Sam\n\nOn Fri, 21 Nov 2026 at 09:14, R-U-Safe Relay Service\n<relay@rusafe.example.org> wrote:\n"
	  "New message from a young person\nI don't feel safe\n",
	  "Hello Sam" },
	{ "gmail header on three lines",
	  "Hi\n\nOn Fri, 21 Nov 2026 at 09:14, The Children's Safeguarding Relay\nService For Young People Everywhere\n"
	  "<relay@rusafe.example.org> wrote:\n" QUOTED,
	  "Hi" },
	{ "gmail forward",
	  "See below\n\n---------- Forwarded message ---------\nFrom: " US "\nDate: Fri, 21 Nov 2026\n\nhello",
	  "See below" },

	/* --- Apple Mail, iPhone ------------------------------------------------------ */
	{ "iphone", "Sure, I'll call at 4.\n\nSent from my iPhone\n\nOn 21 Nov 2026, at 09:14, " US " wrote:\n\n" QUOTED,
	  "Sure, I'll call at 4." },
	{ "iphone header quoted too",
	  "Sure.\n\nSent from my iPhone\n\n> On 21 Nov 2026, at 09:14, " US " wrote:\n>\n" QUOTED, "Sure." },
	{ "apple header without quote marks",
	  "Ok\n\nOn 21 Nov 2026, at 09:14, Jo Adviser <jo@council.example> wrote:\n\nunquoted history", "Ok" },
	{ "apple wrapped before wrote",
	  "Ok\n\nOn 21 Nov 2026, at 09:14, R-U-Safe Relay Service <relay+RUS-7K3F2.c2ln@rusafe.example.org>\nwrote:\n\n" QUOTED,
	  "Ok" },
	{ "apple begin forwarded message", "FYI\n\nBegin forwarded message:\n\nFrom: " US "\nSubject: hi\n\nhello", "FYI" },
	{ "german apple forward", "Siehe unten\n\nAnfang der weitergeleiteten Nachricht:\n\nVon: x", "Siehe unten" },
	{ "mobile footers", "Ok\n\nSent from my Samsung Galaxy smartphone.", "Ok" },
	{ "get outlook for ios", "On my way\n\nGet Outlook for iOS<https://aka.ms/o0ukef>", "On my way" },
	{ "german iphone footer", "Bis morgen\n\nVon meinem iPhone gesendet", "Bis morgen" },
	{ "french iphone footer", "A demain\n\nEnvoyé de mon iPhone", "A demain" },
	{ "footer-like sentence kept",
	  "Sent from my office last week: the leaflet you asked for. Did it arrive? Let me know please, Sam.",
	  "Sent from my office last week: the leaflet you asked for. Did it arrive? Let me know please, Sam." },

	/* --- Thunderbird --------------------------------------------------------------- */
	{ "thunderbird", "Thanks Sam\n\nOn 21/11/2026 09:14, R-U-Safe wrote:\n" QUOTED, "Thanks Sam" },
	{ "thunderbird name only", "Thanks\n\nR-U-Safe wrote:\n" QUOTED, "Thanks" },
	{ "thunderbird german", "Danke\n\nAm 21.11.26 um 09:14 schrieb R-U-Safe:\n" QUOTED, "Danke" },
	{ "thunderbird norwegian", "Takk\n\nR-U-Safe skrev 21.11.2026 09:14:\n" QUOTED, "Takk" },

	/* --- European quote headers ------------------------------------------------------ */
	{ "german gmail", "Hallo Sam\n\nAm Fr., 21. Nov. 2026 um 09:14 Uhr schrieb " US ":\n\n" QUOTED, "Hallo Sam" },
	{ "german without quote marks", "Hallo\n\nAm Fr., 21. Nov. 2026 um 09:14 Uhr schrieb " US ":\nVerlauf", "Hallo" },
	{ "french", "Bonjour\n\nLe ven. 21 nov. 2026 à 09:14, " US " a écrit :\n\n" QUOTED, "Bonjour" },
	{ "french no-break space", "Bonjour\n\nLe ven. 21 nov. 2026 à 09:14, " US " a écrit\xC2\xA0:\nhistorique",
	  "Bonjour" },
	{ "french narrow no-break space",
	  "Salut\n\nLe 21/11/2026 à 09:14, R-U-Safe a\xE2\x80\xAF\xC3\xA9"
	  "crit\xE2\x80\xAF:\n" QUOTED,
	  "Salut" },
	{ "spanish", "Hola\n\nEl vie, 21 nov 2026 a las 9:14, R-U-Safe (<relay@rusafe.example.org>) escribió:\n\n" QUOTED,
	  "Hola" },
	{ "dutch", "Hoi\n\nOp vr 21 nov. 2026 om 09:14 schreef " US ":\n\n" QUOTED, "Hoi" },
	{ "italian", "Ciao\n\nIl giorno ven 21 nov 2026 alle ore 09:14 " US " ha scritto:\n\n" QUOTED, "Ciao" },
	{ "swedish", "Hej\n\nDen fre 21 nov. 2026 kl 09:14 skrev " US ":\n\n" QUOTED, "Hej" },
	{ "danish", "Hej\n\nDen 21. nov. 2026 kl. 09.14 skrev " US ":\nhistorik", "Hej" },
	{ "portuguese", "Olá\n\nEm sex., 21 de nov. de 2026 às 09:14, " US " escreveu:\n\n" QUOTED, "Olá" },

	/* --- Outlook ------------------------------------------------------------------------ */
	{ "outlook desktop original message",
	  "Yes, call Childline on 0800 1111.\n\nJo Adviser\nYouth Service\n\n-----Original Message-----\n" OUTLOOK_EN,
	  "Yes, call Childline on 0800 1111.\n\nJo Adviser\nYouth Service" },
	{ "outlook desktop separator", "Reply text\n\n________________________________\n" OUTLOOK_EN, "Reply text" },
	{ "outlook desktop no separator", "Reply text\n\n" OUTLOOK_EN, "Reply text" },
	{ "outlook web", "Reply\n\nGet Outlook for Android\n________________________________\n" OUTLOOK_EN, "Reply" },
	{ "outlook with cc and blank lines", "Hi\n\nFrom: " US "\n\nSent: 21 November 2026 09:14\n\nCc: Team\n\nhello",
	  "Hi" },
	{ "outlook bold fields", "Hi\n\n*From:* " US "\n*Sent:* 21 November 2026 09:14\n*To:* Jo\n*Subject:* hi\n", "Hi" },
	{ "outlook mac date field", "Hi\n\nFrom: " US "\nDate: Friday, 21 November 2026 at 09:14\nTo: Jo\nSubject: hi\n",
	  "Hi" },
	{ "outlook german",
	  "Hallo\n\n-----Ursprüngliche Nachricht-----\nVon: " US
	  "\nGesendet: Freitag, 21. November 2026 09:14\nAn: Jo\nBetreff: hi\n",
	  "Hallo" },
	{ "outlook german separator",
	  "Hallo\n\n________________________________\nVon: " US
	  "\nGesendet: Freitag, 21. November 2026 09:14\nAn: Jo\nBetreff: hi\n",
	  "Hallo" },
	{ "outlook french", "Bonjour\n\nDe : " US "\nEnvoyé : vendredi 21 novembre 2026 09:14\nÀ : Jo\nObjet : hi\n",
	  "Bonjour" },
	{ "outlook spanish",
	  "Hola\n\n________________________________\nDe: " US
	  "\nEnviado: viernes, 21 de noviembre de 2026 9:14\nPara: Jo\nAsunto: hi\n",
	  "Hola" },
	{ "outlook dutch", "Hoi\n\nVan: " US "\nVerzonden: vrijdag 21 november 2026 09:14\nAan: Jo\nOnderwerp: hi\n",
	  "Hoi" },
	{ "outlook italian", "Ciao\n\nDa: " US "\nInviato: venerdì 21 novembre 2026 09:14\nA: Jo\nOggetto: hi\n", "Ciao" },
	{ "outlook swedish", "Hej\n\nFrån: " US "\nSkickat: den 21 november 2026 09:14\nTill: Jo\nÄmne: hi\n", "Hej" },
	{ "outlook french original message", "Oui\n\n-----Message d'origine-----\nDe : x", "Oui" },
	{ "outlook original message, curly apostrophe", "Oui\n\n-----Message d\xE2\x80\x99origine-----\nDe : x", "Oui" },

	/* --- signatures ------------------------------------------------------------------------ */
	{ "signature dash dash space", "Text here\n-- \nJo Adviser\nYouth Service\n07700 900123", "Text here" },
	{ "signature bare dash dash", "Text here\n\n--\nJo", "Text here" },
	{ "signature before quote", "Text\n-- \nJo\n\nOn Fri, 21 Nov 2026 at 09:14, " US " wrote:\n" QUOTED, "Text" },
	{ "signature after bottom-post", "> question?\nanswer\n-- \nJo", "answer" },

	/* --- disclaimers ----------------------------------------------------------------------- */
	{ "disclaimer this email and any attachments",
	  "Text\n\nJo\n\nThis email and any attachments are confidential and intended solely for the addressee.\n"
	  "If you have received it in error, please delete it.\n\nRegistered charity no. 123456",
	  "Text\n\nJo" },
	{ "disclaimer CONFIDENTIALITY", "Text\n\nCONFIDENTIALITY: This e-mail is for the named recipient only.", "Text" },
	{ "disclaimer colon", "Text\n\nDisclaimer: views are the author's own and not the council's.", "Text" },
	{ "disclaimer information contained",
	  "Text\n\nThe information contained in this communication is confidential and may be legally privileged.", "Text" },
	{ "disclaimer then Outlook block",
	  "Text\n\nThis e-mail and any attachments may be monitored.\n\n________________________________\n" OUTLOOK_EN,
	  "Text" },
	{ "adviser's confidentiality paragraph kept",
	  "We won't tell anyone.\n\nConfidentiality: what you tell us stays private unless you are in danger.",
	  "We won't tell anyone.\n\nConfidentiality: what you tell us stays private unless you are in danger." },
	{ "disclaimer-like opener followed by advice kept",
	  "Hi Sam\n\nDisclaimer: I'm not a doctor.\n\nBut please do see your GP this week.",
	  "Hi Sam\n\nDisclaimer: I'm not a doctor.\n\nBut please do see your GP this week." },
	{ "disclaimer alone", "This email and any attachments are confidential.", "" },

	/* --- forms the heuristics learned (issue 19), with no history to match -------- */
	{ "gmail date-first", "Ok\n\n2014-03-20 8:48 GMT+01:00 Jo <jo@x.org>:\nold text", "Ok" },
	{ "time-first", "Ok\n\n11:00 AM, November 17, 2021, \"John\" <john@x.org>:\nold text", "Ok" },
	{ "wrote with no colon", "Ok\n\nOn Mon, 1 Dec 2025 at 10:00, Jo <jo@x.org> wrote\nold text", "Ok" },
	{ "addr wrote: with no space", "Ok\n\nOn Mon, 1 Dec 2025 at 10:00, Jo <jo@x.org>wrote:\nold text", "Ok" },
	{ "zoho", "Ok\n\n---- On Mon, 01 Dec 2025 10:00:00 +0000 Jo <jo@x.org> wrote ----\n\nold text", "Ok" },
	{ "outlook block starting Date:", "Ok\n\nDate: Mon, 1 Dec 2025 10:00\nFrom: Jo <jo@x.org>\nTo: x\nSubject: y\n\nold",
	  "Ok" },
	{ "welsh outlook block", "Iawn\n\nOddi wrth: Jo <jo@x.org>\nAnfonwyd: 1 Rhagfyr 2025 10:00\nAt: x\nPwnc: y\n\nhen",
	  "Iawn" },
	{ "polish android separator", "Tak\n\n-------- Oryginalna wiadomość --------\nOd: Jo", "Tak" },
	{ "welsh gmail quote header", "Iawn\n\nAr Llun, 1 Rhag 2025 am 10:00, Jo <jo@x.org> ysgrifennodd:\n> hen", "Iawn" },
	{ "romanian quote header", "Da\n\nPe lun., 1 dec. 2025 la 10:00, Jo <jo@x.org> a scris:\n> vechi", "Da" },
	{ "footer-like sentence with a comma kept", "Sent from my desk, is much easier than my mobile phone.",
	  "Sent from my desk, is much easier than my mobile phone." },
	{ "k-9 footer", "Ok\n\nSent from my Android device with K-9 Mail. Please excuse my brevity.", "Ok" },
	{ "welsh iphone footer", "Iawn\n\nAnfonwyd o fy iPhone", "Iawn" },
	{ "adviser's line ending with an address and a colon is kept",
	  "Write to me at jo@council.example:\nI read it every day.",
	  "Write to me at jo@council.example:\nI read it every day." },
};

static void test_long_input(void)
{
	struct buf in;
	char *out;
	clock_t t0;
	double secs;
	size_t quotes = 0;

	/* 100 kB of adviser text and inline quotes */
	buf_init(&in);
	while (in.len < 100 * 1024) {
		buf_adds(&in, "This is the adviser's answer, with enough words to be a realistic line.\n");
		if (in.len % 7 == 0) {
			buf_adds(&in, "> a quoted line\n");
			quotes++;
		}
	}
	t0 = clock();
	out = clean_reply(buf_str(&in));
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK("100 kB of lines runs fast", secs < 1.0);
	CHECK("100 kB of lines keeps the text", strlen(out) > 90 * 1024 && strstr(out, "> a quoted") == NULL);
	free(out);

	/* 100 kB on one line, as Outlook sends an unwrapped paragraph */
	buf_reset(&in);
	while (in.len < 100 * 1024)
		buf_adds(&in, "On Monday at 10:30 you wrote: word word word word ");
	buf_adds(&in, "wrote:");
	t0 = clock();
	out = clean_reply(buf_str(&in));
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK("100 kB line runs fast", secs < 1.0);
	CHECK_INT("100 kB line kept whole", strlen(out), in.len);
	free(out);

	/* 100 kB of history after a short answer */
	buf_reset(&in);
	buf_adds(&in, "Short answer\r\n\r\nOn Fri, 21 Nov 2026 at 09:14, " US " wrote:\r\n");
	while (in.len < 100 * 1024)
		buf_adds(&in, "> quoted history line that goes on and on\r\n>\r\n");
	t0 = clock();
	out = clean_reply(buf_str(&in));
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK("100 kB of history runs fast", secs < 1.0);
	CHECK_STR("100 kB of history cut", out, "Short answer");
	free(out);

	/* many blank lines and many From: lines: no quadratic look-ahead */
	buf_reset(&in);
	while (in.len < 100 * 1024)
		buf_adds(&in, "From: x\n\n\n\nOn 1 wrote:\n\n\n");
	t0 = clock();
	out = clean_reply(buf_str(&in));
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK("100 kB of near-headers runs fast", secs < 1.0);
	CHECK("100 kB of near-headers kept", strncmp(out, "From: x\n\nOn 1 wrote:\n\nFrom: x", 29) == 0);
	free(out);
	buf_free(&in);
}


/* --- with the conversation's history (clean_reply_with) ----------------------- */

#define FWD                                                                                                           \
	"Reference: RUS-7K3F2\nChannel:   email\nReceived:  Saturday 21 November 2026, 10:01 GMT\n"                   \
	"From:      s***@example.net\nSubject:   help\n\n"                                                            \
	"------------------------------------------------------------------------\n"                                  \
	"I don't feel safe at home. My stepdad shouts at me every night\nand I'm scared to go back after school.\n\n" \
	"------------------------------------------------------------------------\n\n"                                \
	"Reply to this email to answer the young person. Your reply is sent from the\n"                               \
	"R-U-Safe? address; quoted text and your signature are removed first,\nand you will get a copy of exactly what was sent.\n"
#define FWD_QUOTED                                                                                                          \
	"> Reference: RUS-7K3F2\n> Channel:   email\n> Received:  Saturday 21 November 2026, 10:01 GMT\n"                   \
	"> From:      s***@example.net\n> Subject:   help\n>\n> I don't feel safe at home. My stepdad shouts at me every\n" \
	"> night and I'm scared to go back after school.\n"
#define EARLIER "Hi Sam,\nThank you for telling us. You did the right thing.\nJo"
#define OUR_AUTOREPLY                                                                    \
	"Thank you for getting in touch.\n\nIf you are in danger right now, call 999.\n" \
	"If he's outside your house again, call 999 straight away.\n"

struct hcase {
	const char *name;
	const char *in;
	const char *want;
	enum clean_hold hold;
};

static const struct hcase hcases[] = {
	{ "outlook en, history unquoted",
	  "Yes, call us.\n\n________________________________\nFrom: R-U-Safe? <relay@x.org>\nSent: Saturday, 21 November 2026 10:01\n"
	  "To: Jo <jo@x.org>\nSubject: [RUS-7K3F2] help\n\n" FWD,
	  "Yes, call us.", CLEAN_SEND },
	{ "outlook welsh block",
	  "Diolch Sam.\n\nOddi wrth: R-U-Safe? <relay@x.org>\nAnfonwyd: Dydd Sadwrn, 21 Tachwedd 2026 10:01\nAt: Jo\n"
	  "Pwnc: [RUS-7K3F2] help\n\n" FWD,
	  "Diolch Sam.", CLEAN_SEND },
	{ "outlook french spaced colons",
	  "Oui Sam.\n\nDe : R-U-Safe? <relay@x.org>\nEnvoyé : samedi 21 novembre 2026 10:01\nÀ : Jo\nObjet : help\n\n" FWD,
	  "Oui Sam.", CLEAN_SEND },
	{ "outlook arabic block",
	  "Ok.\n\nمن: R-U-Safe? <relay@x.org>\nتم الإرسال: السبت، 21 نوفمبر، 2026 10:01 ص\nإلى: Jo\nالموضوع: help\n\n" FWD,
	  "Ok.", CLEAN_SEND },
	{ "hotmail block starting Date:",
	  "Call me.\n\nDate: Sat, 21 Nov 2026 10:01:00 +0000\nFrom: relay@x.org\nTo: jo@x.org\nSubject: help\n\n" FWD,
	  "Call me.", CLEAN_SEND },
	{ "gmail date-first attribution",
	  "We can talk at 4.\n\n2026-11-21 10:01 GMT+00:00 R-U-Safe? <relay@x.org>:\n\n" FWD_QUOTED, "We can talk at 4.",
	  CLEAN_SEND },
	{ "no blank line above the attribution",
	  "Thanks Sam.\nSee you Thursday.\nOn Nov 21, 2026, at 10:01 AM, R-U-Safe? <relay@x.org> wrote:\n\n" FWD_QUOTED,
	  "Thanks Sam.\nSee you Thursday.", CLEAN_SEND },
	{ "addr wrote: with no space, no colon", "Ok\n\nOn Sat, 21 Nov 2026 at 10:01, R-U-Safe? <relay@x.org>wrote\n\n" FWD,
	  "Ok", CLEAN_SEND },
	{ "zoho", "Ok Sam\n\n---- On Sat, 21 Nov 2026 10:01:00 +0000 R-U-Safe? <relay@x.org> wrote ----\n\n" FWD, "Ok Sam",
	  CLEAN_SEND },
	{ "mail.ru, '>' with no space",
	  "Da\n\n>Суббота, 21 ноября 2026, 10:01 +00:00 от R-U-Safe? <relay@x.org>:\n>\n>I don't feel safe at home. My stepdad\n"
	  ">shouts at me every night\n",
	  "Da", CLEAN_SEND },
	{ "yahoo: attribution and history on one line",
	  "Ok\n\nSent from Yahoo Mail on Android\n\n  On Sat, 21 Nov 2026 at 10:01, R-U-Safe?<relay@x.org> wrote:   "
	  "I don't feel safe at home. My stepdad shouts at me every night and I'm scared to go back after school.\n",
	  "Ok", CLEAN_SEND },
	{ "samsung original message in polish",
	  "Tak\n\n\nWysłane z mojego Galaxy\n\n\n-------- Oryginalna wiadomość --------\nOd: R-U-Safe? <relay@x.org>\n"
	  "Data: 21/11/2026 10:01 (GMT+00:00)\nDo: jo@x.org\nTemat: help\n\n" FWD,
	  "Tak", CLEAN_SEND },
	{ "phone footer then the history with no header", "Ring me.\n\nSent from my Huawei phone\n\n" FWD, "Ring me.",
	  CLEAN_SEND },
	{ "history with no header under the adviser's words", "Ring me.\n\n" FWD, "Ring me.", CLEAN_SEND },
	{ "thunderbird bottom-posted",
	  "On 21/11/2026 10:01, R-U-Safe? wrote:\n" FWD_QUOTED "\nThat sounds frightening, Sam.\n",
	  "That sounds frightening, Sam.", CLEAN_SEND },
	{ "outlook inline answers in the unquoted history",
	  "See my answers below.\n\nFrom: R-U-Safe? <relay@x.org>\nSent: Saturday, 21 November 2026 10:01\nTo: Jo\nSubject: help\n\n"
	  "I don't feel safe at home. My stepdad shouts at me every night\n[Jo] You can stay at the centre tonight.\n"
	  "and I'm scared to go back after school.\n[Jo] We'll talk to the school.\n",
	  "See my answers below.\n\n[Jo] You can stay at the centre tonight.\n\n[Jo] We'll talk to the school.",
	  CLEAN_SEND },
	{ "the adviser repeats an earlier reply above the quote",
	  EARLIER "\n\nOn Sat, 21 Nov 2026 at 10:01, R-U-Safe? <relay@x.org> wrote:\n" FWD_QUOTED, EARLIER, CLEAN_SEND },
	{ "the adviser repeats an earlier reply alone", EARLIER, EARLIER, CLEAN_SEND },
	{ "the adviser repeats an earlier reply under the quote",
	  "On 21/11/2026 10:01, R-U-Safe? wrote:\n" FWD_QUOTED "\n" EARLIER "\n", EARLIER, CLEAN_SEND },
	{ "the adviser quotes the young person's words unquoted",
	  "You said:\nI don't feel safe at home. My stepdad shouts at me every night\nThat must be so hard.",
	  "You said:\nI don't feel safe at home. My stepdad shouts at me every night\nThat must be so hard.", CLEAN_SEND },
	{ "a footer-like sentence is the adviser's",
	  "Sent from my desk, is much easier than my mobile phone.\n\nOn Sat, 21 Nov 2026 at 10:01, R-U-Safe? <relay@x.org> wrote:\n" FWD_QUOTED,
	  "Sent from my desk, is much easier than my mobile phone.", CLEAN_SEND },
	{ "text the relay never sent under a header: held",
	  "Yes.\n\nFrom: Someone <someone@example.com>\nSent: Friday, 20 November 2026 17:00\nTo: Jo\nSubject: notes\n\n"
	  "The notes from the meeting about the case conference next week, who will attend and the agenda.\n",
	  "Yes.", CLEAN_HOLD_SHARE },
	{ "nothing but the quote: held", "On Sat, 21 Nov 2026 at 10:01, R-U-Safe? <relay@x.org> wrote:\n" FWD_QUOTED, "",
	  CLEAN_HOLD_EMPTY },
	{ "signature then the history: the signature is evidence",
	  "Yes.\n-- \nJo Adviser\nYouth Service, County Hall, Aylesbury\n\n" FWD, "Yes.", CLEAN_SEND },
};

static void test_with_history(void)
{
	const char *history[] = { FWD, "I don't feel safe at home.", EARLIER, NULL };
	struct clean_result res;

	for (size_t i = 0; i < sizeof hcases / sizeof hcases[0]; i++) {
		char name[160];
		clean_reply_with(hcases[i].in, history, 4, CLEAN_HOLD_PERCENT, &res);
		CHECK_STR(hcases[i].name, res.text, hcases[i].want);
		snprintf(name, sizeof name, "%s: %s", hcases[i].name, hcases[i].hold == CLEAN_SEND ? "sent" : "held");
		CHECK_INT(name, res.hold, hcases[i].hold);
		clean_result_free(&res);
	}

	/* the share is the configuration's */
	clean_reply_with(hcases[21].in, history, 4, 100, &res);
	CHECK_INT("hold_percent 100: sent", res.hold, CLEAN_SEND);
	CHECK("hold_percent 100: the unmatched text counted", res.unsure_bytes > 50 && res.kept_bytes == 4);
	clean_result_free(&res);

	clean_reply_with(NULL, NULL, 0, CLEAN_HOLD_PERCENT, &res);
	CHECK_STR("NULL text, no history", res.text, "");
	CHECK_INT("NULL text is held (empty)", res.hold, CLEAN_HOLD_EMPTY);
	clean_result_free(&res);
	clean_result_free(NULL);
	CHECK("hold reasons are words", strlen(clean_hold_text(CLEAN_HOLD_SHARE)) > 20 && !*clean_hold_text(CLEAN_SEND));
}

static void test_known(void)
{
	const char *sent[] = { OUR_AUTOREPLY };
	char *out;

	out = clean_known("ok thanks\n\n> Thank you for getting in touch.\n>\n> If you are in danger right now, call 999.\n"
	                  "> If he's outside your house again, call 999 straight away.\n",
	                  sent, 1);
	CHECK("triage: what the relay sent is left out", strstr(out, "outside") == NULL && strstr(out, "ok thanks"));
	free(out);
	out = clean_known("look what he sent me\n\n> he's outside and he knows where i live\n-- \nSam\nhe's outside\n", sent,
	                  1);
	CHECK_STR("triage: quoted words and signatures are read", out,
	          "look what he sent me\n\n> he's outside and he knows where i live\n--\nSam\nhe's outside\n");
	free(out);
	out = clean_known(NULL, NULL, 0);
	CHECK_STR("triage: NULL", out, "");
	free(out);
}

static void test_history_fast(void)
{
	struct buf hist, in;
	struct clean_result res;
	clock_t t0;
	const char *history[1];

	/* 100 kB of a repetitive history against 100 kB of reply */
	buf_init(&hist);
	buf_init(&in);
	while (hist.len < 100 * 1024)
		buf_adds(&hist, "a a a a a a a a a the the the the ");
	while (in.len < 100 * 1024)
		buf_adds(&in, "> a a a a a a a a the the\nthe a the a b\n");
	history[0] = buf_str(&hist);
	t0 = clock();
	clean_reply_with(buf_str(&in), history, 1, CLEAN_HOLD_PERCENT, &res);
	CHECK("100 kB against 100 kB of repeated words runs fast", (double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
	clean_result_free(&res);
	/* one 100 kB line that almost matches */
	buf_reset(&in);
	while (in.len < 100 * 1024)
		buf_adds(&in, "a a a a a a a a a the the the the ");
	buf_adds(&in, "zebra");
	t0 = clock();
	clean_reply_with(buf_str(&in), history, 1, CLEAN_HOLD_PERCENT, &res);
	CHECK("a 100 kB line that almost matches runs fast", (double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
	CHECK_INT("and is kept", strlen(res.text), in.len);
	clean_result_free(&res);
	buf_free(&hist);
	buf_free(&in);
}

int main(void)
{
	size_t ncases = sizeof cases / sizeof cases[0];
	char *out;

	for (size_t i = 0; i < ncases; i++) {
		out = clean_reply(cases[i].in);
		CHECK_STR(cases[i].name, out, cases[i].want);
		free(out);
	}
	CHECK("at least 40 table cases", ncases >= 40);

	out = clean_reply(NULL);
	CHECK_STR("NULL input", out, "");
	free(out);

	test_long_input();
	test_with_history();
	test_known();
	test_history_fast();
	return check_done();
}
