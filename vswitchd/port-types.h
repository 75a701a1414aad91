/*
 * port-types.h - every port type the daemon offers, registered at start-up.
 */
#ifndef VSW_PORT_TYPES_H
#define VSW_PORT_TYPES_H

/* Registers them all (once; again does nothing): 0 or an errno. */
int	port_types_init(void);

#endif
