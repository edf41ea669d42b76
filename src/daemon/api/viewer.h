/* The desktop viewer (docs/desktop.md, "Viewer"): POST /v1/machines/{id}/desktop/viewer
 * issues a short-lived signed viewer token and the URL of the page the daemon serves at
 * /viewer/ (noVNC, embedded at build time); the page's WebSocket
 * (/v1/machines/{id}/desktop/viewer/socket, the token as its subprotocol) is relayed to
 * the machine's VNC server through nsdesktop (viewer_relay.c), a view-only viewer's
 * input dropped by the daemon. Loop thread only. */
#ifndef NS_API_VIEWER_H
#define NS_API_VIEWER_H

#include "../../common/errcodes.h"

struct http_exchange;
struct route;
struct app;
struct machine;

/* A file of the viewer page, compiled in (cmake/embed_dir.cmake: viewer_files.c). */
struct embedded_file {
        const char *path; /* "index.html", "novnc/core/rfb.js" */
        const unsigned char *data;
        unsigned long len;
};
extern const struct embedded_file viewer_files[];
extern const unsigned long viewer_files_count;

/* The route that serves GET /viewer/... (taken at its head like a preview: its paths
 * have any depth), or NULL for any other request. */
const struct route *api_viewer_intercept(struct http_exchange *ex);
extern const struct route api_viewer_file_route; /* (for --print-routes) */

/* POST /v1/machines/{id}/desktop/viewer and GET .../desktop/viewer/socket. */
void api_desktop_viewer_create(struct http_exchange *ex);
void api_desktop_viewer_socket(struct http_exchange *ex);

/* Accepts ex's WebSocket upgrade (the subprotocol chosen already added to ex) and relays
 * it to machine m's VNC server, dropping RFB input when view_only. m passed
 * preview_conn_admit. Answers ex itself on failure. */
void viewer_relay_start(struct http_exchange *ex, struct machine *m, int view_only);

#endif
