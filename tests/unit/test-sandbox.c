/*
 * test-sandbox.c - the daemon's seccomp filter (vswitchd/sandbox.c), in a
 * forked child each time, since a filter cannot be taken off again.
 *
 *   test --fork--> child: sandbox_enter(); one system call; _exit(code)
 *                  stderr -> pipe -> test (the SIGSYS report)
 *
 * What the running daemon needs goes through; what it never needs (chroot,
 * execve, a Bluetooth socket) stops the child with the report naming the
 * call, as a test running the daemon would see it in the daemon's log.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vswitchd/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER 1
#endif
#endif
#ifndef SANITIZER
#define SANITIZER 0
#endif

enum { OK = 0, CALL_FAILED = 10, NOT_ENTERED = 11, NO_NNP = 12 };

struct outcome {
	int	status;		/* from waitpid() */
	char	err[1024];	/* what the child wrote on stderr */
};

static bool
no_new_privs(void)
{
	char	line[128];
	FILE	*f;
	bool	 set = false;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strcmp(line, "NoNewPrivs:\t1\n") == 0)
			set = true;
	fclose(f);
	return set;
}

/* Runs call() in a sandboxed child. */
static void
run(int (*call)(void), struct outcome *o)
{
	char	msg[256];
	ssize_t	n;
	size_t	off = 0;
	pid_t	pid;
	int	p[2];

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		if (sandbox_enter(msg, sizeof(msg)) != 0) {
			dprintf(STDERR_FILENO, "%s\n", msg);
			_exit(NOT_ENTERED);
		}
		/* prctl() itself is not allowed any more. */
		if (!no_new_privs())
			_exit(NO_NNP);
		_exit(call());
	}
	close(p[1]);
	while ((n = read(p[0], o->err + off, sizeof(o->err) - 1 - off)) > 0)
		off += (size_t)n;
	o->err[off] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static void
assert_exits(const struct outcome *o, int code)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != code)
		fail_msg("child: status %#x, wanted exit %d; stderr: %s",
		    o->status, code, o->err);
}

/* Stopped: SIGABRT from the SIGSYS handler, and the report names it. */
static void
assert_stopped(const struct outcome *o, const char *name)
{
	char	want[64];

	snprintf(want, sizeof(want), "(%s) not allowed", name);
	if (!WIFSIGNALED(o->status) || WTERMSIG(o->status) != SIGABRT)
		fail_msg("child: status %#x, wanted SIGABRT; stderr: %s",
		    o->status, o->err);
	if (strstr(o->err, "vswitchd: seccomp: syscall ") == NULL ||
	    strstr(o->err, want) == NULL)
		fail_msg("no report naming %s: '%s'", name, o->err);
}

static int
call_allowed(void)
{
	int	fd[2], s;

	/* The loop's kind of calls, a control socket, a packet socket. */
	if (getpid() <= 0 || pipe2(fd, 0) != 0)
		return CALL_FAILED;
	close(fd[0]);
	close(fd[1]);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return CALL_FAILED;
	close(s);
	if ((s = socket(AF_INET6, SOCK_DGRAM, 0)) == -1)
		return CALL_FAILED;
	close(s);
	return OK;
}

static int
call_chroot(void)
{
	return syscall(SYS_chroot, "/") == 0 ? OK : CALL_FAILED;
}

static int
call_execve(void)
{
	char *const	argv[] = { (char *)"true", NULL };

	execve("/bin/true", argv, NULL);
	return errno == EPERM ? CALL_FAILED : OK;
}

static int
call_bluetooth(void)
{
	/* AF_BLUETOOTH is 31: not among the five families allowed. */
	int	s = socket(31, SOCK_STREAM, 0);

	if (s != -1)
		close(s);
	return OK;
}

static void
test_allows_what_the_daemon_does(void **state)
{
	struct outcome	o;

	(void)state;
	run(call_allowed, &o);
	assert_exits(&o, OK);
}

static void
test_stops_chroot(void **state)
{
	struct outcome	o;

	(void)state;
	run(call_chroot, &o);
	assert_stopped(&o, "chroot");
}

static void
test_stops_execve(void **state)
{
	struct outcome	o;

	(void)state;
	run(call_execve, &o);
	/*
	 * The sanitizer builds let execve fail with EPERM (their symbolizer
	 * would try it at report time); it still runs nothing.
	 */
	if (SANITIZER)
		assert_exits(&o, CALL_FAILED);
	else
		assert_stopped(&o, "execve");
}

static void
test_stops_other_socket_families(void **state)
{
	struct outcome	o;

	(void)state;
	run(call_bluetooth, &o);
	assert_stopped(&o, "socket");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allows_what_the_daemon_does),
		cmocka_unit_test(test_stops_chroot),
		cmocka_unit_test(test_stops_execve),
		cmocka_unit_test(test_stops_other_socket_families),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
