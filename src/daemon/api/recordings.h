/* Between the desktop recorder (recordings.c) and what recordings keep on the host
 * (recordings_files.c). Loop thread only. */
#ifndef NS_API_RECORDINGS_H
#define NS_API_RECORDINGS_H

#include <jansson.h>
#include <stddef.h>

struct app;
struct http_exchange;

/* STATE/recordings/MACHINE[/ID EXT] into out: 0, or -1 when it does not fit. */
int recording_path(const struct app *app, const char *machine, const char *id, const char *ext,
                   char *out, size_t cap);

/* The bytes recording id under way has written, or -1 when none records it now. */
long long recording_live_bytes(const struct app *app, const char *id);

/* The description of the path's recording ({id}, {rid}; new reference), or NULL after
 * answering 404 recording_not_found. */
json_t *recording_stored_or_404(struct http_exchange *ex);

#endif
