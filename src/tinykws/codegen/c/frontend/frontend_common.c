/* Helpers shared by the front-ends; tinykws appends this file to every generated frontend.c
 * before the front-end's algorithm. Static inline: a front-end that does not call one
 * compiles without a warning. */

/* 1-based index of the highest set bit (0 for 0). */
static inline int32_t fe_msb(uint32_t v)
{
#if defined(__GNUC__)
    return v ? 32 - __builtin_clz(v) : 0;
#else
    int32_t bits = 0;
    while (v) {
        ++bits;
        v >>= 1;
    }
    return bits;
#endif
}

/* floor(sqrt(n)) of a 64-bit integer, digit by digit from the largest power of 4 <= n;
 * *remainder = n - root^2. */
static inline uint64_t fe_isqrt64(uint64_t n, uint64_t *remainder)
{
    const int32_t bits = n >> 32 ? 32 + fe_msb((uint32_t)(n >> 32)) : fe_msb((uint32_t)n);
    uint64_t root = 0, bit = bits ? (uint64_t)1 << ((bits - 1) & ~1) : 0;
    while (bit) {
        if (n >= root + bit) {
            n -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    *remainder = n;
    return root;
}
