/*
 * fully_connected: each input row (in_c values) times every weight row, in int32, plus
 * the bias, requantized per tensor or per output unit. The input row is widened to int16
 * scratch once (input offset added) and reused by every output unit.
 *
 * Scratch: in_c int16 values.
 */
#include "tkws_dsp.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

void tkws_fully_connected(const tkws_fc_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int in_c = p->in_c;
    int r, co, k;
    for (r = 0; r < p->rows; ++r) {
        if (p->weight_offset == 0) {
            tkws_widen_dot(input + (int32_t)r * in_c, scratch, in_c, p->input_offset);
        } else { /* the scalar loop below reads the values in order */
            tkws_widen(input + (int32_t)r * in_c, scratch, in_c, p->input_offset);
        }
        for (co = 0; co < p->out_c; ++co) {
            const int8_t *w = p->weights + (int32_t)co * in_c;
            const int unit = p->per_channel ? co : 0;
            int32_t acc = p->bias ? p->bias[co] : 0;
            if (p->weight_offset == 0) {
                acc += tkws_dot(scratch, w, in_c);
            } else {
                for (k = 0; k < in_c; ++k) {
                    acc += scratch[k] * (w[k] + p->weight_offset);
                }
            }
            output[(int32_t)r * p->out_c + co] = tkws_requant(acc, p->multipliers[unit], p->shifts[unit], p->rounding,
                                                               p->output_offset, p->act_min, p->act_max);
        }
    }
}
