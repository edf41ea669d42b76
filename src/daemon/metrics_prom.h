/* GET /metrics: the daemon in Prometheus's text format — machines by state and runtime,
 * machine operations (count and latency), HTTP requests by route and status, events by
 * type, webhook deliveries by outcome, store write latency, agent channels and clients
 * open. The counters live here; the loop thread updates and reads them. */
#ifndef NS_METRICS_PROM_H
#define NS_METRICS_PROM_H
#include <stdint.h>

struct core;
struct event_rec;
struct http_exchange;

/* Counts an event by type. */
void prom_count_event(const struct event_rec *ev);

/* Counts a finished request by route, method and status, with its duration. */
void prom_count_request(const struct http_exchange *ex);

/* core_hooks.operation: a machine operation ended. */
void prom_count_operation(struct core *core, const char *op, int ok, uint64_t ns);

/* GET /metrics (and the --metrics-listen server's only route). */
void api_prom_metrics(struct http_exchange *ex);

#endif
