/*
 * link-watch.c - an rtnetlink listener shared by a datapath's ports.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "dp.h"
#include "link-watch.h"

struct lw_sub {
	struct lw		*lw;
	unsigned		 mask;
	lw_fn			 fn;
	void			*arg;
	LIST_ENTRY(lw_sub)	 entry;
};

struct lw {
	struct dp		*dp;
	int			 fd;
	struct dp_watch		*watch;
	LIST_HEAD(, lw_sub)	 subs;
};

static void	*lw_create(struct dp *);
static void	 lw_destroy(void *);

static const struct dp_ext_class lw_class = {
	.name		= "link-watch",
	.create		= lw_create,
	.destroy	= lw_destroy,
};

static void
lw_tell(struct lw *lw, unsigned what)
{
	struct lw_sub	*s, *next;

	for (s = LIST_FIRST(&lw->subs); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->mask & what)
			s->fn(s->arg, s->mask & what);
	}
}

/* What the messages in buf say changed. */
static unsigned
lw_parse(const void *buf, size_t len)
{
	const struct nlmsghdr	*nh;
	unsigned		 what = 0;

	for (nh = buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		switch (nh->nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			what |= LW_LINK;
			break;
		case RTM_NEWADDR:
		case RTM_DELADDR:
			what |= LW_ADDR;
			break;
		}
	}
	return what;
}

static void
lw_input(void *arg, time_t now)
{
	struct lw	*lw = arg;
	char		 buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	unsigned	 what = 0;
	ssize_t		 n;

	(void)now;
	for (;;) {
		n = recv(lw->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			what |= lw_parse(buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == ENOBUFS) {
			what |= LW_LINK | LW_ADDR;	/* some were lost */
			continue;
		}
		break;
	}
	if (what != 0)
		lw_tell(lw, what);
}

static void *
lw_create(struct dp *dp)
{
	struct sockaddr_nl	 sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
		    RTMGRP_IPV6_IFADDR,
	};
	struct lw		*lw;
	int			 error;

	if ((lw = calloc(1, sizeof(*lw))) == NULL)
		return NULL;
	lw->dp = dp;
	LIST_INIT(&lw->subs);
	lw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (lw->fd == -1)
		goto fail;
	if (bind(lw->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	if ((errno = dp_watch(dp, lw->fd, lw_input, lw, &lw->watch)) != 0)
		goto fail;
	return lw;

fail:
	error = errno;
	if (lw->fd != -1)
		close(lw->fd);
	free(lw);
	errno = error;
	return NULL;
}

static void
lw_destroy(void *arg)
{
	struct lw	*lw = arg;
	struct lw_sub	*s;

	while ((s = LIST_FIRST(&lw->subs)) != NULL) {
		LIST_REMOVE(s, entry);
		free(s);
	}
	dp_unwatch(lw->dp, lw->watch);
	close(lw->fd);
	free(lw);
}

int
lw_subscribe(struct dp *dp, unsigned mask, lw_fn fn, void *arg,
    struct lw_sub **subp)
{
	struct lw	*lw;
	struct lw_sub	*s;

	if ((lw = dp_ext(dp, &lw_class)) == NULL)
		return errno;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ENOMEM;
	s->lw = lw;
	s->mask = mask;
	s->fn = fn;
	s->arg = arg;
	LIST_INSERT_HEAD(&lw->subs, s, entry);
	*subp = s;
	return 0;
}

void
lw_unsubscribe(struct lw_sub *s)
{
	if (s == NULL)
		return;
	LIST_REMOVE(s, entry);
	free(s);
}
