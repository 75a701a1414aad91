/*
 * vswctl.c - the thin client: argv to the daemon, its reply to the terminal.
 *
 * vswctl knows no commands.  It sends its words and the --json flag to
 * vswitchd, prints the text or JSON that comes back and exits 0, or prints
 * the daemon's error on stderr and exits 1.  Commands, their usage and help
 * all live in the daemon's command table.
 *
 * One thing it does for any command: "-w PATH" names an output that vswctl
 * opens itself, as the user running it (created if missing), and passes to
 * the daemon as a descriptor; "-w -" passes its standard output.  The
 * daemon runs privileged and so never opens a path for a client.  If the
 * command fails, a file vswctl created for it is removed again.
 *
 * A reply that says "more" is followed by another (a capture streaming to
 * stdout reports its end): vswctl waits for it without a deadline.  The
 * first SIGINT, SIGTERM or SIGHUP shuts down its sending side, which asks
 * the daemon to finish; a second one exits at once.  While its stdout
 * carries a capture, everything vswctl prints goes to stderr.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vswitchd/ctl-proto.h"

static _Noreturn void
usage(FILE *f, int status)
{
	fprintf(f, "usage: vswctl [--socket PATH] [--json] OBJECT [VERB] "
	    "[ARGS]\n"
	    "  -s, --socket PATH  control socket (default $VSWCTL_SOCKET or "
	    "%s)\n"
	    "  -j, --json         print the result as one JSON document\n"
	    "  -h, --help         this message\n"
	    "  -V, --version      print the version\n"
	    "Run 'vswctl help' for the commands.\n", CTL_SOCKET_DEFAULT);
	exit(status);
}

static _Noreturn void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("vswctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The outputs named with -w, opened here and passed to the daemon. */
struct outputs {
	int		 fds[CTL_MAX_FDS];
	const char	*created[CTL_MAX_FDS];	/* removed if the command fails */
	unsigned	 n;
	bool		 to_stdout;
};

static int
open_output(const char *path, const char **created)
{
	int	fd;

	*created = NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
	    0666);
	if (fd != -1)
		*created = path;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		die("cannot open '%s' for writing: %s", path, strerror(errno));
	return fd;
}

static void
open_outputs(int argc, char **argv, struct outputs *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-w") != 0)
			continue;
		if (o->n == CTL_MAX_FDS)
			die("too many -w outputs (max %d)", CTL_MAX_FDS);
		if (strcmp(argv[++i], "-") != 0) {
			o->fds[o->n] = open_output(argv[i], &o->created[o->n]);
			o->n++;
			continue;
		}
		if (isatty(STDOUT_FILENO))
			die("not writing capture data to a terminal: redirect "
			    "stdout or use -w FILE");
		o->fds[o->n++] = STDOUT_FILENO;
		o->to_stdout = true;
	}
}

/* Closes what vswctl opened; with failed, removes what it created. */
static void
close_outputs(struct outputs *o, bool failed)
{
	for (unsigned i = 0; i < o->n; i++) {
		if (o->fds[i] != STDOUT_FILENO)
			close(o->fds[i]);
		if (failed && o->created[i] != NULL)
			unlink(o->created[i]);
	}
	o->n = 0;
}

static int
request(const char *path, int argc, char **argv, bool json,
    const struct outputs *o)
{
	json_t	*req, *args;
	uint8_t	*frame;
	size_t	 len;
	int	 fd, error;

	if ((args = json_array()) == NULL)
		die("out of memory");
	for (int i = 0; i < argc; i++)
		if (json_array_append_new(args, json_string(argv[i])) == -1)
			die("argument %d is not valid UTF-8", i + 1);
	if ((req = json_pack("{s:o, s:b, s:i}", "argv", args, "json", json,
	    "fds", (int)o->n)) == NULL)
		die("out of memory");
	if ((frame = ctl_frame(req, CTL_MAX_REQUEST, &len)) == NULL)
		die("command too long (max %u bytes)", CTL_MAX_REQUEST);
	json_decref(req);

	if ((error = ctl_connect(path, CTL_TIMEOUT_MS, &fd)) != 0)
		die("cannot connect to %s: %s (is vswitchd running?)", path,
		    strerror(error));
	error = ctl_send_fds(fd, frame, len, o->fds, o->n, CTL_TIMEOUT_MS);
	if (error == ETIMEDOUT)
		die("daemon did not reply within %d s", CTL_TIMEOUT_MS / 1000);
	if (error != 0)
		die("cannot send to %s: %s", path, strerror(error));
	free(frame);
	return fd;
}

/* The next reply, checked to be an object with a boolean "ok". */
static json_t *
receive(int fd, const char *path)
{
	json_error_t	 jerr;
	json_t		*reply;
	char		*payload;
	size_t		 len;
	int		 error;

	error = ctl_recv(fd, CTL_MAX_REPLY, CTL_TIMEOUT_MS, &payload, &len);
	switch (error) {
	case 0:
		break;
	case ETIMEDOUT:
		die("daemon did not reply within %d s", CTL_TIMEOUT_MS / 1000);
	case ECONNRESET:
		die("daemon closed the connection without replying");
	case EPROTO:
		die("daemon speaks another protocol version");
	case EMSGSIZE:
		die("reply too large (max %u bytes)", CTL_MAX_REPLY);
	default:
		die("cannot read from %s: %s", path, strerror(error));
	}
	if ((reply = json_loads(payload, 0, &jerr)) == NULL ||
	    !json_is_boolean(json_object_get(reply, "ok")))
		die("invalid reply from daemon");
	free(payload);
	return reply;
}

static void
print_reply(const json_t *reply, FILE *out)
{
	const char	*text;
	json_t		*data;
	char		*s;

	if ((data = json_object_get(reply, "data")) != NULL) {
		if ((s = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			die("out of memory");
		fprintf(out, "%s\n", s);
		free(s);
	} else if ((text = json_string_value(json_object_get(reply,
	    "output"))) != NULL)
		fputs(text, out);
	if (fflush(out) == EOF || ferror(out))
		die("cannot write output: %s", strerror(errno));
}

static volatile sig_atomic_t	signals;

static void
on_signal(int sig)
{
	(void)sig;
	signals++;
}

/*
 * Waits for the daemon's next reply with no deadline.  A first signal asks
 * the daemon to finish (shutdown of our side); a second one gives up.
 */
static void
wait_more(int fd)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction	 sa = { .sa_handler = on_signal };
	struct pollfd		 pfd = { .fd = fd, .events = POLLIN };
	sigset_t		 block, old;
	bool			 asked = false;

	sigemptyset(&block);
	for (size_t i = 0; i < 3; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	/* Blocked except inside ppoll(), so no signal slips in between. */
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		if (signals > 1)
			die("interrupted");
		if (signals == 1 && !asked) {
			shutdown(fd, SHUT_WR);
			asked = true;
		}
		if (ppoll(&pfd, 1, NULL, &old) > 0)
			break;
		if (errno != EINTR)
			die("cannot wait for the daemon: %s", strerror(errno));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*path = NULL, *text;
	struct outputs	 outs;
	json_t		*reply;
	FILE		*out;
	bool		 json = false, more;
	int		 ch, fd;

	/* "+": options end at the object, so "fdb show dev x" is left alone. */
	while ((ch = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout, 0);
		case 'V':
			printf("vswctl %s\n", VSW_VERSION);
			return 0;
		default:
			usage(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, 1);
	if (path == NULL && (path = getenv("VSWCTL_SOCKET")) == NULL)
		path = CTL_SOCKET_DEFAULT;

	open_outputs(argc, argv, &outs);
	out = outs.to_stdout ? stderr : stdout;
	fd = request(path, argc, argv, json, &outs);
	for (bool first = true;; first = false) {
		reply = receive(fd, path);
		if (!json_is_true(json_object_get(reply, "ok"))) {
			close_outputs(&outs, first);
			text = json_string_value(json_object_get(reply,
			    "error"));
			die("%s", text ? text : "command failed");
		}
		close_outputs(&outs, false);
		print_reply(reply, out);
		more = json_is_true(json_object_get(reply, "more"));
		json_decref(reply);
		if (!more)
			break;
		wait_more(fd);
	}
	close(fd);
	return 0;
}
