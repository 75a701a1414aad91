/*
 * port-vhost.h - the "vhost-user" port type: a VM's virtio-net device
 * served over vhost-user, frames moved in the guest's own memory
 * (port-vhost.c).
 */
#ifndef PORT_VHOST_H
#define PORT_VHOST_H

#include "port.h"

extern const struct port_ops port_vhost_ops;

#endif
