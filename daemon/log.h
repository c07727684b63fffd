/* SPDX-License-Identifier: Apache-2.0 */
/* log: journald-style stderr logging ("<N>module: message"). */
#ifndef ONESTOP_LOG_H
#define ONESTOP_LOG_H

#include <stdarg.h>
#include <time.h>

/* syslog priorities, as journald reads them from a "<N>" prefix */
enum log_level {
    LOG_LVL_ERR = 3,
    LOG_LVL_WARN = 4,
    LOG_LVL_NOTICE = 5,
    LOG_LVL_INFO = 6,
    LOG_LVL_DEBUG = 7,
};

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Returns 0 and sets *out for "error|warning|notice|info|debug", -1 otherwise. */
int log_parse_level(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);

void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level lvl, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_err(mod, ...) log_msg(LOG_LVL_ERR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_notice(mod, ...) log_msg(LOG_LVL_NOTICE, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__)

/*
 * Rate limiter for repeated failures (collectd's complain/release idea): the first
 * failure is logged at once, repeats at most every `interval` seconds (doubling up to
 * one hour), and the recovery is logged once. Zero-initialise; the fields are the
 * limiter's state (the first repeat waits 60 s). The recovery is logged at notice level.
 */
struct log_complaint {
    time_t last;
    time_t interval;
    int active;
};
void log_complain(struct log_complaint *c, enum log_level lvl, const char *module, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
void log_release(struct log_complaint *c, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
