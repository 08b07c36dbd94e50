/* sandbox.h - the box every solution command (build, batch, service) runs in (docs/solutions.md
 * "Threat model"): bubblewrap (`bwrap`) with its own PID, mount, IPC, UTS and
 * user namespaces, in which only the system (/usr and its /bin, /lib* links, a few /etc files, a
 * minimal /dev, a /proc of its own PID namespace), the solution folder (read-write), its input
 * folder (read-only) and its output folder (read-write) are visible; a private /tmp (a fresh
 * folder of the work folder for each command, also at /dev/shm and /var/tmp); nothing else
 * writable (the box's root and /dev are remounted read-only); a new
 * session (no TIOCSTI into the harness's terminal); dying with the harness (--die-with-parent);
 * and everything in it killed when the command ends (the PID namespace dies with its init). The
 * network is shared: the solution must reach PostgreSQL and Kafka on 127.0.0.1.
 *
 * When the harness runs as root, the box runs as an unprivileged user: the owner of the solution
 * folder when that is not root (a CI checkout), else "nobody". When that user cannot write the
 * solution folder, the folder is copied once per sandbox into a private work folder owned by it
 * and mounted at the folder's own path, so paths stay the same and the original stays untouched.
 *
 * This module builds the argument vector and decides the policy; run/runner.c's spawn applies it
 * (drops to sandbox_creds in the child, then executes the vector).
 *
 * Ownership: sandbox_new hands out a sandbox freed by sandbox_free (which removes its work
 * folder); sandbox_wrap hands out a vector freed by sandbox_argv_free. */
#ifndef HX_SANDBOX_H
#define HX_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* --sandbox. */
typedef enum sandbox_mode {
    SANDBOX_BWRAP = 0, /* bwrap, or an infrastructure error naming the fix (the default) */
    SANDBOX_AUTO,      /* bwrap when it works here, else no box (process group), with a warning */
    SANDBOX_NONE       /* no box: a trusted local run */
} sandbox_mode;

/* Parse "bwrap", "auto" or "none". Returns 0 or HX_EUSAGE with a did-you-mean. */
int sandbox_mode_parse(const char *s, sandbox_mode *out, hx_err *e);

typedef struct sandbox_opts {
    sandbox_mode mode;
    const char *sol_dir;  /* the solution folder (required unless mode is NONE) */
    const char *bwrap;    /* the bwrap binary; NULL = search PATH, then /usr/bin/bwrap */
    const char *work_dir; /* parent of the private work folder; NULL = $TMPDIR or /tmp */
    const char *run_dir;  /* the run folder: not counted in the solution folder when inside */
    void (*warn)(void *ud,
                 const char *msg); /* AUTO's fallback, reclaimed leftovers; NULL = stderr */
    void *warn_ud;
} sandbox_opts;

typedef struct sandbox sandbox;

/* Make a sandbox for a run: checks that bwrap exists and can make its namespaces here, as the
 * user it will run as (the probe is one `bwrap ... true`). Returns 0 and *out, HX_EINFRA when
 * bwrap is missing or refused (the message says why and how to fix it: install bubblewrap, the
 * AppArmor profile on Ubuntu 24.04, or --sandbox none for a trusted run), HX_EIO (the work
 * folder), HX_ENOMEM. */
int sandbox_new(const sandbox_opts *o, sandbox **out, hx_err *e);

/* "bwrap" or "none": what run.json records as the isolation. */
const char *sandbox_level(const sandbox *sb);

/* Whether the box is real (level "bwrap"). NULL is "none". */
bool sandbox_active(const sandbox *sb);

/* Credentials the child drops to before it executes the vector: *drop false = keep ours. */
void sandbox_creds(const sandbox *sb, bool *drop, uid_t *uid, gid_t *gid);

/* The vector that runs argv in the box with cwd = the solution folder, in_dir visible read-only
 * and out_dir read-write (either may be NULL). out_dir is handed to the box's user. Every folder
 * given must be reachable by that user: when a folder on the way is closed to it the error names
 * it (HX_EUSAGE). *tmp_dir is the command's own /tmp (also its /dev/shm and /var/tmp), a fresh
 * folder in the work folder, owned by the caller, who measures it and removes it (hx_rm_rf,
 * hx_free) when the command has ended; NULL with level "none", where the vector is a copy of
 * argv. Nothing else in the box is writable. Returns 0, HX_EUSAGE, HX_EIO, HX_ENOMEM. */
int sandbox_wrap(const sandbox *sb, const char *const *argv, const char *in_dir,
                 const char *out_dir, char ***out, char **tmp_dir, hx_err *e);

/* What the solution added to its own folder (sandbox_sol_dir) since the box was made: bytes and
 * entries beyond what it held then (0 when it holds less), the run folder not counted when it lies
 * inside; walking stops past max_files new entries (0: no stop). Returns false when the folder
 * cannot be measured whole (u->deep, u->closed); true with nothing when the box is not real. */
bool sandbox_sol_growth(const sandbox *sb, uint64_t max_files, hx_usage *u);

/* The folder the command's cwd is, outside the box (the solution folder, or its work copy). */
const char *sandbox_sol_dir(const sandbox *sb);

void sandbox_argv_free(char **argv);

/* Free sb and remove its work folder. NULL is fine. */
void sandbox_free(sandbox *sb);

#endif
