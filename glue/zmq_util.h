/*
 * zmq_util.h: ZeroMQ socket settings every Strata socket needs.
 *
 * Frames come from peers that may be hostile, so each socket refuses
 * messages larger than SMR_FRAME_BYTES_MAX before they are buffered
 * (ZMQ_MAXMSGSIZE; ARCHITECTURE.md "Wire format"), and closing a socket
 * never blocks on unsent messages (ZMQ_LINGER 0).
 */
#ifndef STRATA_GLUE_ZMQ_UTIL_H
#define STRATA_GLUE_ZMQ_UTIL_H

#include "smr.h"

/* Sets ZMQ_MAXMSGSIZE = SMR_FRAME_BYTES_MAX and ZMQ_LINGER = 0 on `sock`
 * (a borrowed zmq socket; call before connect/bind). SMR_OK, or SMR_EIO
 * when zmq refuses an option (errno is left as zmq set it). */
int glue_zsock_harden(void *sock);

#endif
