/* e2e.c - see e2e.h. One open-addressing table (FNV-1a, linear probing) whose keys are the id or
 * the message key, tagged so an id and a key of the same bytes never collide. */
#include "e2e.h"

#include <string.h>

typedef struct slot {
    char *k;       /* tag byte ('i' or 'k') then the bytes, owned; NULL = empty */
    size_t klen;   /* bytes in k */
    uint64_t hash; /* of k */
    int64_t sent;  /* the first send time seen */
} slot;

struct e2e {
    slot *s;     /* cap slots */
    size_t cap;  /* a power of two */
    size_t used; /* filled slots */
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

int e2e_new(e2e **out)
{
    e2e *t = hx_calloc(1, sizeof *t);
    if (t) t->s = hx_calloc(t->cap = 1024, sizeof *t->s);
    if (!t || !t->s) {
        hx_free(t);
        return HX_ENOMEM;
    }
    *out = t;
    return 0;
}

void e2e_free(e2e *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++)
        hx_free(t->s[i].k);
    hx_free(t->s);
    hx_free(t);
}

size_t e2e_size(const e2e *t)
{
    return t->used;
}

static slot *lookup(const e2e *t, const char *k, size_t klen, uint64_t h)
{
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        slot *s = &t->s[i];
        if (!s->k || (s->hash == h && s->klen == klen && memcmp(s->k, k, klen) == 0)) return s;
    }
}

static bool grow(e2e *t)
{
    e2e n = {hx_calloc(t->cap * 2, sizeof *t->s), t->cap * 2, t->used};
    if (!n.s) return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->s[i].k) *lookup(&n, t->s[i].k, t->s[i].klen, t->s[i].hash) = t->s[i];
    hx_free(t->s);
    *t = n;
    return true;
}

static bool put(e2e *t, char tag, const void *b, size_t n, int64_t sent)
{
    if ((t->used + 1) * 10 > t->cap * 7 && !grow(t)) return false;
    char *k = hx_malloc(n + 1);
    if (!k) return false;
    k[0] = tag;
    memcpy(k + 1, b, n);
    uint64_t h = fnv(k, n + 1);
    slot *s = lookup(t, k, n + 1, h);
    if (s->k) { /* seen before: the first send time stays */
        hx_free(k);
        return true;
    }
    *s = (slot){k, n + 1, h, sent};
    t->used++;
    return true;
}

static bool get(const e2e *t, char tag, const void *b, size_t n, int64_t *sent)
{
    char buf[256];
    if (n + 1 > sizeof buf) {
        char *k = hx_malloc(n + 1);
        if (!k) return false;
        k[0] = tag;
        memcpy(k + 1, b, n);
        slot *s = lookup(t, k, n + 1, fnv(k, n + 1));
        hx_free(k);
        if (!s->k) return false;
        *sent = s->sent;
        return true;
    }
    buf[0] = tag;
    memcpy(buf + 1, b, n);
    slot *s = lookup(t, buf, n + 1, fnv(buf, n + 1));
    if (!s->k) return false;
    *sent = s->sent;
    return true;
}

bool e2e_add(e2e *t, bool has_id, uint64_t id, const void *key, size_t key_len, int64_t sent_ns)
{
    if (has_id && !put(t, 'i', &id, sizeof id, sent_ns)) return false;
    if (key && !put(t, 'k', key, key_len, sent_ns)) return false;
    return true;
}

bool e2e_find(const e2e *t, bool has_id, uint64_t id, const void *key, size_t key_len,
              int64_t *sent_ns)
{
    if (has_id && get(t, 'i', &id, sizeof id, sent_ns)) return true;
    return key && get(t, 'k', key, key_len, sent_ns);
}
