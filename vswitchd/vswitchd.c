/*
 * vswitchd.c - the daemon: options, start-up, the event loop, shutdown.
 *
 * Start-up runs in the order that keeps errors on the terminal: claim the
 * control socket and run the config file before detaching, so a second
 * daemon or a bad config line is reported where it was started.  When
 * detaching, the parent waits until the child is serving (pidfile written,
 * socket accepting) so that "vswitchd && vswctl show" never races.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "datapath/dp.h"
#include "tunnel/port-wg.h"

#include "busypoll.h"
#include "capio.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "ctl-proto.h"
#include "log.h"
#include "pidfile.h"
#include "port-types.h"
#include "portio.h"
#include "privs.h"
#include "sandbox.h"
#include "service.h"
#include "xmalloc.h"

struct options {
	const char	*socket;
	const char	*socket_group;	/* NULL: the socket is 0600 */
	const char	*ro_socket;	/* serving read-only commands */
	const char	*ro_socket_group;	/* NULL: it is 0666 */
	const char	*config;
	bool		 autosave;	/* write config after each change */
	const char	*pidfile;
	const char	*user;		/* run as; NULL: stay who we are */
	bool		 foreground;
	bool		 keep_privs;	/* for debugging: drop nothing */
	enum log_level	 level;
	unsigned	 wg_rekey_after;	/* 0: WireGuard's 120 s */
};

static _Noreturn void
usage(FILE *f, int status)
{
	fprintf(f, "usage: vswitchd [--socket PATH] [--config FILE "
	    "[--autosave]] [--foreground]\n"
	    "                [--pidfile FILE] [--log-level LEVEL] [--user USER]\n"
	    "                [--keep-privileges] [--socket-group GROUP]\n"
	    "                [--ro-socket PATH [--ro-socket-group GROUP]]\n"
	    "  -s, --socket PATH     control socket (default %s)\n"
	    "      --socket-group GROUP\n"
	    "                        make it mode 0660 for GROUP (default "
	    "0600)\n"
	    "      --ro-socket PATH  also a socket serving only the read-only "
	    "commands\n"
	    "      --ro-socket-group GROUP\n"
	    "                        make that one 0660 for GROUP (default "
	    "0666)\n"
	    "  -c, --config FILE     run the vswctl commands in FILE at "
	    "start-up;\n"
	    "                        SIGHUP reloads it\n"
	    "  -a, --autosave        write the running configuration to the "
	    "--config FILE\n"
	    "                        after every change\n"
	    "  -f, --foreground      stay in the foreground, log to stderr\n"
	    "  -p, --pidfile FILE    write the process id to FILE\n"
	    "  -l, --log-level LEVEL error, warn, info (default) or debug\n"
	    "  -u, --user USER       run as USER once started (default: "
	    PRIVS_DEFAULT_USER " if it\n"
	    "                        exists; root stays root), keeping only "
	    "CAP_NET_ADMIN,\n"
	    "                        CAP_NET_RAW and CAP_NET_BIND_SERVICE, as "
	    "always\n"
	    "      --keep-privileges stay root, drop no capability (debugging)\n"
	    "      --wg-rekey-after SECONDS\n"
	    "                        rekey WireGuard sessions this often, not "
	    "every 120 s\n"
	    "                        (testing)\n"
	    "  -h, --help            this message\n"
	    "  -V, --version         print the version\n",
	    CTL_SOCKET_DEFAULT);
	exit(status);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "socket-group", required_argument,	NULL, 'G' },
		{ "ro-socket",	required_argument,	NULL, 'R' },
		{ "ro-socket-group", required_argument,	NULL, 'g' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "autosave",	no_argument,		NULL, 'a' },
		{ "foreground",	no_argument,		NULL, 'f' },
		{ "pidfile",	required_argument,	NULL, 'p' },
		{ "log-level",	required_argument,	NULL, 'l' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "keep-privileges", no_argument,	NULL, 'K' },
		{ "wg-rekey-after", required_argument,	NULL, 'W' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long	 v;
	char		*end;
	int		 ch, level;

	*o = (struct options){ .socket = CTL_SOCKET_DEFAULT,
	    .level = LOG_LEVEL_INFO };
	while ((ch = getopt_long(argc, argv, "s:c:afp:l:u:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'G':
			o->socket_group = optarg;
			break;
		case 'R':
			o->ro_socket = optarg;
			break;
		case 'g':
			o->ro_socket_group = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'a':
			o->autosave = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "vswitchd: invalid log level "
				    "'%s' (expected error, warn, info, "
				    "debug)\n", optarg);
				exit(1);
			}
			o->level = (enum log_level)level;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'K':
			o->keep_privs = true;
			break;
		case 'W':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
			    errno != 0 || v < 1 || v > 120) {
				fprintf(stderr, "vswitchd: invalid "
				    "--wg-rekey-after '%s' (expected 1..120 "
				    "seconds)\n", optarg);
				exit(1);
			}
			o->wg_rekey_after = (unsigned)v;
			break;
		case 'h':
			usage(stdout, 0);
		case 'V':
			printf("vswitchd %s\n", VSW_VERSION);
			exit(0);
		default:
			usage(stderr, 1);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vswitchd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr, 1);
	}
	if (o->ro_socket_group != NULL && o->ro_socket == NULL) {
		fprintf(stderr, "vswitchd: --ro-socket-group '%s' without "
		    "--ro-socket\n", o->ro_socket_group);
		exit(1);
	}
}

/* The daemon chdirs to /, so paths it unlinks later must be absolute. */
static char *
absolute(const char *path)
{
	char	cwd[PATH_MAX], *abs;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		fatal("asprintf");
	return abs;
}

/*
 * Forks; the parent waits for the child's "ready" byte on a pipe and exits
 * 0, or 1 if the child dies first.  Returns the write end in the child.
 */
static int
detach_start(void)
{
	int	fds[2];
	char	c = 0;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		close(fds[0]);
		if (setsid() == -1)
			fatal("setsid");
		return fds[1];
	default:
		close(fds[1]);
		while (read(fds[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(c == 'r' ? 0 : 1);
	}
}

static void
detach_finish(int ready)
{
	int	fd;

	if (chdir("/") == -1)
		fatal("chdir /");
	log_to_syslog();
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (write(ready, "r", 1) != 1)
		log_warn("cannot tell the parent we are ready");
	close(ready);
}

/* What the signal callbacks act on. */
static struct {
	struct event_base	*base;
	struct dp		*dp;
} daemon_state;

static void
reload(void)
{
	char	err[1024];

	if (config_path() == NULL) {
		log_warnx("SIGHUP: nothing to reload (started without "
		    "--config)");
		return;
	}
	log_info("SIGHUP: reloading %s", config_path());
	service_notify_reloading();
	if (config_reload(daemon_state.dp, err, sizeof(err)) == -1)
		log_warnx("reload failed, nothing changed: %s", err);
	else
		log_info("reloaded %s", config_path());
	service_notify_ready();
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	(void)arg;
	if (sig == SIGHUP) {
		reload();
		return;
	}
	log_info("%s, shutting down", strsignal(sig));
	event_base_loopbreak(daemon_state.base);
}

int
main(int argc, char **argv)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event		*sigev[3] = { NULL };
	struct options		 o;
	struct event_base	*base = NULL;
	struct dp		*dp = NULL;
	const struct passwd	*pw;
	char			*sockpath, *ropath = NULL, *pidpath = NULL;
	char			*configpath = NULL;
	char			 err[1024];
	bool			 started = false;
	int			 pidfd = -1, ready = -1, rc = 1;

	parse_options(argc, argv, &o);
	if (o.wg_rekey_after != 0)
		wg_set_rekey_after(o.wg_rekey_after);
	log_init(true, o.level);
	/*
	 * Before the filter and the privilege drop: libsodium picks its
	 * random source (getrandom, or /dev/urandom opened now) once.
	 */
	if (sodium_init() < 0) {
		log_warnx("cannot initialise libsodium");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	service_raise_nofile();
	/* Unprivileged is the normal case: see privs.h. */
	if (o.user == NULL && !o.keep_privs)
		o.user = privs_default_user();

	sockpath = absolute(o.socket);
	if (o.pidfile != NULL) {
		pidpath = absolute(o.pidfile);
		/* Before the socket: a second daemon changes nothing. */
		if (pidfile_open(pidpath, &pidfd, err, sizeof(err)) != 0) {
			log_warnx("%s", err);
			goto out;
		}
	}
	if (o.ro_socket != NULL)
		ropath = absolute(o.ro_socket);
	if (control_open(sockpath, o.socket_group) == -1 ||
	    (ropath != NULL && control_open_ro(ropath, o.ro_socket_group) ==
	    -1))
		goto out;
	xmalloc_init();
	if ((errno = port_types_init()) != 0) {
		log_warn("cannot register the port types");
		goto out;
	}
	if ((dp = dp_create()) == NULL) {
		log_warn("cannot create the datapath");
		goto out;
	}
	portio_listen(dp);
	portio_recover_taps(sockpath);
	if (o.autosave && o.config == NULL) {
		log_warnx("--autosave needs --config FILE: where to save");
		goto out;
	}
	if (o.config != NULL)
		configpath = absolute(o.config);
	/* Its directory now, while root reaches it; its lines only later. */
	if (config_init(dp, configpath, o.autosave, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	daemon_state.dp = dp;

	if (!o.foreground)
		ready = detach_start();
	if ((base = daemon_state.base = event_base_new()) == NULL) {
		log_warnx("cannot create the event loop");
		goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(base, sigs[i], signal_cb, base);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) == -1) {
			log_warnx("cannot watch signal %d", sigs[i]);
			goto out;
		}
	}
	if (portio_start(base, dp) != 0 || control_start(base, dp) != 0 ||
	    capio_start(base, cmd_capture_ended) != 0) {
		log_warnx("cannot start the event loop");
		goto out;
	}
	if (pidfd != -1 && (errno = pidfile_write(pidfd)) != 0) {
		log_warn("pidfile %s", pidpath);
		goto out;
	}
	if (o.keep_privs && o.user != NULL) {
		log_warnx("--user and --keep-privileges do not go together");
		goto out;
	}
	/* While root can: the user must reach and remove its sockets. */
	if (!o.keep_privs && o.user != NULL && (pw = getpwnam(o.user)) != NULL)
		control_set_owner(pw);
	if (privs_drop(o.user, o.keep_privs, err, sizeof(err)) == -1 ||
	    (!o.keep_privs && (errno = sandbox_enter(err, sizeof(err))) != 0)) {
		log_warnx("%s", err);
		goto out;
	}
	/*
	 * The file runs with what a reload and any client get: the user, the
	 * three capabilities, the filter.  A file the daemon's user may write
	 * (autosave) must not run as root.  Before detaching, so that a bad
	 * line is still reported where the daemon was started.
	 */
	if (config_load(dp, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	pw = getpwuid(geteuid());
	log_info("vswitchd %s started, as %s, %s", VSW_VERSION,
	    pw != NULL ? pw->pw_name : "?", o.keep_privs ?
	    "with every capability, no seccomp filter" : "with CAP_NET_ADMIN, "
	    "CAP_NET_RAW and CAP_NET_BIND_SERVICE only, seccomp on");
	if (ready != -1)
		detach_finish(ready);
	service_notify_ready();
	started = true;

	if (busypoll_run(base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;

out:
	if (started)
		service_notify_stopping();
	/* Events go before the base; ports go whether or not it ran. */
	capio_shutdown();
	control_close();
	if (dp != NULL) {
		portio_stop(dp);
		dp_destroy(dp);
	}
	config_shutdown();
	for (size_t i = 0; i < 3; i++)
		if (sigev[i] != NULL)
			event_free(sigev[i]);
	if (base != NULL)
		event_base_free(base);
	if (pidfd != -1)
		pidfile_remove(pidpath, pidfd);
	free(pidpath);
	free(configpath);
	free(sockpath);
	free(ropath);
	libevent_global_shutdown();
	log_info("exiting");
	return rc;
}
