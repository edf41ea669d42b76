/* libFuzzer target: the public key lines users send for SSH certificates
 * (ssh_pubkey_parse), and signing what it accepts: a parsed key always certifies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        struct ssh_pubkey k = {0};
        char why[200];
        if (ssh_pubkey_parse(s, &k, why, sizeof(why)) == 0) {
                static const unsigned char ca[32] = {1, 2, 3};
                const char *principals[] = {"m_0:root"};
                struct ssh_cert_req r = {.key = &k,
                                         .key_id = "fuzz",
                                         .principals = principals,
                                         .nprincipals = 1,
                                         .valid_before = 1};
                char *cert = ssh_cert_sign(&r, ca, NULL);
                if (!cert || strncmp(cert, k.type, strcspn(k.type, "@")) != 0)
                        __builtin_trap();
                free(cert);
                ssh_pubkey_free(&k);
        } else if (!why[0] || k.blob) {
                __builtin_trap(); /* a refusal says why and allocates nothing */
        }
        free(s);
        return 0;
}
