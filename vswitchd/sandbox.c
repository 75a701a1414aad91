/*
 * sandbox.c - the daemon's seccomp filter; see sandbox.h.
 *
 * The list is written from what the running daemon does, grouped by why:
 * the event loop, packet and control I/O, ports (taps, tuns, packet and
 * netlink sockets, ioctls by request), captures (a writer thread), config
 * saves, logging and sd_notify.  Arguments are checked where that closes
 * something real: socket() only for the five families the daemon uses,
 * ioctl() only for the requests its ports make, clone() only for threads,
 * kill()/tgkill() only on itself, prlimit64() only to read.  clone3()
 * answers ENOSYS (its flags are behind a pointer the filter cannot read) so
 * that glibc falls back to clone(), whose flags it can.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/*
 * What a call outside the list gets.  Building with -DSANDBOX_AUDIT makes
 * the filter only log such calls to the kernel log (audit type 1326) and
 * let them through, so that one run of the test suite lists every missing
 * one; never for a real build.
 */
#ifdef SANDBOX_AUDIT
#define SANDBOX_DEFAULT	SCMP_ACT_LOG
#else
#define SANDBOX_DEFAULT	SCMP_ACT_TRAP
#endif

/* Allowed whatever their arguments. */
static const char *const allowed[] = {
	/* memory, threads, the C library */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex",
	"set_robust_list", "get_robust_list", "rseq", "sched_yield",
	"sched_getaffinity", "getrandom", "exit", "exit_group",
	"restart_syscall", "uname", "sysinfo",
	/* libsodium's locked memory for keys (sodium_malloc, sodium_mlock) */
	"mlock", "munlock",
	/* time: the loop's timeouts, ageing, the capture clock */
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	"clock_nanosleep", "nanosleep", "timerfd_create", "timerfd_settime",
	"timerfd_gettime",
	/* signals: libevent's signal events, the SIGSYS report itself */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"getpid", "gettid", "getppid",
	/* the event loop */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select", "pselect6",
	"eventfd", "eventfd2", "pipe", "pipe2",
	/* descriptors: packets, control requests, captures, files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "pwritev2", "lseek", "close", "dup", "dup2", "dup3", "fcntl",
	"fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs",
	"ftruncate", "fsync", "fdatasync",
	/* sockets (socket() itself is checked below) */
	"socketpair", "bind", "connect", "listen", "accept", "accept4",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	"shutdown",
	/*
	 * Files: /dev/net/tun, config saves (a temporary file, fchmod, fsync
	 * of it and of its directory, rename), stream port sockets (unlink of
	 * a stale one, chmod/chown to a group), NSS reading /etc/group.
	 */
	"open", "openat", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "chmod", "fchmod", "fchmodat", "chown", "fchown",
	"lchown", "fchownat", "umask", "access", "faccessat", "faccessat2",
	/* detaching: chdir("/") once the filter is on */
	"chdir",
	/* who the daemon and its clients are */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups",
};

/* What the sanitizer runtime needs to report (see sandbox.h). */
static const char *const allowed_sanitizer[] = {
	"clone", "ptrace", "wait4", "waitid", "prctl", "setrlimit",
	"getrlimit", "prlimit64", "process_vm_readv", "mincore", "kill",
	"tgkill", "tkill", "sched_getparam", "sched_getscheduler",
	"readlink", "readlinkat", "getdents", "getdents64",
};

static const int families[] = {
	AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET,
};

/*
 * The requests the ports make (port-tap.c, port-system.c, if_nametoindex()
 * and friends), and isatty() from stdio on stderr.
 */
static const unsigned long ioctls[] = {
	TUNSETIFF, TUNGETIFF, TUNSETPERSIST, TUNSETOFFLOAD, TUNSETVNETHDRSZ,
	TUNGETVNETHDRSZ, TUNGETFEATURES, TUNSETOWNER, TUNSETGROUP,
	TUNSETQUEUE,
	SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFMTU, SIOCSIFMTU, SIOCGIFTXQLEN,
	SIOCSIFTXQLEN, SIOCGIFHWADDR, SIOCSIFHWADDR, SIOCGIFINDEX,
	SIOCGIFNAME, SIOCETHTOOL, SIOCGIFADDR,
	FIONREAD, FIONBIO, SIOCOUTQ, TCGETS, TIOCGWINSZ,
};

/*
 * Names for the report, resolved before the filter is on: the handler
 * cannot call into libseccomp (it allocates).
 */
#define SANDBOX_NAMES	512
static char	names[SANDBOX_NAMES][24];

static size_t
put_str(char *buf, size_t off, size_t len, const char *s)
{
	while (*s != '\0' && off + 1 < len)
		buf[off++] = *s++;
	return off;
}

static size_t
put_num(char *buf, size_t off, size_t len, unsigned long v, unsigned base)
{
	char	tmp[24];
	size_t	n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0 && n < sizeof(tmp));
	if (base == 16)
		off = put_str(buf, off, len, "0x");
	while (n > 0 && off + 1 < len)
		buf[off++] = tmp[--n];
	return off;
}

/* Async-signal-safe: formats by hand and write(2)s once. */
static void
sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	const ucontext_t	*uc = uctx;
	unsigned long		 args[3] = { 0, 0, 0 };
	char			 buf[256];
	size_t			 off = 0;
	int			 nr = si->si_syscall;

	(void)sig;
#if defined(__x86_64__)
	args[0] = (unsigned long)uc->uc_mcontext.gregs[REG_RDI];
	args[1] = (unsigned long)uc->uc_mcontext.gregs[REG_RSI];
	args[2] = (unsigned long)uc->uc_mcontext.gregs[REG_RDX];
#elif defined(__aarch64__)
	args[0] = uc->uc_mcontext.regs[0];
	args[1] = uc->uc_mcontext.regs[1];
	args[2] = uc->uc_mcontext.regs[2];
#else
	(void)uc;
#endif
	off = put_str(buf, off, sizeof(buf), "vswitchd: seccomp: syscall ");
	off = put_num(buf, off, sizeof(buf), (unsigned long)nr, 10);
	off = put_str(buf, off, sizeof(buf), " (");
	off = put_str(buf, off, sizeof(buf), nr >= 0 && nr < SANDBOX_NAMES &&
	    names[nr][0] != '\0' ? names[nr] : "?");
	off = put_str(buf, off, sizeof(buf), ") not allowed, args ");
	for (int i = 0; i < 3; i++) {
		off = put_num(buf, off, sizeof(buf), args[i], 16);
		off = put_str(buf, off, sizeof(buf), i < 2 ? " " : "\n");
	}
	if (write(STDERR_FILENO, buf, off) == -1) {
		/* nowhere else to say it; the abort still shows */
	}
	abort();
}

static void
names_init(void)
{
	char	*n;

	for (int i = 0; i < SANDBOX_NAMES; i++) {
		n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
		if (n != NULL) {
			snprintf(names[i], sizeof(names[i]), "%s", n);
			free(n);
		}
	}
}

/*
 * Adds one rule by name.  A name this architecture does not have (open on
 * arm64) is skipped; any other failure is returned.
 */
static int
rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned nargs,
    const struct scmp_arg_cmp *arg, char *err, size_t errlen)
{
	int	nr, rc;

	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return 0;
	if (nargs == 0)
		rc = seccomp_rule_add(ctx, action, nr, 0);
	else
		rc = seccomp_rule_add_array(ctx, action, nr, nargs, arg);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp: cannot allow %s: %s", name,
		    strerror(-rc));
		return -rc;
	}
	return 0;
}

/* SCMP_A0() and friends leave datum_b out, which clang warns about. */
static struct scmp_arg_cmp
cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a,
	    .datum_b = b };
}

static int
rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const scmp_datum_t	 self = (scmp_datum_t)getpid();
	struct scmp_arg_cmp	 a;
	int			 error;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if ((error = rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL,
		    err, errlen)) != 0)
			return error;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		a = cmp(0, SCMP_CMP_EQ, (scmp_datum_t)families[i], 0);
		if ((error = rule(ctx, SCMP_ACT_ALLOW, "socket", 1, &a, err,
		    errlen)) != 0)
			return error;
	}
	/* The kernel reads the request as an unsigned int. */
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		a = cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    (scmp_datum_t)(ioctls[i] & 0xffffffffu));
		if ((error = rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &a, err,
		    errlen)) != 0)
			return error;
	}
	if ((error = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err,
	    errlen)) != 0)
		return error;
	if (SANDBOX_SANITIZER) {
		for (size_t i = 0; i < sizeof(allowed_sanitizer) /
		    sizeof(allowed_sanitizer[0]); i++)
			if ((error = rule(ctx, SCMP_ACT_ALLOW,
			    allowed_sanitizer[i], 0, NULL, err, errlen)) != 0)
				return error;
		if ((error = rule(ctx, SCMP_ACT_ERRNO(EPERM), "execve", 0,
		    NULL, err, errlen)) != 0)
			return error;
		return 0;
	}
	/* A thread, never a new process (capture writers are threads). */
	a = cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	if ((error = rule(ctx, SCMP_ACT_ALLOW, "clone", 1, &a, err,
	    errlen)) != 0)
		return error;
	/* abort() after a report, raise(): the process itself only. */
	a = cmp(0, SCMP_CMP_EQ, self, 0);
	if ((error = rule(ctx, SCMP_ACT_ALLOW, "kill", 1, &a, err,
	    errlen)) != 0 ||
	    (error = rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &a, err,
	    errlen)) != 0)
		return error;
	/* sysconf() reads limits; setting them is start-up's business. */
	a = cmp(2, SCMP_CMP_EQ, 0, 0);
	if ((error = rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &a, err,
	    errlen)) != 0 ||
	    (error = rule(ctx, SCMP_ACT_ALLOW, "getrlimit", 0, NULL, err,
	    errlen)) != 0)
		return error;
	return 0;
}

int
sandbox_enter(char *err, size_t errlen)
{
	struct sigaction	 sa;
	scmp_filter_ctx		 ctx;
	int			 error, rc;

	names_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		error = errno;
		snprintf(err, errlen, "seccomp: SIGSYS handler: %s",
		    strerror(error));
		return error;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		error = errno;
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(error));
		return error;
	}
	if ((ctx = seccomp_init(SANDBOX_DEFAULT)) == NULL) {
		snprintf(err, errlen, "seccomp: cannot create a filter");
		return ENOMEM;
	}
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		error = -rc;
		snprintf(err, errlen, "seccomp: thread sync: %s",
		    strerror(error));
		goto free_ctx;
	}
	/*
	 * The kernel logs each refusal too (audit type 1326): detached, the
	 * report on stderr goes nowhere.  Older kernels lack it; no matter.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if ((error = rules(ctx, err, errlen)) != 0)
		goto free_ctx;
	if ((rc = seccomp_load(ctx)) < 0) {
		error = -rc;
		snprintf(err, errlen, "seccomp: cannot load the filter: %s",
		    strerror(error));
		goto free_ctx;
	}
	error = 0;
free_ctx:
	seccomp_release(ctx);
	return error;
}
