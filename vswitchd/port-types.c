/*
 * port-types.c - the one list of port types: a new type is one line here.
 *
 * The order is the one "unknown port type" messages list them in.
 */
#include "datapath/port-dummy.h"
#include "datapath/port-system.h"
#include "datapath/port-stream.h"
#include "datapath/port-tap.h"
#include "datapath/port-vhost.h"
#include "tunnel/port-tunnel.h"
#include "tunnel/port-wg.h"

#include "port-types.h"

int
port_types_init(void)
{
	int	error;

	if ((error = port_type_register(&port_tap_ops)) != 0 ||
	    (error = port_type_register(&port_tun_ops)) != 0 ||
	    (error = port_type_register(&port_system_ops)) != 0 ||
	    (error = port_type_register(&port_dummy_ops)) != 0 ||
	    (error = port_type_register(&port_dummy_l3_ops)) != 0 ||
	    (error = port_type_register(&port_stream_ops)) != 0 ||
	    (error = port_type_register(&port_vhost_ops)) != 0 ||
	    (error = tnl_types_register()) != 0 ||
	    (error = wg_types_register()) != 0)
		return error;
	return 0;
}
