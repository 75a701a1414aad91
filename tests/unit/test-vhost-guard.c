/*
 * test-vhost-guard.c - the SIGBUS guard of guest memory: a shrunk file
 * costs the mapping, not the daemon; a signal that is not the kernel's
 * fault report goes where it went before and leaves the guard in place.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "datapath/vhost-guard.h"

#define GUARD_LEN	(2 * 4096)

static volatile sig_atomic_t	earlier_calls, jump_armed;
static sigjmp_buf		earlier_jump;

/* The handler that was there before the guard: it counts, may jump out. */
static void
earlier_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	earlier_calls++;
	if (jump_armed) {
		jump_armed = 0;
		siglongjmp(earlier_jump, 1);
	}
}

/* The earlier handler in place (cmocka puts its own before each test). */
static void
earlier_install(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = earlier_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, NULL), 0);
}

static uint8_t *
map_memfd(int *fdp)
{
	uint8_t	*a;
	int	 fd;

	assert_true((fd = memfd_create("guard", MFD_CLOEXEC)) != -1);
	assert_int_equal(ftruncate(fd, GUARD_LEN), 0);
	a = mmap(NULL, GUARD_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(a != MAP_FAILED);
	*fdp = fd;
	return a;
}

/* A SIGBUS sent with a forged address inside a guarded mapping. */
static void
send_forged(void *addr)
{
	siginfo_t	si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_addr = addr;
	assert_int_equal(syscall(SYS_rt_tgsigqueueinfo, getpid(),
	    (pid_t)syscall(SYS_gettid), SIGBUS, &si), 0);
}

static void
test_a_sent_signal_is_not_a_fault(void **state)
{
	uint8_t		*a;
	unsigned	 losses;
	int		 fd;

	(void)state;
	earlier_install();
	earlier_calls = 0;

	a = map_memfd(&fd);
	a[100] = 7;
	assert_int_equal(vhost_guard_add(a, GUARD_LEN), 0);
	losses = vhost_guard_losses();

	/* Its address is not believed: the earlier handler gets it. */
	send_forged(a + 100);
	assert_int_equal(earlier_calls, 1);
	assert_false(vhost_guard_lost(a));
	assert_int_equal(a[100], 7);
	assert_int_equal(vhost_guard_losses(), losses);

	/* And the guard is still there for a true fault. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(a[4096 + 1], 0);
	assert_true(vhost_guard_lost(a));
	assert_int_equal(vhost_guard_losses(), losses + 1);
	assert_int_equal(earlier_calls, 1);
	/* Writes go to the zero pages now, not to the file. */
	a[1] = 9;
	assert_int_equal(a[1], 9);

	vhost_guard_del(a);
	assert_false(vhost_guard_lost(a));
	munmap(a, GUARD_LEN);
	close(fd);
}

static void
test_a_fault_elsewhere_is_not_ours(void **state)
{
	uint8_t			*a, *b;
	volatile uint8_t	 seen = 1;
	int			 fa, fb;
	unsigned		 losses;

	(void)state;
	earlier_install();
	earlier_calls = 0;
	a = map_memfd(&fa);
	b = map_memfd(&fb);
	assert_int_equal(vhost_guard_add(a, GUARD_LEN), 0);
	losses = vhost_guard_losses();
	/* b shrinks, unguarded: its fault reaches the earlier handler. */
	assert_int_equal(ftruncate(fb, 0), 0);
	if (sigsetjmp(earlier_jump, 1) == 0) {
		jump_armed = 1;
		seen = ((volatile uint8_t *)b)[10];
	}
	jump_armed = 0;
	assert_int_equal(seen, 1);
	assert_int_equal(earlier_calls, 1);
	assert_false(vhost_guard_lost(a));
	assert_int_equal(vhost_guard_losses(), losses);
	/* Still guarded: a's own fault is caught. */
	assert_int_equal(ftruncate(fa, 0), 0);
	assert_int_equal(a[10], 0);
	assert_true(vhost_guard_lost(a));
	assert_int_equal(earlier_calls, 1);
	vhost_guard_del(a);
	munmap(a, GUARD_LEN);
	munmap(b, GUARD_LEN);
	close(fa);
	close(fb);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_a_sent_signal_is_not_a_fault),
		cmocka_unit_test(test_a_fault_elsewhere_is_not_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
