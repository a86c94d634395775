/*
 * average_pool2d, max_pool2d and mean. Pooling windows are clipped to the input: padded
 * positions are neither summed nor counted (TFLite's reference kernels).
 */
#include "tkws_dsp.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

static int max_int(int a, int b) { return a > b ? a : b; }
static int min_int(int a, int b) { return a < b ? a : b; }

/* The in-bounds window [y0, y1) x [x0, x1) of output position (oy, ox). */
static void window(const tkws_pool_params_t *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    const int top = oy * p->stride_h - p->pad_top;
    const int left = ox * p->stride_w - p->pad_left;
    *y0 = max_int(top, 0);
    *y1 = min_int(top + p->filter_h, p->in_h);
    *x0 = max_int(left, 0);
    *x1 = min_int(left + p->filter_w, p->in_w);
}

static int8_t rounded_mean(int32_t sum, int32_t count, int32_t lo, int32_t hi)
{
    if (count > 0) { /* half away from zero; C division truncates toward zero */
        sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    }
    return tkws_clamp(sum, lo, hi);
}

/* Average (rounded half away from zero; C division truncates toward zero) or maximum of
 * every in-bounds window, then clamp. A window entirely in the padding gives 0 (average,
 * as the numpy runtime does) or act_min (maximum). */
static void pool(const tkws_pool_params_t *p, const int8_t *input, int8_t *output, int average)
{
    const int c_n = p->channels;
    int b, oy, ox, c, y, x;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *in = input + (int32_t)b * p->in_h * p->in_w * c_n;
        int8_t *out = output + (int32_t)b * p->out_h * p->out_w * c_n;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int y0, y1, x0, x1;
                int32_t count;
                window(p, oy, ox, &y0, &y1, &x0, &x1);
                count = (int32_t)(y1 - y0) * (x1 - x0);
                for (c = 0; c < c_n; ++c) {
                    int32_t acc = average ? 0 : -128;
                    for (y = y0; y < y1; ++y) {
                        for (x = x0; x < x1; ++x) {
                            const int32_t v = in[((int32_t)y * p->in_w + x) * c_n + c];
                            acc = average ? acc + v : (v > acc ? v : acc);
                        }
                    }
                    out[((int32_t)oy * p->out_w + ox) * c_n + c] = average
                        ? rounded_mean(acc, count, p->act_min, p->act_max)
                        : tkws_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

#if TKWS_USE_DSP
/* Sums of four channels over a window, two 16-bit lanes per word (SXTAB16): exact while
 * the window has at most 255 values (255 * 128 < 2^15). */
static void window_sums4(const int8_t *in, int32_t row_step, int channels, int y0, int y1, int x0, int x1, int c,
                         int32_t *sums)
{
    uint32_t even = 0, odd = 0;
    int y, x;
    for (y = y0; y < y1; ++y) {
        const int8_t *src = in + (int32_t)y * row_step + (int32_t)x0 * channels + c;
        for (x = x0; x < x1; ++x) {
            const uint32_t word = tkws_load32(src);
            even = tkws_sxtab16(even, word);
            odd = tkws_sxtab16(odd, tkws_ror8(word));
            src += channels;
        }
    }
    sums[0] = (int16_t)(even & 0xFFFFu);
    sums[1] = (int16_t)(odd & 0xFFFFu);
    sums[2] = (int16_t)(even >> 16);
    sums[3] = (int16_t)(odd >> 16);
}
#endif

void tkws_average_pool2d(const tkws_pool_params_t *p, const int8_t *input, int8_t *output)
{
#if TKWS_USE_DSP
    const int c_n = p->channels;
    if ((c_n & 3) == 0 && (int32_t)p->filter_h * p->filter_w <= 255) {
        const int32_t row_step = (int32_t)p->in_w * c_n;
        int b, oy, ox, c, k;
        for (b = 0; b < p->batch; ++b) {
            const int8_t *in = input + (int32_t)b * p->in_h * row_step;
            int8_t *out = output + (int32_t)b * p->out_h * p->out_w * c_n;
            for (oy = 0; oy < p->out_h; ++oy) {
                for (ox = 0; ox < p->out_w; ++ox) {
                    int y0, y1, x0, x1;
                    int8_t *dst = out + ((int32_t)oy * p->out_w + ox) * c_n;
                    window(p, oy, ox, &y0, &y1, &x0, &x1);
                    for (c = 0; c < c_n; c += 4) {
                        int32_t sums[4];
                        window_sums4(in, row_step, c_n, y0, y1, x0, x1, c, sums);
                        for (k = 0; k < 4; ++k) {
                            dst[c + k] =
                                rounded_mean(sums[k], (int32_t)(y1 - y0) * (x1 - x0), p->act_min, p->act_max);
                        }
                    }
                }
            }
        }
        return;
    }
#endif
    pool(p, input, output, 1);
}

void tkws_max_pool2d(const tkws_pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool(p, input, output, 0);
}

void tkws_mean(const tkws_mean_params_t *p, const int8_t *input, int8_t *output)
{
    const uint16_t *d = p->dims;
    int kept[4], reduced[4];
    int i0, i1, i2, i3, r0, r1, r2, r3, k;
    int32_t out_index = 0;
    for (k = 0; k < 4; ++k) {
        const int is_reduced = (p->reduce_mask >> k) & 1;
        kept[k] = is_reduced ? 1 : d[k];
        reduced[k] = is_reduced ? d[k] : 1;
    }
    for (i0 = 0; i0 < kept[0]; ++i0) {
        for (i1 = 0; i1 < kept[1]; ++i1) {
            for (i2 = 0; i2 < kept[2]; ++i2) {
                for (i3 = 0; i3 < kept[3]; ++i3) {
                    int32_t sum = 0;
                    for (r0 = 0; r0 < reduced[0]; ++r0) {
                        for (r1 = 0; r1 < reduced[1]; ++r1) {
                            for (r2 = 0; r2 < reduced[2]; ++r2) {
                                for (r3 = 0; r3 < reduced[3]; ++r3) {
                                    sum += input[(((int32_t)(i0 + r0) * d[1] + (i1 + r1)) * d[2] + (i2 + r2)) * d[3]
                                                 + (i3 + r3)];
                                }
                            }
                        }
                    }
                    sum = tkws_mbqm(sum - p->input_zero_point * p->count, p->multiplier, p->shift, p->rounding);
                    output[out_index++] = tkws_clamp(sum + p->output_zero_point, -128, 127);
                }
            }
        }
    }
}
