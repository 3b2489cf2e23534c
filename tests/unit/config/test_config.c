/* Unit tests of src/config: the SPEC.md example, golden normalised
 * output, print round trips, defaults, ${} substitution, limits, and a
 * table of bad inputs with their exact FILE:LINE:COL messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/log.h"
#include "config/values.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined"
#endif
#ifndef EXAMPLES_DIR
#error "EXAMPLES_DIR must be defined"
#endif

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static char *print_to_string(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	config_print(cfg, f);
	assert_int_equal(fclose(f), 0);
	return out;
}

static struct config *parse_ok(const char *text)
{
	char err[512] = "";
	struct config *cfg = config_parse("t.yaml", text, strlen(text), err, sizeof err);

	if (!cfg)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

/* print(parse(print(cfg))) must equal print(cfg) */
static void assert_round_trip(const struct config *cfg)
{
	char err[512] = "";
	char *once = print_to_string(cfg), *twice;
	struct config *again = config_parse("printed.yaml", once, strlen(once), err, sizeof err);

	if (!again)
		fail_msg("printed config does not parse: %s\n%s", err, once);
	twice = print_to_string(again);
	assert_string_equal(once, twice);
	free(once);
	free(twice);
	config_free(again);
}

static const struct target_cfg *find_target(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ntargets; i++) {
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	}
	fail_msg("no target %s", name);
	return NULL;
}

static void test_spec_example(void **state)
{
	char err[512] = "";
	struct config *cfg = config_load(TEST_DATA_DIR "/spec-example.yaml", err, sizeof err);
	const struct target_cfg *t;
	char buf[64];

	(void)state;
	if (!cfg)
		fail_msg("%s", err);
	assert_string_equal(cfg->path, TEST_DATA_DIR "/spec-example.yaml");
	assert_string_equal(cfg->vantage, "london-1");
	assert_string_equal(cfg->store, "lightsout.db");
	assert_string_equal(cfg->listen, "127.0.0.1:9470");
	assert_int_equal(cfg->interval_ms, 60000);
	assert_int_equal(cfg->timeout_ms, 5000);
	assert_int_equal(cfg->max_pps, 1000);
	assert_int_equal(cfg->retention_ms, INT64_C(30) * 86400000);
	assert_int_equal(cfg->detect.down_after, 3);
	assert_int_equal(cfg->detect.up_after, 2);
	assert_int_equal(cfg->detect.baseline_rounds, 20);

	assert_int_equal(cfg->nnetworks, 1);
	assert_string_equal(cfg->networks[0].name, "north-korea");
	assert_int_equal(cfg->networks[0].pos.line, 10);
	assert_int_equal(cfg->networks[0].pos.col, 5);
	assert_int_equal(cfg->networks[0].nasn, 1);
	assert_int_equal(cfg->networks[0].asn[0], 131279);
	assert_int_equal(cfg->networks[0].nprefixes, 1);
	prefix_format(&cfg->networks[0].prefixes[0], buf, sizeof buf);
	assert_string_equal(buf, "175.45.176.0/22");

	/* network targets in order, then the controls */
	assert_int_equal(cfg->ntargets, 7);
	assert_string_equal(cfg->targets[0].name, "naenara");
	assert_string_equal(cfg->targets[5].name, "gw");
	assert_string_equal(cfg->targets[6].name, "ctl-1");

	t = find_target(cfg, "naenara");
	assert_int_equal(t->kind, KIND_HTTP);
	assert_int_equal(t->role, ROLE_WEB);
	assert_int_equal(t->network, 0);
	assert_string_equal(t->url, "http://naenara.com.kp/");
	assert_null(t->status);
	assert_int_equal(t->interval_ms, 60000);
	assert_int_equal(t->timeout_ms, 5000);
	assert_int_equal(t->count, 3);
	assert_int_equal(t->pos.line, 14);
	assert_int_equal(t->pos.col, 9);

	t = find_target(cfg, "kcna");
	assert_int_equal(t->kind, KIND_TCP);
	assert_string_equal(t->host, "175.45.176.71");
	assert_int_equal(t->port, 80);

	t = find_target(cfg, "silibank");
	assert_int_equal(t->kind, KIND_SMTP);
	assert_int_equal(t->role, ROLE_MAIL);
	assert_int_equal(t->port, 25);

	t = find_target(cfg, "ns1");
	assert_int_equal(t->kind, KIND_DNS);
	assert_string_equal(t->server, "175.45.176.15");
	assert_string_equal(t->query, "kp. SOA");
	assert_string_equal(t->expect_rcode, "NOERROR");
	assert_false(t->recursion);

	t = find_target(cfg, "edge");
	assert_int_equal(t->kind, KIND_TRACE);
	assert_int_equal(t->role, ROLE_ROUTER);

	t = find_target(cfg, "ctl-1");
	assert_int_equal(t->role, ROLE_CONTROL);
	assert_int_equal(t->network, CONFIG_NO_NETWORK);
	assert_string_equal(t->host, "192.0.2.1");

	assert_true(cfg->bgp.present);
	assert_int_equal(cfg->bgp.npeers, 1);
	assert_string_equal(cfg->bgp.peers[0].address, "192.0.2.9");
	assert_int_equal(cfg->bgp.peers[0].remote_as, 64500);
	assert_int_equal(cfg->bgp.peers[0].local_as, 64501);
	assert_int_equal(cfg->bgp.peers[0].port, 179);
	assert_false(cfg->bgp.peers[0].passive);
	assert_int_equal(cfg->bgp.peers[0].hold_time_ms, 90000);
	assert_int_equal(cfg->bgp.nmrt, 0);
	assert_null(cfg->bgp.listen);

	assert_int_equal(cfg->nalerts, 1);
	assert_string_equal(cfg->alerts[0].kind, "webhook");
	assert_string_equal(cfg->alerts[0].url, "http://127.0.0.1:9093/api/v2/alerts");
	assert_string_equal(cfg->alerts[0].format, "alertmanager");
	assert_int_equal(cfg->alerts[0].max_age_ms, INT64_C(86400000));
	config_free(cfg);
}

static void test_spec_example_golden(void **state)
{
	char err[512] = "";
	struct config *cfg = config_load(TEST_DATA_DIR "/spec-example.yaml", err, sizeof err);
	char *want = slurp(TEST_DATA_DIR "/spec-example.normalised.yaml"), *got;

	(void)state;
	if (!cfg)
		fail_msg("%s", err);
	got = print_to_string(cfg);
	assert_string_equal(got, want);
	assert_round_trip(cfg);
	free(got);
	free(want);
	config_free(cfg);
}

/* The same configuration in block and flow style prints the same, and
 * the print survives a round trip (quotes, backslashes, $, UTF-8, IPv6). */
static void test_block_and_flow(void **state)
{
	char err[512] = "";
	struct config *block, *flow;
	const struct target_cfg *t;
	char *pb, *pf;

	(void)state;
	assert_int_equal(setenv("LO_TEST_PASSWORD", "p@ss$\"w", 1), 0);
	assert_int_equal(setenv("LO_TEST_TOKEN", "tok123", 1), 0);
	block = config_load(TEST_DATA_DIR "/full-block.yaml", err, sizeof err);
	if (!block)
		fail_msg("%s", err);
	flow = config_load(TEST_DATA_DIR "/full-flow.yaml", err, sizeof err);
	if (!flow)
		fail_msg("%s", err);
	pb = print_to_string(block);
	pf = print_to_string(flow);
	assert_string_equal(pb, pf);
	assert_round_trip(block);

	assert_string_equal(block->store, "/var/lib/lightsout/watch-p@ss$\"w.db");
	assert_string_equal(block->listen, "[::1]:9470");
	assert_int_equal(block->timeout_ms, 2000);
	assert_int_equal(block->detect.down_after, 4);
	assert_true(block->detect.degraded_rtt_factor == 3.5);
	assert_true(block->detect.network_fraction == 0.75);
	assert_int_equal(block->nnetworks, 2);
	assert_int_equal(block->networks[0].asn[1], 4200000000u);
	assert_int_equal(block->networks[0].prefixes[1].family, AF_INET6);
	assert_int_equal(block->networks[0].prefixes[1].len, 32);
	assert_int_equal(block->networks[1].nasn, 0);
	assert_int_equal(block->ntargets, 8);

	t = find_target(block, "web");
	assert_int_equal(t->nstatus, 2);
	assert_int_equal(t->status[1], 204);
	assert_string_equal(t->contains, "say \"ok\" \\ costs $5 \xe2\x80\x94 \xc3\xbcn\xc3\xaf"
					 "c\xc3\xb6"
					 "d\xc3\xa9");
	assert_true(t->follow_redirects);
	assert_int_equal(t->interval_ms, 10000);
	assert_int_equal(t->timeout_ms, 2000); /* inherited */

	t = find_target(block, "ns");
	assert_string_equal(t->expect_rcode, "NXDOMAIN");
	assert_string_equal(t->expect, "v=DMARC1");
	assert_true(t->recursion);
	assert_int_equal(t->timeout_ms, 1000);
	assert_int_equal(t->interval_ms, 30000); /* inherited */

	t = find_target(block, "mx");
	assert_int_equal(t->port, 25);
	assert_string_equal(t->expect_banner, "ESMTP");
	assert_int_equal(find_target(block, "gw")->count, 10);

	t = find_target(block, "ctl-web");
	assert_int_equal(t->role, ROLE_CONTROL); /* a control's role is ignored */
	assert_int_equal(t->network, CONFIG_NO_NETWORK);
	assert_int_equal(block->targets[6].network, CONFIG_NO_NETWORK);
	assert_int_equal(block->targets[5].network, 0);

	assert_int_equal(block->bgp.peers[0].port, 1179);
	assert_true(block->bgp.peers[0].passive);
	assert_int_equal(block->bgp.peers[0].hold_time_ms, 9000);
	assert_string_equal(block->bgp.mrt[0], "/var/lib/lightsout/rib.mrt");
	assert_string_equal(block->bgp.listen, "127.0.0.1:1179");
	assert_int_equal(block->nalerts, 2);
	assert_string_equal(block->alerts[1].format, "json");
	assert_string_equal(block->alerts[1].url, "http://127.0.0.1:8080/hook?token=tok123");
	assert_int_equal(block->alerts[0].max_age_ms, INT64_C(6) * 3600000);
	free(pb);
	free(pf);
	config_free(block);
	config_free(flow);
}

static void test_defaults(void **state)
{
	struct config *cfg = parse_ok("networks:\n"
				      "  - name: n\n"
				      "    targets:\n"
				      "      - {name: a, role: host, kind: icmp, host: 198.18.0.1}\n"
				      "interval: 10s\n"
				      "timeout: 500ms\n");
	char host[256];
	struct detect_cfg d;

	(void)state;
	assert_int_equal(gethostname(host, sizeof host), 0);
	host[sizeof host - 1] = '\0';
	/* the vantage defaults to the host name (or localhost if unusable) */
	assert_true(strcmp(cfg->vantage, host) == 0 || strcmp(cfg->vantage, "localhost") == 0);
	assert_string_equal(cfg->store, "lightsout.db");
	assert_string_equal(cfg->listen, "127.0.0.1:9470");
	assert_int_equal(cfg->max_pps, 1000);
	/* inherited even though the top-level keys came after the target */
	assert_int_equal(cfg->targets[0].interval_ms, 10000);
	assert_int_equal(cfg->targets[0].timeout_ms, 500);
	assert_false(cfg->bgp.present);
	assert_int_equal(cfg->nalerts, 0);
	config_detect_defaults(&d);
	assert_int_equal(cfg->detect.down_after, d.down_after);
	assert_int_equal(d.down_after, 3);
	assert_int_equal(d.up_after, 2);
	assert_int_equal(d.baseline_rounds, 20);
	assert_true(d.degraded_loss == 0.2);
	assert_true(d.degraded_rtt_factor == 4);
	assert_true(d.degraded_rtt_min_ms == 20);
	assert_int_equal(d.stress_lead_rounds, 2);
	assert_int_equal(d.abrupt_rounds, 2);
	assert_true(d.network_fraction == 0.5);
	assert_round_trip(cfg);
	config_free(cfg);

	/* an empty file is a valid, empty configuration */
	cfg = parse_ok("");
	assert_int_equal(cfg->nnetworks, 0);
	assert_int_equal(cfg->ntargets, 0);
	assert_int_equal(cfg->interval_ms, 60000);
	assert_round_trip(cfg);
	config_free(cfg);

	cfg = parse_ok("listen: off\nbgp:\n");
	assert_string_equal(cfg->listen, "off");
	assert_true(cfg->bgp.present);
	assert_round_trip(cfg);
	config_free(cfg);
}

/* Compound durations are read, and printed in their shortest exact form. */
static void test_compound_durations(void **state)
{
	struct config *cfg = parse_ok("interval: 1m30s\ntimeout: 1s500ms\nretention: 1d1s\n");
	char *out;

	(void)state;
	assert_int_equal(cfg->interval_ms, 90000);
	assert_int_equal(cfg->timeout_ms, 1500);
	out = print_to_string(cfg);
	assert_non_null(strstr(out, "interval: 90s\n"));
	assert_non_null(strstr(out, "timeout: 1500ms\n"));
	assert_non_null(strstr(out, "retention: 1d1s\n"));
	free(out);
	assert_round_trip(cfg);
	config_free(cfg);
}

static void test_log_level(void **state)
{
	struct config *cfg = parse_ok("");
	char *out;

	(void)state;
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	out = print_to_string(cfg);
	assert_non_null(strstr(out, "log_level: info\n"));
	free(out);
	config_free(cfg);
	cfg = parse_ok("log_level: debug\n");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_round_trip(cfg);
	config_free(cfg);
	cfg = parse_ok("log_level: error\n");
	assert_int_equal(cfg->log_level, LOG_LEVEL_ERROR);
	config_free(cfg);
}

/* dns targets take a port, 53 unless written */
static void test_dns_port(void **state)
{
	struct config *cfg =
	    parse_ok("controls:\n"
		     "  - {name: a, kind: dns, server: 127.0.0.1, query: \"lab.test. SOA\"}\n"
		     "  - {name: b, kind: dns, server: 127.0.0.1, port: 5353, query: \"lab.test. A\"}\n"
		     "  - {name: c, kind: smtp, host: 127.0.0.1}\n");
	char *out;

	(void)state;
	assert_int_equal(find_target(cfg, "a")->port, 53);
	assert_int_equal(find_target(cfg, "b")->port, 5353);
	assert_int_equal(find_target(cfg, "c")->port, 25);
	out = print_to_string(cfg);
	assert_non_null(strstr(out, "port: 5353"));
	free(out);
	assert_round_trip(cfg);
	config_free(cfg);
}

static void test_env(void **state)
{
	struct config *cfg;

	(void)state;
	assert_int_equal(setenv("LO_TEST_VANTAGE", "paris-2", 1), 0);
	assert_int_equal(setenv("LO_TEST_PORT", "8025", 1), 0);
	assert_int_equal(setenv("LO_TEST_WEIRD", "a$b\\c\"d${X}", 1), 0);
	cfg = parse_ok("vantage: ${LO_TEST_VANTAGE}\n"
		       "store: \"/srv/$$HOME/${LO_TEST_VANTAGE}.db\"\n"
		       "controls:\n"
		       "  - {name: m, kind: smtp, host: 192.0.2.25, port: \"${LO_TEST_PORT}\",\n"
		       "     expect_banner: \"${LO_TEST_WEIRD} costs $5\"}\n");
	assert_string_equal(cfg->vantage, "paris-2");
	assert_string_equal(cfg->store, "/srv/$HOME/paris-2.db");
	assert_int_equal(cfg->targets[0].port, 8025);
	/* substituted text is not substituted again; a lone $ stays */
	assert_string_equal(cfg->targets[0].expect_banner, "a$b\\c\"d${X} costs $5");
	assert_round_trip(cfg);
	config_free(cfg);
}

struct bad {
	const char *yaml;
	const char *err;
};

static const struct bad bad_inputs[] = {
    {"vantage: a\nfrobnicate: 1\n", "bad.yaml:2:1: unknown key \"frobnicate\""},
    {"detect: {down_after: 3, down_aftr: 2}\n", "bad.yaml:1:25: unknown key \"down_aftr\" in detect"},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1, hots: x}\n",
     "bad.yaml:2:44: unknown key \"hots\" in target"},
    /* wrong types */
    {"vantage: [a, b]\n", "bad.yaml:1:10: vantage: expected a string, got a list"},
    {"networks: {name: x}\n", "bad.yaml:1:11: networks: expected a list, got a mapping"},
    {"detect: 3\n", "bad.yaml:1:9: detect: expected a mapping, got a scalar"},
    {"networks:\n  - name: a\n    asn: 131279\n", "bad.yaml:3:10: asn: expected a list, got a scalar"},
    {"networks:\n  - name: a\n    asn: [AS131279]\n", "bad.yaml:3:11: asn: expected an integer, got \"AS131279\""},
    {"networks:\n  - name: a\n    asn: [4294967296]\n",
     "bad.yaml:3:11: asn: must be between 1 and 4294967295, got 4294967296"},
    {"max_pps: 010\n", "bad.yaml:1:10: max_pps: expected an integer without leading zeros, got \"010\""},
    {"controls:\n  - {name: c, kind: tcp, host: 192.0.2.1, port: {a: 1}}\n",
     "bad.yaml:2:49: port: expected an integer, got a mapping"},
    {"controls:\n  - {name: c, kind: http, url: \"http://a.example/\", follow_redirects: yes}\n",
     "bad.yaml:2:71: follow_redirects: expected true or false, got \"yes\""},
    {"vantage:\n", "bad.yaml:1:9: vantage: missing value (expected a string)"},
    /* addresses */
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.300}\n",
     "bad.yaml:2:33: host: bad IPv4 address \"192.0.2.300\""},
    {"controls:\n  - {name: c, kind: icmp, host: \"2001:db8::g\"}\n",
     "bad.yaml:2:33: host: bad IPv6 address \"2001:db8::g\""},
    {"controls:\n  - {name: c, kind: icmp, host: bad_host.example}\n",
     "bad.yaml:2:33: host: bad host name \"bad_host.example\""},
    {"controls:\n  - {name: c, kind: dns, server: 10.0.0, query: \"kp. SOA\"}\n",
     "bad.yaml:2:34: server: bad IPv4 address \"10.0.0\""},
    {"bgp:\n  peers:\n    - {address: peer.example, remote_as: 1, local_as: 2}\n",
     "bad.yaml:3:17: address: bad IPv4 address \"peer.example\""},
    {"networks:\n  - name: a\n    prefixes: [175.45.176.1/22]\n",
     "bad.yaml:3:16: prefixes: \"175.45.176.1/22\" has host bits set (the network is 175.45.176.0/22)"},
    {"networks:\n  - name: a\n    prefixes: [\"2001:db8::1/32\"]\n",
     "bad.yaml:3:16: prefixes: \"2001:db8::1/32\" has host bits set (the network is 2001:db8::/32)"},
    {"networks:\n  - name: a\n    prefixes: [175.45.176.0/33]\n",
     "bad.yaml:3:16: prefixes: bad prefix \"175.45.176.0/33\" (expected ADDRESS/LENGTH)"},
    {"listen: localhost:9470\n",
     "bad.yaml:1:9: listen: expected \"off\" or ADDRESS:PORT (IPv6 as [::1]:9470), got \"localhost:9470\""},
    {"listen: \"::1:9470\"\n",
     "bad.yaml:1:9: listen: expected \"off\" or ADDRESS:PORT (IPv6 as [::1]:9470), got \"::1:9470\""},
    {"store: mysql://db/x\n",
     "bad.yaml:1:8: store: unsupported URI \"mysql://db/x\" (a file path or postgresql://...)"},
    /* what this build cannot do is refused here, not when watch starts;
     * the URI may carry a password, so it is not echoed */
    {"store: \"postgresql://watch:secret@192.0.2.5/lightsout\"\n",
     "bad.yaml:1:8: store: this build supports only SQLite stores (a file path), not PostgreSQL"},
    {"store: postgres://db.example/lightsout\n",
     "bad.yaml:1:8: store: this build supports only SQLite stores (a file path), not PostgreSQL"},
    /* durations */
    {"interval: 5x\n",
     "bad.yaml:1:11: interval: bad duration \"5x\" (integers with units d, h, m, s, ms, largest first: 90s, 1h30m)"},
    {"timeout: 0s\n", "bad.yaml:1:10: timeout: must be greater than 0"},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1, interval: 0ms}\n",
     "bad.yaml:2:54: interval: must be greater than 0"},
    {"interval: 30s1m\n",
     "bad.yaml:1:11: interval: bad duration \"30s1m\" (integers with units d, h, m, s, ms, largest first: 90s, 1h30m)"},
    {"log_level: loud\n", "bad.yaml:1:12: log_level: unknown log level \"loud\" (error, warning, info, debug)"},
    {"interval: 0h0m\n", "bad.yaml:1:11: interval: must be greater than 0"},
    {"retention: 1.5d\n",
     "bad.yaml:1:12: retention: bad duration \"1.5d\" (integers with units d, h, m, s, ms, largest first: 90s, 1h30m)"},
    /* missing keys, per kind */
    {"controls:\n  - {kind: icmp, host: 192.0.2.1}\n", "bad.yaml:2:5: target: missing key \"name\""},
    {"controls:\n  - {name: c, host: 192.0.2.1}\n", "bad.yaml:2:5: target \"c\": missing key \"kind\""},
    {"networks:\n  - name: n\n    targets: [{name: t, kind: icmp, host: 192.0.2.1}]\n",
     "bad.yaml:3:15: target \"t\": missing key \"role\""},
    {"controls:\n  - {name: c, kind: icmp}\n",
     "bad.yaml:2:5: target \"c\": missing key \"host\" (required for kind icmp)"},
    {"controls:\n  - {name: c, kind: trace}\n",
     "bad.yaml:2:5: target \"c\": missing key \"host\" (required for kind trace)"},
    {"controls:\n  - {name: c, kind: tcp, host: 192.0.2.1}\n",
     "bad.yaml:2:5: target \"c\": missing key \"port\" (required for kind tcp)"},
    {"controls:\n  - {name: c, kind: smtp, port: 25}\n",
     "bad.yaml:2:5: target \"c\": missing key \"host\" (required for kind smtp)"},
    {"controls:\n  - {name: c, kind: http}\n",
     "bad.yaml:2:5: target \"c\": missing key \"url\" (required for kind http)"},
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.53}\n",
     "bad.yaml:2:5: target \"c\": missing key \"query\" (required for kind dns)"},
    {"controls:\n  - {name: c, kind: dns, query: \"kp. SOA\"}\n",
     "bad.yaml:2:5: target \"c\": missing key \"server\" (required for kind dns)"},
    {"bgp:\n  peers: [{address: 192.0.2.9, remote_as: 64500}]\n", "bad.yaml:2:11: bgp peer: missing key \"local_as\""},
    {"alerts:\n  - {kind: webhook}\n", "bad.yaml:2:5: alert: missing key \"url\""},
    {"networks:\n  - {asn: [1]}\n", "bad.yaml:2:5: network: missing key \"name\""},
    /* keys for the wrong kind */
    {"controls:\n  - {name: c, kind: tcp, host: 192.0.2.1, port: 80, url: \"http://x.example/\"}\n",
     "bad.yaml:2:53: target \"c\": key \"url\" is not valid for kind tcp"},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1, port: 7}\n",
     "bad.yaml:2:44: target \"c\": key \"port\" is not valid for kind icmp"},
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.1, query: \"kp. SOA\", status: [200]}\n",
     "bad.yaml:2:63: target \"c\": key \"status\" is not valid for kind dns"},
    /* duplicates */
    {"networks:\n  - name: n\n    targets:\n"
     "      - {name: a, role: web, kind: icmp, host: 192.0.2.1}\n"
     "      - {name: b, role: web, kind: icmp, host: 192.0.2.2}\n"
     "      - {name: a, role: web, kind: icmp, host: 192.0.2.3}\n",
     "bad.yaml:6:16: duplicate target name \"a\" in network \"n\""},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1}\n  - {name: c, kind: icmp, host: 192.0.2.2}\n",
     "bad.yaml:3:12: duplicate target name \"c\" in controls"},
    {"networks:\n  - name: n\n  - name: n\n", "bad.yaml:3:11: duplicate network name \"n\""},
    {"interval: 5s\ntimeout: 1s\ninterval: 6s\n", "bad.yaml:3:1: duplicate key \"interval\""},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1, host: 192.0.2.2}\n",
     "bad.yaml:2:44: duplicate key \"host\""},
    /* environment */
    {"vantage: a\nstore: \"${LO_TEST_UNSET_VARIABLE}\"\n",
     "bad.yaml:2:8: environment variable \"LO_TEST_UNSET_VARIABLE\" is not set"},
    {"store: \"${1BAD}\"\n",
     "bad.yaml:1:8: bad variable reference in \"${1BAD}\" (write ${NAME}, or $$ for a literal $)"},
    /* URLs */
    {"controls:\n  - {name: c, kind: http, url: \"ftp://x.example/\"}\n",
     "bad.yaml:2:32: url: bad URL \"ftp://x.example/\" (expected http:// or https://)"},
    {"controls:\n  - {name: c, kind: http, url: \"http://300.1.1.1/\"}\n",
     "bad.yaml:2:32: url: bad URL \"http://300.1.1.1/\" (bad IPv4 address)"},
    {"controls:\n  - {name: c, kind: http, url: \"http://[2001:db8::zz]/\"}\n",
     "bad.yaml:2:32: url: bad URL \"http://[2001:db8::zz]/\" (bad IPv6 address)"},
    {"controls:\n  - {name: c, kind: http, url: \"http://a.example:99999/\"}\n",
     "bad.yaml:2:32: url: bad URL \"http://a.example:99999/\" (bad port)"},
    {"controls:\n  - {name: c, kind: http, url: \"https:///x\"}\n",
     "bad.yaml:2:32: url: bad URL \"https:///x\" (missing host)"},
    {"alerts:\n  - {kind: webhook, url: \"http://a b/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://a b/\" (spaces are not allowed)"},
    /* what libcurl forgives is still refused */
    {"alerts:\n  - {kind: webhook, url: \"http://127.1/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://127.1/\" (bad IPv4 address)"},
    {"alerts:\n  - {kind: webhook, url: \"http://a.example:/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://a.example:/\" (bad port)"},
    {"alerts:\n  - {kind: webhook, url: \"http://a.example:0/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://a.example:0/\" (bad port)"},
    {"alerts:\n  - {kind: webhook, url: \"http://u@a.example/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://u@a.example/\" (user names in URLs are not supported)"},
    {"alerts:\n  - {kind: webhook, url: \"http://[fe80::1%25eth0]/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://[fe80::1%25eth0]/\" (bad IPv6 address)"},
    {"alerts:\n  - {kind: webhook, url: \"http://a..b/\"}\n",
     "bad.yaml:2:26: url: bad URL \"http://a..b/\" (bad host name)"},
    {"bgp: {listen: \"[::1]:99999\"}\n",
     "bad.yaml:1:15: listen: expected ADDRESS:PORT (IPv6 as [::1]:179), got \"[::1]:99999\""},
    {"controls:\n  - {name: c, kind: http, url: \"http://a.example/\", status: []}\n",
     "bad.yaml:2:61: status: must list at least one status code"},
    /* DNS queries and rcodes */
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.1, query: \"kp. FOO\"}\n",
     "bad.yaml:2:52: query: unknown RR type \"FOO\""},
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.1, query: \"kp.\"}\n",
     "bad.yaml:2:52: query: bad query \"kp.\" (expected \"NAME TYPE\", e.g. \"kp. SOA\")"},
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.1, query: \"k..p SOA\"}\n",
     "bad.yaml:2:52: query: bad domain name \"k..p\""},
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.1, query: \"kp. AXFR\"}\n",
     "bad.yaml:2:52: query: unknown RR type \"AXFR\""},
    {"controls:\n  - {name: c, kind: dns, server: 192.0.2.1, query: \"kp. A\", expect_rcode: OK}\n",
     "bad.yaml:2:75: expect_rcode: unknown rcode \"OK\" (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)"},
    /* words and ranges */
    {"networks:\n  - name: n\n    targets: [{name: t, role: server, kind: icmp, host: 192.0.2.1}]\n",
     "bad.yaml:3:31: role: unknown role \"server\" (web, mail, dns, router, host)"},
    {"controls:\n  - {name: c, role: control, kind: icmp, host: 192.0.2.1}\n",
     "bad.yaml:2:21: role: unknown role \"control\" (web, mail, dns, router, host)"},
    {"controls:\n  - {name: c, kind: ping, host: 192.0.2.1}\n",
     "bad.yaml:2:21: kind: unknown kind \"ping\" (icmp, tcp, http, smtp, dns, trace)"},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1, count: 0}\n",
     "bad.yaml:2:51: count: must be between 1 and 100, got 0"},
    {"controls:\n  - {name: c, kind: icmp, host: 192.0.2.1, count: 101}\n",
     "bad.yaml:2:51: count: must be between 1 and 100, got 101"},
    {"controls:\n  - {name: c, kind: http, url: \"http://a.example/\", status: [200, 600]}\n",
     "bad.yaml:2:67: status: must be between 100 and 599, got 600"},
    {"controls:\n  - {name: \"has space\", kind: icmp, host: 192.0.2.1}\n",
     "bad.yaml:2:12: name: bad name \"has space\" (1-64 characters of A-Z a-z 0-9 . _ -)"},
    {"detect: {network_fraction: 1.5}\n", "bad.yaml:1:28: network_fraction: must be in (0, 1], got 1.5"},
    {"detect: {degraded_loss: nan}\n", "bad.yaml:1:25: degraded_loss: expected a number, got \"nan\""},
    {"bgp: {peers: [{address: 192.0.2.9, remote_as: 1, local_as: 2, hold_time: 1s}]}\n",
     "bad.yaml:1:74: hold_time: must be whole seconds between 3s and 65535s"},
    {"alerts: [{kind: email, url: \"http://a.example/\"}]\n",
     "bad.yaml:1:17: kind: unknown alert kind \"email\" (webhook)"},
    {"alerts: [{kind: webhook, url: \"http://a.example/\", format: xml}]\n",
     "bad.yaml:1:60: format: unknown format \"xml\" (json, alertmanager)"},
    /* YAML structure */
    {"a: &x 1\nb: *x\n", "bad.yaml:2:4: aliases are not supported (*x): write the value out"},
    {"vantage: !!str a\n", "bad.yaml:1:10: YAML tags are not supported"},
    {"vantage: a\n---\nvantage: b\n", "bad.yaml:2:1: only one YAML document is allowed"},
    {"- a\n", "bad.yaml:1:1: the configuration must be a mapping of keys (vantage, networks, ...)"},
    {"? [a]\n: b\n", "bad.yaml:1:3: mapping keys must be plain words"},
    {"vantage: a\n- b\n", "bad.yaml:2:1: did not find expected key while parsing a block mapping"},
    {"vantage: \"a\\0b\"\n", "bad.yaml:1:10: vantage: NUL characters are not allowed"},
    {"store: \"a\\tb\"\n", "bad.yaml:1:8: store: control characters are not allowed"},
    {"vantage: \xff\n", "bad.yaml:1:10: invalid leading UTF-8 octet"},
};

static void test_bad_inputs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
		char err[512] = "";
		struct config *cfg;

		unsetenv("LO_TEST_UNSET_VARIABLE");
		cfg = config_parse("bad.yaml", bad_inputs[i].yaml, strlen(bad_inputs[i].yaml), err, sizeof err);
		if (cfg) {
			config_free(cfg);
			fail_msg("case %zu parsed but should fail: %s", i, bad_inputs[i].yaml);
		}
		if (strcmp(err, bad_inputs[i].err) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, err, bad_inputs[i].err);
	}
}

/* The value checks others reuse: listen addresses (the dashboard's and
 * the BGP listener) and SCHEME://HOST[:PORT] (lightsout probe). */
static void test_values(void **state)
{
	struct sockaddr_storage ss;
	char *host = NULL;
	uint16_t port = 1;

	(void)state;
	assert_int_equal(value_listen("127.0.0.1:9470", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9470);
	assert_int_equal(value_listen("[::1]:80", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 80);
	assert_int_equal(value_listen("0.0.0.0:0", &ss), 0);
	assert_int_equal(value_listen("[127.0.0.1]:80", &ss), -1);
	assert_int_equal(value_listen("::1:80", &ss), -1);
	assert_int_equal(value_listen("127.0.0.1", &ss), -1);
	assert_int_equal(value_listen("127.0.0.1:65536", &ss), -1);
	assert_int_equal(value_listen("127.0.0.1:-1", &ss), -1);
	assert_int_equal(value_listen("127.0.0.1:080", &ss), -1);
	assert_int_equal(value_listen("localhost:80", &ss), -1);
	assert_int_equal(value_listen(":80", &ss), -1);
	assert_int_equal(value_listen("off", &ss), -1);
	assert_int_equal(value_listen(NULL, &ss), -1);

	assert_int_equal(value_url_host("tcp://[2001:db8::1]:25", &host, &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 25);
	free(host);
	assert_int_equal(value_url_host("dns://ns.example/kp./SOA", &host, &port), 0);
	assert_string_equal(host, "ns.example");
	assert_int_equal(port, 0);
	free(host);
	host = NULL;
	assert_int_equal(value_url_host("tcp://bad_host:80", &host, &port), -1);
	assert_int_equal(value_url_host("tcp://192.0.2.300:80", &host, &port), -1);
	assert_int_equal(value_url_host("tcp://a.example:0", &host, &port), -1);
	assert_int_equal(value_url_host("tcp://:80", &host, &port), -1);
	assert_int_equal(value_url_host("a.example:80", &host, &port), -1);
	assert_null(host);
}

/* nesting: 16 levels are fine, 17 are not */
static void test_depth(void **state)
{
	char buf[256], err[512] = "";
	struct config *cfg;
	int i, n;

	(void)state;
	for (n = 16; n <= 17; n++) {
		size_t len = 0;

		len += (size_t)snprintf(buf + len, sizeof buf - len, "x: ");
		for (i = 1; i < n; i++)
			buf[len++] = '[';
		buf[len++] = '1';
		for (i = 1; i < n; i++)
			buf[len++] = ']';
		buf[len] = '\0';
		cfg = config_parse("deep.yaml", buf, len, err, sizeof err);
		assert_null(cfg);
		if (n == 16)
			assert_string_equal(err, "deep.yaml:1:1: unknown key \"x\"");
		else
			assert_string_equal(err, "deep.yaml:1:19: nesting deeper than 16 levels");
	}
}

static void test_limits(void **state)
{
	char path[] = "/tmp/lightsout-config-test-XXXXXX";
	char err[512] = "";
	size_t big = (64u << 20) + 1, i;
	char *buf = malloc(big);
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_non_null(buf);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	/* valid YAML (a comment), just too large */
	buf[0] = '#';
	for (i = 1; i < big; i++)
		buf[i] = i % 80 == 0 ? '\n' : 'x';
	assert_int_equal(fwrite(buf, 1, big, f), big);
	assert_int_equal(fclose(f), 0);
	assert_null(config_load(path, err, sizeof err));
	snprintf(buf, big, "%s: file larger than 64 MiB", path);
	assert_string_equal(err, buf);
	assert_null(config_parse("big.yaml", buf, big, err, sizeof err));
	assert_string_equal(err, "big.yaml:1:1: configuration larger than 67108864 bytes");
	assert_int_equal(unlink(path), 0);
	free(buf);

	assert_null(config_load("/nonexistent/lightsout.yaml", err, sizeof err));
	assert_string_equal(err, "/nonexistent/lightsout.yaml: No such file or directory");
	/* a tiny error buffer is never overrun, and NULL is allowed */
	assert_null(config_parse("t.yaml", "x: 1", 4, err, 4));
	assert_string_equal(err, "t.y");
	assert_null(config_parse("t.yaml", "x: 1", 4, NULL, 0));
	assert_null(config_load("/nonexistent/lightsout.yaml", NULL, 0));
}

/* Strings that need escaping survive print and parse. */
static void test_print_escapes(void **state)
{
	struct config *cfg;
	char *out;

	(void)state;
	assert_int_equal(setenv("LO_TEST_ODD",
				"tab\xc2\x85nel\xe2\x80\xa8ls\xef\xbb\xbf"
				"bom\xf0\x9f\x92\xa1",
				1),
			 0);
	cfg = parse_ok("store: \"q\\\"b\\\\s$$d\\u00e9\"\n"
		       "controls:\n"
		       "  - {name: c, kind: http, url: \"http://a.example/p?q=$$x\", contains: \"${LO_TEST_ODD}\"}\n"
		       "networks:\n"
		       "  - {name: v6, prefixes: [\"::/0\", \"2001:db8::/32\"], asn: []}\n");
	assert_string_equal(cfg->store, "q\"b\\s$d\xc3\xa9");
	assert_string_equal(cfg->targets[0].url, "http://a.example/p?q=$x");
	out = print_to_string(cfg);
	assert_non_null(strstr(out, "store: \"q\\\"b\\\\s$$d\xc3\xa9\"\n"));
	assert_non_null(strstr(out, "prefixes: [\"::/0\", \"2001:db8::/32\"]"));
	/* NEL, LS, BOM and (libyaml's choice) characters beyond the BMP are
	 * escaped, other UTF-8 written as is */
	assert_non_null(strstr(out, "contains: \"tab\\Nnel\\Lls\\uFEFFbom\\U0001F4A1\""));
	assert_round_trip(cfg);
	free(out);
	config_free(cfg);
}

static void test_north_korea_example(void **state)
{
	char err[512] = "";
	struct config *cfg = config_load(EXAMPLES_DIR "/north-korea.yaml", err, sizeof err);
	const struct target_cfg *t;
	size_t i, dns = 0, mail = 0, web = 0, router = 0;
	char buf[64];

	(void)state;
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nnetworks, 1);
	assert_string_equal(cfg->networks[0].name, "north-korea");
	assert_int_equal(cfg->networks[0].nasn, 1);
	assert_int_equal(cfg->networks[0].asn[0], 131279);
	assert_true(cfg->networks[0].nprefixes >= 1);
	prefix_format(&cfg->networks[0].prefixes[0], buf, sizeof buf);
	assert_string_equal(buf, "175.45.176.0/22");
	for (i = 0; i < cfg->ntargets; i++) {
		t = &cfg->targets[i];
		dns += t->role == ROLE_DNS;
		mail += t->role == ROLE_MAIL;
		web += t->role == ROLE_WEB;
		router += t->role == ROLE_ROUTER;
	}
	assert_int_equal(dns, 2);
	assert_true(mail >= 1 && web >= 1 && router >= 1);
	t = find_target(cfg, "ns1");
	assert_string_equal(t->server, "175.45.176.15");
	t = find_target(cfg, "ns2");
	assert_string_equal(t->server, "175.45.176.16");
	assert_round_trip(cfg);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_example),
	    cmocka_unit_test(test_spec_example_golden),
	    cmocka_unit_test(test_block_and_flow),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_compound_durations),
	    cmocka_unit_test(test_log_level),
	    cmocka_unit_test(test_dns_port),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_print_escapes),
	    cmocka_unit_test(test_north_korea_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
