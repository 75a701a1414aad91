/*
 * sandbox.h - the seccomp filter the running daemon lives in (libseccomp).
 *
 * Once started (config run, privileges dropped), the daemon only moves
 * packets, answers its control socket, creates and removes ports, writes
 * captures and saves its config.  sandbox_enter() lets it make exactly the
 * system calls those need and nothing else: no execve, no mount, no ptrace,
 * no module loading, no new kind of socket.  A system call outside the list
 * raises SIGSYS; the handler writes "vswitchd: seccomp: syscall N (NAME) not
 * allowed ..." to stderr and aborts, so that a call the list forgot fails a
 * test (tests/vswlab.py looks for that line like for a sanitizer report)
 * instead of failing silently in production.  The kernel also logs each
 * refusal (audit type 1326, in dmesg or the audit log): once the daemon has
 * detached its stderr is /dev/null, and a capture writer thread, which
 * blocks every signal, is killed by SIGSYS without a report.
 *
 * Sanitizer builds also allow what the ASan/LSan runtime needs when it
 * reports: the leak checker's tracer (clone without CLONE_THREAD, ptrace,
 * wait4, prctl); their symbolizer's execve fails with EPERM instead of
 * trapping, so the report is printed with the frames libbacktrace resolves.
 */
#ifndef VSW_SANDBOX_H
#define VSW_SANDBOX_H

#include <stddef.h>

/*
 * Sets PR_SET_NO_NEW_PRIVS and loads the filter on every thread of the
 * process.  Also used by the unit test on a forked child.  0, or an errno
 * with a message in err.
 */
int	sandbox_enter(char *err, size_t errlen);

#endif
