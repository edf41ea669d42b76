/* What the daemon does to be observed: requests run under their API key's cause (so
 * the events they lead to name it), every event reaches WebSocket subscribers and the
 * webhook sender, old events are pruned, and counters feed GET /metrics. Loop thread. */
#ifndef NS_OBSERVE_H
#define NS_OBSERVE_H
#include "../common/err.h"

struct app;
struct http_exchange;

/* Hooks the store's event stream (call once the store is open, before the loop runs). */
void observe_install(struct app *app);

/* Starts the webhook sender and the hourly pruning. 0 or -errno with e. */
int observe_start(struct app *app, struct err *e);

/* Serves GET /metrics without a key on its own address (--metrics-listen HOST:PORT),
 * for a Prometheus that should hold no API key. 0 or -errno with e. */
int observe_metrics_listen(struct app *app, const char *hostport, struct err *e);

/* Stops them (pending deliveries stay in the store for the next start). */
void observe_stop(struct app *app);

/* http_app.dispatch: runs the handler with the request's key as the core's cause. */
void observe_dispatch(struct http_exchange *ex);

/* http_app.done: counts the request by route and status. */
void observe_done(struct http_exchange *ex);

#endif
