/* plugin_sdk_load.c - load one plugin file with the real loader and print what it offers; the
 * SDK transcript uses it on a plugin built out of tree. Exit 0 when it loads and its checks run
 * far enough to report (without a database, as an error result naming that). */
#include <stdio.h>

#include "plug.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: plugin_sdk_load FILE.so\n");
        return 2;
    }
    plug_plugin *p = NULL;
    hx_err e = {0};
    if (plug_open_file(argv[1], PLUG_LOAD_WORKER, &p, &e) != 0) {
        fprintf(stderr, "plugin_sdk_load: %s\n", e.msg);
        return 1;
    }
    printf("loaded %s %s: %zu checks\n", p->name, p->desc->version, plug_check_count(p));
    int rc = 0;
    for (size_t i = 0; i < plug_check_count(p); i++) {
        const hx_plugin_check *c = plug_check_at(p, i);
        plan_param params[] = {{(char *)"table", (char *)"\"t\""}};
        plug_result r;
        plug_result_init(&r);
        if (plug_run(p, c, params, 1, NULL, &r, &e) != 0) {
            fprintf(stderr, "plugin_sdk_load: %s\n", e.msg);
            rc = 1;
        } else {
            printf("  %s: %s: %s\n", c->name, plug_status_name(r.status), r.message);
        }
        plug_result_release(&r);
    }
    plug_close(p);
    return rc;
}
