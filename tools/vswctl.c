/*
 * vswctl.c - the thin client: argv to the daemon, its reply to the terminal.
 *
 * vswctl knows no commands.  It sends its words and the --json flag to
 * vswitchd, prints the text or JSON that comes back and exits 0, or prints
 * the daemon's error on stderr and exits 1.  Commands, their usage and help
 * all live in the daemon's command table.  The exceptions need no daemon:
 * "wireguard genkey" and "wireguard pubkey" make keys here (vswctl-wg.h).
 *
 * One thing it does for any command: "-w PATH" names an output that vswctl
 * opens itself, as the user running it, and passes to the daemon as a
 * descriptor; "-w -" passes its standard output.  The daemon runs
 * privileged and so never opens a path for a client.  A new file is
 * created 0600; a path that exists is written only if it is no symbolic
 * link (O_NOFOLLOW: in a directory others can write, a link planted there
 * would have a root user overwrite its target), and a regular file that
 * exists only with --force, which empties it (and refuses one with other
 * hard links); a FIFO needs --force too, a character device (/dev/null)
 * does not.  If the command fails, a file vswctl created for it is removed
 * again.
 *
 * A reply that says "more" is followed by another (a capture streaming to
 * stdout reports its end): vswctl waits for it without a deadline.  The
 * first SIGINT, SIGTERM or SIGHUP shuts down its sending side, which asks
 * the daemon to finish; a second one exits at once.  While its stdout
 * carries a capture, everything vswctl prints goes to stderr.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vswitchd/ctl-proto.h"
#include "vswitchd/file-atomic.h"

#include "vswctl-reply.h"
#include "vswctl-wg.h"

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
	    "Run 'vswctl help' for the commands; 'vswctl wireguard genkey' "
	    "and 'pubkey'\nmake keys without the daemon.\n", CTL_SOCKET_DEFAULT);
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

/*
 * Opens -w PATH as the rules above say; dies with a message that quotes
 * the path when they refuse it.
 */
static int
open_output(const char *path, bool force, const char **created)
{
	struct stat	st;
	int		fd;

	*created = NULL;
	/* O_EXCL never follows a link: a planted one is EEXIST. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd != -1) {
		*created = path;
		return fd;
	}
	/* Not waiting for a FIFO's reader before we know we may use it. */
	if (errno == EEXIST && (fd = open(path, O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1 && errno == ENXIO) {
		if (!force)
			die("'%s' exists: add --force to overwrite it", path);
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	}
	if (fd != -1 && fcntl(fd, F_SETFL, 0) == -1)	/* ours alone */
		die("cannot use '%s': %s", path, strerror(errno));
	if (fd == -1 && errno == ELOOP)
		die("'%s' is a symbolic link: not following it (name the file "
		    "it points to)", path);
	if (fd == -1)
		die("cannot open '%s' for writing: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1)
		die("cannot stat '%s': %s", path, strerror(errno));
	if (S_ISCHR(st.st_mode) && isatty(fd))
		die("not writing capture data to a terminal ('%s')", path);
	if (S_ISCHR(st.st_mode))
		return fd;		/* /dev/null: nothing to overwrite */
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
		die("'%s' is not a regular file", path);
	if (!force)
		die("'%s' exists: add --force to overwrite it", path);
	if (S_ISREG(st.st_mode)) {
		/* Another name for the file: one we may not have meant. */
		if (st.st_nlink > 1)
			die("'%s' has %ju hard links: not overwriting it", path,
			    (uintmax_t)st.st_nlink);
		if (ftruncate(fd, 0) == -1)
			die("cannot empty '%s': %s", path, strerror(errno));
	}
	return fd;
}

static void
open_outputs(int argc, char **argv, struct outputs *o)
{
	bool	force = false;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--force") == 0)
			force = true;
	for (int i = 0; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-w") != 0)
			continue;
		if (o->n == CTL_MAX_FDS)
			die("too many -w outputs (max %d)", CTL_MAX_FDS);
		if (strcmp(argv[++i], "-") != 0) {
			o->fds[o->n] = open_output(argv[i], force,
			    &o->created[o->n]);
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
	/* A daemon that refuses a client says why before it closes. */
	if (error != 0 && error != EPIPE && error != ECONNRESET)
		die("cannot send to %s: %s", path, strerror(error));
	free(frame);
	return fd;
}

/* The next reply, checked (vswctl-reply.c). */
static void
receive(int fd, struct vswctl_reply *reply)
{
	char	*payload, msg[128];
	size_t	 len;
	int	 error;

	error = ctl_recv(fd, CTL_MAX_REPLY, CTL_TIMEOUT_MS, &payload, &len);
	if (error != 0)
		die("%s", vswctl_reply_recv_error(error, msg, sizeof(msg)));
	if (vswctl_reply_parse(payload, len, reply) != 0)
		die("invalid reply from daemon");
	free(payload);
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

/*
 * "save FILE": the daemon sends the text ("save -") and vswctl writes FILE
 * itself, as the user who asked, so the daemon writes only its own file.
 */
static int
save_to(const char *path, const char *file)
{
	char			 save[] = "save", dash[] = "-", err[512];
	char			*args[] = { save, dash };
	struct outputs		 none = { .n = 0 };
	struct vswctl_reply	 reply;
	const char		*text;
	int			 fd;

	fd = request(path, 2, args, true, &none);
	receive(fd, &reply);
	close(fd);
	if (!reply.ok)
		die("%s", reply.error);
	text = json_string_value(json_object_get(json_object_get(reply.msg,
	    "data"), "config"));
	if (text == NULL)
		die("the daemon sent no configuration");
	if (file_write_atomic(file, text, strlen(text), S_IRUSR | S_IWUSR,
	    err, sizeof(err)) != 0)
		die("%s", err);
	vswctl_reply_clear(&reply);
	printf("saved to %s\n", file);
	return 0;
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
	const char		*path = NULL;
	struct outputs		 outs;
	struct vswctl_reply	 reply;
	FILE			*out;
	bool			 json = false, more;
	int			 ch, fd, error;

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
	if (vswctl_wg_is_local(argc, argv))
		return vswctl_wg_run(argc, argv);
	if (path == NULL && (path = getenv("VSWCTL_SOCKET")) == NULL)
		path = CTL_SOCKET_DEFAULT;

	if (argc == 2 && strcmp(argv[0], "save") == 0 &&
	    strcmp(argv[1], "-") != 0)
		return save_to(path, argv[1]);
	open_outputs(argc, argv, &outs);
	out = outs.to_stdout ? stderr : stdout;
	fd = request(path, argc, argv, json, &outs);
	for (bool first = true;; first = false) {
		receive(fd, &reply);
		if (!reply.ok) {
			close_outputs(&outs, first);
			die("%s", reply.error);
		}
		close_outputs(&outs, false);
		if ((error = vswctl_reply_print(&reply, out)) != 0)
			die("cannot write output: %s", strerror(error));
		more = reply.more;
		vswctl_reply_clear(&reply);
		if (!more)
			break;
		wait_more(fd);
	}
	close(fd);
	return 0;
}
