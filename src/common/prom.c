/* Prometheus text exposition writers. */
#include <stdio.h>
#include <string.h>

#include "prom.h"

const double prom_bounds[PROM_NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10,   30};

void prom_hist_observe(struct prom_hist *h, double seconds)
{
        for (int i = 0; i < PROM_NBUCKETS; i++)
                if (seconds <= prom_bounds[i]) {
                        h->buckets[i]++;
                        break;
                }
        h->count++;
        h->sum += seconds;
}

void prom_head(struct buf *b, const char *name, const char *type, const char *help)
{
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(struct buf *b, const char *name, const char *labels, double value)
{
        if (labels && *labels)
                buf_printf(b, "%s{%s} %.17g\n", name, labels, value);
        else
                buf_printf(b, "%s %.17g\n", name, value);
}

void prom_hist_write(struct buf *b, const char *name, const char *labels, const struct prom_hist *h)
{
        const char *sep = labels && *labels ? "," : "";
        uint64_t cum = 0;
        for (int i = 0; i < PROM_NBUCKETS; i++) {
                cum += h->buckets[i];
                buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels ? labels : "", sep,
                           prom_bounds[i], (unsigned long long)cum);
        }
        buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels ? labels : "", sep,
                   (unsigned long long)h->count);
        char full[256];
        snprintf(full, sizeof(full), "%s_sum", name);
        prom_sample(b, full, labels, h->sum);
        snprintf(full, sizeof(full), "%s_count", name);
        prom_sample(b, full, labels, (double)h->count);
}

void prom_label(char *out, size_t cap, const char *key, const char *value)
{
        size_t n = (size_t)snprintf(out, cap, "%s=\"", key);
        for (const char *p = value; *p && n + 3 < cap; p++) {
                if (*p == '\\' || *p == '"' || *p == '\n') {
                        out[n++] = '\\';
                        out[n++] = *p == '\n' ? 'n' : *p;
                } else {
                        out[n++] = *p;
                }
        }
        if (n + 2 <= cap) {
                out[n++] = '"';
                out[n] = '\0';
        } else if (cap) {
                out[cap - 1] = '\0';
        }
}
