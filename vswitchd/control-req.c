/*
 * control-req.c - one control request in, one reply out.
 *
 * Apart from the socket code so that a test or fuzz target can feed it
 * bytes without a daemon.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "control.h"

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

/* The reply for a command that ran: its data, or its text. */
static json_t *
control_result(const struct cmd_ctx *ctx, bool json)
{
	json_t	*reply;
	char	*text;

	if (json)
		return json_pack("{s:b, s:O}", "ok", 1, "data", ctx->result);
	if ((text = cmd_print(ctx)) == NULL)
		return NULL;
	reply = json_pack("{s:b, s:s}", "ok", 1, "output", text);
	free(text);
	return reply;
}

json_t *
control_request(struct sw *sw, bool trusted, const char *buf, size_t len)
{
	struct cmd_ctx	 ctx;
	json_error_t	 jerr;
	json_t		*req, *args, *flag, *reply;
	char		**argv;
	size_t		 argc, i;

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
	argc = json_array_size(args);
	if ((argv = calloc(argc + 1, sizeof(*argv))) == NULL) {
		reply = NULL;
		goto out_req;
	}
	for (i = 0; i < argc; i++) {
		argv[i] = (char *)json_string_value(json_array_get(args, i));
		if (argv[i] == NULL) {
			reply = control_error("request argv[%zu] is not a "
			    "string", i);
			goto out_argv;
		}
	}

	cmd_ctx_init(&ctx, sw, trusted);
	if (cmd_run(&ctx, (int)argc, argv) == -1)
		reply = control_error("%s", ctx.error);
	else
		reply = control_result(&ctx, json_is_true(flag));
	cmd_ctx_clear(&ctx);
out_argv:
	free(argv);
out_req:
	json_decref(req);
	return reply;
}
