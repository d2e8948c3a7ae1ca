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
#define OUTLOOK_EN "From: " US "\nSent: Friday, November 21, 2026 9:14 AM\nTo: Jo Adviser <jo@council.example>\n" \
	"Subject: [RUS-7K3F2] New message\n\nI don't feel safe at home.\n"

struct tcase {
	const char *name;
	const char *in;
	const char *want;
};

static const struct tcase cases[] = {
	/* --- text that is all the adviser's ----------------------------------- */
	{ "plain text unchanged", "Hi Sam,\n\nThanks for writing to us.\n\nJo", "Hi Sam,\n\nThanks for writing to us.\n\nJo" },
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
	{ "sentence then a line ending wrote", "On Monday 24 November 2026 at 10:30 we meet.\nYour teacher wrote:\nbring a friend",
	  "On Monday 24 November 2026 at 10:30 we meet.\nYour teacher wrote:\nbring a friend" },
	{ "wrote: inside a line", "Here is what you wrote: I am scared.\nThank you for telling us.",
	  "Here is what you wrote: I am scared.\nThank you for telling us." },
	{ "From: in prose", "From: your adviser Jo\nHi Sam, from Monday the office opens at 9.\nTo: be clear, you can call.",
	  "From: your adviser Jo\nHi Sam, from Monday the office opens at 9.\nTo: be clear, you can call." },
	{ "From: with one field under it", "From: Jo\nTo: Sam\n\nHello", "From: Jo\nTo: Sam\n\nHello" },
	{ "lone separator line kept", "Part one\n________________________________\nPart two", "Part one\n________________________________\nPart two" },
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
	{ "bottom-posted under Thunderbird header",
	  "On 21/11/2026 09:14, R-U-Safe wrote:\n" QUOTED "Call us any time.\n", "Call us any time." },
	{ "adviser's own quote header goes with the quote",
	  "Dear Sam,\n\nAs you wrote:\n> I am scared\nThat sounds really hard.", "Dear Sam,\n\nThat sounds really hard." },

	/* --- Gmail ---------------------------------------------------------------- */
	{ "gmail short", "Hi Sam, yes we can talk.\n\nOn Fri, 21 Nov 2026 at 09:14, " US " wrote:\n\n" QUOTED,
	  "Hi Sam, yes we can talk." },
	{ "gmail wrapped header",
	  "Hello Sam\n\nOn Fri, 21 Nov 2026 at 09:14, R-U-Safe Relay Service for Young People <\n"
	  "relay+RUS-7K3F2.c2ln@rusafe.example.org> wrote:\n\n" QUOTED, "Hello Sam" },
	{ "gmail wrapped header without quote marks",
	  "Hello Sam\n\nOn Fri, 21 Nov 2026 at 09:14, R-U-Safe Relay Service\n<relay@rusafe.example.org> wrote:\n"
	  "New message from a young person\nI don't feel safe\n", "Hello Sam" },
	{ "gmail header on three lines",
	  "Hi\n\nOn Fri, 21 Nov 2026 at 09:14, The Children's Safeguarding Relay\nService For Young People Everywhere\n"
	  "<relay@rusafe.example.org> wrote:\n" QUOTED, "Hi" },
	{ "gmail forward", "See below\n\n---------- Forwarded message ---------\nFrom: " US "\nDate: Fri, 21 Nov 2026\n\nhello",
	  "See below" },

	/* --- Apple Mail, iPhone ------------------------------------------------------ */
	{ "iphone", "Sure, I'll call at 4.\n\nSent from my iPhone\n\nOn 21 Nov 2026, at 09:14, " US " wrote:\n\n" QUOTED,
	  "Sure, I'll call at 4." },
	{ "iphone header quoted too", "Sure.\n\nSent from my iPhone\n\n> On 21 Nov 2026, at 09:14, " US " wrote:\n>\n" QUOTED,
	  "Sure." },
	{ "apple header without quote marks", "Ok\n\nOn 21 Nov 2026, at 09:14, Jo Adviser <jo@council.example> wrote:\n\nunquoted history",
	  "Ok" },
	{ "apple wrapped before wrote",
	  "Ok\n\nOn 21 Nov 2026, at 09:14, R-U-Safe Relay Service <relay+RUS-7K3F2.c2ln@rusafe.example.org>\nwrote:\n\n" QUOTED,
	  "Ok" },
	{ "apple begin forwarded message", "FYI\n\nBegin forwarded message:\n\nFrom: " US "\nSubject: hi\n\nhello", "FYI" },
	{ "german apple forward", "Siehe unten\n\nAnfang der weitergeleiteten Nachricht:\n\nVon: x", "Siehe unten" },
	{ "mobile footers", "Ok\n\nSent from my Samsung Galaxy smartphone.", "Ok" },
	{ "get outlook for ios", "On my way\n\nGet Outlook for iOS<https://aka.ms/o0ukef>", "On my way" },
	{ "german iphone footer", "Bis morgen\n\nVon meinem iPhone gesendet", "Bis morgen" },
	{ "french iphone footer", "A demain\n\nEnvoyé de mon iPhone", "A demain" },
	{ "footer-like sentence kept", "Sent from my office last week: the leaflet you asked for. Did it arrive? Let me know please, Sam.",
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
	{ "french no-break space", "Bonjour\n\nLe ven. 21 nov. 2026 à 09:14, " US " a écrit\xC2\xA0:\nhistorique", "Bonjour" },
	{ "french narrow no-break space", "Salut\n\nLe 21/11/2026 à 09:14, R-U-Safe a\xE2\x80\xAF\xC3\xA9" "crit\xE2\x80\xAF:\n" QUOTED, "Salut" },
	{ "spanish", "Hola\n\nEl vie, 21 nov 2026 a las 9:14, R-U-Safe (<relay@rusafe.example.org>) escribió:\n\n" QUOTED, "Hola" },
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
	{ "outlook with cc and blank lines", "Hi\n\nFrom: " US "\n\nSent: 21 November 2026 09:14\n\nCc: Team\n\nhello", "Hi" },
	{ "outlook bold fields", "Hi\n\n*From:* " US "\n*Sent:* 21 November 2026 09:14\n*To:* Jo\n*Subject:* hi\n", "Hi" },
	{ "outlook mac date field", "Hi\n\nFrom: " US "\nDate: Friday, 21 November 2026 at 09:14\nTo: Jo\nSubject: hi\n", "Hi" },
	{ "outlook german",
	  "Hallo\n\n-----Ursprüngliche Nachricht-----\nVon: " US "\nGesendet: Freitag, 21. November 2026 09:14\nAn: Jo\nBetreff: hi\n",
	  "Hallo" },
	{ "outlook german separator",
	  "Hallo\n\n________________________________\nVon: " US "\nGesendet: Freitag, 21. November 2026 09:14\nAn: Jo\nBetreff: hi\n",
	  "Hallo" },
	{ "outlook french",
	  "Bonjour\n\nDe : " US "\nEnvoyé : vendredi 21 novembre 2026 09:14\nÀ : Jo\nObjet : hi\n", "Bonjour" },
	{ "outlook spanish",
	  "Hola\n\n________________________________\nDe: " US "\nEnviado: viernes, 21 de noviembre de 2026 9:14\nPara: Jo\nAsunto: hi\n",
	  "Hola" },
	{ "outlook dutch", "Hoi\n\nVan: " US "\nVerzonden: vrijdag 21 november 2026 09:14\nAan: Jo\nOnderwerp: hi\n", "Hoi" },
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
	  "If you have received it in error, please delete it.\n\nRegistered charity no. 123456", "Text\n\nJo" },
	{ "disclaimer CONFIDENTIALITY", "Text\n\nCONFIDENTIALITY: This e-mail is for the named recipient only.", "Text" },
	{ "disclaimer colon", "Text\n\nDisclaimer: views are the author's own and not the council's.", "Text" },
	{ "disclaimer information contained",
	  "Text\n\nThe information contained in this communication is confidential and may be legally privileged.", "Text" },
	{ "disclaimer then Outlook block",
	  "Text\n\nThis e-mail and any attachments may be monitored.\n\n________________________________\n" OUTLOOK_EN, "Text" },
	{ "adviser's confidentiality paragraph kept",
	  "We won't tell anyone.\n\nConfidentiality: what you tell us stays private unless you are in danger.",
	  "We won't tell anyone.\n\nConfidentiality: what you tell us stays private unless you are in danger." },
	{ "disclaimer-like opener followed by advice kept",
	  "Hi Sam\n\nDisclaimer: I'm not a doctor.\n\nBut please do see your GP this week.",
	  "Hi Sam\n\nDisclaimer: I'm not a doctor.\n\nBut please do see your GP this week." },
	{ "disclaimer alone", "This email and any attachments are confidential.", "" },
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
	return check_done();
}
