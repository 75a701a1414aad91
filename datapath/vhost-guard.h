/*
 * vhost-guard.h - guest memory that its front-end may shrink under us.
 *
 * A region of guest memory is a MAP_SHARED mapping of the front-end's
 * file.  If the file shrinks after it was mapped (ftruncate), touching
 * the pages past its new end raises SIGBUS, which would kill the daemon.
 * QEMU's memory-backend-memfd seals its memfd against shrinking
 * (F_SEAL_SHRINK, seal=on by default), and such a region needs nothing.
 * Other files cannot be sealed (memory-backend-file on /dev/shm or
 * hugetlbfs) or are not (DPDK's --no-huge memfd): their mappings are
 * registered here, and so is every other region (a sealed hugetlbfs file
 * still faults when a hole punched in it finds the page pool empty).  A
 * SIGBUS inside a registered mapping replaces the
 * whole mapping with anonymous zero pages (MAP_FIXED) and marks it lost,
 * and the faulting access is retried on them: it reads zeros, its writes
 * go nowhere, and the owner stops the rings on it when it next looks
 * (vhost_guard_lost()).  This costs nothing per packet, unlike a
 * sigsetjmp() around each access.  A SIGBUS anywhere else, or one sent
 * rather than raised by a fault (its address is not to be believed), goes
 * to the handler that was there before (the default: the process dies).
 *
 * The daemon is single-threaded: mappings are added and removed only
 * between accesses to guest memory, never under the handler.
 */
#ifndef VHOST_GUARD_H
#define VHOST_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Mappings watched at once, over every port. */
#define VHOST_GUARD_MAX	1024

/* Watches [addr, addr + len): 0, or ENOSPC or the sigaction errno. */
int	vhost_guard_add(void *addr, size_t len);
/* Stops watching the mapping at addr (before it is unmapped). */
void	vhost_guard_del(void *addr);
/* Whether the mapping at addr faulted and is now zero pages. */
bool	vhost_guard_lost(const void *addr);
/* Mappings lost so far: a cheap test, per batch, for news. */
unsigned vhost_guard_losses(void);

#endif
