/*
 * zmq_util.c: socket hardening (see zmq_util.h). The wire code itself stays
 * free of zmq.h; this is where the socket options live.
 */
#include "zmq_util.h"

#include <zmq.h>

int glue_zsock_harden(void *sock)
{
    int64_t max_bytes = SMR_FRAME_BYTES_MAX;
    int linger_ms = 0;
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes))
        return SMR_EIO;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger_ms, sizeof linger_ms))
        return SMR_EIO;
    return SMR_OK;
}
