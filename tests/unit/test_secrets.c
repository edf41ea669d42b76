/* Secrets: names, sealing (AES-256-GCM bound to the name), the store's records, and
 * core_secret_set / core_secrets_env over a real store and key file. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/core/core.h"
#include "../../src/core/secrets.h"
#include "tap.h"

static void names(void)
{
        ok(secret_name_valid("OPENAI_API_KEY"), "an environment variable's name is a name");
        ok(secret_name_valid("_x9"), "'_' may start one");
        ok(!secret_name_valid("9X"), "a digit may not start one");
        ok(!secret_name_valid("A-B") && !secret_name_valid("A=B") && !secret_name_valid(""),
           "'-', '=' and the empty name are refused");
        char longest[SECRET_NAME_MAX + 2];
        memset(longest, 'A', sizeof(longest));
        longest[SECRET_NAME_MAX] = 0;
        ok(secret_name_valid(longest), "%d bytes are allowed", SECRET_NAME_MAX);
        longest[SECRET_NAME_MAX] = 'A';
        longest[SECRET_NAME_MAX + 1] = 0;
        ok(!secret_name_valid(longest), "one more is not");
}

static void sealing(void)
{
        unsigned char key[32], other[32], *s1, *s2, *plain;
        size_t n1, n2, np;
        memset(key, 7, sizeof(key));
        memset(other, 8, sizeof(other));
        const char *v = "sk-live-0123456789";
        is_int(secret_seal(key, "TOKEN", (const unsigned char *)v, strlen(v), &s1, &n1), 0, "seal");
        is_int(secret_seal(key, "TOKEN", (const unsigned char *)v, strlen(v), &s2, &n2), 0,
               "seal again");
        ok(n1 == n2 && memcmp(s1, s2, n1) != 0, "two seals of one value differ (fresh nonce)");
        ok(memmem(s1, n1, v, strlen(v)) == NULL, "the sealed bytes do not hold the value");
        is_int(secret_open(key, "TOKEN", s1, n1, &plain, &np), 0, "open");
        ok(np == strlen(v) && memcmp(plain, v, np) == 0 && plain[np] == 0,
           "the value comes back, NUL-terminated");
        free(plain);
        is_int(secret_open(other, "TOKEN", s1, n1, &plain, &np), -EBADMSG, "another key fails");
        is_int(secret_open(key, "TOKEN2", s1, n1, &plain, &np), -EBADMSG,
               "another name fails (the name is bound in)");
        s1[n1 / 2] ^= 1;
        is_int(secret_open(key, "TOKEN", s1, n1, &plain, &np), -EBADMSG, "a flipped bit fails");
        is_int(secret_open(key, "TOKEN", s1, 5, &plain, &np), -EBADMSG, "a short blob fails");
        free(s1);
        free(s2);
        is_int(secret_seal(key, "EMPTY", (const unsigned char *)"", 0, &s1, &n1), 0, "seal ''");
        is_int(secret_open(key, "EMPTY", s1, n1, &plain, &np), 0, "open ''");
        ok(np == 0 && plain[0] == 0, "an empty value is one");
        free(plain);
        free(s1);
}

static void in_core(const char *dir)
{
        struct core core;
        memset(&core, 0, sizeof(core));
        snprintf(core.state_dir, sizeof(core.state_dir), "%s", dir);
        char db[600];
        snprintf(db, sizeof(db), "%s/db", dir);
        struct err e = {0};
        is_int(store_open(&core.store, db, &e), 0, "store (%s)", e.msg);
        int created = 0;
        struct secret_rec rec;
        is_int(core_secret_set(&core, "API_KEY", "v1", 2, &rec, &created, &e), 0, "set (%s)",
               e.msg);
        is_int(created, 1, "... is new");
        is_int(core_secret_set(&core, "API_KEY", "value-2", 7, &rec, &created, &e), 0, "set again");
        is_int(created, 0, "... replaces");
        is_int(core_secret_set(&core, "OTHER", "o", 1, &rec, &created, &e), 0, "set another");
        ok(core_secret_set(&core, "bad-name", "x", 1, &rec, &created, &e) < 0 &&
               e.code == NS_E_INVALID_FIELD,
           "a bad name is invalid_field");
        ok(core_secret_set(&core, "NUL", "a\0b", 3, &rec, &created, &e) < 0 &&
               e.code == NS_E_INVALID_FIELD,
           "a value with NUL is invalid_field");
        char keyfile[600];
        struct stat st;
        snprintf(keyfile, sizeof(keyfile), "%s/secrets.key", dir);
        ok(stat(keyfile, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32,
           "the key file is 32 bytes, 0600");

        struct secret_rec *rows;
        size_t n = 0;
        is_int(store_secret_list(core.store, 0, 10, &rows, &n, &e), 0, "list");
        ok(n == 2 && !strcmp(rows[0].name, "API_KEY") && !strcmp(rows[1].name, "OTHER") &&
               !rows[0].sealed && rows[0].updated_at >= rows[0].created_at,
           "names in the order set (an update keeps its place), no values");
        int64_t after = n ? rows[0].seq : 0;
        free(rows);
        is_int(store_secret_list(core.store, after, 10, &rows, &n, &e), 0, "list after a cursor");
        ok(n == 1 && !strcmp(rows[0].name, "OTHER"), "the page after the first");
        free(rows);

        json_t *names = json_pack("[s,s]", "API_KEY", "OTHER"), *env = json_object();
        is_int(core_secrets_check(&core, names, &e), 0, "both exist");
        is_int(core_secrets_env(&core, names, env, &e), 0, "open them (%s)", e.msg);
        is_str(json_string_value(json_object_get(env, "API_KEY")), "value-2", "the newest value");
        is_str(json_string_value(json_object_get(env, "OTHER")), "o", "the other's");
        json_t *bad = json_pack("[s]", "MISSING");
        ok(core_secrets_check(&core, bad, &e) < 0 && e.code == NS_E_SECRET_NOT_FOUND,
           "a missing one is secret_not_found");
        json_decref(bad);
        bad = json_pack("[i]", 3);
        ok(core_secrets_check(&core, bad, &e) < 0 && e.code == NS_E_INVALID_FIELD,
           "a non-name is invalid_field");
        json_decref(bad);
        is_int(store_secret_delete(core.store, "OTHER", &e), 0, "delete");
        is_int(store_secret_delete(core.store, "OTHER", &e), -ENOENT, "... once");
        ok(core_secrets_env(&core, names, env, &e) < 0 && e.code == NS_E_SECRET_NOT_FOUND,
           "a deleted one no longer opens");
        json_decref(names);
        json_decref(env);

        /* another key file: what was sealed does not open, and says why */
        store_close(core.store);
        unlink(keyfile);
        memset(&core, 0, sizeof(core));
        snprintf(core.state_dir, sizeof(core.state_dir), "%s", dir);
        is_int(store_open(&core.store, db, &e), 0, "reopen");
        names = json_pack("[s]", "API_KEY");
        env = json_object();
        ok(core_secrets_env(&core, names, env, &e) < 0 && strstr(e.msg, "secrets.key"),
           "a replaced key file is named in the error");
        json_decref(names);
        json_decref(env);
        store_close(core.store);
}

int main(void)
{
        names();
        sealing();
        char dir[] = "/tmp/ns-secrets-XXXXXX";
        if (!mkdtemp(dir))
                return 1;
        in_core(dir);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                ok(0, "clean up %s", dir);
        return tap_done();
}
