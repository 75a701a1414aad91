/*
 * cmd-save.c - save: the running configuration, into the daemon's file or
 * back to the client.
 *
 * "save" writes the file the daemon was started with (--config), as the
 * daemon's user.  "save -" returns the text; vswctl's "save FILE" asks for
 * it that way and writes FILE itself, with the rights of whoever ran it,
 * so that the daemon never writes where a client points it.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"

static int
cmd_save_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	char	*text, err[512];

	if (argc == 1 && strcmp(argv[0], "-") == 0) {
		text = config_render(ctx->dp);
		ctx->result = json_pack("{s:s}", "config", text);
		free(text);
		return 0;
	}
	if (argc == 1)
		return cmd_error(ctx, "the daemon writes only its own file: "
		    "give no FILE, or '-' for the text (vswctl save '%s' "
		    "writes it itself)", argv[0]);
	if (config_path() == NULL)
		return cmd_error(ctx, "no configuration file: vswitchd was "
		    "started without --config (vswctl save FILE writes one)");
	if (config_save(ctx->dp, err, sizeof(err)) != 0)
		return cmd_error(ctx, "%s", err);
	log_info("configuration saved to %s", config_path());
	ctx->result = json_pack("{s:s}", "saved", config_path());
	return 0;
}

static void
cmd_save_print(const json_t *result, FILE *f)
{
	const char	*text = cmd_jstr(result, "config");

	if (text[0] != '\0')
		fputs(text, f);
	else
		fprintf(f, "saved to %s\n", cmd_jstr(result, "saved"));
}

const struct cmd_entry cmd_save_entry = {
	.name = "save",
	.usage = "[FILE|-]",
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_save_exec,
	.print = cmd_save_print,
};
