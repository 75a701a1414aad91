/*
 * config-save.c - the running configuration as a file, and autosave.
 *
 * Each part is written by the object that owns it (struct cmd_config_part),
 * in an order that loads: settings first (the FDB's size before its static
 * entries, the offloads before the ports that take them), then ports, the
 * WireGuard peers of their ports, the routes out of them and the static FDB
 * entries on them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "ctl-proto.h"
#include "file-atomic.h"
#include "log.h"
#include "xmalloc.h"

static const struct cmd_config_part *const config_parts[] = {
	&cmd_busypoll_config,
	&cmd_offload_config,
	&cmd_fdb_config,
	&cmd_router_config,
	&cmd_port_config,
	&cmd_port_sec_config,
	&cmd_wg_peer_config,
	&cmd_route_config,
	&cmd_fdb_static_config,
};

/* What the file holds, as far as we know: autosave compares with it. */
static char	*config_saved;
static bool	 config_save_failing;

char *
config_render(struct dp *dp)
{
	char	*text = NULL;
	size_t	 len;
	FILE	*f;

	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	fprintf(f, "# vswitchd %s configuration: the vswctl commands that "
	    "rebuild it\n", VSW_VERSION);
	for (size_t i = 0; i < sizeof(config_parts) / sizeof(config_parts[0]);
	    i++)
		config_parts[i]->save(dp, f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return text;
}

int
config_save(struct dp *dp, char *err, size_t errlen)
{
	char	*text = config_render(dp);
	int	 error;

	error = file_write_atomic_at(config_dirfd(), config_name(),
	    config_path(), text, strlen(text), S_IRUSR | S_IWUSR, err, errlen);
	if (error == 0) {
		free(config_saved);
		config_saved = text;
	} else
		free(text);
	return error;
}

void
config_remember(struct dp *dp)
{
	free(config_saved);
	config_saved = config_render(dp);
}

void
config_forget(void)
{
	free(config_saved);
	config_saved = NULL;
}

void
config_changed(struct dp *dp)
{
	char	*text, err[512];

	if (!config_autosaving())
		return;
	text = config_render(dp);
	if (config_saved != NULL && strcmp(text, config_saved) == 0) {
		free(text);
		return;
	}
	free(text);
	if (config_save(dp, err, sizeof(err)) != 0) {
		/* Logged once a spell: each change would say it again. */
		if (!config_save_failing)
			log_warnx("autosave: %s (the running configuration "
			    "is not saved until a save succeeds)", err);
		config_save_failing = true;
		return;
	}
	if (config_save_failing)
		log_info("autosave: %s saved again", config_path());
	config_save_failing = false;
	log_debug("autosave: %s written", config_path());
}
