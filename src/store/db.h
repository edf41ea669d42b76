/* Internal to src/store: the handle and SQLite helpers shared by the per-table files. */
#ifndef NS_STORE_DB_H
#define NS_STORE_DB_H

#include <sqlite3.h>

#include "store.h"

enum stmt_id {
        ST_KEY_INSERT,
        ST_KEY_GET,
        ST_KEY_FIND,
        ST_KEY_LIST,
        ST_KEY_REVOKE,
        ST_KEY_COUNT,
        ST_KEY_COUNT_ACTIVE,
        ST_M_INSERT,
        ST_M_STATE,
        ST_M_DEADLINE,
        ST_M_GET,
        ST_M_LIST,
        ST_M_SPEC,
        ST_M_CHILDREN,
        ST_M_SNAPSHOT_USERS,
        ST_LAYERS_IN_USE,
        ST_SN_INSERT,
        ST_SN_GET,
        ST_SN_LIST,
        ST_SN_BY_NAME,
        ST_SN_STATE,
        ST_SN_DELETE,
        ST_B_INSERT,
        ST_B_GET,
        ST_B_UPDATE,
        ST_B_BUILDING,
        ST_B_UNNAMED,
        ST_BC_GET,
        ST_BC_PUT,
        ST_BC_DELETE,
        ST_BC_PRUNE,
        ST_IMAGES_IN_USE,
        ST_T_PUT,
        ST_T_GET,
        ST_T_LIST,
        ST_T_DELETE,
        ST_T_REFS,
        ST_T_DEPENDENTS,
        ST_T_POOL,
        ST_M_META,
        ST_EV_APPEND,
        ST_EV_FANOUT,
        ST_EV_QUERY,
        ST_EV_GET,
        ST_EV_LAST,
        ST_EV_PRUNE_DELIVERIES,
        ST_EV_PRUNE,
        ST_V_INSERT,
        ST_V_GET,
        ST_V_LIST,
        ST_V_STATE,
        ST_V_DELETE,
        ST_V_USERS,
        ST_UP_INSERT,
        ST_UP_GET,
        ST_UP_DELETE,
        ST_WH_INSERT,
        ST_WH_GET,
        ST_WH_LIST,
        ST_WH_UPDATE,
        ST_WH_DELETE,
        ST_DL_LEASE,
        ST_DL_SET,
        ST_DL_ATTEMPT,
        ST_DL_LIST,
        ST_DL_GET,
        ST_DL_ATTEMPTS,
        ST_DL_REDELIVER,
        ST_DL_NEXT,
        ST_DL_UNLEASE,
        ST_SEC_PUT,
        ST_SEC_GET,
        ST_SEC_LIST,
        ST_SEC_DELETE,
        ST_DEP_PUT,
        ST_DEP_GET,
        ST_DEP_LIST,
        ST_DEP_DELETE,
        ST_REV_PUT,
        ST_REV_GET,
        ST_REV_LIST,
        ST_RUN_PUT,
        ST_RUN_GET,
        ST_RUN_LIST,
        ST_RUN_OPEN,
        ST_COUNT
};

struct store {
        sqlite3 *db;
        sqlite3_stmt *stmts[ST_COUNT];
        int version;
        struct store_event_hook hook;
        struct prom_hist writes; /* latency of statements that write */
};

/* Returns the cached prepared statement `id`, reset and unbound; NULL with `e` set. */
sqlite3_stmt *db_stmt(struct store *st, enum stmt_id id, struct err *e);

/* Copies a text column into dst (cap bytes, truncated, always NUL-terminated). */
void db_column_text(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* Records the database's last error in e; returns -EIO. */
int db_fail(struct store *st, struct err *e, const char *what);

/* Runs SQL without results. */
int db_exec(struct store *st, const char *sql, struct err *e);

/* Steps s (bound by the caller) and collects its first column as strings: *out is a
 * malloc'd NULL-terminated array (strv_free), *n its length. */
int db_collect_ids(struct store *st, sqlite3_stmt *s, char ***out, size_t *n, struct err *e);

/* Steps s (bound by the caller) for up to `limit` rows of `size` bytes each, filled by
 * read(s, row); on failure free_row (may be NULL) releases the rows read. *out is a
 * calloc'd array (caller frees), *n its length. */
int db_collect_rows(struct store *st, sqlite3_stmt *s, unsigned limit, size_t size,
                    void (*read)(sqlite3_stmt *s, void *row), void (*free_row)(void *row),
                    void **out, size_t *n, struct err *e);

/* One page of a table in insertion order: statement `which` (its ?1 the seq after which
 * the page starts, its ?2 the limit) bound and its rows collected as db_collect_rows. */
int db_page(struct store *st, enum stmt_id which, int64_t after_seq, unsigned limit, size_t size,
            void (*read)(sqlite3_stmt *s, void *row), void (*free_row)(void *row), void **out,
            size_t *n, struct err *e);

/* Steps s (bound by the caller) for one row filled by read(s, row): 0, -ENOENT ("WHAT
 * not found") when there is none, -EIO on a database error. */
int db_get_row(struct store *st, sqlite3_stmt *s, void (*read)(sqlite3_stmt *s, void *row),
               void *row, const char *what, struct err *e);

/* Steps an UPDATE or DELETE s (bound by the caller): 0 when it changed a row, -ENOENT
 * ("WHAT not found") when none matched, -EIO on a database error. */
int db_changed(struct store *st, sqlite3_stmt *s, const char *what, struct err *e);

/* Binds arg (may be NULL: unbound) to statement `which` and collects its first column
 * (db_collect_ids). */
int db_ids(struct store *st, enum stmt_id which, const char *arg, char ***out, size_t *n,
           struct err *e);

/* Applies the migrations the database lacks (migrations.c). */
int db_migrate(struct store *st, struct err *e);

/* -EPROTO (e says so) when st->version is newer than this build's migrations know. */
int db_check_version(const struct store *st, struct err *e);

#endif
