/*
 * port-tap.h - the "tap" (L2) and "tun" (L3) port types: a Linux tap or tun
 * device, read and written through its fd (port-tap.c).
 */
#ifndef PORT_TAP_H
#define PORT_TAP_H

#include "port.h"

extern const struct port_ops port_tap_ops;
extern const struct port_ops port_tun_ops;

#endif
