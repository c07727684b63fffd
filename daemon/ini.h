/* SPDX-License-Identifier: Apache-2.0 */
/* ini: reads an INI file as a sequence of sections and key = value lines, knowing no key. */
#ifndef ONESTOP_INI_H
#define ONESTOP_INI_H

#include <stddef.h>

/*
 * The syntax: "[name]" opens a section; "key = value" (key of a-z 0-9 _) sets a key; a line
 * that is blank or starts with ';' or '#' is a comment, and so is the rest of a line from
 * a ';' or '#' that starts a value or follows a blank. A value in double quotes is taken as
 * is, comment characters and outer blanks included. Blanks around names, keys and values
 * are dropped; CRLF line ends and a UTF-8 byte order mark are accepted.
 */

struct ini;

enum ini_kind {
    INI_SECTION = 1, /* name is set */
    INI_KEY = 2,     /* key and value are set */
};

/* One item; the strings live in the reader until the next ini_next() or ini_close(). */
struct ini_item {
    enum ini_kind kind;
    int line;          /* 1-based; on an error the line it is on, 0 when none applies */
    const char *name;  /* INI_SECTION: the name between the brackets, trimmed */
    const char *key;   /* INI_KEY */
    const char *value; /* INI_KEY: unquoted, comment and outer blanks removed */
};

/* Opens path. NULL with err ("cannot open: why") when it cannot be opened. */
struct ini *ini_open(const char *path, char *err, size_t errlen);

/* Reads len bytes of buf as a file (buf must outlive the reader), for tests and the
 * fuzzer. NULL with err. */
struct ini *ini_open_mem(const char *buf, size_t len, char *err, size_t errlen);

/* Reads the next item: 1, 0 at the end of the file, or -1 with err (the message alone,
 * without file or line: it->line tells the line) for a syntax or read error. */
int ini_next(struct ini *r, struct ini_item *it, char *err, size_t errlen);

/* Closes r and wipes its line buffer (lines may have held secrets). NULL is a no-op. */
void ini_close(struct ini *r);

#endif
