/*
 * tap-record.c - the record of persistent taps held, and its recovery.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "tap-record.h"

struct tap_rec {
	char		type[8];	/* "tap" or "tun" */
	char		name[IFNAMSIZ];
	unsigned	ifindex;
	bool		brought_up;
};

static struct {
	char		*path;
	struct tap_rec	 recs[TAP_RECORD_MAX];
	unsigned	 n;
	void		 (*note)(const char *);
} tr;

static void
tr_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tr_note(const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (tr.note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tr.note(msg);
}

/* Writes the list whole: a temporary file renamed over, or removed. */
static int
tr_write(void)
{
	char	tmp[4096];
	FILE	*f;
	int	 fd, error = 0;

	if (tr.path == NULL)
		return 0;
	if (tr.n == 0)
		return unlink(tr.path) == -1 && errno != ENOENT ? errno : 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", tr.path) >=
	    sizeof(tmp))
		return ENAMETOOLONG;
	/* A new file, never one planted under that name. */
	if (unlink(tmp) == -1 && errno != ENOENT)
		return errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		error = errno;
		if (fd != -1)
			close(fd);
		return error;
	}
	fprintf(f, "# vswitchd: persistent taps it holds; do not edit\n");
	for (unsigned i = 0; i < tr.n; i++)
		fprintf(f, "%s %s %u %s\n", tr.recs[i].type, tr.recs[i].name,
		    tr.recs[i].ifindex, tr.recs[i].brought_up ? "down" : "-");
	if (fflush(f) == EOF || ferror(f))
		error = errno ? errno : EIO;
	if (fclose(f) == EOF && error == 0)
		error = errno;
	if (error == 0 && rename(tmp, tr.path) == -1)
		error = errno;
	if (error != 0)
		unlink(tmp);
	return error;
}

static void
tr_save(void)
{
	int	error;

	if ((error = tr_write()) != 0)
		tr_note("cannot write %s: %s (a crash would leave persistent "
		    "taps with offloads on)", tr.path, strerror(error));
}

/* Puts one tap a previous run left back as it was found. */
static void
tr_undo(const struct tap_rec *r)
{
	struct ifreq	ifr;
	int		fd, s, rc;

	if (if_nametoindex(r->name) != r->ifindex)
		return;			/* gone, or made again by someone */
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1) {
		tr_note("%s: cannot restore its offloads: /dev/net/tun: %s",
		    r->name, strerror(errno));
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->name);
	ifr.ifr_flags = (strcmp(r->type, "tun") == 0 ? IFF_TUN : IFF_TAP) |
	    IFF_NO_PI | IFF_VNET_HDR;
	/* One we held without a vnet header refuses the flag. */
	if ((rc = ioctl(fd, TUNSETIFF, &ifr)) == -1 && errno == EINVAL) {
		ifr.ifr_flags &= ~IFF_VNET_HDR;
		rc = ioctl(fd, TUNSETIFF, &ifr);
	}
	if (rc == -1) {
		if (errno != EBUSY)
			tr_note("%s: cannot restore its offloads: %s", r->name,
			    strerror(errno));
		close(fd);
		return;
	}
	ioctl(fd, TUNSETOFFLOAD, 0);
	if (r->brought_up &&
	    (s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1) {
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags &= ~IFF_UP;
			ioctl(s, SIOCSIFFLAGS, &ifr);
		}
		close(s);
	}
	close(fd);
	tr_note("%s: persistent %s left by a run that did not exit cleanly: "
	    "offloads off%s, as it was found", r->name, r->type,
	    r->brought_up ? ", set down" : "");
}

int
tap_record_open(const char *path, void (*note)(const char *), char *err,
    size_t errlen)
{
	struct tap_rec	 r;
	char		 line[128], down[8];
	FILE		*f;
	int		 fd, error;

	tap_record_close();
	tr.note = note;
	if ((tr.path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		error = errno;
		goto fail;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		error = errno;
		close(fd);
		goto fail;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		memset(&r, 0, sizeof(r));
		if (line[0] == '#' || sscanf(line, "%7s %15s %u %7s", r.type,
		    r.name, &r.ifindex, down) != 4)
			continue;
		r.brought_up = strcmp(down, "down") == 0;
		tr_undo(&r);
	}
	fclose(f);
	if ((error = tr_write()) != 0)		/* nothing held yet: removed */
		goto fail;
	return 0;

fail:
	snprintf(err, errlen, "tap record %s: %s", path, strerror(error));
	tap_record_close();
	return error;
}

void
tap_record_close(void)
{
	free(tr.path);
	tr.path = NULL;
	tr.n = 0;
	tr.note = NULL;
}

void
tap_record_add(const char *type, const char *name, unsigned ifindex,
    bool brought_up)
{
	struct tap_rec	*r;

	if (tr.path == NULL)
		return;
	tap_record_del(name, 0);
	if (tr.n == TAP_RECORD_MAX)
		return;
	r = &tr.recs[tr.n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->type, sizeof(r->type), "%s", type);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ifindex = ifindex;
	r->brought_up = brought_up;
	tr_save();
}

void
tap_record_del(const char *name, unsigned ifindex)
{
	if (tr.path == NULL)
		return;
	for (unsigned i = 0; i < tr.n; i++) {
		/* A port replacing a gone one has listed its own device. */
		if (strcmp(tr.recs[i].name, name) != 0 ||
		    (ifindex != 0 && tr.recs[i].ifindex != ifindex))
			continue;
		tr.recs[i] = tr.recs[--tr.n];
		tr_save();
		return;
	}
}
