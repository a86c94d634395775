/*
 * Kernels of gated and recurrent networks: lookup (LOGISTIC, TANH), mul with broadcasting,
 * split and batch_matmul. SUB runs as tkws_add with the second input's multiplier negated
 * (both fixed-point roundings are symmetric around zero), as the numpy runtime computes it.
 */
#include "tkws_broadcast.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

void tkws_lookup(const tkws_lookup_params_t *p, const int8_t *input, int8_t *output)
{
    uint32_t i;
    for (i = 0; i < p->size; ++i) {
        output[i] = p->table[(int32_t)input[i] + 128];
    }
}

static int8_t mul_one(const tkws_mul_params_t *p, int32_t a, int32_t b)
{
    return tkws_requant((a + p->a_offset) * (b + p->b_offset), p->multiplier, p->shift, p->rounding,
                        p->output_offset, p->act_min, p->act_max);
}

void tkws_mul(const tkws_mul_params_t *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    TKWS_BINARY_BROADCAST(p, a, b, output, mul_one);
}

void tkws_split(const tkws_split_params_t *p, const int8_t *input, int8_t *const *outputs)
{
    uint32_t o, k;
    int i;
    for (o = 0; o < p->outer; ++o) {
        for (i = 0; i < p->count; ++i) {
            int8_t *dst = outputs[i] + o * p->inner;
            for (k = 0; k < p->inner; ++k) {
                dst[k] = *input++;
            }
        }
    }
}

void tkws_batch_matmul(const tkws_batch_matmul_params_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *output)
{
    uint32_t b, i, j, t;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *l = lhs + b * p->lhs_batch_stride;
        const int8_t *r = rhs + b * p->rhs_batch_stride;
        for (i = 0; i < p->m; ++i) {
            for (j = 0; j < p->n; ++j) {
                int32_t acc = 0;
                for (t = 0; t < p->k; ++t) {
                    const int32_t x = p->adj_x ? l[t * p->m + i] : l[i * p->k + t];
                    const int32_t y = p->adj_y ? r[j * p->k + t] : r[t * p->n + j];
                    acc += (x + p->lhs_offset) * (y + p->rhs_offset);
                }
                *output++ = tkws_requant(acc, p->multiplier, p->shift, p->rounding, p->output_offset, -128, 127);
            }
        }
    }
}
