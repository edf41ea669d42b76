/* Common helpers: bounded buffers, encodings, the error catalogue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "../../src/common/buf.h"
#include "../../src/common/errcodes.h"
#include "../../src/common/ring.h"
#include "../../src/common/util.h"
#include "../../src/common/sha256.h"
#include "../../src/common/sshkey.h"
#include "../../src/common/prom.h"
#include "../../src/common/rfb.h"
#include "../../src/core/webhook_sign.h"
#include "../../src/core/webhooks.h"
#include "tap.h"

/* The replay ring: readers by absolute offset, oldest bytes dropped past cap. */
static void test_ring(void)
{
        struct ring r;
        char out[32];
        uint64_t from;
        ring_init(&r, 8);
        is_int(ring_read(&r, 0, out, sizeof(out), &from), 0, "empty ring reads nothing");
        ring_write(&r, "abc", 3);
        is_int(ring_read(&r, 1, out, sizeof(out), &from), 2, "read from an offset");
        ok(memcmp(out, "bc", 2) == 0 && from == 1, "... the right bytes");
        ring_write(&r, "defghij", 7); /* 10 written, 8 kept: "cdefghij" */
        is_int((int)ring_tail(&r), 2, "tail moves past cap");
        is_int(ring_read(&r, 0, out, sizeof(out), &from), 8, "a reader behind is clamped");
        ok(memcmp(out, "cdefghij", 8) == 0 && from == 2, "... and told where it resumed");
        ring_write(&r, "0123456789ABC", 13); /* more than cap at once */
        is_int(ring_read(&r, 0, out, sizeof(out), &from), 8, "a long write keeps the last cap");
        ok(memcmp(out, "56789ABC", 8) == 0 && from == 15, "... at their offsets");
        is_int(ring_read(&r, 20, out, 2, &from), 2, "a read is bounded by n");
        ok(memcmp(out, "AB", 2) == 0, "... across the wrap");
        ring_fini(&r);
        ring_init(&r, 0);
        is_int(ring_write(&r, "x", 1), 0, "a zero-cap ring drops everything");
        is_int(ring_read(&r, 0, out, 1, NULL), 0, "... and reads nothing");
}

static void sha256_vectors(void)
{
        static const struct {
                const char *in;
                const char *want;
        } v[] = {
            {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
            {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        };
        char hex[65];
        struct sha256 s;
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                sha256_init(&s);
                sha256_update(&s, v[i].in, strlen(v[i].in));
                sha256_final_hex(&s, hex);
                is_str(hex, v[i].want, "sha256 of a FIPS test vector");
        }
        /* a million 'a', fed in uneven pieces across block boundaries */
        static char a[1000000];
        memset(a, 'a', sizeof(a));
        sha256_init(&s);
        for (size_t off = 0, step = 1; off < sizeof(a); off += step, step = step * 7 % 1000 + 1)
                sha256_update(&s, a + off, off + step > sizeof(a) ? sizeof(a) - off : step);
        sha256_final_hex(&s, hex);
        is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "sha256 of a million 'a' in uneven pieces");
}

/* Standard Webhooks' published example, and the target rule. */
static void webhook_vectors(void)
{
        char sig[WEBHOOK_SIG_MAX];
        const char *body = "{\"test\": 2432232314}";
        is_int(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                            "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), sig),
               0, "sign");
        is_str(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
               "the Standard Webhooks example signature");
        ok(webhook_sign("nope", "m", 1, "", 0, sig) < 0, "a secret without whsec_ is refused");
        char secret[64];
        is_int(webhook_secret_new(secret, sizeof(secret)), 0, "new secret");
        ok(strncmp(secret, "whsec_", 6) == 0 && strlen(secret) == 6 + 44, "whsec_ + 32 bytes");
        struct err e = {0};
        ok(webhook_url_check("https://hooks.example.com/x", 0, &e) == 0, "a public https URL");
        ok(webhook_url_check("ftp://example.com/", 1, &e) < 0, "ftp is refused");
        ok(webhook_url_check("http://user:pw@example.com/", 1, &e) < 0, "user info is refused");
        ok(webhook_url_check("http://127.0.0.1:9/", 0, &e) < 0, "loopback refused by default");
        ok(webhook_url_check("http://127.0.0.1:9/", 1, &e) == 0, "... allowed by the flag");
        ok(webhook_url_check("http://[::1]:9/", 0, &e) < 0, "IPv6 loopback refused");
        ok(webhook_url_check("http://169.254.169.254/", 0, &e) < 0, "link-local refused");
        ok(webhook_url_check("http://10.1.2.3/", 0, &e) < 0, "RFC 1918 refused");
        ok(webhook_url_check("http://[::ffff:192.168.1.1]/", 0, &e) < 0, "mapped private refused");
        ok(webhook_url_check("http://8.8.8.8/", 0, &e) == 0, "a public address");
        is_int((int)webhook_retry_delay_ms(1), 1000, "first retry after 1 s");
        is_int((int)webhook_retry_delay_ms(2), 5000, "then 5 s");
        ok(webhook_retry_delay_ms(WEBHOOK_ATTEMPTS_MAX) < 0, "then no more");
        char l[32];
        prom_label(l, sizeof(l), "k", "a\"b\\c\n");
        is_str(l, "k=\"a\\\"b\\\\c\\n\"", "label values escaped");
}

/* OpenSSH's own ssh-keygen reads our private key file and certificate: the public half
 * it derives is ours, and it lists the certificate's principal and CA. */
static void sshkey_formats(void)
{
        unsigned char seed[32] = {7, 7, 7}, pub[32];
        ok(ssh_ed25519_public(seed, pub) == 0, "ed25519 public key from a seed");
        char *line = ssh_ed25519_line(pub, NULL), *priv = ssh_ed25519_private_file(seed, "t");
        char path[] = "/tmp/ns-sshkey-XXXXXX";
        int fd = mkstemp(path);
        ok(fd >= 0 && line && priv && write(fd, priv, strlen(priv)) == (ssize_t)strlen(priv),
           "private key file written");
        close(fd);
        char cmd[200], got[300] = "";
        snprintf(cmd, sizeof(cmd), "ssh-keygen -y -f %s 2>&1", path);
        FILE *p = popen(cmd, "r");
        if (p && !fgets(got, sizeof(got), p))
                got[0] = '\0';
        if (p)
                pclose(p);
        got[strcspn(got, "\n")] = '\0';
        ok(line && strncmp(got, line, strlen(line)) == 0,
           "ssh-keygen -y derives our public key (%s)", got);
        struct ssh_pubkey k = {0};
        char why[200];
        ok(ssh_pubkey_parse(line, &k, why, sizeof(why)) == 0, "our line parses back");
        const char *pr[] = {"m_1:root"};
        struct ssh_cert_req r = {.key = &k,
                                 .key_id = "id",
                                 .principals = pr,
                                 .nprincipals = 1,
                                 .valid_before = 4000000000u,
                                 .extensions = SSH_EXT_PTY};
        char *cert = ssh_cert_sign(&r, seed, NULL);
        FILE *f = fopen(path, "w");
        if (f && cert)
                fprintf(f, "%s\n", cert);
        if (f)
                fclose(f);
        snprintf(cmd, sizeof(cmd), "ssh-keygen -L -f %s 2>&1", path);
        char all[4096] = "";
        p = popen(cmd, "r");
        size_t n = p ? fread(all, 1, sizeof(all) - 1, p) : 0;
        all[n] = '\0';
        if (p)
                pclose(p);
        ok(strstr(all, "m_1:root") && strstr(all, "permit-pty") && !strstr(all, "permit-agent"),
           "ssh-keygen -L reads our certificate");
        ok(ssh_pubkey_parse("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7", &k, why, sizeof(why)) < 0,
           "a cut RSA key is refused (%s)", why);
        unlink(path);
        ssh_pubkey_free(&k);
        free(cert);
        free(line);
        free(priv);
}

/* The last line of a log, as a failed sandbox's error quotes it. */
static void last_lines(void)
{
        char path[] = "/tmp/ns-lastline-XXXXXX", out[16];
        int fd = mkstemp(path);
        ok(fd >= 0, "temporary log");
        is_int(read_last_line(path, out, sizeof(out)), -1, "an empty log has no line");
        is_str(out, "", "... and says nothing");
        dprintf(fd, "first\nnullspace: refused\r\n\n  \n");
        is_int(read_last_line(path, out, sizeof(out)), 0, "a log's last line");
        is_str(out, "nullspace: refu", "... without trailing blanks, cut to the buffer");
        for (int i = 0; i < 2000; i++) /* longer than the tail read */
                dprintf(fd, "line %d\tx\n", i);
        is_int(read_last_line(path, out, sizeof(out)), 0, "a long log");
        is_str(out, "line 1999 x", "... ends with its newest line, control bytes made spaces");
        close(fd);
        unlink(path);
        is_int(read_last_line(path, out, sizeof(out)), -1, "a missing log");
}

/* Feeds s[0..n) to a view-only filter in pieces of `step` bytes: what passes. */
static int rfb_run(const unsigned char *s, size_t n, size_t step, struct buf *out,
                   struct rfb_filter *f)
{
        const char *why = NULL;
        rfb_filter_init(f);
        for (size_t i = 0; i < n; i += step) {
                int rc = rfb_filter_feed(f, s + i, n - i < step ? n - i : step, out, &why);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* View-only viewers: their input never reaches the VNC server, the rest passes intact,
 * however the stream is cut into reads. */
static void rfb_view_only(void)
{
        static const unsigned char hs[] = "RFB 003.008\n\x01\x01";
        unsigned char s[256];
        size_t n = 0;
        memcpy(s, hs, 14), n = 14;
        static const unsigned char enc[] = {2, 0, 0, 2, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0x11};
        static const unsigned char upd[] = {3, 1, 0, 0, 0, 0, 5, 0, 3, 32};
        static const unsigned char key[] = {4, 1, 0, 0, 0, 0, 0, 'a'};
        static const unsigned char ptr[] = {5, 1, 0, 10, 0, 20};
        static const unsigned char cut[] = {6, 0, 0, 0, 0, 0, 0, 3, 'x', 'y', 'z'};
        static const unsigned char ecut[] = {6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 1, 2, 3, 4};
        static const unsigned char fence[] = {248, 0, 0, 0, 0, 0, 0, 1, 2, 'f', 'f'};
        static const unsigned char size[] = {251, 0, 2, 0, 1, 0,  1,  0,  1,  2,  3,  4,
                                             5,   6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        static const unsigned char qemu[] = {255, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 30};
        static const unsigned char pf[20] = {0, 0, 0, 0, 32, 24, 0, 1};
        const struct {
                const unsigned char *p;
                size_t n;
                int passes;
        } msgs[] = {{enc, sizeof(enc), 1},     {upd, sizeof(upd), 1},   {key, sizeof(key), 0},
                    {ptr, sizeof(ptr), 0},     {cut, sizeof(cut), 0},   {ecut, sizeof(ecut), 0},
                    {fence, sizeof(fence), 1}, {size, sizeof(size), 0}, {qemu, sizeof(qemu), 0},
                    {pf, sizeof(pf), 1}};
        unsigned char want[256];
        size_t wn = 14;
        memcpy(want, hs, 14);
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
                memcpy(s + n, msgs[i].p, msgs[i].n);
                n += msgs[i].n;
                if (msgs[i].passes) {
                        memcpy(want + wn, msgs[i].p, msgs[i].n);
                        wn += msgs[i].n;
                }
        }
        for (size_t step = 1; step <= n; step = step < 8 ? step + 1 : step * 3) {
                struct buf out;
                struct rfb_filter f;
                buf_init(&out, 4096);
                int rc = rfb_run(s, n, step, &out, &f);
                ok(rc == 0 && out.len == wn && memcmp(out.data, want, wn) == 0,
                   "view-only: input dropped, the rest intact (reads of %zu bytes)", step);
                is_int(f.dropped, 6, "... six input messages dropped");
                buf_fini(&out);
        }
        struct buf out;
        struct rfb_filter f;
        buf_init(&out, 4096);
        is_int(rfb_run((const unsigned char *)"RFB 003.003\n\x01\x05\x00\x00\x01\x00\x01", 18, 18,
                       &out, &f),
               0, "3.3: no security byte from the client");
        is_int(out.len, 13, "... the version and ClientInit pass, the pointer event not");
        buf_reset(&out);
        is_int(rfb_run((const unsigned char *)"RFB 003.008\n\x02", 13, 13, &out, &f), -1,
               "a security type other than None is refused");
        is_int(rfb_run((const unsigned char *)"GET / HTTP/1.1\r\n", 16, 16, &out, &f), -1,
               "HTTP is not RFB");
        is_int(rfb_run((const unsigned char *)"RFB 003.008\n\x01\x01\x07\x00", 16, 16, &out, &f),
               -1, "an unknown message type ends the stream");
        is_int(rfb_run((const unsigned char *)"RFB 003.008\n\x01\x01\xff\x01", 16, 16, &out, &f),
               -1, "... as does an unknown QEMU subtype");
        buf_fini(&out);
}

int main(void)
{
        rfb_view_only();
        last_lines();
        sshkey_formats();
        sha256_vectors();
        webhook_vectors();
        struct buf b;
        buf_init(&b, 8);
        is_int(buf_append(&b, "abcd", 4), 0, "append within limit");
        is_int(buf_append(&b, "efghi", 5), -E2BIG, "append past the limit fails");
        is_int(b.len, 4, "... leaving the buffer unchanged");
        buf_consume(&b, 2);
        is_str(b.data, "cd", "consume drops the front");
        is_int(buf_printf(&b, "%d", 123456), 0, "printf within limit");
        is_int(buf_printf(&b, "%d", 123), -E2BIG, "printf past the limit fails");
        buf_fini(&b);

        char out[64];
        base64_encode((const unsigned char *)"hello", 5, out);
        is_str(out, "aGVsbG8=", "base64 with padding");
        base64url_encode((const unsigned char *)"\xfb\xff", 2, out);
        is_str(out, "-_8", "base64url without padding");
        unsigned char raw[16];
        is_int(base64_decode("aGVsbG8=", 8, raw, sizeof(raw)), 5, "base64 decodes");
        ok(memcmp(raw, "hello", 5) == 0, "... to the bytes");
        is_int(base64_decode("aGVsbG8", 7, raw, sizeof(raw)), 5, "padding is optional");
        is_int(base64_decode("aGV*bG8=", 8, raw, sizeof(raw)), -1, "bad characters fail");
        is_int(base64_decode("aGVsbG8=", 8, raw, 4), -1, "a short buffer fails");
        is_int(base64_decode("a", 1, raw, sizeof(raw)), -1, "a bad length fails");
        ok(is_safe_token("req_1.a-B", 64), "safe token");
        ok(!is_safe_token("a b", 64), "space is not safe");
        ok(!is_safe_token("", 64), "empty is not safe");
        ok(!is_safe_token("aaaa", 3), "too long is not safe");
        char id1[32], id2[32];
        rand_id("m_", 8, id1, sizeof(id1));
        rand_id("m_", 8, id2, sizeof(id2));
        ok(strlen(id1) == 18 && strcmp(id1, id2) != 0, "random ids differ");
        is_int(rand_id("m_", 8, id1, 10), -ENOSPC, "rand_id checks its buffer");

        test_ring();

        for (unsigned i = 0; i < NS_E_COUNT; i++) {
                const struct ns_code_def *d = ns_code_def((enum ns_code)i);
                ok(d->name && d->meaning && ns_code_by_name(d->name) == (enum ns_code)i,
                   "code %s is named, documented and unique", d->name);
        }
        is_int(ns_code_by_name("no_such_code"), NS_E_COUNT, "unknown names are reported");
        return tap_done();
}
