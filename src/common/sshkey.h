/* OpenSSH's wire formats for what the daemon's SSH certificate authority needs: public
 * key lines users send (parsed as untrusted input: fuzzed by tests/fuzz/fuzz_sshkey.c),
 * certificates signed by an Ed25519 CA (PROTOCOL.certkeys), and Ed25519 keys as
 * OpenSSH public lines and unencrypted openssh-key-v1 private files (PROTOCOL.key).
 * Thread-safe: no state. */
#ifndef NS_SSHKEY_H
#define NS_SSHKEY_H

#include <stddef.h>
#include <stdint.h>

#define SSHKEY_LINE_MAX 8192 /* a public key line users may send (RSA 8192 fits) */
#define SSH_FP_LEN      51   /* "SHA256:" + 43 base64 chars, NUL included */

/* A user's public key: its type name and its wire blob (type string included). */
struct ssh_pubkey {
        char type[48];
        unsigned char *blob; /* malloc'd; ssh_pubkey_free */
        size_t len;
};

/* Certificate extensions (user certificates only). */
enum {
        SSH_EXT_PTY = 1u << 0,
        SSH_EXT_PORT_FORWARDING = 1u << 1,
        SSH_EXT_AGENT_FORWARDING = 1u << 2,
};

struct ssh_cert_req {
        const struct ssh_pubkey *key; /* the key certified */
        int host;                     /* 1: a host certificate; 0: a user certificate */
        uint64_t serial;
        const char *key_id;
        const char *const *principals;
        size_t nprincipals;
        uint64_t valid_after, valid_before; /* seconds since the epoch */
        unsigned extensions;                /* SSH_EXT_* (ignored for host certificates) */
};

/* Parses "TYPE BASE64 [COMMENT]" (one line, at most SSHKEY_LINE_MAX bytes): the types
 * ssh-ed25519, ssh-rsa (2048 bits or more), ecdsa-sha2-nistp256/384/521 and the two
 * security-key types, with the blob's own fields checked. Returns 0, or -1 with why (a
 * sentence for the user) set; k is untouched on failure. */
int ssh_pubkey_parse(const char *line, struct ssh_pubkey *k, char *why, size_t cap);

/* Frees what ssh_pubkey_parse allocated (k may be zeroed). */
void ssh_pubkey_free(struct ssh_pubkey *k);

/* The Ed25519 public key of a 32-byte seed. Returns 0, or -1 when libcrypto fails. */
int ssh_ed25519_public(const unsigned char seed[32], unsigned char pub[32]);

/* "ssh-ed25519 BASE64[ COMMENT]" of pub. Returns a malloc'd line (caller frees) or NULL. */
char *ssh_ed25519_line(const unsigned char pub[32], const char *comment);

/* The key of seed as an unencrypted OpenSSH private key file (PEM armour, newline
 * terminated). Returns a malloc'd text (caller frees; it holds a secret) or NULL. */
char *ssh_ed25519_private_file(const unsigned char seed[32], const char *comment);

/* Signs r with the Ed25519 CA whose seed is ca_seed. Returns the certificate line
 * "TYPE-cert-v01@openssh.com BASE64[ COMMENT]" malloc'd (caller frees), or NULL on a
 * libcrypto failure or an oversized request. */
char *ssh_cert_sign(const struct ssh_cert_req *r, const unsigned char ca_seed[32],
                    const char *comment);

/* OpenSSH's fingerprint of a key blob: "SHA256:" + unpadded base64. */
void ssh_fingerprint(const unsigned char *blob, size_t len, char out[SSH_FP_LEN]);

#endif
