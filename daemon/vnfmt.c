/* SPDX-License-Identifier: Apache-2.0 */
/* vnfmt: Vietnamese number and duration formats (see vnfmt.h). */
#include "vnfmt.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void vnfmt_decimal(double v, int decimals, char *out, size_t outlen)
{
    char *dot;

    snprintf(out, outlen, "%.*f", decimals, v);
    if (strcmp(out, "-0") == 0 || strncmp(out, "-0.", 3) == 0) {
        /* -0.04 rounds to "-0.0": no minus for a zero */
        int zero = 1;
        for (const char *p = out + 1; *p; p++)
            if (*p != '0' && *p != '.')
                zero = 0;
        if (zero)
            memmove(out, out + 1, strlen(out));
    }
    dot = strchr(out, '.');
    if (dot)
        *dot = ',';
}

void vnfmt_percent(double ratio, char *out, size_t outlen)
{
    size_t len;

    if (outlen < 2) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    vnfmt_decimal(ratio * 100.0, 1, out, outlen - 1); /* room left for the sign */
    len = strlen(out);
    out[len] = '%';
    out[len + 1] = '\0';
}

void vnfmt_duration(long s, char *out, size_t outlen)
{
    static const struct {
        long size;
        const char *name;
    } units[] = {{86400, "ngày"}, {3600, "giờ"}, {60, "phút"}, {1, "giây"}};
    size_t used = 0;
    int parts = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (s <= 0) {
        snprintf(out, outlen, "0 giây");
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(units) && parts < 2; i++) {
        long q = s / units[i].size;
        if (q == 0) {
            if (parts > 0)
                break;
            continue;
        }
        s -= q * units[i].size;
        int w = snprintf(out + used, outlen - used, "%s%ld %s", parts ? " " : "", q, units[i].name);
        if (w < 0 || (size_t)w >= outlen - used)
            return;
        used += (size_t)w;
        parts++;
    }
}
