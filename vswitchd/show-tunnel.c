/*
 * show-tunnel.c - no command of its own: what show, port show and stats
 * say about tunnels (each tunnel port's settings, MTUs and what its
 * sender counts, each shared endpoint's counters), as JSON and as text.
 */
#include <string.h>

#include "datapath/dp.h"
#include "tunnel/port-tunnel.h"
#include "tunnel/tnl-addr.h"
#include "tunnel/udp-endpoint.h"

#include "cmd.h"

/* What the port uses now: GSO may have fallen back, GRO be refused. */
static json_t *
tunnel_offloads_json(const struct tnl_port_info *info)
{
	static const char *const gso[] = {
		[TNL_GSO_OFF] = "off",
		[TNL_GSO_ON] = "on",
		[TNL_GSO_FAILED] = "fallen back",
	};
	struct udp_ep_info	ep;

	udp_ep_get_info(info->ep, &ep);
	return json_pack("{s:s, s:s?, s:I, s:I, s:b, s:b, s:I, s:I}",
	    "udp_gso", gso[info->gso],
	    "udp_gso_error", info->gso == TNL_GSO_FAILED ?
	    strerror(info->gso_error) : NULL,
	    "gso_messages", (json_int_t)info->gso_msgs,
	    "gso_datagrams", (json_int_t)info->gso_segs,
	    "udp_gro", ep.gro,
	    "tcp_gro", info->tcp_gro,
	    "gro_superframes", (json_int_t)info->gro.superframes,
	    "gro_segments", (json_int_t)info->gro.segments);
}

json_t *
cmd_tunnel_json(const struct port *port)
{
	struct tnl_port_info	 info;
	char			 remote[TNL_ADDR_STRLEN], local[TNL_ADDR_STRLEN];
	json_t			*key;

	if (tnl_port_get_info(port, &info) != 0)
		return NULL;
	key = info.has_key ? json_integer(info.key) : json_null();
	return json_pack("{s:s, s:s*, s:s, s:s?, s:i, s:o, s:i, s:i, s:i, s:i, "
	    "s:i, s:i, s:I, s:I, s:o}",
	    "encap", info.proto,
	    "via", info.via,
	    "remote", tnl_addr_str(&info.remote, false, remote),
	    "local", info.local.ss_family == AF_UNSPEC ? NULL :
	    tnl_addr_str(&info.local, false, local),
	    "dstport", tnl_addr_port(&info.remote),
	    info.key_name, key,
	    "overhead", info.overhead,
	    "underlay_mtu", info.underlay_mtu,
	    "inner_mtu", port->mtu,
	    "path_mtu", info.path_mtu,
	    "kernel_mtu", info.kernel_mtu,
	    "min_mtu", info.min_mtu,
	    "fragmented", (json_int_t)info.fragmented,
	    "icmp_errors", (json_int_t)info.icmp_errors,
	    "offloads", tunnel_offloads_json(&info));
}

static void
tunnel_offloads_print(const json_t *o, FILE *f, const char *indent)
{
	const char	*gso = cmd_jstr(o, "udp_gso");

	if (o == NULL)
		return;
	fprintf(f, "%s  udp-gso %s", indent, gso);
	if (strcmp(gso, "fallen back") == 0)
		fprintf(f, " (%s)", cmd_jstr(o, "udp_gso_error"));
	fprintf(f, ", %lld datagrams in %lld messages; udp-gro %s; "
	    "tcp-gro %s, %lld segments in %lld super-frames\n",
	    cmd_jint(o, "gso_datagrams"), cmd_jint(o, "gso_messages"),
	    json_is_true(json_object_get(o, "udp_gro")) ? "on" : "off",
	    json_is_true(json_object_get(o, "tcp_gro")) ? "on" : "off",
	    cmd_jint(o, "gro_segments"), cmd_jint(o, "gro_superframes"));
}

void
cmd_tunnel_print(const json_t *port, FILE *f, const char *indent)
{
	const json_t	*t = json_object_get(port, "tunnel");
	const json_t	*key;
	const char	*local = cmd_jstr(t, "local");

	if (t == NULL)
		return;
	fprintf(f, "%s  remote %s local %s dstport %lld", indent,
	    cmd_jstr(t, "remote"), local[0] ? local : "any",
	    cmd_jint(t, "dstport"));
	/* Absent, not null, on tunnels of the host's sockets. */
	if (json_is_string(json_object_get(t, "via")))
		fprintf(f, " via %s", cmd_jstr(t, "via"));
	if ((key = json_object_get(t, "vni")) != NULL)
		fprintf(f, " vni %lld", json_integer_value(key));
	else if ((key = json_object_get(t, "key")) != NULL &&
	    json_is_integer(key))
		fprintf(f, " key %lld", json_integer_value(key));
	/* Split horizon is about flooding: L3 ports have none. */
	if (strcmp(cmd_jstr(port, "layer"), "l3") == 0)
		fputc('\n', f);
	else
		fprintf(f, " split-horizon %s\n",
		    json_is_true(json_object_get(port, "split_horizon")) ?
		    "on" : "off");
	fprintf(f, "%s  overhead %lld, underlay mtu %lld, inner mtu %lld\n",
	    indent, cmd_jint(t, "overhead"), cmd_jint(t, "underlay_mtu"),
	    cmd_jint(t, "inner_mtu"));
	fprintf(f, "%s  path mtu %lld (kernel %lld, ", indent,
	    cmd_jint(t, "path_mtu"), cmd_jint(t, "kernel_mtu"));
	if (cmd_jint(t, "min_mtu") != 0)
		fprintf(f, "min-mtu %lld", cmd_jint(t, "min_mtu"));
	else
		fputs("no min-mtu", f);
	fprintf(f, "), %lld datagrams fragmented, %lld icmp errors\n",
	    cmd_jint(t, "fragmented"), cmd_jint(t, "icmp_errors"));
	tunnel_offloads_print(json_object_get(t, "offloads"), f, indent);
}

static json_t *
endpoint_json(const struct udp_ep *ep)
{
	struct udp_ep_info	info;
	char			a[TNL_ADDR_STRLEN];

	udp_ep_get_info(ep, &info);
	return json_pack("{s:s, s:s*, s:s, s:i, s:I, s:I, s:I, s:I, s:b, s:I, "
	    "s:I, s:o}",
	    "encap", info.proto->name,
	    "via", info.via[0] != '\0' ? info.via : NULL,
	    "local", tnl_addr_str(&info.local, false, a),
	    "port", tnl_addr_port(&info.local),
	    "ports", (json_int_t)info.binds,
	    "rx_packets", (json_int_t)info.stats.rx_packets,
	    "rx_bytes", (json_int_t)info.stats.rx_bytes,
	    "rx_errors", (json_int_t)info.stats.rx_errors,
	    "gro", info.gro,
	    "gro_reads", (json_int_t)info.stats.gro_reads,
	    "gro_datagrams", (json_int_t)info.stats.gro_datagrams,
	    "drops", cmd_counters_json(info.stats.drops, tnl_drop_names,
	    TNL_DROP__MAX));
}

json_t *
cmd_endpoints_json(const struct dp *dp, const struct port *only)
{
	const struct udp_eps	*eps = udp_eps_find(dp);
	const struct udp_ep	*ep = NULL;
	struct tnl_port_info	 info;
	json_t			*list = json_array();

	if (only != NULL) {
		if (tnl_port_get_info(only, &info) == 0)
			json_array_append_new(list, endpoint_json(info.ep));
		return list;
	}
	while (eps != NULL && (ep = udp_eps_next(eps, ep)) != NULL)
		json_array_append_new(list, endpoint_json(ep));
	return list;
}

void
cmd_endpoints_print(const json_t *list, FILE *f)
{
	const char	*local;
	bool		 v6;
	json_t		*e;
	size_t		 i;

	json_array_foreach(list, i, e) {
		local = cmd_jstr(e, "local");
		v6 = strchr(local, ':') != NULL;
		fprintf(f, "endpoint %s %s%s%s:%lld", cmd_jstr(e, "encap"),
		    v6 ? "[" : "", local, v6 ? "]" : "", cmd_jint(e, "port"));
		if (json_is_string(json_object_get(e, "via")))
			fprintf(f, " via %s", cmd_jstr(e, "via"));
		fprintf(f, " (%lld port%s)\n", cmd_jint(e, "ports"),
		    cmd_jint(e, "ports") == 1 ? "" : "s");
		fprintf(f, "  %-6s packets %lld bytes %lld errors %lld\n", "rx",
		    cmd_jint(e, "rx_packets"), cmd_jint(e, "rx_bytes"),
		    cmd_jint(e, "rx_errors"));
		if (json_is_true(json_object_get(e, "gro")))
			fprintf(f, "  %-6s %lld datagrams in %lld reads\n",
			    "gro", cmd_jint(e, "gro_datagrams"),
			    cmd_jint(e, "gro_reads"));
		cmd_print_drops(f, json_object_get(e, "drops"));
	}
}
