/* Small helpers shared by daemon and CLI: clocks, random identifiers, encodings. */
#ifndef NS_UTIL_H
#define NS_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock) / since an arbitrary point (monotonic). */
int64_t time_wall_ms(void);
uint64_t time_mono_ns(void);

/* Reads at most cap-1 bytes of a small file (a /proc entry) into buf, NUL-terminated.
 * Returns how many, or -1 when it cannot be opened. Any thread. */
ssize_t read_small(const char *path, char *buf, size_t cap);

/* The last non-empty line of a text file (a log), from its last 4 KiB, cut to cap-1
 * bytes with control characters made spaces, into out. Returns 0, or -1 when the file
 * cannot be read or holds no line (out is then ""). Any thread. */
int read_last_line(const char *path, char *out, size_t cap);

/* fork(), and in the child every descriptor from 3 up made close-on-exec, so what the
 * child execs holds only what it dup2s onto 0..2 (or opens itself). Libraries the
 * daemon links open some descriptors without O_CLOEXEC (libcurl's wake-up socketpair
 * and its sockets), and a leaked one numbered 257 made gVisor's boot refuse to start
 * ("FD 257 is already in use") once ~240 machines were running. Returns as fork(). */
pid_t fork_child(void);

/* Fills `buf` with `n` bytes from the kernel CSPRNG. Returns 0 or -errno. Thread-safe. */
int rand_bytes(void *buf, size_t n);

/* Writes `prefix` + 2*nbytes lowercase hex random chars + NUL into out (cap bytes).
 * Returns 0, -ENOSPC when out is too small, or -errno from the CSPRNG. */
int rand_id(const char *prefix, size_t nbytes, char *out, size_t cap);

/* Hex-encodes n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Base64url without padding; out needs 4*ceil(n/3)+1 bytes. Returns the length. */
size_t base64url_encode(const unsigned char *in, size_t n, char *out);

/* Standard base64 with padding; out needs 4*ceil(n/3)+1 bytes. Returns the length. */
size_t base64_encode(const unsigned char *in, size_t n, char *out);

/* Decodes standard base64 (padding optional) of n chars into out (cap bytes; n/4*3+2
 * always suffice). Returns the length, or -1 on a bad character or length. */
ssize_t base64_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Percent-encodes s for a query value (unreserved characters and '/' kept). Returns a
 * malloc'd string (caller frees) or NULL. */
char *url_escape(const char *s);

/* True when s is 1..max bytes of [A-Za-z0-9._-]. */
int is_safe_token(const char *s, size_t max);

/* Makes directory `path` with `mode` and its missing parents with 0755 (what exists is
 * left as it is). 0, or -errno. Any thread. */
int mkdir_p(const char *path, unsigned mode);

/* Removes a directory that holds only plain files (a checkpoint image), in the
 * calling process. Errors are ignored (what remains is reported by later use). */
void remove_flat_dir(const char *dir);

/* Frees a NULL-terminated array of malloc'd strings and the array (NULL allowed). */
void strv_free(char **v);

#endif
