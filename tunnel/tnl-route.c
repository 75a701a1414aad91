/*
 * tnl-route.c - the underlay's MTU to a remote as the routing table says.
 */
#include <sys/socket.h>
#include <linux/ipv6.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "tnl-addr.h"
#include "tnl-route.h"

struct nl_req {
	struct nlmsghdr		 nh;
	union {
		struct rtmsg	 rt;
		struct ifinfomsg ifi;
	};
	char			 attrs[2 * RTA_SPACE(16)];
};

static void
nl_put(struct nl_req *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr	*rta;

	rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->nh.nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + RTA_SPACE(len);
}

/*
 * Sends req and reads its answer into buf: the answer, or NULL for an
 * error.  The kernel answers within send(), so nothing waits.
 */
static struct nlmsghdr *
nl_ask(int fd, struct nl_req *req, char *buf, size_t size)
{
	struct nlmsghdr	*nh = (struct nlmsghdr *)buf;
	ssize_t		 n;

	req->nh.nlmsg_flags = NLM_F_REQUEST;
	req->nh.nlmsg_seq++;
	if (send(fd, req, req->nh.nlmsg_len, 0) == -1 ||
	    (n = recv(fd, buf, size, MSG_DONTWAIT)) == -1)
		return NULL;
	/* RTM_NEWROUTE answers RTM_GETROUTE, RTM_NEWLINK RTM_GETLINK. */
	if (!NLMSG_OK(nh, (size_t)n) || nh->nlmsg_seq != req->nh.nlmsg_seq ||
	    nh->nlmsg_type != req->nh.nlmsg_type - 2)
		return NULL;
	return nh;
}

/* The value of a u32 attribute of type in rta..len, or 0. */
static uint32_t
nl_u32(struct rtattr *rta, int len, unsigned short type)
{
	uint32_t	v;

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type &&
		    RTA_PAYLOAD(rta) >= sizeof(v)) {
			memcpy(&v, RTA_DATA(rta), sizeof(v));
			return v;
		}
	return 0;
}

/* The route's mtu metric (0: none) and its device (0: several, none). */
static int
nl_route(int fd, struct nl_req *req, const struct sockaddr_storage *local,
    const struct sockaddr_storage *remote, uint32_t *mtu, uint32_t *oif)
{
	char		 buf[8192];
	struct nlmsghdr	*nh;
	struct rtmsg	*rt;
	struct rtattr	*rta;
	int		 len, family = remote->ss_family;
	size_t		 alen = family == AF_INET6 ? 16 : 4;
	const void	*dst, *src;

	dst = family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)remote)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)remote)->sin_addr;
	src = family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)local)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)local)->sin_addr;
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(req->rt));
	req->nh.nlmsg_type = RTM_GETROUTE;
	req->rt = (struct rtmsg){
		.rtm_family = (unsigned char)family,
		.rtm_dst_len = (unsigned char)(alen * 8),
		.rtm_flags = RTM_F_FIB_MATCH,
	};
	nl_put(req, RTA_DST, dst, alen);
	if (local->ss_family == family && !tnl_addr_is_any(local)) {
		req->rt.rtm_src_len = (unsigned char)(alen * 8);
		nl_put(req, RTA_SRC, src, alen);
	}
	if ((nh = nl_ask(fd, req, buf, sizeof(buf))) == NULL)
		return -1;
	rt = NLMSG_DATA(nh);
	len = (int)RTM_PAYLOAD(nh);
	*oif = nl_u32(RTM_RTA(rt), len, RTA_OIF);
	*mtu = 0;
	for (rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == RTA_METRICS)
			*mtu = nl_u32(RTA_DATA(rta), (int)RTA_PAYLOAD(rta),
			    RTAX_MTU);
	return 0;
}

/* The rtattr of that type among rta's, or NULL. */
static struct rtattr *
nl_find(struct rtattr *rta, int len, unsigned short type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type)
			return rta;
	return NULL;
}

/*
 * The device's IPv6 MTU (net.ipv6.conf.DEV.mtu, or what a router
 * advertisement set), which may be below its link MTU: 0 if not told.
 */
static uint32_t
nl_link_mtu6(struct rtattr *rta, int len)
{
	struct rtattr	*spec, *inet6, *conf;
	int32_t		 v;

	if ((spec = nl_find(rta, len, IFLA_AF_SPEC)) == NULL ||
	    (inet6 = nl_find(RTA_DATA(spec), (int)RTA_PAYLOAD(spec),
	    AF_INET6)) == NULL ||
	    (conf = nl_find(RTA_DATA(inet6), (int)RTA_PAYLOAD(inet6),
	    IFLA_INET6_CONF)) == NULL ||
	    RTA_PAYLOAD(conf) < (DEVCONF_MTU6 + 1) * sizeof(v))
		return 0;
	memcpy(&v, (char *)RTA_DATA(conf) + DEVCONF_MTU6 * sizeof(v),
	    sizeof(v));
	return v > 0 ? (uint32_t)v : 0;
}

/* The device's MTU, for IPv6 the lower of its link and IPv6 MTUs. */
static uint32_t
nl_link_mtu(int fd, struct nl_req *req, uint32_t ifindex, int family)
{
	char		 buf[16384];
	struct nlmsghdr	*nh;
	struct rtattr	*rta;
	uint32_t	 mtu, mtu6;
	int		 len;

	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(req->ifi));
	req->nh.nlmsg_type = RTM_GETLINK;
	req->ifi = (struct ifinfomsg){
		.ifi_family = AF_UNSPEC,
		.ifi_index = (int)ifindex,
	};
	if ((nh = nl_ask(fd, req, buf, sizeof(buf))) == NULL)
		return 0;
	rta = IFLA_RTA(NLMSG_DATA(nh));
	len = (int)IFLA_PAYLOAD(nh);
	mtu = nl_u32(rta, len, IFLA_MTU);
	if (family == AF_INET6 && (mtu6 = nl_link_mtu6(rta, len)) != 0 &&
	    mtu6 < mtu)
		mtu = mtu6;
	return mtu;
}

int
tnl_route_mtu(const struct sockaddr_storage *local,
    const struct sockaddr_storage *remote)
{
	struct nl_req	req;
	uint32_t	mtu = 0, oif = 0;
	int		fd;

	if (remote->ss_family != AF_INET && remote->ss_family != AF_INET6)
		return 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd == -1)
		return 0;
	memset(&req, 0, sizeof(req));
	if (nl_route(fd, &req, local, remote, &mtu, &oif) == 0 && mtu == 0 &&
	    oif != 0)
		mtu = nl_link_mtu(fd, &req, oif, remote->ss_family);
	close(fd);
	return mtu > 65535 ? 65535 : (int)mtu;
}
