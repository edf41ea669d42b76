#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int errnum, const char *fmt, ...)
{
        int ret = errnum > 0 ? -errnum : -EIO;

        if (!e)
                return ret;
        e->errnum = errnum > 0 ? errnum : EIO;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        if (errnum > 0 && n >= 0 && (size_t)n < sizeof(e->msg))
                snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(errnum));
        return ret;
}

__attribute__((format(printf, 3, 0))) static int vsay(struct err *e, int errnum, const char *fmt,
                                                      va_list ap)
{
        if (e) {
                e->errnum = errnum;
                vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        }
        return -errnum;
}

int err_say(struct err *e, int errnum, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vsay(e, errnum, fmt, ap);
        va_end(ap);
        return r;
}

int err_coded(struct err *e, enum ns_code code, int errnum, const char *fmt, ...)
{
        if (e)
                e->code = code;
        va_list ap;
        va_start(ap, fmt);
        int r = vsay(e, errnum, fmt, ap);
        va_end(ap);
        return r;
}

enum ns_code err_code_of(const struct err *e)
{
        return e->code == NS_OK ? NS_E_INTERNAL : e->code;
}

void err_clear(struct err *e)
{
        if (!e)
                return;
        e->errnum = 0;
        e->code = NS_OK;
        e->msg[0] = '\0';
}
