/*
 * config.c: loading (libcyaml) and validation of the cluster configuration
 * (config.h).
 *
 * libcyaml checks the shape of the document: which keys exist, which are
 * required, where a mapping, a list or a single value belongs, and that no
 * key appears twice. Unknown keys are an error at every level because
 * CYAML_CFG_IGNORE_UNKNOWN_KEYS is not set; aliases are refused
 * (CYAML_CFG_NO_ALIAS), which also rules out "billion laughs" documents.
 *
 * Every scalar is loaded as a string and parsed here, strictly. libcyaml
 * 1.3's own readers are lax: as an integer "5abc" and "1.5" load as 5 and 1
 * and "-5" wraps to 2^64-5; as a boolean every word that is not a "false"
 * spelling ("n", "maybe") loads as true.
 *
 * libcyaml reports what went wrong only through its log callback, one call
 * per line: the message, "Backtrace:", then one frame per open container,
 * innermost first ("in mapping field 'x'", "in sequence entry 'N'" counted
 * from 1, "in mapping"). capture_log() keeps the last message and its frames
 * so cyaml_error() can name the field path, e.g. "replicas[1].bogus".
 */
#include "config.h"
#include "contract.h"
#include "exe.h"
#include "pbft.h"

#include <cyaml/cyaml.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#define WHY_BYTES 512
#define FIELD_BYTES 64
#define PATH_BYTES 256
#define IPC_PATH_BYTES_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

int glue_say(int rc, char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

#define REFUSE(...) return glue_say(SMR_ECONFIG, err, err_len, __VA_ARGS__)

/* ---------------------------------------------------------------- defaults */

bool glue_config_state_transfer(const struct glue_config *c)
{
    if (strcmp(c->protocol, "pbft") != 0)
        return false;
    for (uint32_t i = 0; i < c->n_replicas; i++)
        if (c->replicas[i].stream[0])
            return false;
    return true;
}

void glue_config_defaults(struct glue_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->protocol, sizeof(c->protocol), "paxos");
    snprintf(c->executor, sizeof(c->executor), "sequential");
    c->workers = 2;
    snprintf(c->app, sizeof(c->app), "kv");
    c->storage_engine = GLUE_STORAGE_ROCKSDB;
    c->storage_sync = true;
    c->election_timeout_ms = 300;
    c->heartbeat_ms = 50;
    c->batch_max = 512;
    c->batch_bytes_max = 1u << 20;
    c->window = 64;
    c->checkpoint_interval = 10000;
    c->log_retain = 10000;
    c->session_ttl_ms = 3600000;
}

const struct glue_replica_config *
glue_config_replica(const struct glue_config *c, smr_node_id id)
{
    uint32_t n = c->n_replicas < SMR_NODES_MAX ? c->n_replicas : SMR_NODES_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (c->replicas[i].id == id)
            return &c->replicas[i];
    return NULL;
}

/* ------------------------------------------------------------- validation */

static int check_tcp(const char *field, const char *ep, char *err,
                     size_t err_len)
{
    char q[64];
    const char *hostport = ep + strlen("tcp://");
    const char *colon = strrchr(hostport, ':');
    if (!colon)
        REFUSE("%s: endpoint '%s' has no port (expected tcp://host:port)",
               field, glue_quote(ep, q, sizeof(q)));
    size_t host_len = (size_t)(colon - hostport);
    if (host_len == 0)
        REFUSE("%s: endpoint '%s' has no host (expected tcp://host:port)",
               field, glue_quote(ep, q, sizeof(q)));
    if (host_len == 1 && hostport[0] == '*')
        REFUSE("%s: endpoint '%s' names every interface, but other replicas "
               "and clients connect to it: give a host name or address",
               field, glue_quote(ep, q, sizeof(q)));
    if ((hostport[0] == '[') != (hostport[host_len - 1] == ']'))
        REFUSE("%s: endpoint '%s' has an unbalanced [ ] around its IPv6 "
               "address",
               field, glue_quote(ep, q, sizeof(q)));
    const char *port = colon + 1;
    size_t port_len = strlen(port);
    unsigned long value = 0;
    bool digits = port_len > 0 && port_len <= 5;
    for (size_t i = 0; digits && i < port_len; i++) {
        digits = port[i] >= '0' && port[i] <= '9';
        value = value * 10 + (unsigned long)(port[i] - '0');
    }
    if (!digits || value == 0 || value > 65535)
        REFUSE("%s: endpoint '%s' has port '%s'; a port is a number from 1 "
               "to 65535",
               field, glue_quote(ep, q, sizeof(q)), port);
    return SMR_OK;
}

static int check_endpoint(const char *field, const char *ep, char *err,
                          size_t err_len)
{
    char q[64];
    size_t len = strnlen(ep, GLUE_ENDPOINT_BYTES_MAX);
    if (len == GLUE_ENDPOINT_BYTES_MAX)
        REFUSE("%s: endpoint does not fit in %d bytes", field,
               GLUE_ENDPOINT_BYTES_MAX - 1);
    if (len == 0)
        REFUSE("%s: endpoint is empty; expected tcp://host:port or ipc://path",
               field);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)ep[i];
        if (ch <= ' ' || ch == 0x7f)
            REFUSE("%s: endpoint '%s' contains a space or control character",
                   field, glue_quote(ep, q, sizeof(q)));
    }
    if (strncmp(ep, "tcp://", 6) == 0)
        return check_tcp(field, ep, err, err_len);
    if (strncmp(ep, "ipc://", 6) == 0) {
        size_t path_len = len - 6;
        if (path_len == 0)
            REFUSE("%s: endpoint '%s' has no path (expected ipc://path)", field,
                   ep);
        if (path_len > IPC_PATH_BYTES_MAX)
            REFUSE("%s: ipc path is %zu bytes; a Unix socket path holds at "
                   "most %zu",
                   field, path_len, (size_t)IPC_PATH_BYTES_MAX);
        return SMR_OK;
    }
    REFUSE("%s: endpoint '%s' must start with tcp:// or ipc://", field,
           glue_quote(ep, q, sizeof(q)));
}

/* Endpoint k of the config: replica k / 3's peer, client or stream (the
 * stream endpoint is optional: "" when the executor is embedded). */
#define ROLES 3
static const char *endpoint_of(const struct glue_config *c, uint32_t k)
{
    const struct glue_replica_config *r = &c->replicas[k / ROLES];
    return k % ROLES == 0 ? r->peer : k % ROLES == 1 ? r->client : r->stream;
}

static const char *role_of(uint32_t k)
{
    return k % ROLES == 0 ? "peer" : k % ROLES == 1 ? "client" : "stream";
}

/* Replica ids are 0..n-1, each once; so no id is missing either. */
static int check_replicas(const struct glue_config *c, char *err,
                          size_t err_len)
{
    uint32_t n = c->n_replicas;
    if (n == 0)
        REFUSE("replicas: the config lists no replicas; at least 1 is needed");
    if (n > SMR_NODES_MAX)
        REFUSE("replicas: %u replicas listed; at most %d are supported", n,
               SMR_NODES_MAX);
    int seen_at[SMR_NODES_MAX];
    for (uint32_t i = 0; i < SMR_NODES_MAX; i++)
        seen_at[i] = -1;
    for (uint32_t i = 0; i < n; i++) {
        smr_node_id id = c->replicas[i].id;
        if (id >= n)
            REFUSE("replicas[%u].id: %u is out of range: %u replicas take "
                   "the ids 0 to %u, each once",
                   i, id, n, n - 1);
        if (seen_at[id] >= 0)
            REFUSE("replicas[%u].id: %u is already the id of replicas[%d]; "
                   "ids must be 0 to %u, each once",
                   i, id, seen_at[id], n - 1);
        seen_at[id] = (int)i;
    }
    char field[FIELD_BYTES];
    for (uint32_t k = 0; k < ROLES * n; k++) {
        if (k % ROLES == 2 && endpoint_of(c, k)[0] == '\0')
            continue; /* no stream endpoint: the executor is embedded */
        snprintf(field, sizeof(field), "replicas[%u].%s", k / ROLES,
                 role_of(k));
        int rc = check_endpoint(field, endpoint_of(c, k), err, err_len);
        if (rc != SMR_OK)
            return rc;
    }
    for (uint32_t k = 1; k < ROLES * n; k++) {
        for (uint32_t m = 0; m < k; m++) {
            if (endpoint_of(c, k)[0] == '\0' ||
                strcmp(endpoint_of(c, k), endpoint_of(c, m)) != 0)
                continue;
            char q[64];
            REFUSE("replicas[%u].%s: endpoint '%s' is also replicas[%u].%s; "
                   "every endpoint must be distinct",
                   k / ROLES, role_of(k),
                   glue_quote(endpoint_of(c, k), q, sizeof(q)), m / ROLES,
                   role_of(m));
        }
    }
    return SMR_OK;
}

static int check_name(enum glue_module_kind kind, const char *field,
                      const char *name, size_t size, char *err, size_t err_len)
{
    if (strnlen(name, size) == size)
        REFUSE("%s: name does not fit in %zu bytes", field, size - 1);
    return glue_module_check(kind, name, err, err_len);
}

static int check_storage(const struct glue_config *c, char *err, size_t err_len)
{
    if (!glue_storage_engine_name(c->storage_engine)) {
        char number[24];
        enum glue_storage_engine ignored;
        snprintf(number, sizeof(number), "%d", (int)c->storage_engine);
        return glue_storage_engine_parse(number, &ignored, err, err_len);
    }
    size_t len = strnlen(c->storage_path, GLUE_PATH_BYTES_MAX);
    if (len == GLUE_PATH_BYTES_MAX)
        REFUSE("storage.path: does not fit in %d bytes",
               GLUE_PATH_BYTES_MAX - 1);
    if (len > GLUE_PATH_BYTES_MAX - 1 - GLUE_PATH_SUFFIX_BYTES)
        REFUSE("storage.path: %zu bytes leave no room for /replica-<id>; "
               "at most %d",
               len, GLUE_PATH_BYTES_MAX - 1 - GLUE_PATH_SUFFIX_BYTES);
    if (c->storage_engine == GLUE_STORAGE_ROCKSDB && len == 0)
        REFUSE("storage.path: required when storage.engine is rocksdb "
               "(replica i keeps its data in <path>/replica-<i>)");
    return SMR_OK;
}

static int check_timeouts(const struct glue_config *c, char *err,
                          size_t err_len)
{
    if (c->heartbeat_ms == 0)
        REFUSE("timeouts.heartbeat_ms: must be positive");
    if (c->election_timeout_ms == 0)
        REFUSE("timeouts.election_ms: must be positive");
    if (c->heartbeat_ms > GLUE_TIMEOUT_MS_MAX)
        REFUSE("timeouts.heartbeat_ms: %llu is above the limit of %u (one "
               "hour)",
               (unsigned long long)c->heartbeat_ms, GLUE_TIMEOUT_MS_MAX);
    if (c->election_timeout_ms > GLUE_TIMEOUT_MS_MAX)
        REFUSE("timeouts.election_ms: %llu is above the limit of %u (one hour)",
               (unsigned long long)c->election_timeout_ms, GLUE_TIMEOUT_MS_MAX);
    if (c->election_timeout_ms < 2 * c->heartbeat_ms)
        REFUSE("timeouts.election_ms: %llu must be at least twice "
               "timeouts.heartbeat_ms (%llu), or followers depose a live "
               "leader between two heartbeats",
               (unsigned long long)c->election_timeout_ms,
               (unsigned long long)c->heartbeat_ms);
    return SMR_OK;
}

static int check_batch(const struct glue_config *c, char *err, size_t err_len)
{
    if (c->batch_max < 1 || c->batch_max > 65536)
        REFUSE("batch.max_requests: must be 1 to 65536, got %u", c->batch_max);
    if (c->batch_bytes_max < 1024 || c->batch_bytes_max > SMR_BATCH_BYTES_MAX)
        REFUSE("batch.max_bytes: must be 1024 to %u, got %u",
               SMR_BATCH_BYTES_MAX, c->batch_bytes_max);
    if (c->window < 1 || c->window > 1024)
        REFUSE("batch.window: must be 1 to 1024, got %u", c->window);
    if (c->checkpoint_interval < 1)
        REFUSE("checkpoint_interval: must be at least 1");
    struct ord_pbft_config pk;
    ord_pbft_config_defaults(&pk);
    if (glue_config_state_transfer(c) &&
        c->checkpoint_interval % pk.checkpoint_interval != 0)
        REFUSE("checkpoint_interval: under pbft with embedded executors it "
               "must be a multiple of %u (snapshots are claimed and served "
               "at the core's checkpoints), got %llu",
               pk.checkpoint_interval,
               (unsigned long long)c->checkpoint_interval);
    if (c->stream_quorum > c->n_replicas)
        REFUSE("stream_quorum: %u is more streams than the %u replicas",
               c->stream_quorum, c->n_replicas);
    return SMR_OK;
}

/* Checked whatever the executor: a config stays valid when it switches. */
static int check_workers(const struct glue_config *c, char *err, size_t err_len)
{
    if (c->workers < 1 || c->workers > EXE_PAR_WORKERS_MAX)
        REFUSE("workers: must be 1 to %d, got %u", EXE_PAR_WORKERS_MAX,
               c->workers);
    return SMR_OK;
}

/* The key directory exists only for protocols that authenticate with keys;
 * its files are read (and refused) when a replica or client starts. */
static int check_keys(const struct glue_config *c, char *err, size_t err_len)
{
    bool keyed = strcmp(c->protocol, "pbft") == 0;
    size_t len = strnlen(c->keys_dir, sizeof(c->keys_dir));
    if (len == sizeof(c->keys_dir))
        REFUSE("keys: does not fit in %zu bytes", sizeof(c->keys_dir) - 1);
    if (keyed && len == 0 && !c->keys_mem)
        REFUSE("keys: required when protocol is %s (a directory written by "
               "`strata keygen`)",
               c->protocol);
    if (!keyed && len > 0)
        REFUSE("keys: protocol %s uses no keys; remove the field", c->protocol);
    return SMR_OK;
}

int glue_config_check(const struct glue_config *c, char *err, size_t err_len)
{
    int rc = check_replicas(c, err, err_len);
    if (rc == SMR_OK)
        rc = check_name(GLUE_MODULE_PROTOCOL, "protocol", c->protocol,
                        sizeof(c->protocol), err, err_len);
    if (rc == SMR_OK)
        rc = check_name(GLUE_MODULE_EXECUTOR, "executor", c->executor,
                        sizeof(c->executor), err, err_len);
    if (rc == SMR_OK)
        rc = check_name(GLUE_MODULE_APP, "app", c->app, sizeof(c->app), err,
                        err_len);
    if (rc == SMR_OK)
        rc = check_storage(c, err, err_len);
    if (rc == SMR_OK)
        rc = check_timeouts(c, err, err_len);
    if (rc == SMR_OK)
        rc = check_batch(c, err, err_len);
    if (rc == SMR_OK)
        rc = check_workers(c, err, err_len);
    if (rc == SMR_OK)
        rc = check_keys(c, err, err_len);
    return rc;
}

/* ------------------------------------------------------------ YAML schema */

/* Every scalar is a string (see the top of the file); NULL when absent. */
struct raw_replica {
    char *id;
    char *peer;
    char *client;
    char *stream;
};
struct raw_storage {
    char *engine;
    char *path;
    char *sync;
};
struct raw_timeouts {
    char *election_ms;
    char *heartbeat_ms;
};
struct raw_batch {
    char *max_requests;
    char *max_bytes;
    char *window;
};
struct raw_config {
    char *cluster_id;
    char *protocol;
    char *keys;
    char *executor;
    char *workers;
    char *app;
    struct raw_replica *replicas;
    unsigned replicas_count;
    struct raw_storage *storage;
    struct raw_timeouts *timeouts;
    struct raw_batch *batch;
    char *checkpoint_interval;
    char *log_retain;
    char *session_ttl_ms;
    char *stream_quorum;
};

#define REQUIRED CYAML_FLAG_DEFAULT
#define OPTIONAL CYAML_FLAG_OPTIONAL
#define TEXT(key, flags, type, member)                                         \
    CYAML_FIELD_STRING_PTR(key, flags, type, member, 0, CYAML_UNLIMITED)

static const cyaml_schema_field_t replica_fields[] = {
    TEXT("id", REQUIRED, struct raw_replica, id),
    TEXT("peer", REQUIRED, struct raw_replica, peer),
    TEXT("client", REQUIRED, struct raw_replica, client),
    TEXT("stream", OPTIONAL, struct raw_replica, stream),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t replica_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_replica, replica_fields),
};
static const cyaml_schema_field_t storage_fields[] = {
    TEXT("engine", OPTIONAL, struct raw_storage, engine),
    TEXT("path", OPTIONAL, struct raw_storage, path),
    TEXT("sync", OPTIONAL, struct raw_storage, sync),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t timeouts_fields[] = {
    TEXT("election_ms", OPTIONAL, struct raw_timeouts, election_ms),
    TEXT("heartbeat_ms", OPTIONAL, struct raw_timeouts, heartbeat_ms),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t batch_fields[] = {
    TEXT("max_requests", OPTIONAL, struct raw_batch, max_requests),
    TEXT("max_bytes", OPTIONAL, struct raw_batch, max_bytes),
    TEXT("window", OPTIONAL, struct raw_batch, window),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t top_fields[] = {
    TEXT("cluster_id", REQUIRED, struct raw_config, cluster_id),
    TEXT("protocol", OPTIONAL, struct raw_config, protocol),
    TEXT("keys", OPTIONAL, struct raw_config, keys),
    TEXT("executor", OPTIONAL, struct raw_config, executor),
    TEXT("workers", OPTIONAL, struct raw_config, workers),
    TEXT("app", OPTIONAL, struct raw_config, app),
    CYAML_FIELD_SEQUENCE("replicas", CYAML_FLAG_POINTER, struct raw_config,
                         replicas, &replica_schema, 0, SMR_NODES_MAX),
    CYAML_FIELD_MAPPING_PTR("storage", OPTIONAL, struct raw_config, storage,
                            storage_fields),
    CYAML_FIELD_MAPPING_PTR("timeouts", OPTIONAL, struct raw_config, timeouts,
                            timeouts_fields),
    CYAML_FIELD_MAPPING_PTR("batch", OPTIONAL, struct raw_config, batch,
                            batch_fields),
    TEXT("checkpoint_interval", OPTIONAL, struct raw_config,
         checkpoint_interval),
    TEXT("log_retain", OPTIONAL, struct raw_config, log_retain),
    TEXT("session_ttl_ms", OPTIONAL, struct raw_config, session_ttl_ms),
    TEXT("stream_quorum", OPTIONAL, struct raw_config, stream_quorum),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t top_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_config, top_fields),
};

/* -------------------------------------------------- libcyaml's complaints */

#define FRAMES_MAX 8

struct frame {
    enum { FRAME_MAPPING, FRAME_FIELD, FRAME_ENTRY } kind;
    char name[FIELD_BYTES]; /* FRAME_FIELD: a key of our schema */
    unsigned entry;         /* FRAME_ENTRY: counted from 1 */
    size_t line;
};

struct capture {
    char message[256];               /* the last message, without "Load: " */
    struct frame frames[FRAMES_MAX]; /* innermost first */
    unsigned n_frames;
};

static void capture_log(cyaml_log_t level, void *ctx, const char *fmt,
                        va_list args)
{
    struct capture *cap = ctx;
    char line[320];
    if (level < CYAML_LOG_ERROR)
        return;
    vsnprintf(line, sizeof(line), fmt, args);
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "  in ", 5) == 0) {
        if (cap->n_frames == FRAMES_MAX)
            return;
        struct frame *f = &cap->frames[cap->n_frames];
        size_t column;
        if (sscanf(line,
                   "  in mapping field '%63[^']' (line: %zu, column: %zu)",
                   f->name, &f->line, &column) == 3)
            f->kind = FRAME_FIELD;
        else if (sscanf(line,
                        "  in sequence entry '%u' (line: %zu, column: %zu)",
                        &f->entry, &f->line, &column) == 3)
            f->kind = FRAME_ENTRY;
        else if (sscanf(line, "  in mapping (line: %zu, column: %zu)", &f->line,
                        &column) == 2)
            f->kind = FRAME_MAPPING;
        else
            return;
        cap->n_frames++;
        return;
    }
    if (strcmp(line, "Load: Backtrace:") == 0)
        return;
    const char *text = strncmp(line, "Load: ", 6) == 0 ? line + 6 : line;
    snprintf(cap->message, sizeof(cap->message), "%.200s", text);
    cap->n_frames = 0;
}

static const cyaml_schema_field_t *find_field(const cyaml_schema_field_t *fs,
                                              const char *key)
{
    for (; fs && fs->key; fs++)
        if (strcmp(fs->key, key) == 0)
            return fs;
    return NULL;
}

/* The mapping fields a field's value holds (NULL for a scalar). */
static const cyaml_schema_field_t *fields_below(const cyaml_schema_field_t *f)
{
    if (!f)
        return NULL;
    if (f->value.type == CYAML_MAPPING)
        return f->value.mapping.fields;
    if (f->value.type == CYAML_SEQUENCE &&
        f->value.sequence.entry->type == CYAML_MAPPING)
        return f->value.sequence.entry->mapping.fields;
    return NULL;
}

static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* Builds "replicas[1].peer" from the frames, outermost first. With `key`
 * (an error about a key of the innermost mapping) the innermost mapping's
 * stale field is replaced by it. *fields ends as the keys allowed where
 * the path ends (for "unknown key" sentences). */
static void frames_path(const struct capture *cap, const char *key, char *path,
                        size_t size, const cyaml_schema_field_t **fields)
{
    const cyaml_schema_field_t *fs = top_fields;
    path[0] = '\0';
    for (unsigned i = cap->n_frames; i-- > 0;) {
        const struct frame *f = &cap->frames[i];
        if (f->kind == FRAME_ENTRY) {
            append(path, size, "[%u]", f->entry > 0 ? f->entry - 1 : 0);
            continue;
        }
        if (i == 0 && key)
            break;
        if (f->kind == FRAME_FIELD) {
            append(path, size, "%s%s", path[0] ? "." : "", f->name);
            fs = fields_below(find_field(fs, f->name));
        }
    }
    if (key) {
        char q[64];
        append(path, size, "%s%s", path[0] ? "." : "",
               glue_quote(key, q, sizeof(q)));
    }
    if (fields)
        *fields = fs;
}

static const char *shape(const char *token)
{
    static const char *const names[][2] = {
        {"STRING", "a single value"},
        {"SCALAR", "a single value"},
        {"MAPPING", "a mapping"},
        {"MAPPING_START", "a mapping"},
        {"SEQUENCE", "a list"},
        {"SEQUENCE_START", "a list"},
        {"ALIAS", "an alias"},
        {"MAPPING_END", "the end of a mapping"},
        {"SEQUENCE_END", "the end of a list"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(token, names[i][0]) == 0)
            return names[i][1];
    return token;
}

/* libcyaml's frame lines are those of the last event read, one key behind
 * an unknown or repeated key. This finds the line, from `from` on, where
 * `key` starts a block mapping entry ("key:" or "- key:"); 0 if none. */
static size_t key_line(const char *data, size_t len, size_t from,
                       const char *key)
{
    size_t key_len = strlen(key), line = 1, i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && data[end] != '\n')
            end++;
        if (line >= from) {
            size_t p = i;
            while (p < end && (data[p] == ' ' || data[p] == '-'))
                p++;
            if (end - p > key_len && memcmp(data + p, key, key_len) == 0) {
                size_t q = p + key_len;
                while (q < end && data[q] == ' ')
                    q++;
                if (q < end && data[q] == ':')
                    return line;
            }
        }
        i = end + 1;
        line++;
    }
    return 0;
}

static void unknown_key_reason(const cyaml_schema_field_t *allowed,
                               char *reason, size_t size)
{
    if (!allowed || !allowed->key) {
        snprintf(reason, size, "unknown key");
        return;
    }
    snprintf(reason, size, "unknown key (allowed here:");
    for (const cyaml_schema_field_t *f = allowed; f && f->key; f++)
        append(reason, size, "%s %s", f == allowed ? "" : ",", f->key);
    append(reason, size, ")");
}

/* Turns a libcyaml failure into "<path>: <reason> (line N)"; `data` is the
 * document, to find the line of a key. */
static void cyaml_error(cyaml_err_t ce, const struct capture *cap,
                        const char *data, size_t len, char *why, size_t size)
{
    const char *msg = cap->message;
    char key[FIELD_BYTES] = "";
    char path[PATH_BYTES] = "";
    char reason[WHY_BYTES / 2];
    char expected[24], found[24];
    const cyaml_schema_field_t *allowed = NULL;
    unsigned max = 0;
    struct capture trimmed = *cap;
    size_t line = cap->n_frames > 0 ? cap->frames[0].line : 0;
    const char *where = "line";

    if (sscanf(msg, "Unexpected key: %63[^\n]", key) == 1) {
        frames_path(cap, key, path, sizeof(path), &allowed);
        unknown_key_reason(allowed, reason, sizeof(reason));
        line = key_line(data, len, line, key);
    } else if (sscanf(msg, "Missing required mapping field: %63[^\n]", key) ==
               1) {
        frames_path(cap, key, path, sizeof(path), NULL);
        snprintf(reason, sizeof(reason), "required, but missing");
        line = 0;
    } else if (sscanf(msg, "Mapping field already seen: %63[^\n]", key) == 1) {
        frames_path(cap, key, path, sizeof(path), NULL);
        snprintf(reason, sizeof(reason), "appears twice");
        line = key_line(data, len, line + 1, key);
    } else if (sscanf(msg, "Excessive entries (%u max)", &max) == 1) {
        if (trimmed.n_frames > 0 && trimmed.frames[0].kind == FRAME_ENTRY) {
            memmove(&trimmed.frames[0], &trimmed.frames[1],
                    (trimmed.n_frames - 1) * sizeof(trimmed.frames[0]));
            trimmed.n_frames--;
        }
        frames_path(&trimmed, NULL, path, sizeof(path), NULL);
        snprintf(reason, sizeof(reason),
                 "more than %u entries; at most %u are supported", max, max);
    } else if (sscanf(msg, "Expecting %23[A-Z_], got event: %23[A-Z_]",
                      expected, found) == 2) {
        frames_path(cap, NULL, path, sizeof(path), NULL);
        snprintf(reason, sizeof(reason), "expected %s, found %s",
                 shape(expected), shape(found));
    } else if (ce == CYAML_ERR_ALIAS) {
        frames_path(cap, NULL, path, sizeof(path), NULL);
        snprintf(reason, sizeof(reason),
                 "YAML aliases (*name) are not supported in a config");
    } else if (ce == CYAML_ERR_INTERNAL_ERROR && msg[0] == '\0') {
        /* what libcyaml 1.3 does with a mapping or a list used as a key */
        snprintf(reason, sizeof(reason),
                 "cannot load a key: a key must be "
                 "a plain word, not a mapping or a list");
        where = "near line";
    } else if (strncmp(msg, "libyaml: ", 9) == 0) {
        snprintf(reason, sizeof(reason), "YAML syntax error: %.200s", msg + 9);
        where = "near line";
    } else {
        snprintf(reason, sizeof(reason),
                 "cannot load the YAML: %.60s%s%.160s%s", cyaml_strerror(ce),
                 msg[0] ? " (libcyaml: " : "", msg, msg[0] ? ")" : "");
        where = "near line";
    }
    snprintf(why, size, "%s%s%s", path, path[0] ? ": " : "", reason);
    if (line > 0)
        append(why, size, " (%s %zu)", where, line);
}

/* ---------------------------------------------------------------- scalars */

static int parse_u64(const char *field, const char *text, uint64_t max,
                     uint64_t *out, char *err, size_t err_len)
{
    char q[64];
    if (text[0] == '\0')
        REFUSE("%s: has no value; expected a whole number", field);
    uint64_t value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || (p == text && *p == '0' && p[1]))
            REFUSE("%s: expected a whole number, got '%s'", field,
                   glue_quote(text, q, sizeof(q)));
        unsigned digit = (unsigned)(*p - '0');
        if (value > (max - digit) / 10)
            REFUSE("%s: %s is too large (at most %llu)", field,
                   glue_quote(text, q, sizeof(q)), (unsigned long long)max);
        value = value * 10 + digit;
    }
    *out = value;
    return SMR_OK;
}

static int parse_u32(const char *field, const char *text, uint32_t *out,
                     char *err, size_t err_len)
{
    uint64_t value;
    int rc = parse_u64(field, text, UINT32_MAX, &value, err, err_len);
    if (rc == SMR_OK)
        *out = (uint32_t)value;
    return rc;
}

static int parse_bool(const char *field, const char *text, bool *out, char *err,
                      size_t err_len)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return SMR_OK;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return SMR_OK;
        }
    }
    char q[64];
    REFUSE("%s: expected true or false, got '%s'", field,
           glue_quote(text, q, sizeof(q)));
}

static int copy_text(const char *field, const char *text, char *dst,
                     size_t size, char *err, size_t err_len)
{
    size_t len = strlen(text);
    if (len >= size)
        REFUSE("%s: %zu bytes; the limit is %zu", field, len, size - 1);
    memcpy(dst, text, len + 1);
    return SMR_OK;
}

/* A name too long for its buffer cannot be a known one: say so as such. */
static int copy_name(enum glue_module_kind kind, const char *text, char *dst,
                     size_t size, char *err, size_t err_len)
{
    if (strlen(text) >= size)
        return glue_module_check(kind, text, err, err_len);
    memcpy(dst, text, strlen(text) + 1);
    return SMR_OK;
}

static int convert_replicas(const struct raw_config *r, struct glue_config *c,
                            char *err, size_t err_len)
{
    char field[FIELD_BYTES];
    int rc = SMR_OK;
    if (r->replicas_count > SMR_NODES_MAX)
        REFUSE("replicas: %u replicas listed; at most %d are supported",
               r->replicas_count, SMR_NODES_MAX);
    c->n_replicas = r->replicas_count;
    for (unsigned i = 0; rc == SMR_OK && i < r->replicas_count; i++) {
        const struct raw_replica *in = &r->replicas[i];
        struct glue_replica_config *to = &c->replicas[i];
        snprintf(field, sizeof(field), "replicas[%u].id", i);
        rc = parse_u32(field, in->id, &to->id, err, err_len);
        snprintf(field, sizeof(field), "replicas[%u].peer", i);
        if (rc == SMR_OK)
            rc = copy_text(field, in->peer, to->peer, sizeof(to->peer), err,
                           err_len);
        snprintf(field, sizeof(field), "replicas[%u].client", i);
        if (rc == SMR_OK)
            rc = copy_text(field, in->client, to->client, sizeof(to->client),
                           err, err_len);
        snprintf(field, sizeof(field), "replicas[%u].stream", i);
        to->stream[0] = '\0';
        if (rc == SMR_OK && in->stream)
            rc = copy_text(field, in->stream, to->stream, sizeof(to->stream),
                           err, err_len);
    }
    return rc;
}

static int convert_storage(const struct raw_storage *s, struct glue_config *c,
                           char *err, size_t err_len)
{
    int rc = SMR_OK;
    if (!s)
        return SMR_OK;
    if (s->engine)
        rc = glue_storage_engine_parse(s->engine, &c->storage_engine, err,
                                       err_len);
    if (rc == SMR_OK && s->path)
        rc = copy_text("storage.path", s->path, c->storage_path,
                       sizeof(c->storage_path), err, err_len);
    if (rc == SMR_OK && s->sync)
        rc =
            parse_bool("storage.sync", s->sync, &c->storage_sync, err, err_len);
    return rc;
}

/* Optional scalars: absent (NULL) keeps the default. */
#define OPT(text, call)                                                        \
    do {                                                                       \
        if (rc == SMR_OK && (text))                                            \
            rc = (call);                                                       \
    } while (0)

static int convert(const struct raw_config *r, struct glue_config *c, char *err,
                   size_t err_len)
{
    const struct raw_timeouts *t = r->timeouts;
    const struct raw_batch *b = r->batch;
    int rc = parse_u64("cluster_id", r->cluster_id, UINT64_MAX, &c->cluster_id,
                       err, err_len);
    OPT(r->protocol, copy_name(GLUE_MODULE_PROTOCOL, r->protocol, c->protocol,
                               sizeof(c->protocol), err, err_len));
    OPT(r->keys, copy_text("keys", r->keys, c->keys_dir, sizeof(c->keys_dir),
                           err, err_len));
    OPT(r->executor, copy_name(GLUE_MODULE_EXECUTOR, r->executor, c->executor,
                               sizeof(c->executor), err, err_len));
    OPT(r->workers,
        parse_u32("workers", r->workers, &c->workers, err, err_len));
    OPT(r->app, copy_name(GLUE_MODULE_APP, r->app, c->app, sizeof(c->app), err,
                          err_len));
    if (rc == SMR_OK)
        rc = convert_replicas(r, c, err, err_len);
    if (rc == SMR_OK)
        rc = convert_storage(r->storage, c, err, err_len);
    if (t) {
        OPT(t->election_ms,
            parse_u64("timeouts.election_ms", t->election_ms, UINT64_MAX,
                      &c->election_timeout_ms, err, err_len));
        OPT(t->heartbeat_ms,
            parse_u64("timeouts.heartbeat_ms", t->heartbeat_ms, UINT64_MAX,
                      &c->heartbeat_ms, err, err_len));
    }
    if (b) {
        OPT(b->max_requests, parse_u32("batch.max_requests", b->max_requests,
                                       &c->batch_max, err, err_len));
        OPT(b->max_bytes, parse_u32("batch.max_bytes", b->max_bytes,
                                    &c->batch_bytes_max, err, err_len));
        OPT(b->window,
            parse_u32("batch.window", b->window, &c->window, err, err_len));
    }
    OPT(r->checkpoint_interval,
        parse_u64("checkpoint_interval", r->checkpoint_interval, UINT64_MAX,
                  &c->checkpoint_interval, err, err_len));
    OPT(r->log_retain, parse_u64("log_retain", r->log_retain, UINT64_MAX,
                                 &c->log_retain, err, err_len));
    OPT(r->session_ttl_ms,
        parse_u64("session_ttl_ms", r->session_ttl_ms, UINT64_MAX,
                  &c->session_ttl_ms, err, err_len));
    OPT(r->stream_quorum, parse_u32("stream_quorum", r->stream_quorum,
                                    &c->stream_quorum, err, err_len));
    return rc;
}

/* ---------------------------------------------------------------- loading */

static int load_yaml(const void *data, size_t len, struct glue_config *c,
                     char *why, size_t size)
{
    struct capture cap;
    memset(&cap, 0, sizeof(cap));
    const cyaml_config_t cfg = {
        .log_fn = capture_log,
        .log_ctx = &cap,
        .mem_fn = cyaml_mem,
        .log_level = CYAML_LOG_ERROR,
        .flags = CYAML_CFG_NO_ALIAS, /* and unknown keys are errors */
    };
    cyaml_data_t *loaded = NULL;
    cyaml_err_t ce =
        cyaml_load_data(data, len, &cfg, &top_schema, &loaded, NULL);
    if (ce == CYAML_ERR_OOM)
        return glue_say(SMR_ENOMEM, why, size, "out of memory while loading");
    if (ce != CYAML_OK) {
        cyaml_error(ce, &cap, data, len, why, size);
        return SMR_ECONFIG;
    }
    if (!loaded)
        return glue_say(SMR_ECONFIG, why, size,
                        "holds no configuration "
                        "(expected a mapping with at least cluster_id and "
                        "replicas)");
    glue_config_defaults(c);
    int rc = convert(loaded, c, why, size);
    cyaml_free(&cfg, &top_schema, loaded, 0);
    return rc;
}

int glue_config_load_data(const void *data, size_t len, const char *name,
                          struct glue_config *out, char *err, size_t err_len)
{
    char why[WHY_BYTES];
    struct glue_config c;
    int rc = SMR_OK;
    if (!name)
        name = "config";
    if (!data && len > 0)
        return glue_say(SMR_EINVAL, err, err_len, "%s: no data", name);
    const void *nul = len > 0 ? memchr(data, '\0', len) : NULL;
    if (len > GLUE_CONFIG_BYTES_MAX)
        rc = glue_say(SMR_ECONFIG, why, sizeof(why),
                      "is %zu bytes; a config may be at most %u", len,
                      GLUE_CONFIG_BYTES_MAX);
    else if (nul)
        rc = glue_say(SMR_ECONFIG, why, sizeof(why),
                      "is not a YAML text file (NUL byte at offset %zu)",
                      (size_t)((const char *)nul - (const char *)data));
    else
        rc = load_yaml(len > 0 ? data : "", len, &c, why, sizeof(why));
    if (rc == SMR_OK)
        rc = glue_config_check(&c, why, sizeof(why));
    if (rc != SMR_OK)
        return glue_say(rc, err, err_len, "%s: %s", name, why);
    *out = c;
    return SMR_OK;
}

/* Reads at most GLUE_CONFIG_BYTES_MAX + 1 bytes (one more than allowed, so
 * an oversized file is seen as such). */
static int read_file(const char *path, char **data, size_t *len, char *err,
                     size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return glue_say(SMR_EIO, err, err_len, "%s: cannot open: %s", path,
                        strerror(errno));
    size_t cap = (size_t)GLUE_CONFIG_BYTES_MAX + 1, used = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return glue_say(SMR_ENOMEM, err, err_len, "%s: out of memory", path);
    }
    while (used < cap) {
        ssize_t got = read(fd, buf + used, cap - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return glue_say(SMR_EIO, err, err_len, "%s: cannot read: %s", path,
                            strerror(e));
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }
    close(fd);
    *data = buf;
    *len = used;
    return SMR_OK;
}

int glue_config_load(const char *path, struct glue_config *out, char *err,
                     size_t err_len)
{
    char *data = NULL;
    size_t len = 0;
    if (!path || !out)
        return glue_say(SMR_EINVAL, err, err_len, "no config path given");
    int rc = read_file(path, &data, &len, err, err_len);
    if (rc != SMR_OK)
        return rc;
    rc = glue_config_load_data(data, len, path, out, err, err_len);
    free(data);
    return rc;
}
