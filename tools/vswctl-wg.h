/*
 * vswctl-wg.h - "vswctl wireguard genkey" and "pubkey": keys made and
 * read here, without the daemon, in the wg tool's format (tunnel/wg-key.h),
 * so that `vswctl wireguard genkey | wg pubkey` and the other way round
 * agree byte for byte.
 */
#ifndef VSWCTL_WG_H
#define VSWCTL_WG_H

#include <stdbool.h>

/* Whether argv names one of these commands (exact words, as wg's). */
bool	vswctl_wg_is_local(int argc, char **argv);
/* Runs it: the exit status; messages go to stderr. */
int	vswctl_wg_run(int argc, char **argv);

#endif
