/*
 * Vector helpers shared by the kernels (internal), with a portable C path and a Cortex-M
 * DSP path (ACLE intrinsics from <arm_acle.h>) chosen at compile time:
 *
 *   __ARM_FEATURE_DSP (e.g. -mcpu=cortex-m4/m7/m33)  -> TKWS_USE_DSP 1, the real intrinsics;
 *   TKWS_EMULATE_DSP                                  -> TKWS_USE_DSP 1, C emulations of the
 *                                                        intrinsics (host tests of the DSP path);
 *   TKWS_PORTABLE, or neither                         -> TKWS_USE_DSP 0, plain C.
 *
 * Both paths give identical results: the DSP path sums the same int32 products in another
 * order, and int32 sums do not depend on the order when no partial sum overflows (TFLite's
 * int32 accumulator does not either).
 */
#ifndef TKWS_DSP_H
#define TKWS_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TKWS_PORTABLE) && !defined(TKWS_EMULATE_DSP)
#include <arm_acle.h>
#define TKWS_USE_DSP 1
#define tkws_sxtb16(x) ((uint32_t)__sxtb16((int32_t)(x)))
#define tkws_sxtab16(a, x) ((uint32_t)__sxtab16((int32_t)(a), (int32_t)(x)))
#define tkws_smlad(x, y, acc) __smlad((int32_t)(x), (int32_t)(y), (acc))
#define tkws_smladx(x, y, acc) __smladx((int32_t)(x), (int32_t)(y), (acc))
#define tkws_smlabb(x, y, acc) __smlabb((int32_t)(x), (int32_t)(y), (acc))
#define tkws_smlabt(x, y, acc) __smlabt((int32_t)(x), (int32_t)(y), (acc))
#define tkws_smlatb(x, y, acc) __smlatb((int32_t)(x), (int32_t)(y), (acc))
#define tkws_smlatt(x, y, acc) __smlatt((int32_t)(x), (int32_t)(y), (acc))
#elif defined(TKWS_EMULATE_DSP) && !defined(TKWS_PORTABLE)
#define TKWS_USE_DSP 1
/* Bit-exact C models of the DSP instructions (ARMv7-M ARM, A7.7). */
static inline int32_t tkws_lo16(uint32_t x) { return (int16_t)(x & 0xFFFFu); }
static inline int32_t tkws_hi16(uint32_t x) { return (int16_t)(x >> 16); }
static inline uint32_t tkws_pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}
static inline uint32_t tkws_sxtb16(uint32_t x)
{
    return tkws_pack16((int8_t)(x & 0xFFu), (int8_t)((x >> 16) & 0xFFu));
}
static inline uint32_t tkws_sxtab16(uint32_t a, uint32_t x)
{
    return tkws_pack16(tkws_lo16(a) + (int8_t)(x & 0xFFu), tkws_hi16(a) + (int8_t)((x >> 16) & 0xFFu));
}
static inline int32_t tkws_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tkws_lo16(x) * tkws_lo16(y)) + (uint32_t)(tkws_hi16(x) * tkws_hi16(y)));
}
static inline int32_t tkws_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tkws_lo16(x) * tkws_hi16(y)) + (uint32_t)(tkws_hi16(x) * tkws_lo16(y)));
}
static inline int32_t tkws_smlabb(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tkws_lo16(x) * tkws_lo16(y)));
}
static inline int32_t tkws_smlabt(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tkws_lo16(x) * tkws_hi16(y)));
}
static inline int32_t tkws_smlatb(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tkws_hi16(x) * tkws_lo16(y)));
}
static inline int32_t tkws_smlatt(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tkws_hi16(x) * tkws_hi16(y)));
}
#else
#define TKWS_USE_DSP 0
#endif

#if TKWS_USE_DSP
/* Rotate right by 8: with sxtb16 it extends bytes 1 and 3 (compilers fold it into SXTB16). */
static inline uint32_t tkws_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

/* Unaligned-safe 32-bit loads and stores (single LDR/STR on Cortex-M3 and up). */
static inline uint32_t tkws_load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void tkws_store32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }
#endif

/* dst[i] = src[i] + offset for n int8 values, as int16 (scratch is word-aligned). */
static inline void tkws_widen(const int8_t *src, int16_t *dst, int n, int32_t offset)
{
    int i = 0;
#if TKWS_USE_DSP
    /* four bytes -> two int16 pairs: bytes 0,2 and 1,3, then interleaved back in order */
    const uint32_t offsets = ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
    for (; i + 4 <= n; i += 4) {
        const uint32_t word = tkws_load32(src + i);
        const uint32_t even = tkws_sxtab16(offsets, word);            /* x0, x2 */
        const uint32_t odd = tkws_sxtab16(offsets, tkws_ror8(word));  /* x1, x3 */
        tkws_store32(dst + i, (even & 0xFFFFu) | (odd << 16));
        tkws_store32(dst + i + 2, (even >> 16) | (odd & 0xFFFF0000u));
    }
#endif
    for (; i < n; ++i) {
        dst[i] = (int16_t)(src[i] + offset);
    }
}

/* sum of a[i] * w[i] for n values: int16 (offset already added) times int8 weights. */
static inline int32_t tkws_dot(const int16_t *a, const int8_t *w, int n)
{
    int32_t acc = 0;
    int i = 0;
#if TKWS_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t wv = tkws_load32(w + i);
        const uint32_t a01 = tkws_load32(a + i), a23 = tkws_load32(a + i + 2);
        const uint32_t w02 = tkws_sxtb16(wv), w13 = tkws_sxtb16(tkws_ror8(wv));
        /* pair a0 with w0 and a2 with w2, a1 with w1 and a3 with w3 */
        acc = tkws_smlad((a01 & 0xFFFFu) | (a23 << 16), w02, acc);
        acc = tkws_smlad((a01 >> 16) | (a23 & 0xFFFF0000u), w13, acc);
    }
#endif
    for (; i < n; ++i) {
        acc += a[i] * w[i];
    }
    return acc;
}

#endif /* TKWS_DSP_H */
