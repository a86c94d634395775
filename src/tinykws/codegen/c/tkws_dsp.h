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
#define tkws_ssat8(x) __ssat((x), 8)
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
    const uint32_t lo = (uint32_t)(tkws_lo16(x) * tkws_lo16(y)), hi = (uint32_t)(tkws_hi16(x) * tkws_hi16(y));
    return (int32_t)((uint32_t)acc + lo + hi);
}
static inline int32_t tkws_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    const uint32_t lo = (uint32_t)(tkws_lo16(x) * tkws_hi16(y)), hi = (uint32_t)(tkws_hi16(x) * tkws_lo16(y));
    return (int32_t)((uint32_t)acc + lo + hi);
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
static inline int32_t tkws_ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }
#else
#define TKWS_USE_DSP 0
#endif

#if defined(__GNUC__)
#define TKWS_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define TKWS_ALWAYS_INLINE static inline
#endif

#if TKWS_USE_DSP
/* Rotate right by 8: with sxtb16 it extends bytes 1 and 3. */
static inline uint32_t tkws_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

/* Unaligned-safe 32-bit loads and stores (single LDR/STR on Cortex-M3 and up). */
static inline uint32_t tkws_load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void tkws_store32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* (a * b + (c << 32) + 2^31) >> 32: one SMLAL from a 64-bit constant (the SMMLAR result). */
static inline int32_t tkws_smmlar(int32_t a, int32_t b, int32_t c)
{
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)c << 32) | 0x80000000u);
    return (int32_t)((k + (int64_t)a * b) >> 32);
}

/* Fast requantization, bit-exact with tkws_mbqm's double rounding plus the output zero
 * point, when the generator has checked (TKWS_FAST_REQUANT) that the multiplier m is in
 * [2^30, 2^31), the right shift r = -shift is in [1, 23], |acc| < 2^30 and the result
 * cannot overflow:
 *   RDBPOT(SRDHM(acc, m), r) + zp = SMMLAR(2 acc, m, 2^(r-1) + zp 2^r - (acc < 0)) >> r
 * because SRDHM(acc, m) = floor((2 acc m + 2^31) / 2^32), RDBPOT(y, r) =
 * floor((y + 2^(r-1) - (y < 0)) / 2^r), nested floors fold into one, and y < 0 exactly when
 * acc < 0 (for acc = -1 and m = 2^30, y = 0 but both sides give zp). `offset` is
 * 2^(r-1) + zp 2^r. */
static inline int32_t tkws_requant_fast(int32_t acc, int32_t m, int32_t offset, int r)
{
    return tkws_smmlar(acc * 2, m, offset + (acc >> 31)) >> r;
}

/* Clamping of requantized values: to [-128, 127], then to [lo, 127] or [lo, hi]. The
 * kernels instantiate their output loops per mode, so the unneeded compares vanish. */
enum { TKWS_CLAMP_INT8 = 0, TKWS_CLAMP_LOW = 1, TKWS_CLAMP_BOTH = 2 };

static inline int tkws_clamp_mode(int32_t lo, int32_t hi)
{
    return hi < 127 ? TKWS_CLAMP_BOTH : (lo > -128 ? TKWS_CLAMP_LOW : TKWS_CLAMP_INT8);
}

static inline int8_t tkws_clamp_as(int32_t v, int mode, int32_t lo, int32_t hi)
{
    v = tkws_ssat8(v);
    if (mode != TKWS_CLAMP_INT8 && v < lo) {
        v = lo;
    }
    if (mode == TKWS_CLAMP_BOTH && v > hi) {
        v = hi;
    }
    return (int8_t)v;
}

/* The layout tkws_dot and the DSP blocks read int16 data in: each group of four values
 * x0 x1 x2 x3 as the words (x0, x2) and (x1, x3), which is what SXTB16 makes of four
 * packed int8 values; a tail of fewer than four values stays in order. */
static inline void tkws_widen_dot(const int8_t *src, int16_t *dst, int n, int32_t offset)
{
    const uint32_t offsets = ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t word = tkws_load32(src + i);
        tkws_store32(dst + i, tkws_sxtab16(offsets, word));
        tkws_store32(dst + i + 2, tkws_sxtab16(offsets, tkws_ror8(word)));
    }
    for (; i < n; ++i) {
        dst[i] = (int16_t)(src[i] + offset);
    }
}
#else
#define tkws_widen_dot tkws_widen
#endif

/* dst[i] = src[i] + offset for n int8 values, as int16 in order. */
static inline void tkws_widen(const int8_t *src, int16_t *dst, int n, int32_t offset)
{
    int i;
    for (i = 0; i < n; ++i) {
        dst[i] = (int16_t)(src[i] + offset);
    }
}

/* sum of a[i] * w[i] for n values: int16 in tkws_widen_dot's layout times int8 weights. */
static inline int32_t tkws_dot(const int16_t *a, const int8_t *w, int n)
{
    int32_t acc = 0;
    int i = 0;
#if TKWS_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t wv = tkws_load32(w + i);
        acc = tkws_smlad(tkws_load32(a + i), tkws_sxtb16(wv), acc);
        acc = tkws_smlad(tkws_load32(a + i + 2), tkws_sxtb16(tkws_ror8(wv)), acc);
    }
#endif
    for (; i < n; ++i) {
        acc += a[i] * w[i];
    }
    return acc;
}

#endif /* TKWS_DSP_H */
