/* Query-string decoding with a whitelist: unknown or repeated parameters are errors,
 * like unknown JSON fields. */
#ifndef NS_HTTP_QUERY_H
#define NS_HTTP_QUERY_H

#include <stddef.h>

#define QUERY_VALUE_MAX 1024

struct query_param {
        const char *name;
        char value[QUERY_VALUE_MAX + 1]; /* percent-decoded */
        int present;
};

/* Parses `query` ("a=1&b=x%20y") into params[0..n). Returns 0, or -1 with a message
 * naming the offending parameter in msg. Thread-safe. */
int query_parse(const char *query, struct query_param *params, size_t n, char *msg, size_t cap);

#endif
