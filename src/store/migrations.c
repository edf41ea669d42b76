/* Versioned schema migrations. Each entry moves the schema from version i to i+1 in
 * one transaction; PRAGMA user_version records where a database is. Never edit a
 * released migration: append a new one. */
#include <errno.h>
#include <stdio.h>

#include "db.h"
#include "store.h"

static const char *const migrations[] = {
    /* 1: the foundation's tables */
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  prefix TEXT NOT NULL,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ") STRICT;"
    "CREATE TABLE templates ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  state TEXT NOT NULL,"
    "  spec TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE machines ("
    "  id TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL,"
    "  runtime TEXT NOT NULL,"
    "  template_id TEXT REFERENCES templates(id),"
    "  parent_id TEXT REFERENCES machines(id),"
    "  spec TEXT NOT NULL DEFAULT '{}',"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  failure_reason TEXT,"
    "  deadline_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX machines_state ON machines(state);"
    "CREATE TABLE snapshots ("
    "  id TEXT PRIMARY KEY,"
    "  machine_id TEXT REFERENCES machines(id),"
    "  name TEXT,"
    "  state TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE volumes ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  size_bytes INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  ts INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  subject_type TEXT NOT NULL,"
    "  subject_id TEXT NOT NULL,"
    "  data TEXT NOT NULL DEFAULT '{}'"
    ") STRICT;"
    "CREATE INDEX events_subject ON events(subject_type, subject_id, seq);",
    /* 2: snapshots carry what spawning from them needs; lineage is looked up by parent */
    "ALTER TABLE snapshots ADD COLUMN spec TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE snapshots ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX machines_parent ON machines(parent_id);",
    /* 3: template builds, their per-step cache, template names (the 'templates' table of
     * migration 1: one row per name:tag, pointing at a build); snapshots get a kind so
     * the ones templates own stay out of the snapshot list */
    "CREATE TABLE builds ("
    "  id TEXT PRIMARY KEY,"
    "  ref TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  spec TEXT NOT NULL DEFAULT '{}',"
    "  result TEXT NOT NULL DEFAULT '{}',"
    "  step INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE build_cache ("
    "  key TEXT PRIMARY KEY,"
    "  layers TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "ALTER TABLE templates ADD COLUMN build_id TEXT;"
    "ALTER TABLE templates ADD COLUMN pool_size INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX templates_build ON templates(build_id);"
    "ALTER TABLE snapshots ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';",
    /* volumes: labels and a state (creating while its filesystem is made); resumable
     * uploads into machines and volumes */
    ("ALTER TABLE volumes ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';"
     "ALTER TABLE volumes ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';"
     "CREATE TABLE uploads ("
     "  id TEXT PRIMARY KEY,"
     "  owner TEXT NOT NULL,"
     "  path TEXT NOT NULL,"
     "  tmp TEXT NOT NULL,"
     "  size INTEGER NOT NULL,"
     "  sha256 TEXT NOT NULL DEFAULT '',"
     "  mode INTEGER NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  expires_at INTEGER NOT NULL"
     ") STRICT;"),
    /* 5: events get an ID, a reason and the key that caused them; webhooks, their durable
     * outbox (one delivery per event and endpoint) and every delivery attempt */
    ("ALTER TABLE events ADD COLUMN id TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE events ADD COLUMN reason TEXT NOT NULL DEFAULT 'system';"
     "ALTER TABLE events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';"
     "UPDATE events SET id = 'ev_' || lower(hex(randomblob(8))), "
     "  kind = 'machine.' || json_extract(data, '$.state') "
     "  WHERE kind = 'machine.state' AND json_extract(data, '$.state') IS NOT NULL;"
     "UPDATE events SET id = 'ev_' || lower(hex(randomblob(8))) WHERE id = '';"
     "CREATE INDEX events_kind ON events(kind, seq);"
     "CREATE INDEX events_ts ON events(ts);"
     "CREATE TABLE webhooks ("
     "  id TEXT PRIMARY KEY,"
     "  url TEXT NOT NULL,"
     "  events TEXT NOT NULL DEFAULT '[\"*\"]',"
     "  enabled INTEGER NOT NULL DEFAULT 1,"
     "  secret TEXT NOT NULL,"
     "  description TEXT NOT NULL DEFAULT '',"
     "  previous_secret TEXT NOT NULL DEFAULT '',"
     "  previous_until INTEGER NOT NULL DEFAULT 0,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE deliveries ("
     "  id TEXT PRIMARY KEY,"
     "  webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
     "  event_seq INTEGER NOT NULL,"
     "  state TEXT NOT NULL DEFAULT 'pending',"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  next_at INTEGER NOT NULL,"
     "  leased INTEGER NOT NULL DEFAULT 0,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE INDEX deliveries_due ON deliveries(webhook_id, state, next_at);"
     "CREATE INDEX deliveries_event ON deliveries(event_seq);"
     "CREATE TABLE delivery_attempts ("
     "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,"
     "  at INTEGER NOT NULL,"
     "  status INTEGER NOT NULL,"
     "  duration_ms INTEGER NOT NULL,"
     "  error TEXT NOT NULL DEFAULT '',"
     "  response TEXT NOT NULL DEFAULT ''"
     ") STRICT;"
     "CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, seq);"),
    /* 6: secrets, sealed with the state directory's key (core/secrets.c) */
    "CREATE TABLE secrets ("
    "  name TEXT PRIMARY KEY,"
    "  sealed BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;",
    /* 7: deployments, their revisions and their runs (core/deploy.c), each row's
     * document JSON */
    "CREATE TABLE deployments ("
    "  name TEXT PRIMARY KEY,"
    "  doc TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE deployment_revisions ("
    "  deployment TEXT NOT NULL REFERENCES deployments(name) ON DELETE CASCADE,"
    "  number INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (deployment, number)"
    ") STRICT;"
    "CREATE TABLE deployment_runs ("
    "  id TEXT PRIMARY KEY,"
    "  deployment TEXT NOT NULL REFERENCES deployments(name) ON DELETE CASCADE,"
    "  doc TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX deployment_runs_by ON deployment_runs(deployment);",
};

#define LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

int store_schema_latest(void)
{
        return LATEST;
}

int db_check_version(const struct store *st, struct err *e)
{
        if (st->version > LATEST)
                return err_set(e, EPROTO,
                               "database schema version %d is newer than this build knows (%d); "
                               "run the newer nullspaced, or restore a backup made before the "
                               "upgrade (docs/operations.md)",
                               st->version, LATEST);
        return 0;
}

int db_migrate(struct store *st, struct err *e)
{
        const int latest = LATEST;
        int r = db_check_version(st, e);
        for (int v = st->version; r == 0 && v < latest; v++) {
                char bump[64];
                snprintf(bump, sizeof(bump), "PRAGMA user_version = %d;", v + 1);
                r = db_exec(st, "BEGIN IMMEDIATE;", e);
                if (r == 0)
                        r = db_exec(st, migrations[v], e);
                if (r == 0)
                        r = db_exec(st, bump, e);
                if (r == 0)
                        r = db_exec(st, "COMMIT;", e);
                if (r < 0) {
                        db_exec(st, "ROLLBACK;", NULL);
                        return r;
                }
                st->version = v + 1;
        }
        return r;
}
