/*
 * config.h - the configuration file: vswctl commands, one a line.
 *
 * Each line that is not blank and does not start with '#' is split into
 * words, with '...' and "..." quoting, and run through cmd_run() exactly as
 * if vswctl had sent it, so the file and the tool share one language.  A
 * file holds only the commands that set what "vswctl save" writes (those
 * flagged CMD_CONFIG: port add, route add, fdb add, the set verbs), so it
 * describes a state rather than a history, and a reload can compare.
 *
 * A file is parsed and checked as a whole before anything runs: the words,
 * the command, its argument count, and each port's line as far as the
 * command line goes.  Then it is applied.  At start-up that means running
 * it; on a reload (SIGHUP) it means converging on it: a port whose line is
 * unchanged keeps its device, counters and learned MACs, other ports go or
 * come, the settings not in the file return to their defaults, routes,
 * static FDB entries and router addresses are rebuilt from the file.  A
 * line that fails puts the previous configuration back, so a bad file
 * changes nothing; the message names its line.
 *
 * With --autosave the running configuration is written back to the file
 * (config-save.c) after every change that succeeded.
 */
#ifndef VSW_CONFIG_H
#define VSW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct dp;

#define CONFIG_MAX_WORDS	64
#define CONFIG_MAX_BYTES	(16u << 20)	/* a file larger is refused */

/*
 * Splits line in place into at most max words.  Returns the count, or -1
 * with a static message in *err (unterminated quote, too many words).
 */
int	config_split(char *line, char **argv, int max, const char **err);

/*
 * Remembers the defaults of dp's settings (call before anything changes
 * them) and where the configuration lives (NULL: nowhere), opening its
 * directory and reading the file now, while the daemon may still reach
 * them: 0, or -1 with err.  config_load() runs what was read.
 */
int	config_init(struct dp *, const char *path, bool autosave, char *err,
	    size_t errlen);
void	config_shutdown(void);
/* The directory's descriptor (-1: no file) and the file's name in it. */
int	config_dirfd(void);
const char *config_name(void);

/*
 * Runs the file at start-up, as read by config_init(): 0, or -1 with
 * "file:line: message" in err.  A missing file is an empty one when
 * autosaving (the first start).
 */
int	config_load(struct dp *, char *err, size_t errlen);
/* Converges on the file again (SIGHUP): 0, or -1 and nothing changed. */
int	config_reload(struct dp *, char *err, size_t errlen);
/* Converges on text (origin names it in messages): the reload's engine. */
int	config_apply_text(struct dp *, const char *text, const char *origin,
	    bool converge, char *err, size_t errlen);

/*
 * The running configuration as a file, malloc'd (config-save.c).  The
 * text depends only on the state, never on when or in which order it was
 * reached, so two saves can be compared.
 */
char	*config_render(struct dp *);
/* Writes it to the configuration file: 0 or an errno, err. */
int	config_save(struct dp *, char *err, size_t errlen);
/* The configuration file, or NULL; whether --autosave was given. */
const char *config_path(void);
bool	config_autosaving(void);
/* After a change that succeeded: writes the file if autosaving. */
void	config_changed(struct dp *);
/*
 * The file now says what runs (it was just loaded or saved): autosave
 * writes only when the running configuration moves away from this.
 */
void	config_remember(struct dp *);
void	config_forget(void);

#endif
