/* The server name of a TLS ClientHello, as the machines' TLS filter reads it. */
#include <string.h>

#include "../../src/common/tls.h"
#include "tap.h"

/* A ClientHello with a padding extension and then server_name `name` (NULL: none). */
static size_t hello(unsigned char *out, const char *name)
{
        unsigned char body[512];
        size_t b = 0;
        body[b++] = 3;
        body[b++] = 3; /* TLS 1.2 */
        memset(body + b, 7, 32);
        b += 32;
        body[b++] = 0; /* no session id */
        body[b++] = 0;
        body[b++] = 2;
        body[b++] = 0x13;
        body[b++] = 0x01; /* one cipher suite */
        body[b++] = 1;
        body[b++] = 0; /* null compression */
        size_t ext_len_at = b;
        b += 2;
        body[b++] = 0;
        body[b++] = 21; /* padding extension, 3 bytes */
        body[b++] = 0;
        body[b++] = 3;
        memset(body + b, 0, 3);
        b += 3;
        if (name) {
                size_t l = strlen(name);
                body[b++] = 0;
                body[b++] = 0; /* server_name */
                body[b++] = 0;
                body[b++] = (unsigned char)(l + 5);
                body[b++] = 0;
                body[b++] = (unsigned char)(l + 3);
                body[b++] = 0; /* host_name */
                body[b++] = 0;
                body[b++] = (unsigned char)l;
                memcpy(body + b, name, l);
                b += l;
        }
        size_t ext = b - ext_len_at - 2;
        body[ext_len_at] = (unsigned char)(ext >> 8);
        body[ext_len_at + 1] = (unsigned char)ext;
        size_t rec = b + 4;
        unsigned char head[9] = {22,
                                 3,
                                 1,
                                 (unsigned char)(rec >> 8),
                                 (unsigned char)rec,
                                 1,
                                 0,
                                 (unsigned char)(b >> 8),
                                 (unsigned char)b};
        memcpy(out, head, 9);
        memcpy(out + 9, body, b);
        return 9 + b;
}

int main(void)
{
        unsigned char h[600];
        char sni[256];
        size_t n = hello(h, "Api.Example.COM");
        is_int(tls_hello_sni(h, n, sni, sizeof(sni)), 1, "a ClientHello names its server");
        is_str(sni, "api.example.com", "... lowercase");
        for (size_t cut = 0; cut < n; cut += 7)
                is_int(tls_hello_sni(h, cut, sni, sizeof(sni)), -2, "%zu bytes: wait for more",
                       cut);
        n = hello(h, NULL);
        is_int(tls_hello_sni(h, n, sni, sizeof(sni)), 0, "a hello without server_name");
        is_int(tls_hello_sni((const unsigned char *)"GET / HTTP/1.1\r\n", 16, sni, sizeof(sni)), -1,
               "plain HTTP is not a ClientHello");
        n = hello(h, "a.example.com");
        h[5] = 2; /* a ServerHello */
        is_int(tls_hello_sni(h, n, sni, sizeof(sni)), -1, "another handshake message");
        n = hello(h, "a.example.com");
        is_int(tls_hello_sni(h, n, sni, 5), -1, "a name longer than the room is refused");
        h[n - 14] = 0xff; /* the host name's length runs past its extension */
        is_int(tls_hello_sni(h, n, sni, sizeof(sni)), -1, "a lying length is refused");
        return tap_done();
}
