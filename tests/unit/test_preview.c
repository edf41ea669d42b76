/* Preview tokens and host labels, and the CIDR lists of machine egress policies. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../../src/daemon/api/preview.h"
#include "../../src/runtime/net.h"
#include "tap.h"

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcde";

static void test_tokens(void)
{
        char t[PREVIEW_TOKEN_LEN + 1], other[PREVIEW_TOKEN_LEN + 1];
        preview_token_make(KEY, "m_00112233aabbccdd", 8000, 2000000000u, t);
        is_int((int)strlen(t), PREVIEW_TOKEN_LEN, "a token is 31 characters");
        ok(strspn(t, "abcdefghijklmnopqrstuvwxyz234567") == PREVIEW_TOKEN_LEN,
           "... of a host label's alphabet");
        is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8000, t, 1900000000), NS_OK,
               "a token checks out before its expiry");
        is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8000, t, 2000000001),
               NS_E_PREVIEW_TOKEN_EXPIRED, "... and is expired after it");
        is_int(preview_token_check(KEY, "m_00112233aabbccde", 8000, t, 0),
               NS_E_PREVIEW_TOKEN_INVALID, "another machine's token is refused");
        is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8001, t, 0),
               NS_E_PREVIEW_TOKEN_INVALID, "so is another port's");
        unsigned char key2[32];
        memcpy(key2, KEY, 32);
        key2[0] ^= 1;
        is_int(preview_token_check(key2, "m_00112233aabbccdd", 8000, t, 0),
               NS_E_PREVIEW_TOKEN_INVALID, "and one under another key");
        memcpy(other, t, sizeof(other));
        other[PREVIEW_TOKEN_LEN - 1] ^= 1; /* the last character's low bits are padding */
        if (other[PREVIEW_TOKEN_LEN - 1] < 'a' || other[PREVIEW_TOKEN_LEN - 1] > 'z')
                other[PREVIEW_TOKEN_LEN - 1] = t[PREVIEW_TOKEN_LEN - 1] == 'a' ? 'b' : 'a';
        ok(strcmp(other, t) != 0, "a second spelling of the token ...");
        is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8000, other, 0),
               NS_E_PREVIEW_TOKEN_INVALID, "... is refused (one encoding only)");
        preview_token_make(KEY, "m_00112233aabbccdd", 8000, 2000000001u, other);
        ok(strcmp(t, other) != 0, "the expiry is part of the token");
        memcpy(other, t, sizeof(other));
        other[0] = other[0] == 'a' ? 'b' : 'a'; /* a forged expiry breaks the MAC */
        is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8000, other, 0),
               NS_E_PREVIEW_TOKEN_INVALID, "a changed expiry is refused");
        static const char *const bad[] = {"", "short", "0000000000000000000000000000000",
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456"};
        for (unsigned i = 0; i < 4; i++)
                is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8000, bad[i], 0),
                       NS_E_PREVIEW_TOKEN_INVALID, "a malformed token is refused");
        is_int(preview_token_check(KEY, "m_00112233aabbccdd", 8000, NULL, 0),
               NS_E_PREVIEW_TOKEN_INVALID, "... as is none");
}

/* Viewer tokens: tied to the machine and the mode; never a preview token. */
static void test_viewer_tokens(void)
{
        char v[PREVIEW_TOKEN_LEN + 1], p[PREVIEW_TOKEN_LEN + 1];
        const char *id = "m_00112233aabbccdd";
        viewer_token_make(KEY, id, 1, 2000000000u, v);
        is_int(viewer_token_check(KEY, id, 1, v, 1900000000), NS_OK,
               "a view-only token checks out");
        is_int(viewer_token_check(KEY, id, 1, v, 2000000001), NS_E_VIEWER_TOKEN_EXPIRED,
               "... and expires");
        is_int(viewer_token_check(KEY, id, 0, v, 0), NS_E_VIEWER_TOKEN_INVALID,
               "a view-only token does not give control");
        is_int(viewer_token_check(KEY, "m_00112233aabbccde", 1, v, 0), NS_E_VIEWER_TOKEN_INVALID,
               "nor another machine's viewer");
        viewer_token_make(KEY, id, 0, 2000000000u, v);
        is_int(viewer_token_check(KEY, id, 0, v, 0), NS_OK, "a control token checks out");
        preview_token_make(KEY, id, 5900, 2000000000u, p);
        is_int(viewer_token_check(KEY, id, 0, p, 0), NS_E_VIEWER_TOKEN_INVALID,
               "a preview token is no viewer token");
        is_int(preview_token_check(KEY, id, 5900, v, 0), NS_E_PREVIEW_TOKEN_INVALID,
               "... nor a viewer token a preview token");
        is_int(viewer_token_check(KEY, id, 0, "nope", 0), NS_E_VIEWER_TOKEN_INVALID,
               "a malformed token is refused");
}

static void test_labels(void)
{
        struct preview_target p;
        char label[80];
        snprintf(label, sizeof(label), "8000-00112233aabbccdd-%s",
                 "abcdefghijklmnopqrstuvwxyz23456");
        is_int(preview_parse_label(label, strlen(label), &p), 0, "a label with a token parses");
        ok(p.port == 8000 && !strcmp(p.id, "m_00112233aabbccdd") &&
               !strcmp(p.token, "abcdefghijklmnopqrstuvwxyz23456"),
           "... into port, machine and token");
        is_int(preview_parse_label("80-00112233aabbccdd", 19, &p), 0, "a public label parses");
        ok(p.port == 80 && p.token[0] == '\0', "... without a token");
        static const char *const bad[] = {
            "0-00112233aabbccdd",      "65536-00112233aabbccdd",
            "8000-00112233AABBCCDD",   "8000-00112233aabbccd",
            "8000_00112233aabbccdd",   "-00112233aabbccdd",
            "8000-00112233aabbccdd-",  "8000-00112233aabbccdd-abc",
            "123456-00112233aabbccdd", "www",
        };
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                is_int(preview_parse_label(bad[i], strlen(bad[i]), &p), -1, "bad label %s", bad[i]);
}

static void test_cidrs(void)
{
        struct err e;
        json_t *good = json_pack("[s,s,s]", "10.0.0.0/8", "1.2.3.4", "0.0.0.0/0");
        is_int(net_check_targets(good, "allow_out", &e), 0, "addresses and CIDRs pass");
        is_int(net_check_targets(NULL, "allow_out", &e), 0, "an absent list passes");
        static const char *const bad[] = {"10.0.0.0/33", "300.1.1.1", "10.0.0.0/", "::1",
                                          "10.0.0.0/8 ", "a..b",      ""};
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *l = json_pack("[s]", bad[i]);
                is_int(net_check_targets(l, "allow_out", &e), -EINVAL, "bad CIDR %s", bad[i]);
                json_decref(l);
        }
        json_t *num = json_pack("[i]", 5);
        is_int(net_check_targets(num, "deny_out", &e), -EINVAL, "a number is refused");
        ok(strstr(e.msg, "deny_out[0]") != NULL, "... naming the entry");
        json_decref(num);
        json_decref(good);
}

int main(void)
{
        test_tokens();
        test_viewer_tokens();
        test_labels();
        test_cidrs();
        return tap_done();
}
