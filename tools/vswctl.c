/*
 * vswctl.c - the thin client: argv to the daemon, its reply to the terminal.
 *
 * vswctl knows no commands.  It sends its words and the --json flag to
 * vswitchd, prints the text or JSON that comes back and exits 0, or prints
 * the daemon's error on stderr and exits 1.  Commands, their usage and help
 * all live in the daemon's command table.
 */
#include <errno.h>
#include <getopt.h>
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

/* Sends the request and returns the reply payload, NUL-terminated. */
static char *
exchange(const char *path, int argc, char **argv, bool json)
{
	json_t	*req, *args;
	uint8_t	*frame;
	char	*payload;
	size_t	 len;
	int	 fd, error;

	if ((args = json_array()) == NULL)
		die("out of memory");
	for (int i = 0; i < argc; i++)
		if (json_array_append_new(args, json_string(argv[i])) == -1)
			die("argument %d is not valid UTF-8", i + 1);
	if ((req = json_pack("{s:o, s:b}", "argv", args, "json", json)) ==
	    NULL)
		die("out of memory");
	if ((frame = ctl_frame(req, CTL_MAX_REQUEST, &len)) == NULL)
		die("command too long (max %u bytes)", CTL_MAX_REQUEST);
	json_decref(req);

	if ((error = ctl_connect(path, CTL_TIMEOUT_MS, &fd)) != 0)
		die("cannot connect to %s: %s (is vswitchd running?)", path,
		    strerror(error));
	if ((error = ctl_send(fd, frame, len, CTL_TIMEOUT_MS)) != 0) {
		if (error == ETIMEDOUT)
			die("daemon did not reply within %d s",
			    CTL_TIMEOUT_MS / 1000);
		die("cannot send to %s: %s", path, strerror(error));
	}
	free(frame);
	error = ctl_recv(fd, CTL_MAX_REPLY, CTL_TIMEOUT_MS, &payload, &len);
	close(fd);
	switch (error) {
	case 0:
		return payload;
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
	json_error_t	 jerr;
	json_t		*reply, *data;
	bool		 json = false;
	char		*payload, *out;
	int		 ch;

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

	payload = exchange(path, argc, argv, json);
	if ((reply = json_loads(payload, 0, &jerr)) == NULL ||
	    !json_is_boolean(json_object_get(reply, "ok")))
		die("invalid reply from daemon");
	free(payload);

	if (!json_is_true(json_object_get(reply, "ok"))) {
		text = json_string_value(json_object_get(reply, "error"));
		die("%s", text ? text : "command failed");
	}
	if ((data = json_object_get(reply, "data")) != NULL) {
		if ((out = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			die("out of memory");
		puts(out);
		free(out);
	} else if ((text = json_string_value(json_object_get(reply,
	    "output"))) != NULL)
		fputs(text, stdout);
	json_decref(reply);
	if (fflush(stdout) == EOF || ferror(stdout))
		die("cannot write output: %s", strerror(errno));
	return 0;
}
