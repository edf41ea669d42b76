#include "router.h"

#include <stdio.h>
#include <string.h>

static int param_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-' || c == ':';
}

/* Matches path against pattern segment by segment, capturing {params} into m. */
static int path_matches(const char *pattern, const char *path, struct route_match *m)
{
        m->nparams = 0;
        const char *pp = pattern, *sp = path;
        while (*pp && *sp) {
                if (*pp != '/' || *sp != '/')
                        return 0;
                pp++;
                sp++;
                const char *pend = strchr(pp, '/');
                size_t plen = pend ? (size_t)(pend - pp) : strlen(pp);
                size_t slen = strcspn(sp, "/");
                if (plen > 2 && pp[0] == '{' && pp[plen - 1] == '}') {
                        if (slen == 0 || slen > ROUTE_PARAM_MAX || m->nparams >= ROUTE_MAX_PARAMS)
                                return 0;
                        for (size_t i = 0; i < slen; i++)
                                if (!param_char(sp[i]))
                                        return 0;
                        memcpy(m->params[m->nparams], sp, slen);
                        m->params[m->nparams++][slen] = '\0';
                } else if (plen != slen || memcmp(pp, sp, plen) != 0) {
                        return 0;
                }
                pp += plen;
                sp += slen;
        }
        return *pp == '\0' && *sp == '\0';
}

enum ns_code router_match(const struct route *routes, size_t n, const char *method,
                          const char *path, struct route_match *m)
{
        int path_found = 0;
        size_t alen = 0;
        m->route = NULL;
        m->allow[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                struct route_match tmp;
                if (!path_matches(routes[i].pattern, path, &tmp))
                        continue;
                if (strcmp(routes[i].method, method) == 0) {
                        *m = tmp;
                        m->route = &routes[i];
                        m->allow[0] = '\0';
                        return NS_OK;
                }
                path_found = 1;
                int w = snprintf(m->allow + alen, sizeof(m->allow) - alen, "%s%s", alen ? ", " : "",
                                 routes[i].method);
                if (w > 0 && (size_t)w < sizeof(m->allow) - alen)
                        alen += (size_t)w;
        }
        return path_found ? NS_E_METHOD_NOT_ALLOWED : NS_E_NOT_FOUND;
}
