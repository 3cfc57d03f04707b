/*
 * client.h: the Strata client library (what the CLI uses; link
 * strata_glue to use it in your own program).
 *
 * A client holds one ZeroMQ DEALER socket per replica. It submits each
 * command to the replica it believes leads, follows NOT_LEADER hints, and on
 * a timeout retries with the SAME request id at the next replica, so the
 * replicated session table answers a retry instead of applying it twice.
 *
 * When the config's protocol tolerates Byzantine faults (PBFT), the client
 * reads its credential from the key directory (keys.h), draws its ids from
 * the credential's block, sends requests with its MAC vector (a session's
 * first request to every replica, so each knows where to reply; later ones
 * to the primary, and again to every replica on a timeout, TOCS §4.1),
 * and accepts a result only when f+1 distinct replicas return the same
 * result (the seq it reports is the last of them's); when the replies can
 * no longer reach f+1 it reports SMR_EDISAGREE instead of guessing
 * (reply_quorum.h).
 * A client has one request outstanding at a time (closed loop); run several
 * clients for concurrency. Not thread-safe: one client per thread.
 */
#ifndef STRATA_GLUE_CLIENT_H
#define STRATA_GLUE_CLIENT_H

#include "config.h"
#include "smr.h"
#include "wire.h"

struct glue_client;

/* Connects to every replica of `cfg` (borrowed). `zmq_context` may be NULL
 * (the client makes its own). The client id is random. */
int glue_client_new(const struct glue_config *cfg, void *zmq_context,
                    struct glue_client **out);
void glue_client_destroy(struct glue_client **c);

smr_client_id glue_client_id(const struct glue_client *c);

/* Submits `op` and waits for its reply, retrying as described above until
 * `timeout_ms` passes. On SMR_OK, `result` holds the app's reply bytes and
 * *seq (may be NULL) the log position that executed it. SMR_ETIMEOUT when no
 * replica answered in time (the command may or may not have executed);
 * SMR_EDISAGREE when Byzantine replicas' replies disagree (see above);
 * SMR_EREFUSED when a replica refused it (glue_client_error says why). */
int glue_client_call(struct glue_client *c, const uint8_t *op,
                     uint32_t op_len, uint64_t timeout_ms,
                     struct smr_buf *result, smr_seq *seq);

/* Like glue_client_new_sessions, with a sentence in `err` on failure (a
 * PBFT config whose key files cannot be read, say). */
int glue_client_open(const struct glue_config *cfg, void *zmq_context,
                     uint32_t sessions, struct glue_client **out, char *err,
                     size_t err_len);

/* Sessions: a client may carry many independent sessions (each its own
 * client id and request ids, one request outstanding) over the same
 * sockets, as a load generator multiplexes many logical clients over a few
 * connections. glue_client_new makes one session (number 0). */
int glue_client_new_sessions(const struct glue_config *cfg, void *zmq_context,
                             uint32_t sessions, struct glue_client **out);

/* Asynchronous form: submit on a session, then call glue_client_poll
 * whenever a socket is readable (or every few milliseconds, for retries).
 * SMR_EFULL when the session already has a request outstanding. */
int glue_client_submit(struct glue_client *c, uint32_t session,
                       const uint8_t *op, uint32_t op_len);

/* Gives up on the session's outstanding request (no-op when there is
 * none): the client stops retrying it and ignores any late reply to it, so
 * the session may submit a new request at once. The abandoned request may
 * still execute, now or later (a replica may already hold it): treat its
 * outcome as unknown. SMR_EINVAL for a session out of range. */
int glue_client_abandon(struct glue_client *c, uint32_t session);

/* Called by glue_client_poll for each completed request; `result` is
 * borrowed for the call. */
typedef void (*glue_client_done_fn)(void *arg, uint32_t session,
                                    const uint8_t *result, uint32_t len,
                                    smr_seq seq);
/* Called by glue_client_poll when a session's request failed for good
 * (SMR_EDISAGREE: the replicas' replies cannot reach f+1 matching;
 * SMR_EREFUSED: a replica answered ERROR, glue_client_error says why). The
 * session may submit again. Without one, such a request is dropped. */
typedef void (*glue_client_fail_fn)(void *arg, uint32_t session, int rc);
void glue_client_on_fail(struct glue_client *c, glue_client_fail_fn fn,
                         void *arg);
/* Handles whatever is readable and every retry that is due. */
int glue_client_poll(struct glue_client *c, uint64_t now_ms,
                     glue_client_done_fn done, void *arg);
/* The sockets to wait on (one per replica): fills up to `max` zmq poll
 * items and returns how many. */
int glue_client_pollitems(struct glue_client *c, void *items, int max);

/* The message of the last request the replicas refused (SMR_EREFUSED:
 * a reply with status ERROR, e.g. an unauthenticated request to PBFT);
 * "" when none. Valid until the next call on `c`. */
const char *glue_client_error(const struct glue_client *c);

/* Asks replica `id` for its status. SMR_ETIMEOUT when it does not answer. */
int glue_client_status(struct glue_client *c, smr_node_id id,
                       uint64_t timeout_ms, struct wire_status *out);

/* Key-value helpers over glue_client_call (app "kv"). They return:
 *   SMR_OK          success; get fills `value`
 *   SMR_ENOTFOUND   an absent key, for get and for del (`strata del` treats
 *                   that as success)
 *   SMR_ECONTRACT   cas whose expected value did not match, including a cas
 *                   on an absent key (the app never matches one)
 *   SMR_EINVAL      a command the app refused
 *   SMR_ETOOBIG     a key or value over EXE_KV_KEY_BYTES_MAX or
 *                   EXE_KV_VALUE_BYTES_MAX (nothing is sent)
 *   SMR_EMALFORMED  an empty reply
 *   or glue_client_call's error (SMR_ETIMEOUT: outcome unknown). */
int glue_kv_put(struct glue_client *c, const char *key, const void *value,
                uint32_t value_len, uint64_t timeout_ms);
int glue_kv_get(struct glue_client *c, const char *key, struct smr_buf *value,
                uint64_t timeout_ms);
int glue_kv_del(struct glue_client *c, const char *key, uint64_t timeout_ms);
int glue_kv_cas(struct glue_client *c, const char *key, const void *expect,
                uint32_t expect_len, const void *value, uint32_t value_len,
                uint64_t timeout_ms);

#endif
