/* The SQLite store: migrations, key records, pagination, the last-key rule, and
 * persistence across reopen. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/store/store.h"
#include "../../src/common/util.h"
#include "tap.h"

static struct key_rec mk(const char *id, int h)
{
        struct key_rec k = {0};
        snprintf(k.id, sizeof(k.id), "%s", id);
        snprintf(k.name, sizeof(k.name), "n-%s", id);
        snprintf(k.prefix, sizeof(k.prefix), "ns_x");
        snprintf(k.role, sizeof(k.role), "admin");
        memset(k.hash, h, sizeof(k.hash));
        k.created_at = 1000 + h;
        return k;
}

static void put_machine(struct store *st, const char *id, const char *parent, const char *state,
                        const char *spec)
{
        struct err e;
        struct machine_rec m = {.spec = (char *)spec, .created_at = 1, .updated_at = 1};
        snprintf(m.id, sizeof(m.id), "%s", id);
        snprintf(m.state, sizeof(m.state), "%s", state);
        snprintf(m.runtime, sizeof(m.runtime), "gvisor");
        snprintf(m.parent_id, sizeof(m.parent_id), "%s", parent);
        is_int(store_machine_insert(st, &m, &e), 0, "insert machine");
}

static int has(char **ids, const char *id)
{
        for (size_t i = 0; ids && ids[i]; i++)
                if (strcmp(ids[i], id) == 0)
                        return 1;
        return 0;
}

/* Parents, children, snapshots and the layers they keep alive. */
static void lineage(struct store *st)
{
        struct err e;
        char **ids;
        size_t n;
        put_machine(st, "m_p", "", "running", "{\"layers\":[\"l_1\"]}");
        put_machine(st, "m_c1", "m_p", "running", "{\"layers\":[\"l_1\"]}");
        put_machine(st, "m_c2", "m_p", "destroyed", "{\"layers\":[\"l_gone\"]}");
        put_machine(st, "m_s", "", "failed", "{\"layers\":[\"l_f\"],\"snapshot\":\"s_1\"}");
        put_machine(st, "m_t", "", "running", "{\"layers\":[],\"snapshot\":\"s_1\"}");
        is_int(store_machine_children(st, "m_p", &ids, &n, &e), 0, "children");
        ok(n == 1 && !strcmp(ids[0], "m_c1"), "destroyed children are not listed");
        strv_free(ids);
        struct machine_rec r;
        is_int(store_machine_get(st, "m_c1", &r, &e), 0, "get child");
        is_str(r.parent_id, "m_p", "parent_id round-trips");
        store_machine_rec_free(&r);
        is_int(store_machine_set_spec(st, "m_c1", "{\"layers\":[\"l_2\",\"l_1\"]}", &e), 0,
               "set spec");
        struct snapshot_rec s = {.spec = "{}", .created_at = 7};
        snprintf(s.id, sizeof(s.id), "s_1");
        snprintf(s.machine_id, sizeof(s.machine_id), "m_p");
        snprintf(s.state, sizeof(s.state), "creating");
        is_int(store_snapshot_insert(st, &s, &e), 0, "insert snapshot");
        is_int(store_snapshot_insert(st, &s, &e), -EEXIST, "same id twice");
        is_int(store_snapshot_update(st, "s_1", "ready", "{\"layers\":[\"l_s\"]}", 4096, &e), 0,
               "snapshot ready");
        struct snapshot_rec got;
        is_int(store_snapshot_get(st, "s_1", &got, &e), 0, "get snapshot");
        ok(!strcmp(got.state, "ready") && got.size_bytes == 4096, "state and size round-trip");
        store_snapshot_rec_free(&got);
        is_int(store_snapshot_users(st, "s_1", &ids, &n, &e), 0, "users");
        ok(n == 1 && !strcmp(ids[0], "m_t"), "failed machines do not hold a snapshot");
        strv_free(ids);
        is_int(store_layers_in_use(st, &ids, &n, &e), 0, "layers in use");
        ok(n == 3 && has(ids, "l_1") && has(ids, "l_2") && has(ids, "l_s"),
           "live machines' and snapshots' layers, not destroyed or failed machines'");
        strv_free(ids);
        is_int(store_snapshot_delete(st, "s_1", &e), 0, "delete snapshot");
        is_int(store_snapshot_delete(st, "s_1", &e), -ENOENT, "deleting twice");
        is_int(store_snapshot_get(st, "s_1", &got, &e), -ENOENT, "gone");
}

/* Template builds, the build cache, template names, and what they keep alive. */
static void templates(struct store *st)
{
        struct err e;
        char **ids;
        size_t n;
        struct build_rec b = {.spec = "{\"from_build\":\"b_0\"}", .created_at = 5, .updated_at = 5};
        snprintf(b.id, sizeof(b.id), "b_1");
        snprintf(b.ref, sizeof(b.ref), "web:latest");
        snprintf(b.state, sizeof(b.state), "building");
        is_int(store_build_insert(st, &b, &e), 0, "insert build");
        is_int(store_build_insert(st, &b, &e), -EEXIST, "same build id twice");
        is_int(store_builds_building(st, &ids, &n, &e), 0, "builds under way");
        ok(n == 1 && !strcmp(ids[0], "b_1"), "... the one");
        strv_free(ids);
        is_int(store_build_update(st, "b_1", "ready", 4, "{\"layers\":[\"l_b\"]}", NULL, 9, &e), 0,
               "build ready");
        is_int(store_build_update(st, "b_x", "ready", 4, NULL, NULL, 9, &e), -ENOENT,
               "updating an unknown build");
        struct build_rec got;
        is_int(store_build_get(st, "b_1", &got, &e), 0, "get build");
        ok(!strcmp(got.state, "ready") && got.step == 4 && !strcmp(got.ref, "web:latest") &&
               strstr(got.result, "l_b") && got.error[0] == '\0',
           "build fields round-trip");
        store_build_rec_free(&got);
        char *layers = NULL;
        is_int(store_cache_get(st, "k1", &layers, &e), -ENOENT, "cache miss");
        is_int(store_cache_put(st, "k1", "[\"l_c\"]", 1, &e), 0, "cache put");
        is_int(store_cache_get(st, "k1", &layers, &e), 0, "cache hit");
        is_str(layers, "[\"l_c\"]", "cached layers round-trip");
        free(layers);
        is_int(store_layers_in_use(st, &ids, &n, &e), 0, "layers in use");
        ok(has(ids, "l_c") && has(ids, "l_b"), "cached and ready builds' layers are kept");
        strv_free(ids);
        is_int(store_cache_delete(st, "k1", &e), 0, "cache delete");
        is_int(store_builds_unnamed(st, &ids, &n, &e), 0, "unnamed builds");
        ok(n == 1 && !strcmp(ids[0], "b_1"), "a ready build without a name");
        strv_free(ids);
        is_int(store_template_put(st, "t_1", "web:latest", "b_1", 10, &e), 0, "name a build");
        is_int(store_template_put(st, "t_2", "web:latest", "b_1", 11, &e), 0,
               "naming again updates");
        is_int(store_template_put(st, "t_3", "web:v1", "b_1", 12, &e), 0, "an alias");
        struct template_rec t;
        is_int(store_template_get(st, "web:latest", &t, &e), 0, "get name");
        ok(!strcmp(t.build_id, "b_1") && t.created_at == 10 && t.updated_at == 11,
           "the name keeps its creation time");
        is_int(store_builds_unnamed(st, &ids, &n, &e), 0, "unnamed builds");
        is_int((int)n, 0, "... none once named");
        strv_free(ids);
        is_int(store_template_refs(st, "b_1", &ids, &n, &e), 0, "names of a build");
        is_int((int)n, 2, "... two");
        strv_free(ids);
        is_int(store_template_dependents(st, "b_0", &ids, &n, &e), 0, "dependents");
        ok(n == 2 && has(ids, "web:v1"), "names of builds FROM b_0");
        strv_free(ids);
        is_int(store_template_delete(st, "web:v1", &e), 0, "delete a name");
        is_int(store_template_delete(st, "web:v1", &e), -ENOENT, "deleting twice");
        struct template_rec *v;
        is_int(store_template_list(st, 0, 10, &v, &n, &e), 0, "list names");
        ok(n == 1 && !strcmp(v[0].name, "web:latest"), "... one left");
        free(v);
        struct snapshot_rec s = {.spec = "{}", .created_at = 7};
        snprintf(s.id, sizeof(s.id), "s_t");
        snprintf(s.machine_id, sizeof(s.machine_id), "m_p");
        snprintf(s.state, sizeof(s.state), "ready");
        snprintf(s.kind, sizeof(s.kind), "template");
        is_int(store_snapshot_insert(st, &s, &e), 0, "a template's snapshot");
        struct snapshot_rec *sv;
        is_int(store_snapshot_list(st, "user", 0, 10, &sv, &n, &e), 0, "list user snapshots");
        int listed = 0;
        for (size_t i = 0; i < n; i++) {
                listed |= !strcmp(sv[i].id, "s_t");
                store_snapshot_rec_free(&sv[i]);
        }
        free(sv);
        ok(!listed, "a template's snapshot is not among the user's");
        is_int(store_snapshot_list(st, NULL, 0, 10, &sv, &n, &e), 0, "list every snapshot");
        listed = 0;
        for (size_t i = 0; i < n; i++) {
                listed |= !strcmp(sv[i].id, "s_t") && !strcmp(sv[i].kind, "template");
                store_snapshot_rec_free(&sv[i]);
        }
        free(sv);
        ok(listed, "... with its kind");
}

static void volumes(struct store *st)
{
        struct err e = {0};
        struct volume_rec v = {.size_bytes = 64 << 20, .created_at = 5};
        snprintf(v.id, sizeof(v.id), "v_1");
        snprintf(v.name, sizeof(v.name), "data");
        is_int(store_volume_insert(st, &v, &e), 0, "insert a volume");
        snprintf(v.id, sizeof(v.id), "v_2");
        is_int(store_volume_insert(st, &v, &e), -EEXIST, "a second volume of that name: EEXIST");
        snprintf(v.name, sizeof(v.name), "other");
        snprintf(v.state, sizeof(v.state), "creating");
        is_int(store_volume_insert(st, &v, &e), 0, "another name");
        struct volume_rec got;
        is_int(store_volume_get(st, "data", &got, &e), 0, "found by name");
        ok(!strcmp(got.id, "v_1") && !strcmp(got.state, "ready") && got.size_bytes == 64 << 20 &&
               !strcmp(got.metadata, "{}"),
           "... with its fields and defaults");
        store_volume_rec_free(&got);
        is_int(store_volume_get(st, "v_2", &got, &e), 0, "found by id");
        ok(!strcmp(got.state, "creating"), "... in its state");
        store_volume_rec_free(&got);
        is_int(store_volume_get(st, "nope", &got, &e), -ENOENT, "unknown: ENOENT");
        is_int(store_volume_set_state(st, "v_2", "ready", &e), 0, "set state");
        struct volume_rec *rows;
        size_t n;
        is_int(store_volume_list(st, 0, 1, &rows, &n, &e), 0, "list a page of one");
        ok(n == 1 && !strcmp(rows[0].id, "v_1"), "... oldest first");
        int64_t after = rows[0].seq;
        store_volume_rec_free(&rows[0]);
        free(rows);
        is_int(store_volume_list(st, after, 10, &rows, &n, &e), 0, "the next page");
        ok(n == 1 && !strcmp(rows[0].id, "v_2"), "... holds the other");
        store_volume_rec_free(&rows[0]);
        free(rows);
        put_machine(st, "m_v1", "", "running",
                    "{\"volumes\":[{\"volume\":\"v_1\",\"path\":\"/a\"},"
                    "{\"volume\":\"v_1\",\"path\":\"/b\"}]}");
        put_machine(st, "m_v2", "", "destroyed", "{\"volumes\":[{\"volume\":\"v_1\"}]}");
        put_machine(st, "m_v3", "", "hibernated", "{\"volumes\":[{\"volume\":\"v_2\"}]}");
        char **ids;
        is_int(store_volume_users(st, "v_1", &ids, &n, &e), 0, "users of a volume");
        ok(n == 1 && !strcmp(ids[0], "m_v1"), "... once each, destroyed machines not");
        strv_free(ids);
        is_int(store_volume_delete(st, "v_1", &e), 0, "delete");
        is_int(store_volume_delete(st, "v_1", &e), -ENOENT, "delete again: ENOENT");
}

static struct event_rec ev(const char *type, const char *subject, int64_t ts)
{
        struct event_rec r = {.ts = ts};
        snprintf(r.kind, sizeof(r.kind), "%s", type);
        snprintf(r.subject_type, sizeof(r.subject_type), "machine");
        snprintf(r.subject_id, sizeof(r.subject_id), "%s", subject);
        snprintf(r.reason, sizeof(r.reason), "user");
        return r;
}

static unsigned last_fanout;
static void count_fanout(void *ud, const struct event_rec *e, unsigned fanout)
{
        (void)ud;
        (void)e;
        last_fanout = fanout;
}

/* The event log, its filters, and the webhook outbox filled in the same transaction. */
static void events_and_outbox(struct store *st)
{
        struct err e = {0};
        struct webhook_rec all = {.enabled = 1, .events = "[\"*\"]"}, mach = all, off = all;
        snprintf(all.id, sizeof(all.id), "wh_all");
        snprintf(mach.id, sizeof(mach.id), "wh_mach");
        mach.events = "[\"machine.hibernated\",\"volume.*\"]";
        snprintf(off.id, sizeof(off.id), "wh_off");
        off.enabled = 0;
        is_int(store_webhook_insert(st, &all, &e), 0, "insert webhook");
        is_int(store_webhook_insert(st, &mach, &e), 0, "insert a filtered webhook");
        is_int(store_webhook_insert(st, &off, &e), 0, "insert a disabled webhook");
        struct store_event_hook hook = {count_fanout, NULL};
        store_set_event_hook(st, &hook);
        struct event_rec a = ev("machine.running", "m_1", 100),
                         b = ev("machine.hibernated", "m_1", 200),
                         c = ev("volume.ready", "v_1", 300), p = ev("webhook.ping", "wh_off", 400);
        is_int(store_event_append(st, &a, &e), 0, "append");
        ok(a.seq > 0 && strncmp(a.id, "ev_", 3) == 0, "seq and id filled in");
        is_int((int)last_fanout, 1, "machine.running: the catch-all endpoint only");
        is_int(store_event_append(st, &b, &e), 0, "append");
        is_int((int)last_fanout, 2, "machine.hibernated: both enabled endpoints");
        is_int(store_event_append(st, &c, &e), 0, "append");
        is_int((int)last_fanout, 2, "volume.*: a family filter matches");
        is_int(store_event_append(st, &p, &e), 0, "append");
        is_int((int)last_fanout, 1, "a ping goes to its own webhook only, enabled or not");
        store_set_event_hook(st, NULL);
        struct event_rec *v;
        size_t n;
        struct event_filter f = {.type = "machine.*"};
        is_int(store_event_query(st, &f, 10, &v, &n, &e), 0, "query by family");
        ok(n == 2 && v[0].seq == a.seq && v[1].seq == b.seq && !strcmp(v[0].reason, "user"),
           "machine events in order, reason kept");
        for (size_t i = 0; i < n; i++)
                store_event_rec_free(&v[i]);
        free(v);
        f = (struct event_filter){.after_seq = a.seq, .since_ts = 250};
        is_int(store_event_query(st, &f, 10, &v, &n, &e), 0, "query after a seq and time");
        ok(n == 2 && v[0].seq == c.seq, "... later events only");
        for (size_t i = 0; i < n; i++)
                store_event_rec_free(&v[i]);
        free(v);

        struct delivery_rec *d;
        is_int(store_delivery_lease(st, "wh_mach", 1000, 5000, 8, &d, &n, &e), 0, "lease");
        ok(n == 2 && d[0].event_seq == b.seq && d[0].next_at == 5000,
           "the due deliveries, leased until later");
        size_t n2;
        struct delivery_rec *d2;
        is_int(store_delivery_lease(st, "wh_mach", 1000, 5000, 8, &d2, &n2, &e), 0, "lease again");
        is_int((int)n2, 0, "leased deliveries are not leased twice");
        free(d2);
        struct attempt_rec at = {.at = 1000, .status = 500, .duration_ms = 3, .response = "oops"};
        is_int(store_delivery_record(st, d[0].id, &at, "pending", 2000, &e), 0, "record a retry");
        at.status = 200;
        is_int(store_delivery_record(st, d[1].id, &at, "delivered", 0, &e), 0, "record success");
        is_int(store_delivery_lease(st, "wh_mach", 2500, 9000, 8, &d2, &n2, &e), 0, "lease later");
        ok(n2 == 1 && !strcmp(d2[0].id, d[0].id) && d2[0].attempts == 1, "the retry is due again");
        free(d2);
        struct attempt_rec *log;
        is_int(store_attempt_list(st, d[0].id, 10, &log, &n2, &e), 0, "attempt log");
        ok(n2 == 1 && log[0].status == 500 && !strcmp(log[0].response, "oops"), "... kept");
        free(log[0].response);
        free(log);
        is_int(store_delivery_redeliver(st, "wh_mach", d[1].id, 3000, &e), 0, "redeliver");
        is_int(store_delivery_redeliver(st, "wh_all", d[1].id, 3000, &e), -ENOENT,
               "another webhook's delivery is not found");
        free(d);
        ok(store_delivery_next_due(st, "wh_mach") <= 3000,
           "the next due time counts pending deliveries");
        is_int(store_event_prune(st, 10000, &e), 0,
               "prune keeps the events pending deliveries need");
        is_int(store_webhook_delete(st, "wh_all", &e), 0, "delete webhook");
        is_int(store_webhook_delete(st, "wh_mach", &e), 0, "delete webhook");
        is_int(store_webhook_delete(st, "wh_off", &e), 0, "delete webhook");
        is_int(store_event_prune(st, 10000, &e), 4, "... their deliveries went with them");
        ok(store_delivery_next_due(st, "wh_mach") == INT64_MAX, "nothing is due");
}

int main(void)
{
        char dir[] = "/tmp/ns-store-XXXXXX";
        ok(mkdtemp(dir) != NULL, "temp dir");
        char path[256];
        snprintf(path, sizeof(path), "%s/db", dir);
        struct store *st;
        struct err e;
        is_int(store_open(&st, path, &e), 0, "opens a fresh database");
        is_int(store_schema_version(st), store_schema_latest(), "migrated to the latest version");
        int64_t n = -1;
        is_int(store_key_count(st, &n, &e), 0, "count");
        is_int(n, 0, "fresh store has no keys");
        struct key_rec a = mk("key_a", 1), b = mk("key_b", 2), c = mk("key_c", 3);
        is_int(store_key_insert(st, &a, &e), 0, "insert a");
        is_int(store_key_insert(st, &b, &e), 0, "insert b");
        is_int(store_key_insert(st, &c, &e), 0, "insert c");
        struct key_rec dup = mk("key_d", 1);
        is_int(store_key_insert(st, &dup, &e), -EEXIST, "same hash twice is refused");
        struct key_rec got;
        is_int(store_key_get(st, "key_b", &got, &e), 0, "get by id");
        is_str(got.name, "n-key_b", "name round-trips");
        is_int(got.revoked_at, 0, "active key has no revoked_at");
        unsigned char h2[32];
        memset(h2, 2, sizeof(h2));
        is_int(store_key_find_active(st, h2, &got, &e), 0, "find by hash");
        is_str(got.id, "key_b", "... the right key");
        is_int(store_key_get(st, "key_zz", &got, &e), -ENOENT, "unknown id is ENOENT");

        struct key_rec *list;
        size_t cnt;
        is_int(store_key_list(st, 0, 2, &list, &cnt, &e), 0, "first page");
        is_int(cnt, 2, "two keys");
        int64_t cursor = list[1].seq;
        free(list);
        is_int(store_key_list(st, cursor, 2, &list, &cnt, &e), 0, "second page");
        ok(cnt == 1 && strcmp(list[0].id, "key_c") == 0, "the rest, in insertion order");
        free(list);

        is_int(store_key_revoke(st, "key_a", 5000, &e), 0, "revoke a");
        is_int(store_key_revoke(st, "key_a", 6000, &e), 0, "revoking again is a no-op");
        is_int(store_key_get(st, "key_a", &got, &e), 0, "revoked key still readable");
        is_int(got.revoked_at, 5000, "... with its first revoke time");
        unsigned char h1[32];
        memset(h1, 1, sizeof(h1));
        is_int(store_key_find_active(st, h1, &got, &e), -ENOENT, "revoked key no longer found");
        is_int(store_key_revoke(st, "key_b", 5000, &e), 0, "revoke b");
        is_int(store_key_revoke(st, "key_c", 5000, &e), -EBUSY, "the last active key stays");
        is_int(store_key_revoke(st, "key_nope", 5000, &e), -ENOENT, "unknown key");
        lineage(st);
        templates(st);
        volumes(st);
        events_and_outbox(st);
        store_close(st);

        is_int(store_open(&st, path, &e), 0, "reopens");
        is_int(store_key_count(st, &n, &e), 0, "count after reopen");
        is_int(n, 3, "everything committed is still there");
        store_close(st);

        char cmd[512];
        snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA user_version=99' 2>/dev/null", path);
        if (system(cmd) == 0) {
                is_int(store_open(&st, path, &e), -EPROTO, "a newer schema is refused");
        } else {
                ok(1, "# SKIP sqlite3 shell not installed");
        }
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ok(system(cmd) == 0, "cleanup");
        return tap_done();
}
