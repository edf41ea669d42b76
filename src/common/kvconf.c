#include "kvconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Trims blanks (and a CR/LF) at both ends, then one pair of matching quotes. */
static char *trim(char *s, int unquote)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = '\0';
        if (unquote && n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
                s[n - 1] = '\0';
                s++;
        }
        return s;
}

int kvconf_read(const char *path, kvconf_pair_cb on_pair, void *ud, struct err *e)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return err_set(e, errno, "cannot read config %s", path);
        char line[KVCONF_LINE_MAX + 2];
        int lineno = 0, r = 0;
        while (r == 0 && fgets(line, sizeof(line), f)) {
                lineno++;
                if (strlen(line) > KVCONF_LINE_MAX && !strchr(line, '\n')) {
                        r = err_say(e, EINVAL, "%s:%d: line longer than %d bytes", path, lineno,
                                    KVCONF_LINE_MAX);
                        break;
                }
                char *s = trim(line, 0);
                if (!*s || *s == '#')
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        r = err_say(e, EINVAL, "%s:%d: expected key = value", path, lineno);
                        break;
                }
                *eq = '\0';
                r = on_pair(ud, trim(s, 0), trim(eq + 1, 1), lineno, e);
        }
        if (r == 0 && ferror(f))
                r = err_set(e, EIO, "reading config %s", path);
        fclose(f);
        return r;
}
