/* check-config -v: the configuration printed back as YAML that reads
 * back to the same print. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/timeutil.h"


/* Characters libyaml reads back unchanged inside a double-quoted scalar;
 * line breaks (NEL, LS, PS) and the BOM are escaped. */
static bool yaml_printable(uint32_t cp)
{
	return (cp >= 0xA0 && cp <= 0xD7FF && cp != 0x2028 && cp != 0x2029) ||
	       (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* Double-quoted and escaped; $ doubled so ${} substitution gives it back. */
static void print_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len = strlen(str);

	fputc('"', out);
	while (i < len) {
		unsigned char ch = s[i];
		uint32_t cp;
		size_t n, k;

		if (ch == '"' || ch == '\\') {
			fputc('\\', out);
			fputc(ch, out);
			i++;
			continue;
		}
		if (ch == '$') {
			fputs("$$", out);
			i++;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f) {
			fprintf(out, "\\x%02x", ch);
			i++;
			continue;
		}
		if (ch < 0x80) {
			fputc(ch, out);
			i++;
			continue;
		}
		n = (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3 : (ch & 0xF8) == 0xF0 ? 4 : 1;
		cp = n == 2 ? ch & 0x1Fu : n == 3 ? ch & 0x0Fu : ch & 0x07u;
		if (n == 1 || len - i < n) {
			/* not reached: values are checked as UTF-8 */
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		for (k = 1; k < n; k++)
			cp = (cp << 6) | (s[i + k] & 0x3Fu);
		if (yaml_printable(cp))
			fwrite(s + i, 1, n, out);
		else if (cp <= 0xFFFF)
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fprintf(out, "\\U%08x", (unsigned)cp);
		i += n;
	}
	fputc('"', out);
}

static void print_duration(FILE *out, int64_t ms)
{
	char buf[32];

	duration_format(ms, buf, sizeof buf);
	fputs(buf, out);
}

/* Shortest form that reads back as the same double. */
static void print_double(FILE *out, double v)
{
	char buf[40];
	int prec;

	if (v == floor(v) && fabs(v) < 1e15) {
		fprintf(out, "%.0f", v);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, out);
}

static const char *bool_name(bool b)
{
	return b ? "true" : "false";
}

static void print_target(FILE *out, const struct target_cfg *t, const char *indent)
{
	size_t i;

	fprintf(out, "%s- {name: ", indent);
	print_str(out, t->name);
	if (t->role != ROLE_CONTROL)
		fprintf(out, ", role: %s", role_name(t->role));
	fprintf(out, ", kind: %s", kind_name(t->kind));
	switch (t->kind) {
	case KIND_ICMP:
	case KIND_TRACE:
	case KIND_TCP:
	case KIND_SMTP:
		fputs(", host: ", out);
		print_str(out, t->host ? t->host : "");
		if (t->kind == KIND_TCP || t->kind == KIND_SMTP)
			fprintf(out, ", port: %u", (unsigned)t->port);
		break;
	case KIND_HTTP:
		fputs(", url: ", out);
		print_str(out, t->url ? t->url : "");
		break;
	case KIND_DNS:
		fputs(", server: ", out);
		print_str(out, t->server ? t->server : "");
		fputs(", query: ", out);
		print_str(out, t->query ? t->query : "");
		break;
	default:
		break;
	}
	fputs(", interval: ", out);
	print_duration(out, t->interval_ms);
	fputs(", timeout: ", out);
	print_duration(out, t->timeout_ms);
	fprintf(out, ", count: %u", t->count);
	if (t->kind == KIND_HTTP) {
		if (t->nstatus > 0) {
			fputs(", status: [", out);
			for (i = 0; i < t->nstatus; i++)
				fprintf(out, "%s%d", i ? ", " : "", t->status[i]);
			fputc(']', out);
		}
		if (t->contains) {
			fputs(", contains: ", out);
			print_str(out, t->contains);
		}
		fprintf(out, ", follow_redirects: %s", bool_name(t->follow_redirects));
	}
	if (t->kind == KIND_DNS) {
		fprintf(out, ", expect_rcode: %s", t->expect_rcode ? t->expect_rcode : "NOERROR");
		if (t->expect) {
			fputs(", expect: ", out);
			print_str(out, t->expect);
		}
		fprintf(out, ", recursion: %s", bool_name(t->recursion));
	}
	if (t->kind == KIND_SMTP && t->expect_banner) {
		fputs(", expect_banner: ", out);
		print_str(out, t->expect_banner);
	}
	fputs("}\n", out);
}

void config_print(const struct config *cfg, FILE *out)
{
	const struct detect_cfg *d = &cfg->detect;
	size_t i, j;
	bool any;

	fputs("vantage: ", out);
	print_str(out, cfg->vantage);
	fputs("\nstore: ", out);
	print_str(out, cfg->store);
	fputs("\nlisten: ", out);
	print_str(out, cfg->listen);
	fputs("\ninterval: ", out);
	print_duration(out, cfg->interval_ms);
	fputs("\ntimeout: ", out);
	print_duration(out, cfg->timeout_ms);
	fprintf(out, "\nmax_pps: %u\nretention: ", cfg->max_pps);
	print_duration(out, cfg->retention_ms);
	fprintf(out,
		"\ndetect:\n  down_after: %u\n  up_after: %u\n  baseline_rounds: %u\n  degraded_loss: ", d->down_after,
		d->up_after, d->baseline_rounds);
	print_double(out, d->degraded_loss);
	fputs("\n  degraded_rtt_factor: ", out);
	print_double(out, d->degraded_rtt_factor);
	fputs("\n  degraded_rtt_min_ms: ", out);
	print_double(out, d->degraded_rtt_min_ms);
	fprintf(out, "\n  stress_lead_rounds: %u\n  abrupt_rounds: %u\n  network_fraction: ", d->stress_lead_rounds,
		d->abrupt_rounds);
	print_double(out, d->network_fraction);
	fputs(cfg->nnetworks ? "\nnetworks:\n" : "\nnetworks: []\n", out);
	for (i = 0; i < cfg->nnetworks; i++) {
		const struct network_cfg *n = &cfg->networks[i];
		char buf[64];

		fputs("  - name: ", out);
		print_str(out, n->name);
		fputs("\n    asn: [", out);
		for (j = 0; j < n->nasn; j++)
			fprintf(out, "%s%u", j ? ", " : "", (unsigned)n->asn[j]);
		fputs("]\n    prefixes: [", out);
		for (j = 0; j < n->nprefixes; j++) {
			prefix_format(&n->prefixes[j], buf, sizeof buf);
			/* "::/0" would read as a flow-mapping key: quote IPv6 */
			fprintf(out, n->prefixes[j].family == AF_INET6 ? "%s\"%s\"" : "%s%s", j ? ", " : "", buf);
		}
		fputs("]\n", out);
		any = false;
		for (j = 0; j < cfg->ntargets; j++) {
			if (cfg->targets[j].network != i)
				continue;
			if (!any)
				fputs("    targets:\n", out);
			any = true;
			print_target(out, &cfg->targets[j], "      ");
		}
		if (!any)
			fputs("    targets: []\n", out);
	}
	any = false;
	for (j = 0; j < cfg->ntargets; j++) {
		if (cfg->targets[j].network != CONFIG_NO_NETWORK)
			continue;
		if (!any)
			fputs("controls:\n", out);
		any = true;
		print_target(out, &cfg->targets[j], "  ");
	}
	if (!any)
		fputs("controls: []\n", out);
	if (cfg->bgp.present) {
		fputs(cfg->bgp.npeers ? "bgp:\n  peers:\n" : "bgp:\n  peers: []\n", out);
		for (i = 0; i < cfg->bgp.npeers; i++) {
			const struct bgp_peer_cfg *p = &cfg->bgp.peers[i];

			fputs("    - {address: ", out);
			print_str(out, p->address);
			fprintf(out, ", remote_as: %u, local_as: %u, port: %u, passive: %s, hold_time: ",
				(unsigned)p->remote_as, (unsigned)p->local_as, (unsigned)p->port,
				bool_name(p->passive));
			print_duration(out, p->hold_time_ms);
			fputs("}\n", out);
		}
		fputs(cfg->bgp.nmrt ? "  mrt:\n" : "  mrt: []\n", out);
		for (i = 0; i < cfg->bgp.nmrt; i++) {
			fputs("    - ", out);
			print_str(out, cfg->bgp.mrt[i]);
			fputc('\n', out);
		}
		if (cfg->bgp.listen) {
			fputs("  listen: ", out);
			print_str(out, cfg->bgp.listen);
			fputc('\n', out);
		}
	}
	fputs(cfg->nalerts ? "alerts:\n" : "alerts: []\n", out);
	for (i = 0; i < cfg->nalerts; i++) {
		const struct alert_cfg *a = &cfg->alerts[i];

		/* kind and format are checked words */
		fprintf(out, "  - {kind: %s, url: ", a->kind);
		print_str(out, a->url);
		fprintf(out, ", format: %s, max_age: ", a->format);
		print_duration(out, a->max_age_ms);
		fputs("}\n", out);
	}
}
