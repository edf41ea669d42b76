/* Every route the daemon serves. specs/openapi.yaml must list exactly these (a test
 * compares `nullspaced --print-routes` with the spec). */
#include "../../common/cleanup.h"
#include "api.h"

#define JSON_BODY_MAX  (64u << 10)
#define FILE_MAX       (64ull << 30) /* uploads stream; this only bounds one file */
#define EXEC_BODY_MAX  (10u << 20)   /* a command may carry up to 8 MiB of stdin */
#define BUILD_BODY_MAX (1u << 20)    /* a Dockerfile (256 KiB) or builder steps */
#define CONTEXT_MAX    (1ull << 30)  /* a build context (tar) */

const struct route api_routes[] = {
    {"GET", "/healthz", api_healthz, ROUTE_PUBLIC, 0, NULL},
    {"GET", "/readyz", api_readyz, ROUTE_PUBLIC, 0, NULL},
    {"GET", "/openapi.yaml", api_openapi, ROUTE_PUBLIC, 0, NULL},
    {"GET", "/v1/info", api_info, 0, 0, NULL},
    {"POST", "/v1/keys", api_keys_create, ROUTE_JSON_BODY, JSON_BODY_MAX, NULL},
    {"GET", "/v1/keys", api_keys_list, 0, 0, NULL},
    {"GET", "/v1/keys/{id}", api_keys_get, 0, 0, NULL},
    {"DELETE", "/v1/keys/{id}", api_keys_revoke, 0, 0, NULL},
    {"GET", "/v1/ws", api_ws, ROUTE_WEBSOCKET, 0, NULL},
    {"POST", "/v1/machines", api_machines_create, ROUTE_JSON_BODY, JSON_BODY_MAX, NULL},
    {"GET", "/v1/machines", api_machines_list, 0, 0, NULL},
    {"GET", "/v1/machines/{id}", api_machines_get, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/metrics", api_machines_metrics, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/hibernate", api_machines_hibernate, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/events", api_machines_events, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/resume", api_machines_resume, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/previews", api_previews_create, ROUTE_JSON_BODY, JSON_BODY_MAX,
     NULL},
    {"PUT", "/v1/machines/{id}/network", api_machines_network, ROUTE_JSON_BODY, JSON_BODY_MAX,
     NULL},
    {"POST", "/v1/machines/{id}/fork", api_machines_fork, ROUTE_JSON_BODY, JSON_BODY_MAX, NULL},
    {"POST", "/v1/machines/{id}/snapshots", api_snapshots_create, ROUTE_JSON_BODY, JSON_BODY_MAX,
     NULL},
    {"GET", "/v1/snapshots", api_snapshots_list, 0, 0, NULL},
    {"GET", "/v1/snapshots/{id}", api_snapshots_get, 0, 0, NULL},
    {"DELETE", "/v1/snapshots/{id}", api_snapshots_delete, 0, 0, NULL},
    {"DELETE", "/v1/machines/{id}", api_machines_destroy, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/timeout", api_machines_timeout, ROUTE_JSON_BODY, JSON_BODY_MAX,
     NULL},
    {"POST", "/v1/machines/{id}/exec", api_machines_exec, ROUTE_JSON_BODY, EXEC_BODY_MAX, NULL},
    {"POST", "/v1/machines/{id}/processes", api_procs_start, ROUTE_JSON_BODY, EXEC_BODY_MAX, NULL},
    {"GET", "/v1/machines/{id}/processes", api_procs_list, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/processes/{ref}/signal", api_procs_signal, ROUTE_JSON_BODY,
     JSON_BODY_MAX, NULL},
    {"POST", "/v1/machines/{id}/processes/{ref}/stdin", api_procs_stdin, ROUTE_JSON_BODY,
     EXEC_BODY_MAX, NULL},
    {"POST", "/v1/machines/{id}/processes/{ref}/resize", api_procs_resize, ROUTE_JSON_BODY,
     JSON_BODY_MAX, NULL},
    {"GET", "/v1/machines/{id}/processes/{ref}/logs", api_procs_logs, 0, 0, NULL},
    {"PUT", "/v1/machines/{id}/files", api_files_put, ROUTE_SIGNED, FILE_MAX, api_files_put_body},
    {"GET", "/v1/machines/{id}/files", api_files_get, ROUTE_SIGNED, 0, NULL},
    {"POST", "/v1/machines/{id}/signed-urls", api_files_sign, ROUTE_JSON_BODY, JSON_BODY_MAX, NULL},
    {"DELETE", "/v1/machines/{id}/files", api_files_delete, 0, 0, NULL},
    {"GET", "/v1/machines/{id}/files/{op}", api_files_query, 0, 0, NULL},
    {"POST", "/v1/machines/{id}/files/{op}", api_files_action, ROUTE_JSON_BODY, JSON_BODY_MAX,
     NULL},
    {"PUT", "/v1/templates/contexts", api_contexts_put, 0, CONTEXT_MAX, api_contexts_put_body},
    {"POST", "/v1/templates/builds", api_builds_create, ROUTE_JSON_BODY, BUILD_BODY_MAX, NULL},
    {"GET", "/v1/templates/builds/{id}", api_builds_get, 0, 0, NULL},
    {"DELETE", "/v1/templates/builds/{id}", api_builds_cancel, 0, 0, NULL},
    {"GET", "/v1/templates/builds/{id}/logs", api_builds_logs, 0, 0, NULL},
    {"GET", "/v1/templates", api_templates_list, 0, 0, NULL},
    {"POST", "/v1/templates/prune", api_templates_prune, ROUTE_JSON_BODY, JSON_BODY_MAX, NULL},
    {"GET", "/v1/templates/{ref}", api_templates_get, 0, 0, NULL},
    {"DELETE", "/v1/templates/{ref}", api_templates_delete, 0, 0, NULL},
    {"POST", "/v1/templates/{ref}/aliases", api_templates_alias, ROUTE_JSON_BODY, JSON_BODY_MAX,
     NULL},
    {"PUT", "/v1/templates/{ref}/pool", api_templates_pool, ROUTE_JSON_BODY, JSON_BODY_MAX, NULL},
};

const size_t api_nroutes = ARRAY_SIZE(api_routes);
