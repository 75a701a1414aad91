/*
 * cmd-busypoll.c - the event loop's spin after traffic: busy-poll show,
 * busy-poll set.
 */
#include "busypoll.h"
#include "cmd.h"
#include "log.h"

static int
cmd_busypoll_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:I}", "busy_poll_us",
	    (json_int_t)busypoll_get());
	return 0;
}

static void
cmd_busypoll_show_print(const json_t *result, FILE *f)
{
	long long	us = cmd_jint(result, "busy_poll_us");

	if (us == 0)
		fprintf(f, "busy-poll off\n");
	else
		fprintf(f, "busy-poll %lld us\n", us);
}

const struct cmd_entry cmd_busypoll_show_entry = {
	.name = "busy-poll show",
	.usage = "",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_READONLY,
	.exec = cmd_busypoll_show_exec,
	.print = cmd_busypoll_show_print,
};

static int
cmd_busypoll_set_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	unsigned long	us;

	(void)argc;
	if (cmd_parse_uint(ctx, "busy-poll time (microseconds)", argv[0], 0,
	    BUSYPOLL_MAX_US, &us) == -1)
		return -1;
	if (us != busypoll_get())
		log_info("busy-poll %lu us", us);
	busypoll_set((unsigned)us);
	return 0;
}

const struct cmd_entry cmd_busypoll_set_entry = {
	.name = "busy-poll set",
	.usage = "USEC",
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_CONFIG,
	.exec = cmd_busypoll_set_exec,
};

static void
cmd_busypoll_save(struct dp *dp, FILE *f)
{
	(void)dp;
	fprintf(f, "busy-poll set %u\n", busypoll_get());
}

const struct cmd_config_part cmd_busypoll_config = {
	.save = cmd_busypoll_save,
};
