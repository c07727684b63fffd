/* SPDX-License-Identifier: Apache-2.0 */
/* log: journald-style stderr logging ("<N>module: message"). */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One line is formatted into this much stack space. Staying at or below PIPE_BUF (4096 on
 * Linux) also keeps the write() atomic when stderr is a pipe, as under systemd. */
#define LOG_LINE_MAX 4096

/* First repeat delay of a complaint and the cap of its doubling. */
#define COMPLAIN_FIRST_S 60
#define COMPLAIN_MAX_S 3600

static atomic_int log_level = LOG_LVL_INFO;
/* write() of one line is already atomic for pipes; the lock also covers terminals and
 * files, where a short write would otherwise let another thread's line in between. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
    const char *name;
    enum log_level lvl;
} level_names[] = {
    {"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARN}, {"notice", LOG_LVL_NOTICE},
    {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},
};

void log_set_level(enum log_level lvl)
{
    atomic_store(&log_level, (int)lvl);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level);
}

int log_parse_level(const char *s, enum log_level *out)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i].name) == 0) {
            *out = level_names[i].lvl;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level lvl)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (level_names[i].lvl == lvl)
            return level_names[i].name;
    }
    return "unknown";
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Formats and writes one line, whatever the level (callers filter). */
__attribute__((format(printf, 3, 0))) static void emit(enum log_level lvl, const char *module,
                                                       const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    size_t len, start;
    int n;

    n = snprintf(line, sizeof(line), "<%d>%s: ", (int)lvl, module ? module : "onestopd");
    if (n < 0)
        return;
    start = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    n = vsnprintf(line + start, sizeof(line) - start, fmt, ap);
    if (n < 0)
        n = 0;
    len = start + (size_t)n;
    if (len > sizeof(line) - 2) {
        /* Truncated: mark it, keeping room for the newline. */
        len = sizeof(line) - 2;
        memcpy(line + len - 3, "...", 3);
    }
    /* journald splits on newlines and a continuation would lose the "<N>" prefix, so a
     * message is always one line. */
    for (size_t i = start; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    line[len++] = '\n';

    pthread_mutex_lock(&log_lock);
    write_all(line, len);
    pthread_mutex_unlock(&log_lock);
}

void log_vmsg(enum log_level lvl, const char *module, const char *fmt, va_list ap)
{
    int saved = errno; /* callers often log and then look at errno */

    if ((int)lvl <= atomic_load(&log_level))
        emit(lvl, module, fmt, ap);
    errno = saved;
}

void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(lvl, module, fmt, ap);
    va_end(ap);
}

void log_complain(struct log_complaint *c, enum log_level lvl, const char *module, const char *fmt,
                  ...)
{
    time_t now = time(NULL);
    va_list ap;

    if (c->active && now < c->last + c->interval)
        return;
    if (!c->active || c->interval <= 0)
        c->interval = COMPLAIN_FIRST_S;
    else
        c->interval = c->interval >= COMPLAIN_MAX_S / 2 ? COMPLAIN_MAX_S : c->interval * 2;
    c->last = now;
    c->active = 1;

    va_start(ap, fmt);
    log_vmsg(lvl, module, fmt, ap);
    va_end(ap);
}

void log_release(struct log_complaint *c, const char *module, const char *fmt, ...)
{
    va_list ap;

    if (!c->active)
        return;
    c->active = 0;
    c->last = 0;
    c->interval = 0;

    va_start(ap, fmt);
    log_vmsg(LOG_LVL_NOTICE, module, fmt, ap);
    va_end(ap);
}
