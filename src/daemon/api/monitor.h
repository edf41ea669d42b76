/* The monitor stream: per-machine usage samples at a chosen interval, and the lifecycle
 * events (operation progress, failures) of the machines watched, over a WebSocket channel
 * (monitor.subscribe) or Server-Sent Events (GET /v1/monitor). One subscription object
 * serves both; its sink decides how a message goes out. Loop thread only. */
#ifndef NS_API_MONITOR_H
#define NS_API_MONITOR_H
#include <jansson.h>
#include <stdint.h>

struct app;
struct event_rec;
struct monitor_sub;

#define MONITOR_INTERVAL_MIN_MS 100
#define MONITOR_INTERVAL_MAX_MS 60000
#define MONITOR_MACHINES_MAX    64

/* Where a subscription's messages go: kind "sample", "event" or "process", doc borrowed. */
typedef void (*monitor_sink)(void *ud, const char *kind, json_t *doc);

/* Starts a subscription for `machines` (n IDs, copied; 0 means every running machine)
 * sampled every interval_ms. NULL when out of memory. */
struct monitor_sub *monitor_sub_new(struct app *app, const char *const *machines, size_t n,
                                    unsigned interval_ms, monitor_sink sink, void *ud);

/* Ends it (its timer stops; nothing is sent any more). */
void monitor_sub_free(struct monitor_sub *s);

/* Tells every subscription watching ev's subject (or every machine, for machine, build
 * and snapshot events) of the event. */
void monitor_broadcast_event(struct app *app, const struct event_rec *ev);

/* A usage sample as the API shows it (a new object; api/metrics.c, beside the
 * single sample's view). */
struct usage_point;
json_t *usage_point_json(const struct usage_point *p);

/* Tells every subscription watching machine_id that one of its processes started or
 * exited (note: the agent's NOTE document, borrowed). */
void monitor_broadcast_process(struct app *app, const char *machine_id, json_t *note);

/* GET /v1/monitor?machines=a,b&interval_ms=N: the stream as text/event-stream. */
struct http_exchange;
void api_monitor_sse(struct http_exchange *ex);

#endif
