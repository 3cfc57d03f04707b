/*
 * contract.c: the module registry and the composition check
 * (ARCHITECTURE.md, "The contracts"; contract.h).
 *
 * Each module the glue can wire is one row of a table: a protocol row names
 * the function that derives its ord_contract from the config, an executor
 * or app row states what the module needs or offers. The rules are a second
 * table: each looks at the facts (struct glue_composition) and, when the
 * composition cannot work, writes one sentence naming the clash.
 *
 * Replica count and fault tolerance: Multi-Paxos derives f from n
 * (f = (n-1)/2, needs 2f+1), so every n >= 1 is a valid Paxos cluster. An
 * even n is accepted: it is safe, just no more tolerant than n-1 (n=2 has
 * f=0, like n=1, and needs both replicas up). glue_contract_describe() says
 * so in the start-up line rather than refusing. The replica-count rule
 * still exists for protocols whose f is set independently of n (PBFT,
 * n >= 3f+1).
 */
#include "contract.h"
#include "keys.h"
#include "paxos.h"

#include <stdio.h>
#include <string.h>

#define WHY_BYTES 256

const char *glue_quote(const char *s, char *buf, size_t len)
{
    const size_t shown_max = 40;
    size_t i = 0;
    if (len == 0)
        return buf;
    for (; s[i] && i < shown_max && i + 1 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[i] = '\0';
    if (s[i] && len >= 4) {
        size_t at = i + 4 <= len ? i : len - 4;
        memcpy(buf + at, "...", 4);
    }
    return buf;
}

/* --------------------------------------------------------------- protocols */

static int paxos_contract(const struct glue_config *c, struct ord_contract *out,
                          char *err, size_t err_len)
{
    struct ord_paxos_config pc;
    char why[WHY_BYTES];
    glue_config_paxos(c, 0, &pc);
    if (ord_paxos_config_check(&pc, why, sizeof(why)) != SMR_OK)
        return glue_say(SMR_ECONTRACT, err, err_len,
                        "protocol paxos refuses the config: %s", why);
    ord_paxos_contract(&pc, out);
    return SMR_OK;
}

static int pbft_contract(const struct glue_config *c, struct ord_contract *out,
                         char *err, size_t err_len)
{
    struct ord_pbft_config pc;
    char why[WHY_BYTES];
    glue_config_pbft(c, 0, NULL, &pc);
    if (ord_pbft_config_check(&pc, why, sizeof(why)) != SMR_OK)
        return glue_say(SMR_ECONTRACT, err, err_len,
                        "protocol pbft refuses the config: %s", why);
    ord_pbft_contract(&pc, out);
    return SMR_OK;
}

struct protocol_row {
    const char *name;
    int (*contract)(const struct glue_config *c, struct ord_contract *out,
                    char *err, size_t err_len);
};

/* One line per protocol. */
static const struct protocol_row protocols[] = {
    {"paxos", paxos_contract},
    {"pbft", pbft_contract},
};

/* One line per executor engine (execution/exe.h, exe_engine_new). The
 * parallel engine accepts a partial order: it honours each entry's explicit
 * dependencies as well as its conflict keys. */
static const struct glue_executor_info executors[] = {
    {"sequential", .needs_conflict_keys = false, .needs_total_order = true},
    {"parallel", .needs_conflict_keys = true, .needs_total_order = false},
};

/* One line per app (execution/exe.h, exe_app_new); the flag must agree with
 * its exe_app_ops.has_conflict_keys, which tests/unit/test_config.c checks
 * for every row. */
static const struct glue_app_info apps[] = {
    {"kv", .has_conflict_keys = true},
    {"bank", .has_conflict_keys = true},
    {"work", .has_conflict_keys = true},
};

/* Indexed by enum glue_storage_engine. */
static const struct engine_row {
    const char *name;
    bool persistent;
} engines[] = {
    [GLUE_STORAGE_ROCKSDB] = {"rocksdb", true},
    [GLUE_STORAGE_MEMORY] = {"memory", false},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Every row type starts with `const char *name`, so one walker serves all
 * the tables. */
struct table {
    const char *kind; /* the config field, and the word in messages */
    const char *noun;
    const void *rows;
    size_t stride;
    size_t count;
};

static struct table table_of(enum glue_module_kind kind)
{
    switch (kind) {
    case GLUE_MODULE_PROTOCOL:
        return (struct table){"protocol", "protocol", protocols,
                              sizeof(protocols[0]), COUNT(protocols)};
    case GLUE_MODULE_EXECUTOR:
        return (struct table){"executor", "executor", executors,
                              sizeof(executors[0]), COUNT(executors)};
    case GLUE_MODULE_APP:
        return (struct table){"app", "app", apps, sizeof(apps[0]), COUNT(apps)};
    }
    return (struct table){"?", "?", NULL, 0, 0};
}

static const char *row_name(const struct table *t, size_t i)
{
    return *(const char *const *)((const char *)t->rows + i * t->stride);
}

static const void *table_find(const struct table *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(row_name(t, i), name) == 0)
            return (const char *)t->rows + i * t->stride;
    return NULL;
}

static int refuse_unknown(const struct table *t, const char *field,
                          const char *name, char *err, size_t err_len)
{
    char q[64];
    size_t used;
    if (!err || err_len == 0)
        return SMR_ECONFIG;
    if (name[0] == '\0')
        snprintf(err, err_len, "%s: has no value (known:", field);
    else
        snprintf(err, err_len, "%s: unknown %s '%s' (known:", field, t->noun,
                 glue_quote(name, q, sizeof(q)));
    for (size_t i = 0; i < t->count; i++) {
        used = strlen(err);
        snprintf(err + used, err_len - used, "%s %s", i ? "," : "",
                 row_name(t, i));
    }
    used = strlen(err);
    snprintf(err + used, err_len - used, ")");
    return SMR_ECONFIG;
}

int glue_module_check(enum glue_module_kind kind, const char *name, char *err,
                      size_t err_len)
{
    struct table t = table_of(kind);
    if (table_find(&t, name))
        return SMR_OK;
    return refuse_unknown(&t, t.kind, name, err, err_len);
}

const char *glue_storage_engine_name(enum glue_storage_engine e)
{
    if ((unsigned)e >= COUNT(engines))
        return NULL;
    return engines[e].name;
}

int glue_storage_engine_parse(const char *name, enum glue_storage_engine *out,
                              char *err, size_t err_len)
{
    struct table t = {"storage.engine", "engine", engines, sizeof(engines[0]),
                      COUNT(engines)};
    const struct engine_row *row = table_find(&t, name);
    if (!row)
        return refuse_unknown(&t, t.kind, name, err, err_len);
    *out = (enum glue_storage_engine)(row - engines);
    return SMR_OK;
}

/* ------------------------------------------------------------------ facts */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void glue_config_paxos(const struct glue_config *c, smr_node_id self,
                       struct ord_paxos_config *out)
{
    ord_paxos_config_defaults(out);
    out->self = self;
    out->n_replicas = c->n_replicas;
    out->election_timeout_ms = c->election_timeout_ms;
    out->heartbeat_ms = c->heartbeat_ms;
    out->batch_max = c->batch_max;
    out->batch_bytes_max = c->batch_bytes_max;
    out->window = c->window;
    if (out->pending_max < out->batch_max)
        out->pending_max = out->batch_max;
    out->rng_seed = mix64(c->cluster_id ^ mix64((uint64_t)self + 1));
    if (out->rng_seed == 0)
        out->rng_seed = 1;
}

int glue_composition_build(const struct glue_config *c,
                           struct glue_composition *out, char *err,
                           size_t err_len)
{
    struct table pt = table_of(GLUE_MODULE_PROTOCOL);
    struct table et = table_of(GLUE_MODULE_EXECUTOR);
    struct table at = table_of(GLUE_MODULE_APP);
    const struct protocol_row *p = table_find(&pt, c->protocol);
    const struct glue_executor_info *e = table_find(&et, c->executor);
    const struct glue_app_info *a = table_find(&at, c->app);
    if (!p)
        return refuse_unknown(&pt, pt.kind, c->protocol, err, err_len);
    if (!e)
        return refuse_unknown(&et, et.kind, c->executor, err, err_len);
    if (!a)
        return refuse_unknown(&at, at.kind, c->app, err, err_len);
    if (!glue_storage_engine_name(c->storage_engine))
        return glue_storage_engine_parse("?", &(enum glue_storage_engine){0},
                                         err, err_len);
    struct glue_composition k;
    memset(&k, 0, sizeof(k));
    int rc = p->contract(c, &k.ord, err, err_len);
    if (rc != SMR_OK)
        return rc;
    k.n_replicas = c->n_replicas;
    k.executor = *e;
    k.app = *a;
    k.storage.engine = engines[c->storage_engine].name;
    k.storage.persistent = engines[c->storage_engine].persistent;
    k.storage.sync = c->storage_sync;
    for (uint32_t i = 0; i < c->n_replicas; i++)
        if (c->replicas[i].stream[0])
            k.separate_executors = true;
    k.stream_quorum = c->stream_quorum     ? c->stream_quorum
                      : k.ord.byzantine ? k.ord.faults_tolerated + 1
                                        : 1;
    *out = k;
    return SMR_OK;
}

int glue_stream_quorum(const struct glue_config *c, uint32_t *out, char *err,
                       size_t err_len)
{
    struct glue_composition k;
    int rc = glue_composition_build(c, &k, err, err_len);
    if (rc == SMR_OK)
        *out = k.stream_quorum;
    return rc;
}

/* ------------------------------------------------------------------ rules */

/* A rule returns true when it refuses, having written its sentence. */
typedef bool (*rule_fn)(const struct glue_composition *k, bool allow_unsafe,
                        char *err, size_t err_len);

static const char *fault_word(const struct ord_contract *o)
{
    return o->byzantine ? "Byzantine" : "crash";
}

static bool rule_replica_count(const struct glue_composition *k,
                               bool allow_unsafe, char *err, size_t err_len)
{
    (void)allow_unsafe;
    if (k->n_replicas >= k->ord.replicas_required)
        return false;
    snprintf(err, err_len,
             "protocol %s tolerates f=%u %s faults and needs "
             "%u replicas, but the config has %u",
             k->ord.protocol, k->ord.faults_tolerated, fault_word(&k->ord),
             k->ord.replicas_required, k->n_replicas);
    return true;
}

static bool rule_durable_votes(const struct glue_composition *k,
                               bool allow_unsafe, char *err, size_t err_len)
{
    if (!k->ord.needs_durable_storage || allow_unsafe)
        return false;
    if (!k->storage.persistent) {
        snprintf(err, err_len,
                 "storage.engine is %s but protocol %s "
                 "requires durable votes (a restarted replica would forget "
                 "its promises and votes): use engine rocksdb with sync: "
                 "true, or allow unsafe storage for a test",
                 k->storage.engine, k->ord.protocol);
        return true;
    }
    if (!k->storage.sync) {
        snprintf(err, err_len,
                 "storage.sync is false but protocol %s "
                 "requires durable votes (a vote must be on disk before it "
                 "leaves the replica): set sync: true, or allow unsafe "
                 "storage for a benchmark",
                 k->ord.protocol);
        return true;
    }
    return false;
}

static bool rule_conflict_keys(const struct glue_composition *k,
                               bool allow_unsafe, char *err, size_t err_len)
{
    (void)allow_unsafe;
    if (!k->executor.needs_conflict_keys || k->app.has_conflict_keys)
        return false;
    snprintf(err, err_len,
             "executor %s needs conflict keys but app %s declares none",
             k->executor.name, k->app.name);
    return true;
}

/* A separate executor under Byzantine faults applies an entry only once
 * f+1 replicas' streams carry it, so that at least one correct replica
 * vouches for it; more than n-f would stop it when f replicas are down. */
static bool rule_stream_quorum(const struct glue_composition *k,
                               bool allow_unsafe, char *err, size_t err_len)
{
    (void)allow_unsafe;
    uint32_t f = k->ord.faults_tolerated;
    if (!k->separate_executors)
        return false;
    if (k->ord.byzantine && k->stream_quorum < f + 1) {
        snprintf(err, err_len,
                 "stream_quorum is %u, but protocol %s tolerates f=%u "
                 "Byzantine faults, so a separate executor may apply an "
                 "entry only once f+1=%u replicas' streams carry it: set "
                 "stream_quorum to at least %u, or leave it out",
                 k->stream_quorum, k->ord.protocol, f, f + 1, f + 1);
        return true;
    }
    if (k->stream_quorum > k->n_replicas - f) {
        snprintf(err, err_len,
                 "stream_quorum is %u, but with f=%u replicas down only %u "
                 "streams remain and the executors would stop: set it to at "
                 "most %u",
                 k->stream_quorum, f, k->n_replicas - f, k->n_replicas - f);
        return true;
    }
    return false;
}

static bool rule_total_order(const struct glue_composition *k,
                             bool allow_unsafe, char *err, size_t err_len)
{
    (void)allow_unsafe;
    if (!k->executor.needs_total_order || k->ord.total_order || k->linearized)
        return false;
    snprintf(err, err_len,
             "executor %s needs a totally ordered stream but "
             "protocol %s provides only a partial order: linearize it first, "
             "or use executor parallel, which honours the dependencies",
             k->executor.name, k->ord.protocol);
    return true;
}

static const rule_fn rules[] = {
    rule_replica_count,    rule_durable_votes, rule_conflict_keys,
    rule_stream_quorum, rule_total_order,
};

int glue_contract_compose(const struct glue_composition *k,
                          bool allow_unsafe_storage, char *err, size_t err_len)
{
    char why[WHY_BYTES];
    for (size_t i = 0; i < COUNT(rules); i++) {
        if (rules[i](k, allow_unsafe_storage, why, sizeof(why))) {
            if (err && err_len > 0)
                snprintf(err, err_len, "%s", why);
            return SMR_ECONTRACT;
        }
    }
    return SMR_OK;
}

int glue_contract_check(const struct glue_config *c, bool allow_unsafe_storage,
                        char *err, size_t err_len)
{
    struct glue_composition k;
    int rc = glue_config_check(c, err, err_len);
    if (rc == SMR_OK)
        rc = glue_composition_build(c, &k, err, err_len);
    if (rc == SMR_OK)
        rc = glue_contract_compose(&k, allow_unsafe_storage, err, err_len);
    return rc;
}

int glue_contract_describe(const struct glue_config *c, char *out,
                           size_t out_len)
{
    struct glue_composition k;
    char note[64] = "";
    char why[WHY_BYTES];
    if (out && out_len > 0)
        out[0] = '\0';
    if (glue_config_check(c, why, sizeof(why)) != SMR_OK ||
        glue_composition_build(c, &k, why, sizeof(why)) != SMR_OK)
        return SMR_ECONFIG;
    if (!out || out_len == 0)
        return SMR_ETOOBIG;
    if (k.n_replicas > k.ord.replicas_required)
        snprintf(note, sizeof(note), "; %u would tolerate as many",
                 k.ord.replicas_required);
    const char *sync = !k.storage.persistent ? " (volatile)"
                       : k.storage.sync      ? ", fsync on"
                                             : ", fsync off (unsafe)";
    char workers[32] = "";
    if (k.executor.needs_conflict_keys)
        snprintf(workers, sizeof(workers), " (%u workers)", c->workers);
    char where[64] = "";
    if (k.separate_executors && k.stream_quorum > 1)
        snprintf(where, sizeof(where),
                 " (separate: %u of %u streams must agree)", k.stream_quorum,
                 k.n_replicas);
    else if (k.separate_executors)
        snprintf(where, sizeof(where), " (separate)");
    int n = snprintf(out, out_len,
                     "%s (f=%u %s, n=%u%s) → %s executor%s%s → %s; storage "
                     "%s%s",
                     k.ord.protocol, k.ord.faults_tolerated, fault_word(&k.ord),
                     k.n_replicas, note, k.executor.name, workers, where,
                     k.app.name, k.storage.engine, sync);
    return n >= 0 && (size_t)n < out_len ? SMR_OK : SMR_ETOOBIG;
}
