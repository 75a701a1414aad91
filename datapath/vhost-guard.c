/*
 * vhost-guard.c - SIGBUS in guest memory a front-end shrank
 * (vhost-guard.h).
 */
#include <sys/mman.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "vhost-guard.h"

struct vhost_guarded {
	void * volatile		 addr;		/* NULL: a free slot */
	volatile size_t		 len;
	volatile sig_atomic_t	 lost;
};

static struct vhost_guarded	guarded[VHOST_GUARD_MAX];
static struct sigaction		previous;
static volatile sig_atomic_t	losses;

/*
 * Hands a SIGBUS that is not ours to whoever had it before.  A handler is
 * called; the default is put back, and a sent signal (not a fault, which
 * recurs on return) raised again to take its course once we return.  Our
 * handler stays for every other case, so a stray signal costs no guard.
 */
static void
vhost_guard_pass(int sig, siginfo_t *si, void *uc)
{
	if ((previous.sa_flags & SA_SIGINFO) &&
	    previous.sa_sigaction != NULL) {
		previous.sa_sigaction(sig, si, uc);
		return;
	}
	if (previous.sa_handler == SIG_IGN)
		return;
	if (previous.sa_handler != SIG_DFL) {
		previous.sa_handler(sig);
		return;
	}
	signal(SIGBUS, SIG_DFL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

static void
vhost_guard_sigbus(int sig, siginfo_t *si, void *uc)
{
	const uintptr_t	a = (uintptr_t)si->si_addr;
	const int	saved = errno;

	/* Only the kernel's own fault report names a true address. */
	for (unsigned i = 0; si->si_code > 0 && i < VHOST_GUARD_MAX; i++) {
		struct vhost_guarded	*g = &guarded[i];
		const uintptr_t		 base = (uintptr_t)g->addr;

		if (base == 0 || a < base || a - base >= g->len)
			continue;
		if (mmap(g->addr, g->len, PROT_READ | PROT_WRITE, MAP_FIXED |
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) ==
		    MAP_FAILED)
			break;
		g->lost = 1;
		losses++;
		errno = saved;
		return;		/* the access is retried on zero pages */
	}
	vhost_guard_pass(sig, si, uc);
	errno = saved;
}

unsigned
vhost_guard_losses(void)
{
	return (unsigned)losses;
}

/* Installed again if something put its own handler in place since. */
static int
vhost_guard_install(void)
{
	struct sigaction	sa;

	if (sigaction(SIGBUS, NULL, &sa) == -1)
		return errno;
	if ((sa.sa_flags & SA_SIGINFO) && sa.sa_sigaction == vhost_guard_sigbus)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vhost_guard_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) == -1)
		return errno;
	return 0;
}

int
vhost_guard_add(void *addr, size_t len)
{
	int	error;

	if ((error = vhost_guard_install()) != 0)
		return error;
	for (unsigned i = 0; i < VHOST_GUARD_MAX; i++) {
		if (guarded[i].addr != NULL)
			continue;
		guarded[i].len = len;
		guarded[i].lost = 0;
		/* The handler sees the slot whole or not at all. */
		atomic_signal_fence(memory_order_seq_cst);
		guarded[i].addr = addr;
		return 0;
	}
	return ENOSPC;
}

void
vhost_guard_del(void *addr)
{
	for (unsigned i = 0; i < VHOST_GUARD_MAX; i++)
		if (guarded[i].addr == addr)
			guarded[i].addr = NULL;
}

bool
vhost_guard_lost(const void *addr)
{
	for (unsigned i = 0; i < VHOST_GUARD_MAX; i++)
		if (guarded[i].addr == addr)
			return guarded[i].lost != 0;
	return false;
}
