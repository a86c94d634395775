/*
 * softmax, TFLite's reference int8 kernel: the differences to the row maximum, scaled to
 * Q5.26, go through gemmlowp's exp (Q0.31), are summed in Q12.19, and each exp is
 * multiplied by the sum's fixed-point reciprocal. Same arithmetic as
 * tinykws.fixedpoint.gemmlowp. A row is read twice before its outputs are written one by
 * one (element j after input j), so the output may overlap the input.
 */
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12
#define ONE_Q0_31 INT32_MAX

/* gemmlowp SaturatingRoundingMultiplyByPOT: a saturating left shift or a rounding right shift. */
static int32_t multiply_by_pot(int32_t x, int exponent)
{
    int32_t threshold;
    if (exponent == 0) {
        return x;
    }
    if (exponent < 0) {
        return tkws_rdbpot(x, -exponent);
    }
    threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return tkws_shift_left(x, exponent);
}

static int32_t add_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static int32_t sub_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8. */
static int32_t exp_on_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = add_wrap(a, 1 << 28);
    const int32_t x2 = tkws_srdhm(x, x);
    const int32_t x3 = tkws_srdhm(x2, x);
    const int32_t x4 = tkws_srdhm(x2, x2);
    const int32_t x4_over_4 = multiply_by_pot(x4, -2);
    const int32_t poly = multiply_by_pot(add_wrap(tkws_srdhm(add_wrap(x4_over_4, x3), one_third), x2), -1);
    return add_wrap(exp_minus_one_eighth, tkws_srdhm(exp_minus_one_eighth, add_wrap(x, poly)));
}

/* exp(a) for a <= 0 in Q5.26; result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    /* exp(-2^k) for k = -2..4 in Q0.31 (gemmlowp's barrel shifter) */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = sub_wrap(a & (one_quarter - 1), one_quarter);
    const int32_t remainder = sub_wrap(a_mod_quarter_minus_one_quarter, a);
    int32_t result = exp_on_interval(multiply_by_pot(a_mod_quarter_minus_one_quarter, SCALED_DIFF_INTEGER_BITS));
    int k;
    for (k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (fractional_bits - 2 + k))) {
            result = tkws_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? ONE_Q0_31 : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out: Newton-Raphson from 48/17 - 32/17 x. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t total = (int64_t)a + ONE_Q0_31;
    const int32_t half_denominator = (int32_t)((total + (total >= 0 ? 1 : -1)) / 2);
    const int32_t one_q2_29 = (int32_t)1 << 29;
    int32_t x = add_wrap(1515870810, tkws_srdhm(half_denominator, -1010580540));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = sub_wrap(one_q2_29, tkws_srdhm(half_denominator, x));
        x = add_wrap(x, multiply_by_pot(tkws_srdhm(x, one_minus), 2));
    }
    return multiply_by_pot(x, 1);
}

static int leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* TFLite GetReciprocal: 1/x scaled into [0.5, 1) as Q0.31, and the bits it was scaled by. */
static int32_t reciprocal(int32_t x, int *num_bits_over_unit)
{
    const int headroom_plus_one = leading_zeros((uint32_t)x);
    const uint32_t shifted = headroom_plus_one < 32 ? (uint32_t)x << headroom_plus_one : 0u;
    *num_bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom_plus_one;
    return one_over_one_plus_x((int32_t)(shifted - 0x80000000u));
}

/* RoundingDivideByPOT for exponents up to 43 (the numpy runtime's int64 semantics): past
 * 31 every int32 rounds to 0, except INT32_MIN / 2^32 = -0.5, which rounds to -1. */
static int32_t divide_by_pot(int32_t x, int exponent)
{
    if (exponent > 31) {
        return (exponent == 32 && x == INT32_MIN) ? -1 : 0;
    }
    return tkws_rdbpot(x, exponent);
}

static int32_t row_exp(const tkws_softmax_params_t *p, int32_t diff)
{
    return exp_on_negative_values(tkws_mbqm_gt1(diff, p->input_multiplier, p->input_left_shift, p->rounding));
}

void tkws_softmax(const tkws_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    uint32_t r, j;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = input + r * p->depth;
        int8_t *y = output + r * p->depth;
        int32_t max = -128, sum = 0, inverse;
        int bits_over_unit;
        for (j = 0; j < p->depth; ++j) {
            max = x[j] > max ? x[j] : max;
        }
        for (j = 0; j < p->depth; ++j) {
            const int32_t diff = x[j] - max;
            if (diff >= p->diff_min) {
                sum += multiply_by_pot(row_exp(p, diff), -ACCUMULATION_INTEGER_BITS);
            }
        }
        inverse = reciprocal(sum, &bits_over_unit);
        for (j = 0; j < p->depth; ++j) {
            const int32_t diff = x[j] - max;
            if (diff >= p->diff_min) {
                const int32_t value = divide_by_pot(tkws_srdhm(inverse, row_exp(p, diff)), bits_over_unit + 31 - 8);
                y[j] = tkws_clamp(value - 128, -128, 127);
            } else {
                y[j] = -128;
            }
        }
    }
}
