/* Prometheus text exposition (version 0.0.4): latency histograms with fixed buckets and
 * the writers for HELP/TYPE lines, samples and label values. Not thread-safe: each
 * histogram belongs to one thread (the daemon's loop). */
#ifndef NS_PROM_H
#define NS_PROM_H
#include <stdint.h>

#include "buf.h"

#define PROM_NBUCKETS 14

/* Upper bounds (seconds) of the buckets every histogram here uses. */
extern const double prom_bounds[PROM_NBUCKETS];

struct prom_hist {
        uint64_t buckets[PROM_NBUCKETS]; /* non-cumulative counts per bucket */
        uint64_t count;
        double sum; /* seconds */
};

/* Counts one observation of `seconds`. */
void prom_hist_observe(struct prom_hist *h, double seconds);

/* Appends "# HELP name help\n# TYPE name type\n". */
void prom_head(struct buf *b, const char *name, const char *type, const char *help);

/* Appends one sample: name{labels} value. labels is "" or already formatted
 * (k="v",k2="v2", values escaped with prom_label). */
void prom_sample(struct buf *b, const char *name, const char *labels, double value);

/* Appends the _bucket/_sum/_count lines of h under name with labels ("" for none). */
void prom_hist_write(struct buf *b, const char *name, const char *labels,
                     const struct prom_hist *h);

/* Writes key="value" with value escaped (\\, \", \n) into out (cap bytes, truncated). */
void prom_label(char *out, size_t cap, const char *key, const char *value);

#endif
