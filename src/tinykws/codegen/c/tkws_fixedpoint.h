/*
 * Fixed-point primitives of TFLite / gemmlowp (internal to the kernels).
 *
 * Same integer semantics as tinykws.fixedpoint.primitives (which mirrors the C++
 * reference). Signed right shifts are arithmetic and int32 casts of out-of-range values
 * wrap, as on every compiler tinykws targets (gcc, clang); left shifts of negative values
 * go through uint32_t so that they are defined.
 */
#ifndef TKWS_FIXEDPOINT_H
#define TKWS_FIXEDPOINT_H

#include <stdint.h>

#include "tkws_kernels.h"

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), nudge +2^30 for a
 * non-negative product and 1 - 2^30 for a negative one, then division truncating toward
 * zero. floor((ab + 2^30) / 2^31) equals that for every product (for ab < 0,
 * ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31)), so one arithmetic shift does. */
static inline int32_t tkws_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, ties away from zero (0 <= exponent <= 31). */
static inline int32_t tkws_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t tkws_shift_left(int32_t x, int bits)
{
    return (int32_t)((uint32_t)x << bits);
}

/* MultiplyByQuantizedMultiplier with single rounding: one 64-bit product, rounded once
 * (shift <= 30), saturated to int32 like the outputs that follow it. */
static inline int32_t tkws_mbqm_single(int32_t x, int32_t multiplier, int shift)
{
    const int total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    const int64_t result = ((int64_t)x * multiplier + round) >> total_shift;
    if (result > INT32_MAX) {
        return INT32_MAX;
    }
    if (result < INT32_MIN) {
        return INT32_MIN;
    }
    return (int32_t)result;
}

/* MultiplyByQuantizedMultiplier: x * multiplier / 2^(31 - shift) in TFLite's rounding. */
static inline int32_t tkws_mbqm(int32_t x, int32_t multiplier, int shift, int rounding)
{
    if (rounding == TKWS_ROUND_SINGLE) {
        return tkws_mbqm_single(x, multiplier, shift);
    }
    if (shift > 0) {
        return tkws_srdhm(tkws_shift_left(x, shift), multiplier);
    }
    return tkws_rdbpot(tkws_srdhm(x, multiplier), -shift);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0). */
static inline int32_t tkws_mbqm_gt1(int32_t x, int32_t multiplier, int left_shift, int rounding)
{
    if (rounding == TKWS_ROUND_SINGLE) {
        return tkws_mbqm_single(x, multiplier, left_shift);
    }
    return tkws_srdhm(tkws_shift_left(x, left_shift), multiplier);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0). */
static inline int32_t tkws_mbqm_lt1(int32_t x, int32_t multiplier, int left_shift, int rounding)
{
    if (rounding == TKWS_ROUND_SINGLE) {
        return tkws_mbqm_single(x, multiplier, left_shift);
    }
    return tkws_rdbpot(tkws_srdhm(x, multiplier), -left_shift);
}

static inline int8_t tkws_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

/* Output of an accumulator: requantize, add the output zero point, clamp. */
static inline int8_t tkws_requant(int32_t acc, int32_t multiplier, int shift, int rounding, int32_t offset,
                                  int32_t act_min, int32_t act_max)
{
    return tkws_clamp(tkws_mbqm(acc, multiplier, shift, rounding) + offset, act_min, act_max);
}

#endif /* TKWS_FIXEDPOINT_H */
