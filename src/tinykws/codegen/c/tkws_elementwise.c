/*
 * Element-wise and data-movement kernels: add (with broadcasting), requantize, pad,
 * concatenation and copy. add and requantize read element i before writing element i,
 * so their output may start at or before their input (tinykws' planner uses that).
 */
#include <string.h>

#include "tkws_broadcast.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

static int8_t add_one(const tkws_add_params_t *p, int32_t a, int32_t b)
{
    const int32_t sa = tkws_mbqm_lt1((a + p->a_offset) * (1 << p->left_shift), p->a_multiplier, p->a_shift,
                                     p->rounding);
    const int32_t sb = tkws_mbqm_lt1((b + p->b_offset) * (1 << p->left_shift), p->b_multiplier, p->b_shift,
                                     p->rounding);
    const int32_t sum = tkws_mbqm_lt1(sa + sb, p->output_multiplier, p->output_shift, p->rounding);
    return tkws_clamp(sum + p->output_offset, p->act_min, p->act_max);
}

void tkws_add(const tkws_add_params_t *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    TKWS_BINARY_BROADCAST(p, a, b, output, add_one);
}

void tkws_requantize(const tkws_requantize_params_t *p, const int8_t *input, int8_t *output)
{
    uint32_t i;
    for (i = 0; i < p->size; ++i) {
        output[i] = tkws_requant(input[i] - p->input_zero_point, p->multiplier, p->shift, p->rounding,
                                 p->output_zero_point, p->act_min, p->act_max);
    }
}

void tkws_pad(const tkws_pad_params_t *p, const int8_t *input, int8_t *output)
{
    const uint16_t *o = p->out_dims;
    int i0, i1, i2, i3;
    uint32_t out = 0;
    for (i0 = 0; i0 < o[0]; ++i0) {
        const int j0 = i0 - p->before[0];
        for (i1 = 0; i1 < o[1]; ++i1) {
            const int j1 = i1 - p->before[1];
            for (i2 = 0; i2 < o[2]; ++i2) {
                const int j2 = i2 - p->before[2];
                for (i3 = 0; i3 < o[3]; ++i3) {
                    const int j3 = i3 - p->before[3];
                    const int inside = j0 >= 0 && j0 < p->in_dims[0] && j1 >= 0 && j1 < p->in_dims[1]
                                       && j2 >= 0 && j2 < p->in_dims[2] && j3 >= 0 && j3 < p->in_dims[3];
                    output[out++] = inside
                        ? input[(((int32_t)j0 * p->in_dims[1] + j1) * p->in_dims[2] + j2) * p->in_dims[3] + j3]
                        : p->pad_value;
                }
            }
        }
    }
}

void tkws_concatenation(const tkws_concat_params_t *p, const int8_t *const *inputs, int8_t *output)
{
    uint32_t o, k;
    int i;
    for (o = 0; o < p->outer; ++o) {
        for (i = 0; i < p->count; ++i) {
            const int8_t *src = inputs[i] + o * p->inner[i];
            for (k = 0; k < p->inner[i]; ++k) {
                *output++ = tkws_clamp(src[k], p->act_min, p->act_max);
            }
        }
    }
}

void tkws_copy(const int8_t *input, int8_t *output, uint32_t bytes)
{
    if (input != output) {
        memmove(output, input, bytes);
    }
}
