/*
 * cmd-wireguard.c - the peers of "wireguard" ports (tunnel/port-wg.h):
 * wireguard peer add, peer del and show, and their part of "save".
 *
 * The words are the wg tool's (endpoint, allowed-ips, preshared-key,
 * persistent-keepalive) in the switch's own grammar.  peer add makes or
 * replaces a peer with everything it says, as "wg set" does: a replaced
 * peer's allowed IPs are the new ones only.  Keys never leave the port:
 * a peer's preshared key is read by the port from its file, only the path
 * is kept (for save), and show says whether there is one, as wg does.
 *
 * show's text is wg show's, from the JSON that --json returns.  A saved
 * configuration has one peer add line per peer after the ports, with the
 * endpoint the peer has now (it may have roamed); a reload deletes the
 * peers and lets the file add them again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath/dp.h"
#include "tunnel/port-wg.h"
#include "tunnel/tnl-addr.h"

#include "cmd.h"
#include "log.h"
#include "xmalloc.h"

static int
wg_check_port(struct cmd_ctx *ctx, const struct port *port)
{
	if (!wg_port_is(port))
		return cmd_error(ctx, "port '%s' is a %s port, not wireguard",
		    port->name, port->ops->type);
	return 0;
}

static int
wg_parse_key(struct cmd_ctx *ctx, const char *s, uint8_t key[WG_KEY_LEN])
{
	if (wg_key_from_base64(key, s) != 0)
		return cmd_error(ctx, "invalid public key '%s' (expected 44 "
		    "characters of base64, as wg pubkey prints)", s);
	return 0;
}

/* "198.18.0.2:51820" or "[fd00:5657::2]:51820". */
static int
wg_parse_endpoint(struct cmd_ctx *ctx, const char *s,
    struct sockaddr_storage *ss)
{
	char		 addr[TNL_ADDR_STRLEN];
	const char	*colon, *start = s, *end;
	unsigned long	 port;
	char		*p;

	if (s[0] == '[') {
		start = s + 1;
		if ((end = strchr(start, ']')) == NULL || end[1] != ':')
			goto bad;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;	/* IPv6 without brackets: which is the port? */
		end = colon;
	}
	if ((size_t)(end - start) >= sizeof(addr))
		goto bad;
	memcpy(addr, start, (size_t)(end - start));
	addr[end - start] = '\0';
	if (tnl_addr_parse(addr, ss) != 0 ||
	    (s[0] == '[') != (ss->ss_family == AF_INET6))
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &p, 10);
	if (colon[1] < '0' || colon[1] > '9' || *p != '\0' || errno != 0 ||
	    port == 0 || port > UINT16_MAX)
		goto bad;
	tnl_addr_set_port(ss, (uint16_t)port);
	return 0;
bad:
	return cmd_error(ctx, "invalid endpoint '%s' (expected ADDR:PORT or "
	    "[ADDR6]:PORT)", s);
}

static int
cmd_wg_peer_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	enum { ENDPOINT, ALLOWED, PSK, KEEPALIVE };
	struct cmd_opt		 opts[] = { { "endpoint", NULL },
				    { "allowed-ips", NULL },
				    { "preshared-key", NULL },
				    { "persistent-keepalive", NULL } };
	struct wg_peer_config	*pc;
	unsigned long		 v;
	char			 err[256] = "", b64[WG_KEY_B64_LEN];
	int			 error, rc = -1;

	if (wg_check_port(ctx, ctx->port) == -1)
		return -1;
	pc = xcalloc(1, sizeof(*pc));
	pc->endpoint.ss_family = AF_UNSPEC;
	if (wg_parse_key(ctx, argv[1], pc->pub) == -1 ||
	    cmd_parse_opts(ctx, argc - 2, argv + 2, opts,
	    sizeof(opts) / sizeof(opts[0])) == -1)
		goto out;
	if (opts[ENDPOINT].value != NULL && wg_parse_endpoint(ctx,
	    opts[ENDPOINT].value, &pc->endpoint) == -1)
		goto out;
	if (opts[ALLOWED].value != NULL && cmd_parse_prefixes(ctx,
	    "allowed-ips", opts[ALLOWED].value, pc->allowed, WG_ALLOWED_MAX,
	    &pc->n_allowed) == -1)
		goto out;
	if (opts[PSK].value != NULL) {
		if (opts[PSK].value[0] == '\0' ||
		    strlen(opts[PSK].value) >= sizeof(pc->psk_path)) {
			cmd_error(ctx, "invalid preshared-key file '%s'",
			    opts[PSK].value);
			goto out;
		}
		strcpy(pc->psk_path, opts[PSK].value);
	}
	if (opts[KEEPALIVE].value != NULL) {
		if (cmd_parse_uint(ctx, "persistent-keepalive",
		    opts[KEEPALIVE].value, 0, UINT16_MAX, &v) == -1)
			goto out;
		pc->keepalive = (unsigned)v;
	}
	/* The port reads the preshared key file and checks the rest. */
	if ((error = wg_port_peer_add(ctx->port, pc, err,
	    sizeof(err))) != 0) {
		cmd_error(ctx, "%s", err[0] != '\0' ? err : strerror(error));
		goto out;
	}
	wg_key_to_base64(b64, pc->pub);
	log_info("port %s: wireguard peer %s added", ctx->port->name, b64);
	rc = 0;
out:
	free(pc);
	return rc;
}

const struct cmd_entry cmd_wg_peer_add_entry = {
	.name = "wireguard peer add",
	.usage = "PORT PUBKEY [endpoint ADDR:PORT] [allowed-ips PREFIX,...] "
	    "[preshared-key FILE] [persistent-keepalive N]",
	.min_args = 2,
	.max_args = 10,
	.flags = CMD_CONFIG,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0 },
	.exec = cmd_wg_peer_add_exec,
};

static int
cmd_wg_peer_del_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	uint8_t	pub[WG_KEY_LEN];
	char	err[256] = "";
	int	error;

	(void)argc;
	if (wg_check_port(ctx, ctx->port) == -1 ||
	    wg_parse_key(ctx, argv[1], pub) == -1)
		return -1;
	if ((error = wg_port_peer_del(ctx->port, pub, err,
	    sizeof(err))) != 0)
		return cmd_error(ctx, "%s", err[0] != '\0' ? err :
		    strerror(error));
	log_info("port %s: wireguard peer %s removed", ctx->port->name,
	    argv[1]);
	return 0;
}

const struct cmd_entry cmd_wg_peer_del_entry = {
	.name = "wireguard peer del",
	.usage = "PORT PUBKEY",
	.min_args = 2,
	.max_args = 2,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0 },
	.exec = cmd_wg_peer_del_exec,
};

static json_t *
wg_peer_json(const struct wg_peer *peer)
{
	struct wg_peer_info	 pi;
	char			 b64[WG_KEY_B64_LEN], a[TNL_ADDR_STRLEN];
	char			 buf[CMD_ADDR_STRLEN + 4];
	json_t			*allowed = json_array(), *o;

	wg_peer_get_info(peer, &pi);
	for (unsigned i = 0; i < pi.n_allowed; i++) {
		snprintf(buf, sizeof(buf), "%s/%u", cmd_format_addr(
		    pi.allowed[i].family, pi.allowed[i].addr, a),
		    pi.allowed[i].len);
		json_array_append_new(allowed, json_string(buf));
	}
	wg_key_to_base64(b64, pi.pub);
	o = json_pack("{s:s, s:b, s:s?, s:o, s:I, s:I, s:I, s:i, s:I}",
	    "public_key", b64,
	    "preshared_key", pi.psk_path != NULL && pi.psk_path[0] != '\0',
	    "endpoint", pi.endpoint.ss_family == AF_UNSPEC ? NULL :
	    tnl_addr_str(&pi.endpoint, true, a),
	    "allowed_ips", allowed,
	    "latest_handshake", (json_int_t)pi.last_handshake,
	    "rx_bytes", (json_int_t)pi.rx_bytes,
	    "tx_bytes", (json_int_t)pi.tx_bytes,
	    "persistent_keepalive", (int)pi.keepalive,
	    "handshakes", (json_int_t)pi.handshakes);
	return o;
}

/* What the offloads did: the counts "tunnel show" gives other tunnels. */
static json_t *
wg_offloads_json(const struct wg_offload_info *o)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "udp_gso", o->gso ? "on" : o->gso_failed ? "fell back" : "off",
	    "gso_msgs", (json_int_t)o->gso_msgs,
	    "gso_segs", (json_int_t)o->gso_segs,
	    "gro_reads", (json_int_t)o->gro_reads,
	    "gro_datagrams", (json_int_t)o->gro_datagrams,
	    "tcp_gro_superframes", (json_int_t)o->tcp_gro.superframes,
	    "tcp_gro_segments", (json_int_t)o->tcp_gro.segments);
}

static json_t *
wg_port_json(const struct port *port)
{
	const struct wg_peer	*peer = NULL;
	struct wg_port_info	 info;
	char			 b64[WG_KEY_B64_LEN];
	json_t			*o, *peers = json_array();

	wg_port_get_info(port, &info);
	while ((peer = wg_port_peer_next(port, peer)) != NULL)
		json_array_append_new(peers, wg_peer_json(peer));
	wg_key_to_base64(b64, info.pub);
	o = json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:o}",
	    "name", port->name,
	    "public_key", b64,
	    "listen_port", (int)info.listen_port,
	    "under_load", info.under_load,
	    "drops", cmd_counters_json(info.drops, wg_drop_names,
	    WG_DROP__MAX),
	    "offloads", wg_offloads_json(&info.offloads),
	    "peers", peers);
	return o;
}

static int
cmd_wg_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port;
	json_t		*ports;

	(void)argc;
	(void)argv;
	if (ctx->port != NULL && wg_check_port(ctx, ctx->port) == -1)
		return -1;
	ctx->result = json_pack("{s:[]}", "ports");
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->dp->ports, entry)
		if ((ctx->port == NULL || port == ctx->port) &&
		    wg_port_is(port))
			json_array_append_new(ports, wg_port_json(port));
	return 0;
}

/* "1 minute, 5 seconds", as wg writes a time. */
static void
wg_print_time(FILE *f, unsigned long long left)
{
	static const struct {
		const char		*unit;
		unsigned long long	 secs;
	} units[] = {
		{ "year", 365ULL * 24 * 3600 }, { "day", 24 * 3600 },
		{ "hour", 3600 }, { "minute", 60 }, { "second", 1 },
	};
	const char	*sep = "";

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unsigned long long	n = left / units[i].secs;

		if (n == 0)
			continue;
		left -= n * units[i].secs;
		fprintf(f, "%s%llu %s%s", sep, n, units[i].unit,
		    n == 1 ? "" : "s");
		sep = ", ";
	}
}

/* "1.25 KiB", as wg writes a size. */
static void
wg_print_bytes(FILE *f, unsigned long long b)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double		d = (double)b;
	size_t		i;

	if (b < 1024) {
		fprintf(f, "%llu B", b);
		return;
	}
	for (i = 0, d /= 1024; d >= 1024 && i + 1 < 4; i++)
		d /= 1024;
	fprintf(f, "%.2f %s", d, units[i]);
}

static void
wg_print_peer(FILE *f, const json_t *p)
{
	const json_t	*allowed = json_object_get(p, "allowed_ips"), *a;
	const char	*endpoint = cmd_jstr(p, "endpoint");
	long long	 hs = cmd_jint(p, "latest_handshake"), now = time(NULL);
	size_t		 i;

	fprintf(f, "\npeer: %s\n", cmd_jstr(p, "public_key"));
	if (json_is_true(json_object_get(p, "preshared_key")))
		fprintf(f, "  preshared key: (hidden)\n");
	fprintf(f, "  endpoint: %s\n", endpoint[0] ? endpoint : "(none)");
	fprintf(f, "  allowed ips: ");
	json_array_foreach(allowed, i, a)
		fprintf(f, "%s%s", i > 0 ? ", " : "", json_string_value(a));
	fprintf(f, "%s\n", json_array_size(allowed) == 0 ? "(none)" : "");
	fprintf(f, "  latest handshake: ");
	if (hs == 0)
		fputs("(none)", f);
	else if (hs == now)
		fputs("Now", f);
	else if (hs > now)
		fputs("(the system clock went back)", f);
	else {
		wg_print_time(f, (unsigned long long)(now - hs));
		fputs(" ago", f);
	}
	fprintf(f, "\n  transfer: ");
	wg_print_bytes(f, (unsigned long long)cmd_jint(p, "rx_bytes"));
	fputs(" received, ", f);
	wg_print_bytes(f, (unsigned long long)cmd_jint(p, "tx_bytes"));
	fputs(" sent\n", f);
	if (cmd_jint(p, "persistent_keepalive") != 0) {
		fputs("  persistent keepalive: every ", f);
		wg_print_time(f, (unsigned long long)cmd_jint(p,
		    "persistent_keepalive"));
		fputc('\n', f);
	}
}

/* One line, and only once the offloads did something. */
static void
wg_offloads_print(const json_t *o, FILE *f)
{
	long long	msgs = cmd_jint(o, "gso_msgs"),
			reads = cmd_jint(o, "gro_reads"),
			sf = cmd_jint(o, "tcp_gro_superframes");

	if (msgs == 0 && reads == 0 && sf == 0)
		return;
	fprintf(f, "  offloads: udp-gso %s (%lld datagrams in %lld sends), "
	    "udp-gro %lld datagrams in %lld reads, tcp-gro %lld segments in "
	    "%lld\n", cmd_jstr(o, "udp_gso"), cmd_jint(o, "gso_segs"), msgs,
	    cmd_jint(o, "gro_datagrams"), reads,
	    cmd_jint(o, "tcp_gro_segments"), sf);
}

static void
cmd_wg_show_print(const json_t *result, FILE *f)
{
	const json_t	*port, *peer, *n;
	const char	*name;
	size_t		 i, j;
	bool		 drops;

	json_array_foreach(json_object_get(result, "ports"), i, port) {
		fprintf(f, "%sinterface: %s\n", i > 0 ? "\n" : "",
		    cmd_jstr(port, "name"));
		fprintf(f, "  public key: %s\n", cmd_jstr(port, "public_key"));
		fprintf(f, "  listening port: %lld\n",
		    cmd_jint(port, "listen_port"));
		if (json_is_true(json_object_get(port, "under_load")))
			fprintf(f, "  under load: cookie replies on\n");
		wg_offloads_print(json_object_get(port, "offloads"), f);
		drops = false;
		json_object_foreach((json_t *)json_object_get(port, "drops"),
		    name, n) {
			if (json_integer_value(n) == 0)
				continue;
			if (!drops)
				fprintf(f, "  drops:\n");
			drops = true;
			fprintf(f, "    %s: %lld\n", name,
			    json_integer_value(n));
		}
		json_array_foreach(json_object_get(port, "peers"), j, peer)
			wg_print_peer(f, peer);
	}
}

const struct cmd_entry cmd_wg_show_entry = {
	.name = "wireguard show",
	.usage = "[PORT]",
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READONLY,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0, .optional = true },
	.exec = cmd_wg_show_exec,
	.print = cmd_wg_show_print,
};

static void
wg_save_peer(FILE *f, const struct port *port, const struct wg_peer *peer)
{
	struct wg_peer_info	pi;
	char			b64[WG_KEY_B64_LEN], a[TNL_ADDR_STRLEN];

	wg_peer_get_info(peer, &pi);
	wg_key_to_base64(b64, pi.pub);
	fprintf(f, "wireguard peer add %s %s", port->name, b64);
	if (pi.endpoint.ss_family != AF_UNSPEC)
		fprintf(f, " endpoint %s", tnl_addr_str(&pi.endpoint, true,
		    a));
	if (pi.n_allowed > 0) {
		fputs(" allowed-ips ", f);
		cmd_save_prefixes(f, pi.allowed, pi.n_allowed);
	}
	if (pi.psk_path != NULL && pi.psk_path[0] != '\0') {
		fputs(" preshared-key ", f);
		cmd_save_word(f, pi.psk_path);
	}
	if (pi.keepalive != 0)
		fprintf(f, " persistent-keepalive %u", pi.keepalive);
	fputc('\n', f);
}

static void
cmd_wg_peer_save(struct dp *dp, FILE *f)
{
	const struct wg_peer	*peer;
	struct port		*port;

	TAILQ_FOREACH(port, &dp->ports, entry) {
		if (!wg_port_is(port))
			continue;
		for (peer = NULL; (peer = wg_port_peer_next(port, peer)) !=
		    NULL;)
			wg_save_peer(f, port, peer);
	}
}

static void
cmd_wg_peer_clear(struct dp *dp)
{
	const struct wg_peer	*peer;
	struct wg_peer_info	 pi;
	struct port		*port;
	uint8_t			*keys;
	unsigned		 n;
	char			 err[256];

	TAILQ_FOREACH(port, &dp->ports, entry) {
		if (!wg_port_is(port))
			continue;
		/* Copied first: a deleted peer cannot lead to the next. */
		n = 0;
		for (peer = NULL; (peer = wg_port_peer_next(port, peer)) !=
		    NULL;)
			n++;
		keys = xcalloc(n + 1, WG_KEY_LEN);
		n = 0;
		for (peer = NULL; (peer = wg_port_peer_next(port, peer)) !=
		    NULL;) {
			wg_peer_get_info(peer, &pi);
			memcpy(keys + (size_t)n++ * WG_KEY_LEN, pi.pub,
			    WG_KEY_LEN);
		}
		for (unsigned i = 0; i < n; i++)
			wg_port_peer_del(port, keys + (size_t)i * WG_KEY_LEN,
			    err, sizeof(err));
		free(keys);
	}
}

const struct cmd_config_part cmd_wg_peer_config = {
	.save = cmd_wg_peer_save,
	.clear = cmd_wg_peer_clear,
};
