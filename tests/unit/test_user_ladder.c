// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_user_ladder.c - the ladder printer (user/ladder.c) fed by hand:
 * relative numbers, options, states on their sides, segments not drawn,
 * retransmissions and what they show lost, line widths, and the PlantUML
 * and Mermaid files.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sg_user.h"
#include "ladder.h"
#include "output.h"

#define ISN_C 1000000000u
#define ISN_S 3000000000u

struct seq {
	struct sg_seg_event r;
	__u64 t;
};

static struct sg_seg_event base_rec(void)
{
	struct sg_seg_event r = { .family = 4, .cport = 40120, .sport = 8120, .start_ns = 1000000 };

	r.caddr[0] = htonl(0x0ad20002);
	r.saddr[0] = htonl(0x0ad20001);
	return r;
}

/* One record: the segment, states after, transitions (side, from, to, cause...). */
static void seg(struct sg_ladder *l, struct sg_seg_event *r, __u64 t_us, int from_client, __u8 flags, __u32 seq,
		__u32 ack, __u16 len, __u8 verdict, __u8 cst, __u8 sst, int ntr, const struct sg_tr *tr)
{
	r->ts_ns = r->start_ns + t_us * 1000;
	r->from_client = from_client;
	r->tcp_flags = flags;
	r->seq = seq;
	r->ack = ack;
	r->len = len;
	r->win = 502;
	r->verdict = verdict;
	r->pkts[from_client ? 0 : 1]++;
	r->bytes[from_client ? 0 : 1] += len;
	r->state[0] = cst;
	r->state[1] = sst;
	r->ntr = ntr;
	memset(r->tr, 0, sizeof(r->tr));
	for (int i = 0; i < ntr; i++)
		r->tr[i] = tr[i];
	r->optlen = 0;
	if (flags & SG_TCP_SYN) {
		/* Linux: MSS 1460, SACK_PERM, TS, NOP, WS 7 */
		static const __u8 o[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };

		memcpy(r->opts, o, sizeof(o));
		r->optlen = sizeof(o);
	}
	sg_ladder_record(l, r);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The diagram file the ladder wrote into dir (the only one). */
static char *diagram(const char *dir)
{
	char path[600];
	struct dirent *d;
	DIR *dd = opendir(dir);
	char *text = NULL;

	if (!dd)
		return NULL;
	while ((d = readdir(dd)))
		if (d->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
			text = slurp(path);
			unlink(path);
			break;
		}
	closedir(dd);
	return text;
}

/* A client-closes flow with a lost first SYN and summarised data;
 * returns what the ladder said of the timer's state event. */
static bool run_flow(struct sg_ladder *l)
{
	struct sg_seg_event r = base_rec();
	const struct sg_tr syn[] = { { SG_SIDE_CLIENT, SG_CLOSED, SG_SYN_SENT, SG_CAUSE_SYN } };
	const struct sg_tr synack[] = { { SG_SIDE_SERVER, SG_LISTEN, SG_SYN_RCVD, SG_CAUSE_SYNACK } };
	const struct sg_tr ack[] = { { SG_SIDE_CLIENT, SG_SYN_SENT, SG_ESTABLISHED, SG_CAUSE_SYNACK },
				     { SG_SIDE_SERVER, SG_SYN_RCVD, SG_ESTABLISHED, SG_CAUSE_ACK } };
	const struct sg_tr fin[] = { { SG_SIDE_CLIENT, SG_ESTABLISHED, SG_FIN_WAIT_1, SG_CAUSE_FIN } };
	const struct sg_tr sfin[] = { { SG_SIDE_SERVER, SG_ESTABLISHED, SG_CLOSE_WAIT, SG_CAUSE_FIN },
				      { SG_SIDE_SERVER, SG_CLOSE_WAIT, SG_LAST_ACK, SG_CAUSE_FIN },
				      { SG_SIDE_CLIENT, SG_FIN_WAIT_1, SG_FIN_WAIT_2, SG_CAUSE_ACK } };
	const struct sg_tr last[] = { { SG_SIDE_CLIENT, SG_FIN_WAIT_2, SG_TIME_WAIT, SG_CAUSE_FIN },
				      { SG_SIDE_SERVER, SG_LAST_ACK, SG_CLOSED, SG_CAUSE_ACK, SG_CLOSER_CLIENT_FIN } };
	struct sg_event tw = { .type = SG_EV_STATE, .family = 4, .side = SG_SIDE_CLIENT, .from = SG_TIME_WAIT,
			       .to = SG_CLOSED, .cause = SG_CAUSE_TIMEOUT, .closer = SG_CLOSER_CLIENT_FIN };

	r.isn[0] = ISN_C;
	r.isn_known = 1;
	seg(l, &r, 0, 1, SG_TCP_SYN, ISN_C, 0, 0, 0, SG_SYN_SENT, SG_LISTEN, 1, syn);
	seg(l, &r, 1000000, 1, SG_TCP_SYN, ISN_C, 0, 0, SG_LV_RETRANS, SG_SYN_SENT, SG_LISTEN, 0, NULL);
	r.isn[1] = ISN_S;
	r.isn_known = 3;
	seg(l, &r, 1000050, 0, SG_TCP_SYN | SG_TCP_ACK, ISN_S, ISN_C + 1, 0, 0, SG_SYN_SENT, SG_SYN_RCVD, 1, synack);
	seg(l, &r, 1000080, 1, SG_TCP_ACK, ISN_C + 1, ISN_S + 1, 0, 0, SG_ESTABLISHED, SG_ESTABLISHED, 2, ack);
	/* four steady segments, 11 bytes, not drawn */
	r.pkts[0] += 2;
	r.pkts[1] += 2;
	r.bytes[0] += 6;
	r.bytes[1] += 5;
	seg(l, &r, 1000500, 1, SG_TCP_FIN | SG_TCP_ACK, ISN_C + 7, ISN_S + 6, 0, 0, SG_FIN_WAIT_1, SG_ESTABLISHED,
	    1, fin);
	seg(l, &r, 1000600, 0, SG_TCP_FIN | SG_TCP_ACK, ISN_S + 6, ISN_C + 8, 0, 0, SG_FIN_WAIT_2, SG_LAST_ACK, 3,
	    sfin);
	seg(l, &r, 1000650, 1, SG_TCP_ACK, ISN_C + 8, ISN_S + 7, 0, 0, SG_TIME_WAIT, SG_CLOSED, 2, last);
	memcpy(tw.saddr, r.caddr, 16);
	memcpy(tw.daddr, r.saddr, 16);
	tw.sport = r.cport;
	tw.dport = r.sport;
	tw.ts_ns = r.start_ns + 2000000000ull;
	memcpy(tw.pkts, r.pkts, sizeof(tw.pkts));
	memcpy(tw.bytes, r.bytes, sizeof(tw.bytes));
	return sg_ladder_event(l, &tw);
}

static void test_terminal(void)
{
	struct sg_config cfg;
	struct sg_out_opts oo = { .ts = SG_TS_NONE };
	char *text = NULL, *line, *save = NULL, dir[] = "/tmp/sgladder.XXXXXX";
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct sg_out *out = sg_out_new(mem, &oo);
	struct sg_ladder *l;
	int wide = 0, lines = 0;
	char *puml, *mmd;

	sg_config_defaults(&cfg);
	cfg.ladder.on = true;
	cfg.ladder.diagram_dir = mkdtemp(dir);
	l = sg_ladder_new_bare(&cfg, out, false);
	if (!CHECK(l && out && cfg.ladder.diagram_dir, "ladder object"))
		return;
	CHECK(run_flow(l), "--ladder: the ladder takes the place of the state lines");
	sg_out_flush(out);
	fflush(mem);
	puml = diagram(dir);

	CHECK(strstr(text, "client 10.210.0.2:40120  <->  server 10.210.0.1:8120"), "header: client left, server right");
	CHECK(strstr(text, "|-- SYN seq=0 win=502 len=0 -"), "SYN: relative seq 0, raw window");
	CHECK(strstr(text, "mss=1460 sack ts ws=7"), "SYN options decoded");
	CHECK(strstr(text, "SYN seq=0 win=502 len=0 RETRANS"), "the second SYN is a retransmission");
	CHECK(strstr(text, "^ so the SYN at +0.000 ms is taken as lost"), "the first SYN judged lost");
	CHECK(strstr(text, " SYN,ACK seq=0 ack=1 win=502 len=0 --| SYN_RCVD"), "SYN-ACK right to left, server state");
	CHECK(strstr(text, "ESTABLISHED |-- ACK seq=1 ack=1 win=64256 len=0"), "ACK: scaled window, client state");
	CHECK(strstr(text, "... 4 segments, 11 bytes not shown (0.420 ms) ..."), "steady data said, not silent");
	CHECK(strstr(text, "FIN,ACK seq=7 ack=6"), "relative numbers after data");
	CHECK(strstr(text, "| LAST_ACK"), "a second server transition on a line of its own");
	CHECK(strstr(text, "+2000.000 CLOSED      |  timer"), "the timer's TIME_WAIT -> CLOSED");
	CHECK(strstr(text, "closed by the client (FIN); 7/4 segments, 6/5 bytes (client/server), 4 not drawn"),
	      "end line with totals");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		wide += strlen(line) > 100;
	}
	CHECK(lines >= 14 && wide == 0, "%d lines, %d wider than 100 columns", lines, wide);

	if (CHECK(puml, "a PlantUML file was written")) {
		CHECK(!strncmp(puml, "@startuml\n", 10) && strstr(puml, "@enduml\n"), "@startuml ... @enduml");
		CHECK(strstr(puml, "participant \"Client\\n10.210.0.2:40120\" as Client") &&
			      strstr(puml, "participant \"Server\\n10.210.0.1:8120\" as Server"),
		      "participants Client and Server");
		CHECK(count(puml, "Client -> Server:") + count(puml, "Client ->x Server:") == 5 &&
			      count(puml, "Server -> Client:") == 2,
		      "one arrow per segment drawn");
		CHECK(strstr(puml, "Client ->x Server: +0.000 ms SYN seq=0"), "the lost SYN drawn as lost");
		CHECK(strstr(puml, "note over Client, Server: retransmission: the SYN at +0.000 ms is taken as lost"),
		      "the judgement as a note");
		CHECK(strstr(puml, "note left of Client: SYN_SENT") && strstr(puml, "note right of Server: LAST_ACK") &&
			      strstr(puml, "note left of Client: CLOSED (timer)"),
		      "states as notes on their sides");
		CHECK(strstr(puml, "...4 segments, 11 bytes not shown (0.420 ms)..."), "the gap as a delay");
	}
	free(puml);
	sg_ladder_free(l);
	sg_out_free(out);
	fclose(mem);
	free(text);

	/* Mermaid */
	text = NULL;
	mem = open_memstream(&text, &len);
	out = sg_out_new(mem, &oo);
	cfg.ladder.on = false;
	cfg.ladder.diagram_fmt = SG_DIAGRAM_MERMAID;
	l = sg_ladder_new_bare(&cfg, out, false);
	CHECK(!run_flow(l), "--diagram alone: the state lines stay");
	sg_out_flush(out);
	fflush(mem);
	CHECK(len == 0, "--diagram alone prints no ladder (%zu bytes)", len);
	mmd = diagram(dir);
	if (CHECK(mmd, "a Mermaid file was written")) {
		CHECK(!strncmp(mmd, "sequenceDiagram\n", 16), "sequenceDiagram");
		CHECK(strstr(mmd, "    participant Client as Client 10.210.0.2:40120\n") &&
			      strstr(mmd, "    participant Server as Server 10.210.0.1:8120\n"),
		      "participants");
		CHECK(count(mmd, "Client->>Server:") + count(mmd, "Client-xServer:") == 5 &&
			      count(mmd, "Server->>Client:") == 2,
		      "one message per segment");
		CHECK(strstr(mmd, "Client-xServer: +0.000 ms SYN"), "the lost SYN as a lost message");
		CHECK(strstr(mmd, "Note right of Server: SYN_RCVD") && strstr(mmd, "<br/>mss=1460"), "notes, options");
	}
	free(mmd);
	sg_ladder_free(l);
	sg_out_free(out);
	fclose(mem);
	free(text);
	rmdir(dir);
}

/* Colours: only escape sequences are added; the visible width stays. */
static void test_color(void)
{
	struct sg_config cfg;
	struct sg_out_opts oo = { .ts = SG_TS_NONE };
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct sg_out *out = sg_out_new(mem, &oo);
	struct sg_ladder *l;
	int wide = 0;

	sg_config_defaults(&cfg);
	cfg.ladder.on = true;
	l = sg_ladder_new_bare(&cfg, out, true);
	if (!CHECK(l && out, "ladder object (colours)"))
		return;
	run_flow(l);
	sg_out_flush(out);
	fflush(mem);
	CHECK(strstr(text, "\033[33m|-- SYN seq=0 win=502 len=0 RETRANS"), "a retransmission in yellow");
	CHECK(strstr(text, "\033[1m\033[32mSYN_SENT"), "states in bold green");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int cols = 0;

		for (const char *p = line; *p; p++) {
			if (*p == '\033') {
				while (*p && *p != 'm')
					p++;
				if (!*p)
					break;
				continue;
			}
			cols++;
		}
		wide += cols > 100;
	}
	CHECK(wide == 0, "%d coloured lines wider than 100 columns", wide);
	sg_ladder_free(l);
	sg_out_free(out);
	fclose(mem);
	free(text);
}

/* A flow whose first records were not sent (a handshake summarised
 * during a SYN flood): its first record says how many came before. */
static void test_late_start(void)
{
	struct sg_config cfg;
	struct sg_out_opts oo = { .ts = SG_TS_NONE };
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct sg_out *out = sg_out_new(mem, &oo);
	struct sg_ladder *l;
	struct sg_seg_event r = base_rec();
	const struct sg_tr ack[] = { { SG_SIDE_CLIENT, SG_SYN_SENT, SG_ESTABLISHED, SG_CAUSE_SYNACK },
				     { SG_SIDE_SERVER, SG_SYN_RCVD, SG_ESTABLISHED, SG_CAUSE_ACK } };

	sg_config_defaults(&cfg);
	cfg.ladder.on = true;
	l = sg_ladder_new_bare(&cfg, out, false);
	if (!CHECK(l && out, "ladder object (late start)"))
		return;
	r.isn[0] = ISN_C;
	r.isn[1] = ISN_S;
	r.isn_known = 3;
	r.pkts[0] = 1;	/* the SYN and the SYN-ACK, not sent */
	r.pkts[1] = 1;
	seg(l, &r, 80, 1, SG_TCP_ACK, ISN_C + 1, ISN_S + 1, 0, 0, SG_ESTABLISHED, SG_ESTABLISHED, 2, ack);
	sg_out_flush(out);
	fflush(mem);
	CHECK(strstr(text, "SYN_SENT    |  ") || strstr(text, "SYN_SENT    |"), "initial states from the transitions");
	CHECK(strstr(text, "... 2 earlier segments, 0 bytes not shown ..."), "the segments before it are said");
	CHECK(strstr(text, "ESTABLISHED |-- ACK seq=1 ack=1"), "relative numbers from the tracker's ISNs");
	sg_ladder_free(l);
	sg_out_free(out);
	fclose(mem);
	free(text);
}

int main(void)
{
	test_late_start();
	test_terminal();
	test_color();
	return check_summary("user_ladder");
}
