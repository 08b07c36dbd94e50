/* say.h - messages to the user and the process-wide flags that shape them: "harness: <msg>" on
 * stderr for errors and warnings, progress unless quiet. main.c sets hx_g from the environment and
 * the global flags; the commands and the run engine read it. */
#ifndef HX_SAY_H
#define HX_SAY_H

/* Set by main from the environment and global flags; read by commands and the engine. */
struct hx_global {
    int quiet;   /* --quiet or $CI: no progress */
    int color;   /* colour on stderr/stdout (TTY and no $NO_COLOR) */
    int verbose; /* -v */
};
extern struct hx_global hx_g;

/* Print "harness: <msg>\n" to stderr (lowercase message, no trailing period). */
void hx_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "harness: warning: <msg>\n". */
void hx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<msg>\n" on stderr unless hx_g.quiet. */
void hx_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
