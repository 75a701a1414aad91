/*
 * cmd.h - the command table and what commands share.
 *
 * Every vswctl command is one const struct cmd_entry in one table (cmd.c),
 * after tmux: its name ("port add"), its usage, how many arguments it takes
 * and whether it only reads.  The control socket and the config file both
 * go through cmd_run(), and help and usage messages are generated from the
 * table, so a command is written once.
 *
 * An entry declares the object it acts on (its target), as tmux's do:
 * cmd_run() finds it before exec runs, so a command gets ctx->port and
 * never looks a name up itself, and an unknown name gets one message.
 *
 * A command's exec builds a JSON result; its print function turns that
 * result into text for humans.  The daemon sends one or the other, so text
 * and JSON always come from the same data.  On failure exec fills
 * ctx->error with a message that quotes the bad value and returns -1.
 * Memory comes from xmalloc.h, jansson's too, so exec has no out-of-memory
 * path: a NULL from json_pack() would be a bug, and NULL results go out
 * as {}.
 *
 * Names are matched by unique prefix ("po sh" is "port show"), and an
 * object alone means its show verb ("fdb" is "fdb show").  An object may
 * name a default verb (CMD_DEFAULT) for a second word that is no verb of
 * its own: "capture tap0 -w -" is "capture start tap0 -w -".  A verb may
 * be two words ("wireguard peer add"), each matched by prefix in turn.
 *
 * Descriptors a client passed (vswctl -w) reach only commands flagged
 * CMD_FDS; a command keeps one by setting its slot to -1, and the rest are
 * closed after it ran.  A command that answers later (a capture following
 * its client) holds the client with control_hold() and sets ctx->held (no
 * reply now) or ctx->more (this reply, then more).
 */
#ifndef VSW_CMD_H
#define VSW_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct capio;
struct ctl_client;
struct dp;
struct port;
struct sw;

#define CMD_READONLY	0x1	/* changes nothing; allowed to any client */
#define CMD_FDS		0x2	/* takes descriptors passed by the client */
#define CMD_DEFAULT	0x4	/* the object's verb when none is given */
#define CMD_CONFIG	0x8	/* sets what "save" writes: a config file line */

struct cmd_ctx;

enum cmd_target_kind {
	CMD_TARGET_NONE,
	CMD_TARGET_PORT,	/* into ctx->port */
};

/*
 * Where the target's name is: the value after the first key in the
 * arguments ("dev PORT") if key is set, else the argument at index arg.
 * An absent target is a usage error unless optional (then NULL).
 */
struct cmd_target {
	enum cmd_target_kind	 kind;
	int			 arg;		/* positional index, or -1 */
	const char		*key;		/* or the value after it */
	bool			 optional;
};

struct cmd_entry {
	const char		*name;
	const char		*usage;		/* the arguments after the name */
	int			 min_args;
	int			 max_args;
	int			 flags;
	struct cmd_target	 target;
	int			 (*exec)(struct cmd_ctx *, int argc, char **argv);
	/* Renders the result for humans; NULL prints nothing. */
	void			 (*print)(const json_t *result, FILE *);
};

struct cmd_ctx {
	struct dp		*dp;
	bool			 trusted;	/* may change state */
	const char		*readonly_why;	/* who is read-only, if not */
	struct ctl_client	*client;	/* NULL from the config file */
	bool			 loading;	/* a config file is being run */
	bool			 json;		/* the client wants JSON */
	int			*fds;		/* passed with the request */
	unsigned		 nfds;
	bool			 held;		/* exec answers later */
	bool			 more;		/* another reply follows this one */
	const struct cmd_entry	*cmd;		/* set by cmd_run() */
	struct port		*port;		/* the target, if a port */
	json_t			*result;	/* set on success */
	char			 error[512];
};

void	 cmd_ctx_init(struct cmd_ctx *, struct dp *, bool trusted);
void	 cmd_ctx_clear(struct cmd_ctx *);

/* Resolves argv to an entry; *used is how many words named it. */
const struct cmd_entry *cmd_find(struct cmd_ctx *, int argc, char **argv,
	    int *used);
/* Finds and runs the command in argv: 0, or -1 with ctx->error set. */
int	 cmd_run(struct cmd_ctx *, int argc, char **argv);
/* The text print makes of a result, malloc'd; NULL when out of memory. */
char	*cmd_print(void (*print)(const json_t *, FILE *), const json_t *);

/* Helpers for exec functions; each failing one returns -1 with an error. */
int	 cmd_error(struct cmd_ctx *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* "usage: NAME USAGE" of an entry. */
int	 cmd_usage(struct cmd_ctx *, const struct cmd_entry *);
int	 cmd_parse_uint(struct cmd_ctx *, const char *what, const char *s,
	    unsigned long min, unsigned long max, unsigned long *out);
int	 cmd_parse_mac(struct cmd_ctx *, const char *s, uint8_t mac[6]);
/*
 * The port of that name, or "unknown port 'NAME'": how cmd_run() resolves a
 * port target, and for a command whose argument may name something else.
 */
int	 cmd_resolve_port(struct cmd_ctx *, const char *name, struct port **);

/*
 * Parses "key value" pairs.  opts[] lists the accepted keys with value
 * NULL; each value found is set.  An unknown or repeated key, or a key
 * without a value, is an error.
 */
struct cmd_opt {
	const char	*key;
	const char	*value;
};
int	 cmd_parse_opts(struct cmd_ctx *, int argc, char **argv,
	    struct cmd_opt *opts, size_t nopts);

/*
 * "ADDR" or "ADDR/LEN", IPv4 or IPv6 (a bare address has the full length);
 * host bits are kept.
 */
struct ip_prefix;
int	 cmd_parse_prefix(struct cmd_ctx *, const char *what, const char *s,
	    struct ip_prefix *);
/*
 * "PREFIX,PREFIX,...", each with its host bits cleared, none twice, at most
 * max: 0 with *n of them in out, or -1 with the error quoting the bad one.
 */
int	 cmd_parse_prefixes(struct cmd_ctx *, const char *what, const char *s,
	    struct ip_prefix *out, unsigned max, unsigned *n);
/* The other way: "PREFIX,PREFIX" as cmd_parse_prefixes() reads it. */
void	 cmd_save_prefixes(FILE *, const struct ip_prefix *, unsigned n);
#define CMD_ADDR_STRLEN	46	/* INET6_ADDRSTRLEN */
const char *cmd_format_addr(int family, const uint8_t *addr,
	    char buf[CMD_ADDR_STRLEN]);

/* Answers the clients waiting for a capture that has closed (capio). */
void	 cmd_capture_ended(struct capio *);

/* A port's name, index, type, state and MTU (cmd-port-show.c). */
json_t	*cmd_port_json(const struct port *);
/* "accepts csum tso4 ..." of a port's JSON, on its own line. */
void	 cmd_offloads_print(const json_t *port, FILE *, const char *indent);
/* Why the port's state is what it is, when its type says ("state_why"). */
void	 cmd_state_why_print(const json_t *port, FILE *, const char *indent);

/* The MAC table's size and counters, for show and stats (cmd-fdb.c). */
json_t	*cmd_fdb_json(const struct sw *);

/* A tunnel port's settings and MTUs: NULL for another type (show-tunnel.c). */
json_t	*cmd_tunnel_json(const struct port *);
/* Its lines under the port's row, if the port JSON has a tunnel. */
void	 cmd_tunnel_print(const json_t *port, FILE *, const char *indent);
/* The shared tunnel endpoints (only's alone when not NULL), and their text. */
json_t	*cmd_endpoints_json(const struct dp *, const struct port *only);
void	 cmd_endpoints_print(const json_t *, FILE *);

/* {"name": value, ...} of n counters. */
json_t	*cmd_counters_json(const uint64_t *values, const char *const *names,
	    size_t n);
/* The "  drops  name value ..." line of a drops object. */
void	 cmd_print_drops(FILE *, const json_t *drops);

#define CMD_MAC_STRLEN	18
void	 cmd_format_mac(const uint8_t mac[6], char buf[CMD_MAC_STRLEN]);

/* Field access for print functions: 0 or "" when absent. */
long long	 cmd_jint(const json_t *obj, const char *key);
const char	*cmd_jstr(const json_t *obj, const char *key);

/*
 * The running configuration, as the commands that recreate it ("vswctl
 * save", config.h).  Each object that owns a part writes it (save) and
 * takes back what a reload rewrites in full (clear; NULL for settings,
 * which the reload sets anyway, and for ports, which it compares).
 */
struct cmd_config_part {
	void	(*save)(struct dp *, FILE *);
	void	(*clear)(struct dp *);
};
extern const struct cmd_config_part cmd_busypoll_config;
extern const struct cmd_config_part cmd_offload_config;
extern const struct cmd_config_part cmd_fdb_config;
extern const struct cmd_config_part cmd_router_config;
extern const struct cmd_config_part cmd_port_config;
extern const struct cmd_config_part cmd_port_sec_config;
extern const struct cmd_config_part cmd_route_config;
extern const struct cmd_config_part cmd_wg_peer_config;
extern const struct cmd_config_part cmd_fdb_static_config;

/* A word as config_split() reads it back: quoted when it must be. */
void	 cmd_save_word(FILE *, const char *);

/*
 * "port add NAME ..." into cfg, checked as far as the command line goes
 * (config.c compares a reloaded port with the running one this way), and
 * back into its line.
 */
struct port_config;
int	 cmd_port_parse(struct cmd_ctx *, int argc, char **argv,
	    struct port_config *);
void	 cmd_port_write(FILE *, const struct port_config *);

extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_stats_entry;
extern const struct cmd_entry cmd_port_add_entry;
extern const struct cmd_entry cmd_port_del_entry;
extern const struct cmd_entry cmd_port_set_entry;
extern const struct cmd_entry cmd_port_show_entry;
extern const struct cmd_entry cmd_fdb_show_entry;
extern const struct cmd_entry cmd_fdb_add_entry;
extern const struct cmd_entry cmd_fdb_del_entry;
extern const struct cmd_entry cmd_fdb_flush_entry;
extern const struct cmd_entry cmd_fdb_set_entry;
extern const struct cmd_entry cmd_route_show_entry;
extern const struct cmd_entry cmd_route_add_entry;
extern const struct cmd_entry cmd_route_del_entry;
extern const struct cmd_entry cmd_route_flush_entry;
extern const struct cmd_entry cmd_router_show_entry;
extern const struct cmd_entry cmd_router_set_entry;
extern const struct cmd_entry cmd_capture_start_entry;
extern const struct cmd_entry cmd_capture_stop_entry;
extern const struct cmd_entry cmd_capture_show_entry;
extern const struct cmd_entry cmd_offload_show_entry;
extern const struct cmd_entry cmd_offload_set_entry;
extern const struct cmd_entry cmd_busypoll_show_entry;
extern const struct cmd_entry cmd_busypoll_set_entry;
extern const struct cmd_entry cmd_wg_show_entry;
extern const struct cmd_entry cmd_wg_peer_add_entry;
extern const struct cmd_entry cmd_wg_peer_del_entry;
extern const struct cmd_entry cmd_save_entry;
extern const struct cmd_entry cmd_help_entry;

#endif
