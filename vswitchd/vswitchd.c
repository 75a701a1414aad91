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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "datapath/dp.h"

#include "busypoll.h"
#include "capio.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "ctl-proto.h"
#include "log.h"
#include "port-types.h"
#include "portio.h"
#include "privs.h"
#include "xmalloc.h"

struct options {
	const char	*socket;
	const char	*config;
	const char	*pidfile;
	const char	*user;		/* run as; NULL: stay root */
	bool		 foreground;
	bool		 keep_privs;	/* for debugging: drop nothing */
	enum log_level	 level;
};

static _Noreturn void
usage(FILE *f, int status)
{
	fprintf(f, "usage: vswitchd [--socket PATH] [--config FILE] "
	    "[--foreground]\n"
	    "                [--pidfile FILE] [--log-level LEVEL] [--user USER]\n"
	    "                [--keep-privileges]\n"
	    "  -s, --socket PATH     control socket (default %s)\n"
	    "  -c, --config FILE     run the vswctl commands in FILE at "
	    "start-up\n"
	    "  -f, --foreground      stay in the foreground, log to stderr\n"
	    "  -p, --pidfile FILE    write the process id to FILE\n"
	    "  -l, --log-level LEVEL error, warn, info (default) or debug\n"
	    "  -u, --user USER       run as USER once started (keeping only "
	    "CAP_NET_ADMIN,\n"
	    "                        CAP_NET_RAW and CAP_NET_BIND_SERVICE, as "
	    "always)\n"
	    "      --keep-privileges do not drop capabilities (debugging)\n"
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
		{ "config",	required_argument,	NULL, 'c' },
		{ "foreground",	no_argument,		NULL, 'f' },
		{ "pidfile",	required_argument,	NULL, 'p' },
		{ "log-level",	required_argument,	NULL, 'l' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "keep-privileges", no_argument,	NULL, 'K' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch, level;

	*o = (struct options){ .socket = CTL_SOCKET_DEFAULT,
	    .level = LOG_LEVEL_INFO };
	while ((ch = getopt_long(argc, argv, "s:c:fp:l:u:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->config = optarg;
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

static int
pidfile_write(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "we")) == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -1;
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	if (sig == SIGHUP) {
		log_info("SIGHUP ignored: no reload; use vswctl");
		return;
	}
	log_info("%s, shutting down", strsignal(sig));
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event		*sigev[3] = { NULL };
	struct options		 o;
	struct event_base	*base = NULL;
	struct dp		*dp = NULL;
	char			*sockpath, *pidpath = NULL, err[1024];
	bool			 pid_written = false;
	int			 ready = -1, rc = 1;

	parse_options(argc, argv, &o);
	log_init(true, o.level);
	signal(SIGPIPE, SIG_IGN);

	sockpath = absolute(o.socket);
	if (o.pidfile != NULL)
		pidpath = absolute(o.pidfile);
	if (control_open(sockpath) == -1)
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
	if (o.config != NULL && config_load(o.config, dp, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}

	if (!o.foreground)
		ready = detach_start();
	if ((base = event_base_new()) == NULL) {
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
	if (pidpath != NULL) {
		if (pidfile_write(pidpath) == -1) {
			log_warn("pidfile %s", pidpath);
			goto out;
		}
		pid_written = true;
	}
	if (o.keep_privs && o.user != NULL) {
		log_warnx("--user and --keep-privileges do not go together");
		goto out;
	}
	if (!o.keep_privs && privs_drop(o.user, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	log_info("vswitchd %s started, as %s, %s", VSW_VERSION,
	    o.user != NULL ? o.user : "root", o.keep_privs ?
	    "with every capability" : "with CAP_NET_ADMIN, CAP_NET_RAW and "
	    "CAP_NET_BIND_SERVICE only");
	if (ready != -1)
		detach_finish(ready);

	if (busypoll_run(base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;

out:
	/* Events go before the base; ports go whether or not it ran. */
	capio_shutdown();
	control_close();
	if (dp != NULL) {
		portio_stop(dp);
		dp_destroy(dp);
	}
	for (size_t i = 0; i < 3; i++)
		if (sigev[i] != NULL)
			event_free(sigev[i]);
	if (base != NULL)
		event_base_free(base);
	if (pid_written && unlink(pidpath) == -1)
		log_warn("cannot remove %s", pidpath);
	free(pidpath);
	free(sockpath);
	libevent_global_shutdown();
	log_info("exiting");
	return rc;
}
