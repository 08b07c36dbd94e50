/* rng.h - the counter-based random numbers behind every generated value. A draw is a pure function
 * of (dataset seed, stream, record id, draw number): no state, no order dependence, so any record
 * can be regenerated alone and shards can generate in parallel with byte-identical results.
 *
 * The mixer is the splitmix64 finaliser (Steele, Lea, Flood 2014), applied twice per draw so that
 * neighbouring ids and draw numbers give independent-looking outputs. Streams are small integers
 * chosen by the generator (a column's values, its nulls, a fault's hits ...), see gen.c.
 *
 * Ownership: nothing is allocated; everything is inline. */
#ifndef HX_RNG_H
#define HX_RNG_H

#include <stdint.h>

/* The splitmix64 finaliser: a bijection on 64 bits with full avalanche. */
static inline uint64_t rng_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The key of one stream of a dataset; computed once, then passed to rng_draw. */
static inline uint64_t rng_key(uint64_t seed, uint64_t stream)
{
    return rng_mix(rng_mix(seed ^ 0x6a09e667f3bcc909ULL) ^ (stream * 0xd6e8feb86659fd93ULL));
}

/* Draw number `draw` of record `id` in the stream with key `key`. */
static inline uint64_t rng_draw(uint64_t key, uint64_t id, uint64_t draw)
{
    return rng_mix(rng_mix(key + id * 0xa0761d6478bd642fULL) ^ (draw * 0xe7037ed1a0b428dbULL));
}

/* A double in [0, 1) from the top 53 bits (exact in IEEE binary64 everywhere). */
static inline double rng_unit(uint64_t x)
{
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

/* A double in (0, 1], for logarithms. */
static inline double rng_unit_open(uint64_t x)
{
    return (double)((x >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* An integer in [0, n) by multiply-shift (Lemire); the bias is below n / 2^64, negligible. n = 0
 * gives 0. */
static inline uint64_t rng_below(uint64_t x, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)x * n) >> 64);
}

#endif
