/* `key = value` configuration files: the one grammar of the CLI's config, the SDKs'
 * (which implement the same rules, tested with the same cases) and the daemon's
 * nullspaced.conf (docs/configuration.md). Blanks around key and value are trimmed; a
 * line whose first non-blank character is '#' is a comment ('#' anywhere else belongs
 * to the value); a value in matching double or single quotes loses them; CR before LF is
 * ignored; lines longer than KVCONF_LINE_MAX are refused. Any thread. */
#ifndef NS_KVCONF_H
#define NS_KVCONF_H

#include "err.h"

#define KVCONF_LINE_MAX 4096

/* Called for each pair in file order (strings valid during the call only); returns 0 to
 * go on, or -errno with e set to stop (the parse returns it). */
typedef int (*kvconf_pair_cb)(void *ud, const char *key, const char *value, int line,
                              struct err *e);

/* Reads `path`. Returns 0; -ENOENT when the file does not exist (e set, nothing
 * called); -EINVAL with e naming PATH:LINE for a line that is not `key = value` or is
 * too long; another -errno when it cannot be read; or what on_pair returned. */
int kvconf_read(const char *path, kvconf_pair_cb on_pair, void *ud, struct err *e);

#endif
