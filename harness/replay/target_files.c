/* target_files.c - the landing-files target: into = "files" writes each drop under the
 * scenario's landing folder (replay_files, replay.h); the solution finds it as HARNESS_INPUT_DIR.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "replay_target.h"

static int files_replay(replay_site *site, void *state, const plan_step *st, int64_t batch,
                        replay_stats *out, hx_err *e)
{
    (void)state;
    return replay_files(site->g, st->dataset, st, site->landing, batch, out, e);
}

/* The solution runs in its own folder: the path must be absolute, whatever --out was. */
static int files_env(const replay_site *site, replay_env_fn add, void *ud, hx_err *e)
{
    char abs[PATH_MAX];
    if (!realpath(site->landing, abs))
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", site->landing, strerror(errno));
    return add(ud, "HARNESS_INPUT_DIR", abs) ? 0 : hx_fail(e, HX_ENOMEM, "out of memory");
}

const replay_target replay_target_files = {
    .name = "files",
    .code = PLAN_TGT_FILES,
    .replay = files_replay,
    .env = files_env,
};
