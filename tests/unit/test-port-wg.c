/*
 * test-port-wg.c - the wireguard port type over loopback sockets.
 *
 *     port_send --> wg wa 127.0.0.1:A  <== WireGuard ==>  127.0.0.1:B wg wb
 *                   peer b: 10.0.2.0/24                   peer a: 10.0.1.0/24
 *                                                           | router
 *                                                         dummy-l3 d 10.0.2.254/24
 *
 * Both ports live on one datapath; the test sends IP packets straight out
 * of wa and plays the event loop (fake io hooks), calling each socket's
 * input as the daemon would, until what wb opened reaches the router and
 * is forwarded to d.  Key files are checked as the daemon reads them.  No
 * root needed.
 */
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "datapath/be.h"
#include "datapath/dp.h"
#include "datapath/port-dummy.h"
#include "vswitchd/port-types.h"
#include "tunnel/port-wg.h"
#include "tunnel/wg-cookie.h"
#include "tunnel/wg-noise.h"
#include "tunnel/wg-port-int.h"	/* to age a session */

#define NOW		1000
#define MAX_WATCH	8

struct watch {
	bool		 used;
	io_input_fn	 input;
	void		*arg;
};

struct fixture {
	struct dp	*dp;
	struct port	*wa, *wb, *d;
	uint8_t		 priv_a[WG_KEY_LEN], pub_a[WG_KEY_LEN];
	uint8_t		 priv_b[WG_KEY_LEN], pub_b[WG_KEY_LEN];
	char		 dir[64], key_a[96], key_b[96];
	struct watch	 w[MAX_WATCH];
};

static int
fake_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	struct fixture	*f = ctx;

	(void)fd;
	for (int i = 0; i < MAX_WATCH; i++) {
		if (f->w[i].used)
			continue;
		f->w[i] = (struct watch){ true, input, arg };
		*handle = &f->w[i];
		return 0;
	}
	return ENOSPC;
}

static void
fake_unwatch(void *ctx, void *handle)
{
	struct watch	*w = handle;

	(void)ctx;
	w->used = false;
}

/* Reads every socket until a round brings nothing new to d. */
static void
pump(struct fixture *f)
{
	for (int round = 0; round < 8; round++) {
		usleep(2000);
		for (int i = 0; i < MAX_WATCH; i++)
			if (f->w[i].used)
				f->w[i].input(f->w[i].arg, NOW);
	}
}

static void
write_key(const char *path, const uint8_t key[WG_KEY_LEN], mode_t mode)
{
	char	b64[WG_KEY_B64_LEN];
	FILE	*fp;

	wg_key_to_base64(b64, key);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "%s\n", b64);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static int
add_wg(struct fixture *f, const char *name, const char *key,
    struct port **pp)
{
	struct port_config	cfg = { .type = "wireguard",
				    .given = PORT_SET_PRIVATE_KEY };
	char			err[256];
	int			error;

	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	snprintf(cfg.key_path, sizeof(cfg.key_path), "%s", key);
	if ((error = dp_port_add(f->dp, &cfg, pp, err, sizeof(err))) != 0)
		print_message("%s\n", err);
	return error;
}

static uint16_t
listen_port(const struct port *port)
{
	struct wg_port_info	info;

	wg_port_get_info(port, &info);
	return info.listen_port;
}

static void
peer_config(struct wg_peer_config *pc, const uint8_t pub[WG_KEY_LEN],
    uint16_t port, const char *allowed)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&pc->endpoint;

	memset(pc, 0, sizeof(*pc));
	memcpy(pc->pub, pub, WG_KEY_LEN);
	if (port != 0) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	pc->allowed[0].family = AF_INET;
	pc->allowed[0].len = 24;
	inet_pton(AF_INET, allowed, pc->allowed[0].addr);
	pc->n_allowed = 1;
}

static int
setup(void **state)
{
	static struct fixture	 f;
	static const struct io_hooks hooks = {
		.watch = fake_watch,
		.unwatch = fake_unwatch,
		.ctx = &f,
	};
	struct port_config	 d = { .name = "d", .type = "dummy-l3",
				    .given = PORT_SET_ADDRESS,
				    .addr4 = { AF_INET, 24, { 10, 0, 2, 254 } } };
	char			 err[256];

	memset(&f, 0, sizeof(f));
	if (sodium_init() < 0 || port_types_init() != 0)
		return -1;
	snprintf(f.dir, sizeof(f.dir), "/tmp/test-port-wg.XXXXXX");
	if (mkdtemp(f.dir) == NULL)
		return -1;
	wg_key_generate(f.priv_a);
	wg_key_generate(f.priv_b);
	wg_key_public(f.pub_a, f.priv_a);
	wg_key_public(f.pub_b, f.priv_b);
	snprintf(f.key_a, sizeof(f.key_a), "%s/a", f.dir);
	snprintf(f.key_b, sizeof(f.key_b), "%s/b", f.dir);
	write_key(f.key_a, f.priv_a, 0600);
	write_key(f.key_b, f.priv_b, 0600);
	if ((f.dp = dp_create()) == NULL || dp_set_io(f.dp, &hooks) != 0 ||
	    add_wg(&f, "wa", f.key_a, &f.wa) != 0 ||
	    add_wg(&f, "wb", f.key_b, &f.wb) != 0 ||
	    dp_port_add(f.dp, &d, &f.d, err, sizeof(err)) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 path[128];

	dp_destroy(f->dp);
	unlink(f->key_a);
	unlink(f->key_b);
	snprintf(path, sizeof(path), "%s/link", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad", f->dir);
	unlink(path);
	rmdir(f->dir);
	return 0;
}

static void
test_key_files(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 key[WG_KEY_LEN];
	char		 err[256], path[128], want[256];
	FILE		*fp;

	assert_int_equal(wg_key_file_read(f->key_a, key, err, sizeof(err)), 0);
	assert_memory_equal(key, f->priv_a, WG_KEY_LEN);

	assert_int_equal(chmod(f->key_a, 0644), 0);
	assert_int_equal(wg_key_file_read(f->key_a, key, err, sizeof(err)),
	    EPERM);
	snprintf(want, sizeof(want), "key file %s is mode 0644: it must be "
	    "readable by its owner only (0600)", f->key_a);
	assert_string_equal(err, want);
	assert_int_equal(chmod(f->key_a, 0600), 0);

	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink(f->key_a, path), 0);
	assert_int_equal(wg_key_file_read(path, key, err, sizeof(err)), ELOOP);

	snprintf(path, sizeof(path), "%s/bad", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "not a key\n");
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(wg_key_file_read(path, key, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "does not hold one base64 key"));

	snprintf(path, sizeof(path), "%s/none", f->dir);
	assert_int_equal(wg_key_file_read(path, key, err, sizeof(err)), ENOENT);
}

static void
test_peer_config(void **state)
{
	struct fixture		*f = *state;
	struct wg_peer_config	 pc;
	struct wg_peer_info	 pi;
	struct wg_port_info	 info;
	uint8_t			 other[WG_KEY_LEN], priv[WG_KEY_LEN];
	char			 err[256];

	peer_config(&pc, f->pub_a, 1, "10.0.2.0");
	assert_int_equal(wg_port_peer_add(f->wa, &pc, err, sizeof(err)),
	    EINVAL);
	assert_non_null(strstr(err, "the port's own public key"));

	peer_config(&pc, f->pub_b, 0, "10.0.2.0");
	assert_int_equal(wg_port_peer_add(f->wa, &pc, err, sizeof(err)), 0);
	wg_key_generate(priv);
	wg_key_public(other, priv);
	peer_config(&pc, other, 0, "10.0.2.0");
	assert_int_equal(wg_port_peer_add(f->wa, &pc, err, sizeof(err)),
	    EEXIST);
	assert_string_equal(err, "allowed IP 10.0.2.0/24 is another peer's");
	wg_port_get_info(f->wa, &info);
	assert_int_equal(info.n_peers, 1);

	/* Replacing a peer replaces its allowed IPs. */
	peer_config(&pc, f->pub_b, 0, "10.0.3.0");
	assert_int_equal(wg_port_peer_add(f->wa, &pc, err, sizeof(err)), 0);
	peer_config(&pc, other, 0, "10.0.2.0");
	assert_int_equal(wg_port_peer_add(f->wa, &pc, err, sizeof(err)), 0);
	wg_peer_get_info(wg_port_peer_next(f->wa, NULL), &pi);
	assert_memory_equal(pi.pub, f->pub_b, WG_KEY_LEN);
	assert_int_equal(pi.n_allowed, 1);
	assert_int_equal(pi.allowed[0].addr[2], 3);
	assert_int_equal(pi.endpoint.ss_family, AF_UNSPEC);
	wg_peer_get_info(wg_port_peer_next(f->wa,
	    wg_port_peer_next(f->wa, NULL)), &pi);
	assert_memory_equal(pi.pub, other, WG_KEY_LEN);

	assert_int_equal(wg_port_peer_del(f->wa, other, err, sizeof(err)), 0);
	assert_int_equal(wg_port_peer_del(f->wa, other, err, sizeof(err)),
	    ENOENT);
	wg_port_get_info(f->wa, &info);
	assert_int_equal(info.n_peers, 1);
}

/* An ICMP echo of len bytes from src to dst, sent out of port. */
static void
send_ip(struct fixture *f, struct port *port, const char *src,
    const char *dst, size_t len)
{
	struct pkt_batch	 b;
	struct pkt		*p = pkt_alloc(f->dp->pool);

	assert_non_null(p);
	memset(p->data, 0, len);
	p->data[0] = 0x45;
	be16_put(p->data + IP4_OFF_LEN, (uint16_t)len);
	p->data[IP4_OFF_TTL] = 64;
	p->data[IP4_OFF_PROTO] = IPPROTO_ICMP;
	inet_pton(AF_INET, src, p->data + IP4_OFF_SRC);
	inet_pton(AF_INET, dst, p->data + IP4_OFF_DST);
	be16_put(p->data + IP4_OFF_CSUM, ip_csum(p->data, IP4_HLEN));
	p->data[IP4_HLEN] = ICMP_ECHO;
	p->len = (uint32_t)len;
	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	port_send(port, &b);
	pkt_batch_free(&b);
}

static void
test_handshake_and_data(void **state)
{
	struct fixture		*f = *state;
	struct wg_peer_config	 pc;
	struct wg_peer_info	 pa, pb;
	struct wg_port_info	 ia, ib;
	struct wg_peer		*peer;
	char			 err[256];

	peer_config(&pc, f->pub_b, listen_port(f->wb), "10.0.2.0");
	assert_int_equal(wg_port_peer_add(f->wa, &pc, err, sizeof(err)), 0);
	peer_config(&pc, f->pub_a, listen_port(f->wa), "10.0.1.0");
	assert_int_equal(wg_port_peer_add(f->wb, &pc, err, sizeof(err)), 0);
	assert_int_equal(f->wa->mtu, 1420);

	/* Staged, a handshake, then sent: it reaches d through wb. */
	send_ip(f, f->wa, "10.0.1.1", "10.0.2.1", 100);
	pump(f);
	assert_int_equal(port_dummy_sent_count(f->d), 1);
	wg_peer_get_info(wg_port_peer_next(f->wa, NULL), &pa);
	wg_peer_get_info(wg_port_peer_next(f->wb, NULL), &pb);
	assert_int_equal(pa.handshakes, 1);
	assert_int_equal(pb.handshakes, 1);
	assert_true(pa.last_handshake > 0);
	assert_true(pa.tx_bytes > 0 && pb.rx_bytes > 0);

	/* Full-size packets, a batch of them: each arrives once. */
	for (int i = 0; i < 20; i++)
		send_ip(f, f->wa, "10.0.1.1", "10.0.2.1", 1420);
	pump(f);
	assert_int_equal(port_dummy_sent_count(f->d), 21);

	/*
	 * The other way: the responder's session is confirmed by now.  (The
	 * router has no route back to 10.0.1.1: its unreachable goes to d.)
	 */
	send_ip(f, f->wb, "10.0.2.1", "10.0.1.1", 100);
	pump(f);
	assert_int_equal(f->wa->stats.rx_packets, 1);

	/* Past REKEY_AFTER_MESSAGES the responder starts a handshake too. */
	peer = (struct wg_peer *)wg_port_peer_next(f->wb, NULL);
	peer->cur->send_counter = WG_REKEY_AFTER_MESSAGES;
	send_ip(f, f->wb, "10.0.2.1", "10.0.1.1", 100);
	pump(f);
	assert_int_equal(f->wa->stats.rx_packets, 2);
	wg_peer_get_info(peer, &pb);
	assert_int_equal(pb.handshakes, 2);
	assert_true(peer->cur->send_counter < 16);
	port_dummy_clear(f->d);

	/* Cryptokey routing on both ends. */
	send_ip(f, f->wa, "10.0.9.1", "10.0.2.1", 100);
	send_ip(f, f->wa, "10.0.1.1", "10.0.7.1", 100);
	pump(f);
	wg_port_get_info(f->wa, &ia);
	wg_port_get_info(f->wb, &ib);
	assert_int_equal(ib.drops[WG_DROP_BAD_INNER_SOURCE], 1);
	assert_int_equal(ia.drops[WG_DROP_NO_PEER], 1);
	assert_int_equal(port_dummy_sent_count(f->d), 0);
	for (int i = 0; i < WG_DROP__MAX; i++)
		if (i != WG_DROP_BAD_INNER_SOURCE && i != WG_DROP_NO_PEER &&
		    ia.drops[i] + ib.drops[i] != 0)
			fail_msg("%s: %ju", wg_drop_names[i],
			    (uintmax_t)(ia.drops[i] + ib.drops[i]));
	assert_int_equal(wg_port_peer_del(f->wb, f->pub_a, err, sizeof(err)),
	    0);
}

/* What came back to fd: the last datagram of type type, or 0. */
static size_t
recv_last(int fd, uint8_t type, uint8_t *buf, size_t len, unsigned *count)
{
	uint8_t	 b[256];
	ssize_t	 n;
	size_t	 got = 0;

	*count = 0;
	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		if (b[0] == type && (size_t)n <= len) {
			memcpy(buf, b, (size_t)n);
			got = (size_t)n;
			(*count)++;
		}
	return got;
}

/*
 * A peer c played by the test with the protocol's own functions: its
 * initiations are answered once each, replays and ones too soon are not,
 * nor ones without mac1; a flood makes wb want mac2 and answer with cookie
 * replies, and an initiation with the cookie's mac2 gets through.
 */
static void
test_initiation_checks(void **state)
{
	struct fixture		*f = *state;
	struct wg_identity	 idc;
	struct wg_peer_keys	 kb;
	struct wg_handshake	 hs;
	struct wg_cookie_jar	 jar = { 0 };
	struct wg_peer_config	 pc;
	struct wg_port_info	 ib;
	struct sockaddr_in	 to = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t			 priv[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t			 msg[WG_INIT_LEN], bad[WG_INIT_LEN];
	uint8_t			 reply[WG_COOKIE_MSG_LEN], resp[WG_RESP_LEN];
	unsigned		 count, cookies = 0;
	uint64_t		 before;
	size_t			 got = 0;
	char			 err[256];
	int			 fd;

	wg_key_generate(priv);
	assert_int_equal(wg_identity_init(&idc, priv), 0);
	assert_int_equal(wg_peer_keys_init(&kb, &idc, f->pub_b, NULL), 0);
	peer_config(&pc, idc.pub, 0, "10.0.5.0");
	assert_int_equal(wg_port_peer_add(f->wb, &pc, err, sizeof(err)), 0);
	to.sin_port = htons(listen_port(f->wb));
	assert_true((fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);

	/*
	 * One answered; its replay, one newer but within 1/50 s of it (a
	 * flood) and one without our mac1 are not.
	 */
	wg_timestamp_now(ts);
	wg_init_create(&hs, &idc, &kb, 1, ts, msg);
	wg_macs_fill(&jar, &kb, msg, sizeof(msg), NOW);
	sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
	sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
	ts[WG_TIMESTAMP_LEN - 1]++;
	wg_init_create(&hs, &idc, &kb, 2, ts, msg);
	wg_macs_fill(&jar, &kb, msg, sizeof(msg), NOW);
	memcpy(bad, msg, sizeof(bad));
	bad[WG_INIT_LEN - WG_MACS_LEN] ^= 1;
	sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
	sendto(fd, bad, sizeof(bad), 0, (struct sockaddr *)&to, sizeof(to));
	pump(f);
	assert_int_equal(recv_last(fd, WG_MSG_RESP, resp, sizeof(resp), &count),
	    WG_RESP_LEN);
	assert_int_equal(count, 1);
	wg_port_get_info(f->wb, &ib);
	assert_int_equal(ib.drops[WG_DROP_REPLAYED_INIT], 2);
	assert_int_equal(ib.drops[WG_DROP_BAD_MAC1], 1);

	/* A flood of initiations with mac1 and nothing valid behind it. */
	for (int i = 0; i < 600; i++) {
		randombytes_buf(msg + 8, 32);
		wg_macs_fill(&jar, &kb, msg, sizeof(msg), NOW);
		sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to,
		    sizeof(to));
		if (i % 100 != 99)
			continue;
		/* Drained before our socket's buffer overflows. */
		pump(f);
		got = recv_last(fd, WG_MSG_COOKIE, reply, sizeof(reply),
		    &count);
		cookies += count;
	}
	wg_port_get_info(f->wb, &ib);
	assert_true(ib.under_load);
	assert_true(ib.drops[WG_DROP_UNDER_LOAD] > 0);
	assert_true(ib.drops[WG_DROP_BAD_HANDSHAKE] > 0);
	assert_int_equal(cookies, ib.drops[WG_DROP_UNDER_LOAD]);
	/* The last reply answers the last initiation: the jar takes it. */
	assert_int_equal(got, WG_COOKIE_MSG_LEN);
	assert_int_equal(wg_cookie_reply_consume(&jar, &kb, reply, NOW), 0);

	/* With the cookie's mac2 an initiation is answered under load. */
	wg_timestamp_now(ts);
	wg_init_create(&hs, &idc, &kb, 3, ts, msg);
	wg_macs_fill(&jar, &kb, msg, sizeof(msg), NOW);
	sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
	pump(f);
	wg_port_get_info(f->wb, &ib);
	assert_true(ib.under_load);
	assert_int_equal(recv_last(fd, WG_MSG_RESP, resp, sizeof(resp), &count),
	    WG_RESP_LEN);

	/*
	 * But a cookie does not buy a flood: beyond a burst of 5 (one taken
	 * above), one source's initiations are dropped, without replies.
	 */
	wg_port_get_info(f->wb, &ib);
	before = ib.drops[WG_DROP_UNDER_LOAD];
	for (int i = 0; i < 12; i++) {
		randombytes_buf(msg + 8, 32);
		wg_macs_fill(&jar, &kb, msg, sizeof(msg), NOW);
		sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to,
		    sizeof(to));
	}
	pump(f);
	wg_port_get_info(f->wb, &ib);
	assert_true(ib.under_load);
	assert_true(ib.drops[WG_DROP_UNDER_LOAD] - before >= 12 - 5);
	recv_last(fd, WG_MSG_COOKIE, reply, sizeof(reply), &count);
	assert_int_equal(count, 0);
	close(fd);
	wg_identity_wipe(&idc);
	wg_peer_keys_wipe(&kb);
	wg_handshake_wipe(&hs);
}

/*
 * Both ends start a handshake at once: each takes the other's initiation
 * (which supersedes its own, so both responses are refused) and is left a
 * responder that may not send.  As in WireGuard, the handshake is retried
 * after REKEY_TIMEOUT (shortened here) until a session comes, so what each
 * staged gets through without more traffic.
 */
static void
test_simultaneous_initiation(void **state)
{
	struct fixture		*f = *state;
	struct port		*wc, *wd;
	struct wg_peer_config	 pc;
	struct wg_peer_info	 pi;
	char			 err[256];

	wg_set_rekey_after(3);		/* REKEY_TIMEOUT 1.5 s */
	assert_int_equal(add_wg(f, "wc", f->key_a, &wc), 0);
	assert_int_equal(add_wg(f, "wd", f->key_b, &wd), 0);
	peer_config(&pc, f->pub_b, listen_port(wd), "10.0.2.0");
	assert_int_equal(wg_port_peer_add(wc, &pc, err, sizeof(err)), 0);
	peer_config(&pc, f->pub_a, listen_port(wc), "10.0.1.0");
	assert_int_equal(wg_port_peer_add(wd, &pc, err, sizeof(err)), 0);

	send_ip(f, wc, "10.0.1.1", "10.0.2.1", 100);
	send_ip(f, wd, "10.0.2.1", "10.0.1.1", 100);
	pump(f);
	assert_int_equal(wc->stats.rx_packets + wd->stats.rx_packets, 0);

	/* One end's retry (the jitter keeps the two apart) ends it. */
	usleep(1900 * 1000);
	wc->ops->tick(wc, NOW);
	pump(f);
	wd->ops->tick(wd, NOW);
	pump(f);
	assert_int_equal(wc->stats.rx_packets, 1);
	assert_int_equal(wd->stats.rx_packets, 1);
	wg_peer_get_info(wg_port_peer_next(wc, NULL), &pi);
	assert_true(pi.handshakes >= 2);
	dp_port_del(f->dp, wc);
	dp_port_del(f->dp, wd);
	wg_set_rekey_after(WG_REKEY_AFTER_TIME);
}

/*
 * Peers that never answer hold staged packets in the datapath's pool until
 * their handshakes give up: a port stages at most WG_STAGED_PORT_MAX (256)
 * of them, however many peers, and frees them when it goes.
 */
static void
test_staged_limit(void **state)
{
	struct fixture		*f = *state;
	struct port		*we;
	struct wg_peer_config	 pc;
	struct wg_port_info	 info;
	uint8_t			 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	unsigned		 avail = pkt_pool_avail(f->dp->pool);
	char			 err[256], net[32], dst[32];

	assert_int_equal(add_wg(f, "we", f->key_a, &we), 0);
	for (int i = 0; i < 3; i++) {
		wg_key_generate(priv);
		wg_key_public(pub, priv);
		snprintf(net, sizeof(net), "10.0.%d.0", 11 + i);
		/* The discard port: nothing answers. */
		peer_config(&pc, pub, 9, net);
		assert_int_equal(wg_port_peer_add(we, &pc, err, sizeof(err)),
		    0);
	}
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 128; k++) {
			snprintf(dst, sizeof(dst), "10.0.%d.1", 11 + i);
			send_ip(f, we, "10.0.1.1", dst, 100);
		}
	wg_port_get_info(we, &info);
	assert_int_equal(info.drops[WG_DROP_STAGED_FULL], 3 * 128 - 256);
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail - 256);
	dp_port_del(f->dp, we);
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_peer_config),
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_initiation_checks),
		cmocka_unit_test(test_simultaneous_initiation),
		cmocka_unit_test(test_staged_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
