/*
 * xmalloc.h - allocation for the control plane, after tmux's xmalloc.c.
 *
 * The daemon's control plane has one answer to running out of memory: log
 * it and exit (fatal()), so no caller carries a failure path that is never
 * taken.  The packet path allocates nothing per packet and the datapath
 * returns ENOMEM where it allocates; jansson allocates through xmalloc()
 * too (xmalloc_init()), so a NULL from json_*() means a bad value, not a
 * full heap.
 */
#ifndef VSW_XMALLOC_H
#define VSW_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t nmemb, size_t size);
char	*xstrdup(const char *);
/* Hands jansson xmalloc() and free(). */
void	 xmalloc_init(void);

#endif
