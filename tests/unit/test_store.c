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

int main(void)
{
        char dir[] = "/tmp/ns-store-XXXXXX";
        ok(mkdtemp(dir) != NULL, "temp dir");
        char path[256];
        snprintf(path, sizeof(path), "%s/db", dir);
        struct store *st;
        struct err e;
        is_int(store_open(&st, path, &e), 0, "opens a fresh database");
        is_int(store_schema_version(st), 2, "migrated to version 2");
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
