/*
 * cmd.c - the command table, dispatch, targets and argument helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "datapath/ip.h"
#include "datapath/dp.h"

#include "cmd.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_show_entry,
	&cmd_port_show_entry,
	&cmd_port_add_entry,
	&cmd_port_del_entry,
	&cmd_port_set_entry,
	&cmd_fdb_show_entry,
	&cmd_fdb_add_entry,
	&cmd_fdb_del_entry,
	&cmd_fdb_flush_entry,
	&cmd_fdb_set_entry,
	&cmd_route_show_entry,
	&cmd_route_add_entry,
	&cmd_route_del_entry,
	&cmd_route_flush_entry,
	&cmd_router_show_entry,
	&cmd_router_set_entry,
	&cmd_offload_show_entry,
	&cmd_offload_set_entry,
	&cmd_busypoll_show_entry,
	&cmd_busypoll_set_entry,
	&cmd_wg_show_entry,
	&cmd_wg_peer_add_entry,
	&cmd_wg_peer_del_entry,
	&cmd_stats_entry,
	&cmd_save_entry,
	&cmd_capture_show_entry,
	&cmd_capture_start_entry,
	&cmd_capture_stop_entry,
	&cmd_help_entry,
};
#define CMD_COUNT	(sizeof(cmd_table) / sizeof(cmd_table[0]))

/* One word of a command name, not NUL-terminated. */
struct cmd_word {
	const char	*s;
	size_t		 len;
};

void
cmd_ctx_init(struct cmd_ctx *ctx, struct dp *dp, bool trusted)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->dp = dp;
	ctx->trusted = trusted;
}

void
cmd_ctx_clear(struct cmd_ctx *ctx)
{
	json_decref(ctx->result);
	ctx->result = NULL;
	ctx->cmd = NULL;
	ctx->port = NULL;
	ctx->held = ctx->more = false;
	ctx->error[0] = '\0';
}

void
cmd_save_word(FILE *f, const char *s)
{
	bool	plain = s[0] != '\0' && s[0] != '#';

	for (const char *p = s; *p != '\0' && plain; p++)
		plain = !isspace((unsigned char)*p) && *p != '\'' &&
		    *p != '"';
	if (plain)
		fputs(s, f);
	else
		fprintf(f, strchr(s, '\'') == NULL ? "'%s'" : "\"%s\"", s);
}

int
cmd_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* "NAME USAGE", as help lists it and a usage error says it. */
static void
cmd_usage_line(const struct cmd_entry *cmd, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", cmd->name,
	    cmd->usage[0] != '\0' ? " " : "", cmd->usage);
}

int
cmd_usage(struct cmd_ctx *ctx, const struct cmd_entry *cmd)
{
	char	line[256];

	cmd_usage_line(cmd, line, sizeof(line));
	return cmd_error(ctx, "usage: %s", line);
}

static bool
word_is(const struct cmd_word *w, const char *s, size_t len)
{
	return w->len == len && memcmp(w->s, s, len) == 0;
}

static bool
word_has_prefix(const struct cmd_word *w, const char *s, size_t len)
{
	return len > 0 && len < w->len && memcmp(w->s, s, len) == 0;
}

/* Index of the exact or only prefix match, -1 for none, -2 if ambiguous. */
static int
word_match(const char *s, const struct cmd_word *words, size_t n)
{
	size_t	len = strlen(s);
	int	found = -1;

	for (size_t i = 0; i < n; i++)
		if (word_is(&words[i], s, len))
			return (int)i;
	for (size_t i = 0; i < n; i++) {
		if (!word_has_prefix(&words[i], s, len))
			continue;
		if (found != -1)
			return -2;
		found = (int)i;
	}
	return found;
}

/* "a, b, c" of the words s is a prefix of (all of them if s is NULL). */
static void
word_list(const struct cmd_word *words, size_t n, const char *s, char *buf,
    size_t size)
{
	size_t	off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		if (s != NULL && !word_has_prefix(&words[i], s, strlen(s)))
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%.*s",
		    off ? ", " : "", (int)words[i].len, words[i].s);
	}
}

static struct cmd_word
cmd_object(const struct cmd_entry *cmd)
{
	return (struct cmd_word){ cmd->name, strcspn(cmd->name, " ") };
}

static const char *
cmd_verb(const struct cmd_entry *cmd)
{
	const char	*sp = strchr(cmd->name, ' ');

	return sp ? sp + 1 : NULL;
}

/* The first word of a verb ("peer" of "peer add"). */
static struct cmd_word
verb_first(const struct cmd_word *verb)
{
	const char	*sp = memchr(verb->s, ' ', verb->len);

	return (struct cmd_word){ verb->s, sp ? (size_t)(sp - verb->s) :
	    verb->len };
}

/*
 * word_match() on the first words of the verbs: the index of one verb
 * whose first word s names, -1 for none, -2 if ambiguous.  Verbs of two
 * words that share their first ("peer add", "peer del") count as one here.
 */
static int
verb_match(const char *s, const struct cmd_word *verbs, size_t n)
{
	struct cmd_word	firsts[CMD_COUNT];
	size_t		which[CMD_COUNT], nfirsts = 0, j;
	int		f;

	for (size_t i = 0; i < n; i++) {
		struct cmd_word	w = verb_first(&verbs[i]);

		for (j = 0; j < nfirsts; j++)
			if (word_is(&firsts[j], w.s, w.len))
				break;
		if (j == nfirsts) {
			which[nfirsts] = i;
			firsts[nfirsts++] = w;
		}
	}
	if ((f = word_match(s, firsts, nfirsts)) < 0)
		return f;
	return (int)which[f];
}

/*
 * The second word of a verb of two words ("wireguard peer add"): argv[2]
 * among the verbs whose first word is first.
 */
static const struct cmd_entry *
cmd_find_second(struct cmd_ctx *ctx, int argc, char **argv,
    struct cmd_word obj, struct cmd_word first, const struct cmd_word *verbs,
    const struct cmd_entry *const *byverb, size_t nverbs, int *used)
{
	struct cmd_word		 seconds[CMD_COUNT];
	const struct cmd_entry	*bysecond[CMD_COUNT];
	size_t			 n = 0;
	char			 list[256];
	int			 v;

	for (size_t i = 0; i < nverbs; i++) {
		struct cmd_word	w = verb_first(&verbs[i]);

		if (!word_is(&w, first.s, first.len) || w.len == verbs[i].len)
			continue;
		seconds[n].s = verbs[i].s + w.len + 1;
		seconds[n].len = verbs[i].len - w.len - 1;
		bysecond[n++] = byverb[i];
	}
	word_list(seconds, n, NULL, list, sizeof(list));
	if (argc < 3) {
		cmd_error(ctx, "'%.*s %.*s' needs a verb (%s)", (int)obj.len,
		    obj.s, (int)first.len, first.s, list);
		return NULL;
	}
	if ((v = word_match(argv[2], seconds, n)) < 0) {
		if (v == -2)
			word_list(seconds, n, argv[2], list, sizeof(list));
		cmd_error(ctx, "%s verb '%s' for '%.*s %.*s' (%s)", v == -2 ?
		    "ambiguous" : "unknown", argv[2], (int)obj.len, obj.s,
		    (int)first.len, first.s, list);
		return NULL;
	}
	*used = 3;
	return bysecond[v];
}

const struct cmd_entry *
cmd_find(struct cmd_ctx *ctx, int argc, char **argv, int *used)
{
	struct cmd_word		 objs[CMD_COUNT], verbs[CMD_COUNT], obj;
	const struct cmd_entry	*byverb[CMD_COUNT], *single = NULL;
	const struct cmd_entry	*dflt = NULL;
	size_t			 nobjs = 0, nverbs = 0, i, j;
	char			 list[256];
	int			 o, v;

	for (i = 0; i < CMD_COUNT; i++) {
		obj = cmd_object(cmd_table[i]);
		for (j = 0; j < nobjs; j++)
			if (word_is(&objs[j], obj.s, obj.len))
				break;
		if (j == nobjs)
			objs[nobjs++] = obj;
	}
	if ((o = word_match(argv[0], objs, nobjs)) == -2) {
		word_list(objs, nobjs, argv[0], list, sizeof(list));
		cmd_error(ctx, "ambiguous command '%s' (%s)", argv[0], list);
		return NULL;
	}
	if (o == -1) {
		cmd_error(ctx, "unknown command '%s' (try 'help')", argv[0]);
		return NULL;
	}
	obj = objs[o];

	for (i = 0; i < CMD_COUNT; i++) {
		const char	*verb = cmd_verb(cmd_table[i]);
		struct cmd_word	 w = cmd_object(cmd_table[i]);

		if (!word_is(&w, obj.s, obj.len))
			continue;
		if (verb == NULL)
			single = cmd_table[i];
		else {
			if (cmd_table[i]->flags & CMD_DEFAULT)
				dflt = cmd_table[i];
			byverb[nverbs] = cmd_table[i];
			verbs[nverbs].s = verb;
			verbs[nverbs++].len = strlen(verb);
		}
	}
	if (single != NULL) {
		*used = 1;
		return single;
	}
	word_list(verbs, nverbs, NULL, list, sizeof(list));
	if (argc == 1) {
		for (i = 0; i < nverbs; i++)
			if (word_is(&verbs[i], "show", 4)) {
				*used = 1;
				return byverb[i];
			}
		cmd_error(ctx, "'%.*s' needs a verb (%s)", (int)obj.len, obj.s,
		    list);
		return NULL;
	}
	if ((v = verb_match(argv[1], verbs, nverbs)) == -2) {
		word_list(verbs, nverbs, argv[1], list, sizeof(list));
		cmd_error(ctx, "ambiguous verb '%s' for '%.*s' (%s)", argv[1],
		    (int)obj.len, obj.s, list);
		return NULL;
	}
	if (v == -1 && dflt != NULL) {
		*used = 1;
		return dflt;
	}
	if (v == -1) {
		cmd_error(ctx, "unknown verb '%s' for '%.*s' (%s)", argv[1],
		    (int)obj.len, obj.s, list);
		return NULL;
	}
	if (strchr(verbs[v].s, ' ') == NULL) {
		*used = 2;
		return byverb[v];
	}
	return cmd_find_second(ctx, argc, argv, obj, verb_first(&verbs[v]),
	    verbs, byverb, nverbs, used);
}

int
cmd_resolve_port(struct cmd_ctx *ctx, const char *name, struct port **pp)
{
	if ((*pp = dp_port_find(ctx->dp, name)) == NULL)
		return cmd_error(ctx, "unknown port '%s'", name);
	return 0;
}

/* The entry's target into ctx, before exec runs. */
static int
cmd_resolve_target(struct cmd_ctx *ctx, const struct cmd_entry *cmd,
    int argc, char **argv)
{
	const struct cmd_target	*t = &cmd->target;
	const char		*name = NULL;

	if (t->kind == CMD_TARGET_NONE)
		return 0;
	if (t->key != NULL) {
		/* A key without its value is left to the command's parser. */
		for (int i = 0; i + 1 < argc && name == NULL; i++)
			if (strcmp(argv[i], t->key) == 0)
				name = argv[i + 1];
	} else if (t->arg >= 0 && t->arg < argc)
		name = argv[t->arg];
	if (name == NULL)
		return t->optional ? 0 : cmd_usage(ctx, cmd);
	return cmd_resolve_port(ctx, name, &ctx->port);
}

int
cmd_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry	*cmd;
	int			 used;

	cmd_ctx_clear(ctx);
	if (argc < 1 || argv[0][0] == '\0')
		return cmd_error(ctx, "no command given (try 'help')");
	if ((cmd = cmd_find(ctx, argc, argv, &used)) == NULL)
		return -1;
	argc -= used;
	argv += used;
	if (argc < cmd->min_args || (cmd->max_args >= 0 &&
	    argc > cmd->max_args))
		return cmd_usage(ctx, cmd);
	if (!ctx->trusted && !(cmd->flags & CMD_READONLY))
		return cmd_error(ctx, "permission denied: %s is read-only: "
		    "'%s' changes the configuration or state (read-only are "
		    "help, show, stats and the show verbs)", ctx->readonly_why ?
		    ctx->readonly_why : "this client", cmd->name);
	if (ctx->nfds > 0 && !(cmd->flags & CMD_FDS))
		return cmd_error(ctx, "'%s' takes no descriptor (-w)",
		    cmd->name);
	if (cmd_resolve_target(ctx, cmd, argc, argv) == -1)
		return -1;
	if (cmd->exec(ctx, argc, argv) == -1) {
		json_decref(ctx->result);
		ctx->result = NULL;
		return -1;
	}
	if (ctx->result == NULL)
		ctx->result = json_object();
	ctx->cmd = cmd;
	return 0;
}

char *
cmd_print(void (*print)(const json_t *, FILE *), const json_t *result)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (print != NULL)
		print(result, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
cmd_parse_uint(struct cmd_ctx *ctx, const char *what, const char *s,
    unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long	 v;
	char		*end;

	/* strtoul() would take leading blanks, a sign and an empty string. */
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return cmd_error(ctx, "invalid %s '%s' (expected %lu..%lu)", what, s,
	    min, max);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
cmd_parse_mac(struct cmd_ctx *ctx, const char *s, uint8_t mac[6])
{
	int	hi, lo;

	if (strlen(s) != 17)
		goto bad;
	for (int i = 0; i < 6; i++) {
		const char	*p = s + 3 * i;

		if ((hi = hexval(p[0])) < 0 || (lo = hexval(p[1])) < 0)
			goto bad;
		if (i < 5 && p[2] != s[2])
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (s[2] == ':' || s[2] == '-')
		return 0;
bad:
	return cmd_error(ctx, "invalid MAC address '%s'", s);
}

void
cmd_format_mac(const uint8_t mac[6], char buf[CMD_MAC_STRLEN])
{
	snprintf(buf, CMD_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int
cmd_parse_prefix(struct cmd_ctx *ctx, const char *what, const char *s,
    struct ip_prefix *out)
{
	char		 buf[CMD_ADDR_STRLEN + 4], *slash;
	unsigned long	 len;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	len = ip_max_plen(out->family);
	if (slash != NULL) {
		char	*end;

		if (!isdigit((unsigned char)slash[0]))
			goto bad;
		errno = 0;
		len = strtoul(slash, &end, 10);
		if (errno != 0 || *end != '\0' ||
		    len > ip_max_plen(out->family))
			goto bad;
	}
	out->len = (uint8_t)len;
	return 0;
bad:
	return cmd_error(ctx, "invalid %s '%s'", what, s);
}

int
cmd_parse_prefixes(struct cmd_ctx *ctx, const char *what, const char *s,
    struct ip_prefix *out, unsigned max, unsigned *n)
{
	char	*copy, *word, *save = NULL;
	int	 rc = 0;

	*n = 0;
	if ((copy = strdup(s)) == NULL)
		return cmd_error(ctx, "out of memory");
	for (word = strtok_r(copy, ",", &save); word != NULL;
	    word = strtok_r(NULL, ",", &save)) {
		struct ip_prefix	p;

		if ((rc = cmd_parse_prefix(ctx, what, word, &p)) == -1)
			break;
		ip_prefix_mask(p.addr, ip_addr_len(p.family), p.len);
		for (unsigned i = 0; i < *n && rc == 0; i++)
			if (memcmp(&out[i], &p, sizeof(p)) == 0)
				rc = cmd_error(ctx, "%s '%s' given twice", what,
				    word);
		if (rc == 0 && *n == max)
			rc = cmd_error(ctx, "too many %s (at most %u)", what,
			    max);
		if (rc == -1)
			break;
		out[(*n)++] = p;
	}
	if (rc == 0 && *n == 0)
		rc = cmd_error(ctx, "invalid %s '%s' (expected PREFIX,...)",
		    what, s);
	free(copy);
	return rc;
}

void
cmd_save_prefixes(FILE *f, const struct ip_prefix *p, unsigned n)
{
	char	buf[CMD_ADDR_STRLEN];

	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%s/%u", i > 0 ? "," : "",
		    cmd_format_addr(p[i].family, p[i].addr, buf), p[i].len);
}

const char *
cmd_format_addr(int family, const uint8_t *addr, char buf[CMD_ADDR_STRLEN])
{
	if (inet_ntop(family, addr, buf, CMD_ADDR_STRLEN) == NULL)
		snprintf(buf, CMD_ADDR_STRLEN, "?");
	return buf;
}

int
cmd_parse_opts(struct cmd_ctx *ctx, int argc, char **argv,
    struct cmd_opt *opts, size_t nopts)
{
	char	keys[128];
	size_t	off = 0, k;

	for (int i = 0; i < argc; i += 2) {
		for (k = 0; k < nopts; k++)
			if (strcmp(argv[i], opts[k].key) == 0)
				break;
		if (k == nopts) {
			keys[0] = '\0';
			for (k = 0; k < nopts && off < sizeof(keys); k++)
				off += (size_t)snprintf(keys + off,
				    sizeof(keys) - off, "%s%s", off ? ", " : "",
				    opts[k].key);
			return cmd_error(ctx, "unknown option '%s' "
			    "(expected %s)", argv[i], keys);
		}
		if (opts[k].value != NULL)
			return cmd_error(ctx, "option '%s' given twice",
			    argv[i]);
		if (i + 1 >= argc)
			return cmd_error(ctx, "option '%s' needs a value",
			    argv[i]);
		opts[k].value = argv[i + 1];
	}
	return 0;
}

json_t *
cmd_counters_json(const uint64_t *values, const char *const *names, size_t n)
{
	json_t	*o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, names[i],
		    json_integer((json_int_t)values[i]));
	return o;
}

void
cmd_print_drops(FILE *f, const json_t *drops)
{
	const char	*name;
	json_t		*n;

	fprintf(f, "  %-6s", "drops");
	json_object_foreach((json_t *)drops, name, n)
		fprintf(f, " %s %lld", name, json_integer_value(n));
	fputc('\n', f);
}

long long
cmd_jint(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

const char *
cmd_jstr(const json_t *obj, const char *key)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static int
cmd_help_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	json_t	*list;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:[]}", "commands");
	list = json_object_get(ctx->result, "commands");
	for (size_t i = 0; i < CMD_COUNT; i++) {
		const struct cmd_entry	*cmd = cmd_table[i];
		char			 usage[256];

		cmd_usage_line(cmd, usage, sizeof(usage));
		json_array_append_new(list, json_pack("{s:s, s:s, s:b}",
		    "command", cmd->name, "usage", usage,
		    "readonly", cmd->flags & CMD_READONLY));
	}
	return 0;
}

static void
cmd_help_print(const json_t *result, FILE *f)
{
	size_t	 i;
	json_t	*cmd;

	fprintf(f, "usage: vswctl [--socket PATH] [--json] OBJECT [VERB] "
	    "[ARGS]\n\ncommands:\n");
	json_array_foreach(json_object_get(result, "commands"), i, cmd)
		fprintf(f, "  %s\n", cmd_jstr(cmd, "usage"));
	fprintf(f, "\nAn object alone means show; objects and verbs may be "
	    "abbreviated\nto unique prefixes (\"vswctl po sh\").\n");
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.usage = "",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_READONLY,
	.exec = cmd_help_exec,
	.print = cmd_help_print,
};
