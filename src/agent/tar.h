/* The tar format (POSIX ustar, with GNU long names and the pax path/linkpath/size
 * records others write), apart from any filesystem: headers made for what the agent
 * sends, and an incremental reader for what it is sent (untrusted: every length is
 * bounded, a malformed archive is an error, never a crash). Any thread; no globals. */
#ifndef NS_AGENT_TAR_H
#define NS_AGENT_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TAR_BLOCK    512
#define TAR_NAME_MAX 4096 /* longest name or link target accepted or written */

/* One archive member as the reader hands it over. */
struct tar_entry {
        char type; /* '0' file, '5' dir, '2' symlink, '1' hard link; others are skipped */
        char name[TAR_NAME_MAX];
        char link[TAR_NAME_MAX];
        uint64_t size; /* of a file's data */
        unsigned mode;
        uint32_t uid, gid;
        int64_t mtime;
};

/* What the reader calls. Each returns 0, or -errno to stop the archive there. */
struct tar_sink {
        int (*entry)(void *ud, const struct tar_entry *e);       /* a member begins */
        int (*data)(void *ud, const unsigned char *p, size_t n); /* a file's bytes, in order */
        int (*end)(void *ud);                                    /* a file's data is complete */
        void *ud;
};

struct tar_reader {
        struct tar_sink sink;
        unsigned char block[TAR_BLOCK];
        size_t have;   /* bytes of block filled */
        uint64_t left; /* data bytes of the current member still to come */
        uint64_t pad;  /* padding after them */
        int skipping;  /* the member's data is not handed over */
        int meta;      /* 'L', 'K' or 'x': its data is collected into extra */
        char extra[TAR_NAME_MAX * 2];
        size_t nextra;
        char long_name[TAR_NAME_MAX], long_link[TAR_NAME_MAX];
        int64_t pax_size; /* -1: none */
        int zeros;        /* empty blocks in a row: two end the archive */
        int done, failed;
        uint64_t entries;
        struct tar_entry cur; /* the member being handed over */
};

/* Starts reading an archive into sink. */
void tar_reader_init(struct tar_reader *r, const struct tar_sink *sink);

/* Feeds n more bytes. 0, or -errno (EINVAL for a malformed archive, or the sink's);
 * after an error every further call fails the same way. */
int tar_reader_feed(struct tar_reader *r, const unsigned char *p, size_t n);

/* The input ended: 0 when the archive was complete (its end marker, or a clean stop
 * between members), -EINVAL when it was cut inside one. */
int tar_reader_finish(struct tar_reader *r);

#define TAR_HEADER_MAX (20 * TAR_BLOCK)

/* Writes the header block(s) of a member into out (TAR_HEADER_MAX bytes suffice: GNU
 * long-name and long-link members before it when name or link do not fit the ustar
 * fields). Returns the bytes written, or -ENAMETOOLONG past TAR_NAME_MAX. */
ssize_t tar_header(const struct tar_entry *e, unsigned char *out, size_t cap);

#endif
