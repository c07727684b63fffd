/* SPDX-License-Identifier: Apache-2.0 */
/* vnfmt: numbers and durations as Vietnamese text shows them (decimal comma). */
#ifndef ONESTOP_VNFMT_H
#define ONESTOP_VNFMT_H

#include <stddef.h>

/* Every function writes a NUL-terminated string into out (truncated to outlen). */

/* v with `decimals` digits after a decimal comma: vnfmt_decimal(2.5, 1) is "2,5". A value
 * that rounds to zero has no minus sign ("0,0", not "-0,0"). */
void vnfmt_decimal(double v, int decimals, char *out, size_t outlen);
/* A ratio as a percentage with one decimal: vnfmt_percent(0.912) is "91,2%". */
void vnfmt_percent(double ratio, char *out, size_t outlen);
/* At most the two largest units: vnfmt_duration(900) is "15 phút", 93784 s is
 * "1 ngày 2 giờ"; 0 or less is "0 giây". */
void vnfmt_duration(long seconds, char *out, size_t outlen);

#endif
