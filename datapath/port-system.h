/*
 * port-system.h - the "system" port type: an existing Linux network device
 * (a tap QEMU or libvirt holds, a veth end, a NIC) attached on its kernel
 * side through an AF_PACKET socket (port-system.c).
 */
#ifndef PORT_SYSTEM_H
#define PORT_SYSTEM_H

#include "port.h"

extern const struct port_ops port_system_ops;

#endif
