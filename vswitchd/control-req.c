/*
 * control-req.c - one control request in, one reply out.
 *
 * Apart from the socket code so that a test or fuzz target can feed it
 * bytes without a daemon.  Every command that is not read-only and
 * succeeds is logged here with who sent it, so that the log says who
 * changed what: the words as sent, quoted where a shell would need it and
 * with control characters escaped, so that a client cannot forge lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "control.h"
#include "ctl-proto.h"
#include "log.h"
#include "xmalloc.h"

#define CHANGE_LOG_MAX	400	/* bytes of a command in the log */

json_t *
control_error(const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	json_t	*reply;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	/* A quoted value cut mid-character is not UTF-8: say something. */
	if (reply == NULL)
		reply = json_pack("{s:b, s:s}", "ok", 0, "error",
		    "command failed (message not valid UTF-8)");
	return reply;
}

json_t *
control_reply(const json_t *result, void (*print)(const json_t *, FILE *),
    bool json, bool more)
{
	json_t	*reply;
	char	*text;

	if (json)
		reply = json_pack("{s:b, s:O}", "ok", 1, "data", result);
	else {
		if ((text = cmd_print(print, result)) == NULL)
			return NULL;
		reply = json_pack("{s:b, s:s}", "ok", 1, "output", text);
		free(text);
	}
	if (reply != NULL && more &&
	    json_object_set_new(reply, "more", json_true()) == -1) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/*
 * Takes the descriptors the request says it carries from the front of
 * peer->fds; -1 with an error reply in *reply if they did not all arrive.
 */
static int
claim_fds(struct ctl_peer *peer, const json_t *nfds, json_t **reply)
{
	json_int_t	n = 0;

	if (nfds != NULL) {
		if (!json_is_integer(nfds) || (n = json_integer_value(nfds))
		    < 0 || n > CTL_MAX_FDS) {
			*reply = control_error("request \"fds\" must be an "
			    "integer from 0 to %d", CTL_MAX_FDS);
			return -1;
		}
	}
	peer->claimed = (unsigned)n < peer->nfds ? (unsigned)n : peer->nfds;
	if ((unsigned)n > peer->nfds) {
		*reply = control_error("request announces %d descriptor%s but "
		    "%u arrived", (int)n, n == 1 ? "" : "s", peer->nfds);
		return -1;
	}
	return 0;
}

/* Appends s to the line at *off, quoted if it has more than plain words. */
static void
log_word(char *line, size_t size, size_t *off, const char *s)
{
	static const char	 plain[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+.,:/=@%";
	bool			 quote = s[0] == '\0' ||
	    s[strspn(s, plain)] != '\0';
	int			 n;

	if (*off > 0 && *off < size)
		line[(*off)++] = ' ';
	if (quote && *off < size)
		line[(*off)++] = '\'';
	for (; *s != '\0' && *off < size; s++) {
		unsigned char	ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\')
			n = snprintf(line + *off, size - *off, "\\x%02x", ch);
		else
			n = snprintf(line + *off, size - *off, "%c", ch);
		*off += n > 0 ? (size_t)n : 0;
	}
	if (quote && *off < size)
		line[(*off)++] = '\'';
	if (*off > size)
		*off = size;
}

/* "control: uid U pid P: port add tap0 type tap". */
static void
log_change(const struct ctl_peer *peer, int argc, char **argv)
{
	char	line[CHANGE_LOG_MAX + 4];
	size_t	off = 0;

	if (!peer->has_cred)
		return;
	for (int i = 0; i < argc && off < CHANGE_LOG_MAX; i++)
		log_word(line, CHANGE_LOG_MAX, &off, argv[i]);
	if (off >= CHANGE_LOG_MAX) {
		off = CHANGE_LOG_MAX;
		memcpy(line + off, "...", 3);
		off += 3;
	}
	line[off] = '\0';
	log_info("control: uid %d pid %d: %s", (int)peer->uid, (int)peer->pid,
	    line);
}

static void
close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

json_t *
control_request(struct dp *dp, struct ctl_peer *peer, const char *buf,
    size_t len)
{
	struct cmd_ctx	 ctx;
	json_error_t	 jerr;
	json_t		*req, *args, *flag, *reply = NULL;
	char		**argv;
	size_t		 argc, i;

	peer->claimed = 0;
	peer->held = false;
	if ((req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return control_error("invalid JSON in request: %s", jerr.text);
	args = json_object_get(req, "argv");
	flag = json_object_get(req, "json");
	if (!json_is_array(args) || (flag != NULL && !json_is_boolean(flag))) {
		reply = control_error("request needs an \"argv\" array of "
		    "strings and an optional \"json\" boolean");
		goto out_req;
	}
	if (claim_fds(peer, json_object_get(req, "fds"), &reply) == -1)
		goto out_fds;
	argc = json_array_size(args);
	argv = xcalloc(argc + 1, sizeof(*argv));
	for (i = 0; i < argc; i++) {
		argv[i] = (char *)json_string_value(json_array_get(args, i));
		if (argv[i] == NULL) {
			reply = control_error("request argv[%zu] is not a "
			    "string", i);
			goto out_argv;
		}
	}

	cmd_ctx_init(&ctx, dp, peer->trusted);
	ctx.readonly_why = peer->readonly_why;
	ctx.client = peer->client;
	ctx.json = json_is_true(flag);
	ctx.fds = peer->fds;
	ctx.nfds = peer->claimed;
	if (cmd_run(&ctx, (int)argc, argv) == -1) {
		reply = control_error("%s", ctx.error);
		goto out_ctx;
	}
	if (!(ctx.cmd->flags & CMD_READONLY)) {
		log_change(peer, (int)argc, argv);
		config_changed(ctx.dp);
	}
	if (ctx.held)
		peer->held = true;
	else
		reply = control_reply(ctx.result, ctx.cmd->print, ctx.json,
		    ctx.more);
out_ctx:
	cmd_ctx_clear(&ctx);
out_argv:
	free(argv);
out_fds:
	close_fds(peer->fds, peer->claimed);
out_req:
	json_decref(req);
	return reply;
}
