/*
 * depthwise_conv2d, one input channel at a time: the channel's plane is copied into int16
 * scratch with the input offset added and the padding filled with 0 (so every window lies
 * inside it), then its depth_multiplier output channels are computed from the copy.
 * Writing output channel c therefore only replaces input channel c, which has been copied:
 * with depth multiplier 1 the output may occupy the input's bytes (tinykws' planner runs
 * depthwise layers in place).
 *
 * Scratch: plane_h * plane_w int16 values, plane_h = (out_h - 1) * stride_h +
 * (filter_h - 1) * dilation_h + 1 (likewise plane_w).
 *
 * DSP path for 3x3, stride 1, dilation 1, depth multiplier 1 (tkws_dsp.h): planes are
 * stored column by column, each column (out_h + 2 values, rounded up to even) starting on
 * a word, so two vertically adjacent values are one load; the filter's rows 0 and 1 of
 * each column are one packed weight word. Two outputs of a column take, per filter
 * column, three loads, two SMLAD and two SMLABB/SMLABT/SMLATB/SMLATT; filter columns 0
 * and 1 go into an int32 column of sums, column 2 is added as the outputs are written
 * (two short loops need fewer registers than one long one). Four channels are copied at
 * once (one word load gives four channels). Scratch: four such planes, int16, and the
 * column of sums, out_h + 2 int32 values.
 */
#include <string.h>

#include "tkws_dsp.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

static int plane_size(int out, int stride, int filter, int dilation)
{
    return (out - 1) * stride + (filter - 1) * dilation + 1;
}

/* Input channel c of one batch item as a padded int16 plane. */
static void copy_plane(const tkws_conv_params_t *p, const int8_t *in, int c, int16_t *plane, int plane_h,
                       int plane_w)
{
    int r, col;
    for (r = 0; r < plane_h; ++r) {
        const int iy = r - p->pad_top;
        int16_t *row = plane + r * plane_w;
        if (iy < 0 || iy >= p->in_h) {
            for (col = 0; col < plane_w; ++col) {
                row[col] = 0;
            }
            continue;
        }
        for (col = 0; col < plane_w; ++col) {
            const int ix = col - p->pad_left;
            row[col] = (ix < 0 || ix >= p->in_w)
                ? 0 : (int16_t)(in[((int32_t)iy * p->in_w + ix) * p->in_c + c] + p->input_offset);
        }
    }
}

/* Output channel oc from a plane: every output position, in raster order. */
static void channel(const tkws_conv_params_t *p, const int16_t *plane, int plane_w, int oc, int8_t *out)
{
    const int channels = p->in_c * p->depth_multiplier;
    const int32_t bias = p->bias ? p->bias[oc] : 0;
    const int32_t multiplier = p->multipliers[oc];
    const int shift = p->shifts[oc];
    int oy, ox, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            const int16_t *window = plane + oy * p->stride_h * plane_w + ox * p->stride_w;
            int32_t acc = bias;
            for (ky = 0; ky < p->filter_h; ++ky) {
                const int16_t *row = window + ky * p->dilation_h * plane_w;
                const int8_t *w = p->weights + ky * p->filter_w * channels + oc;
                for (kx = 0; kx < p->filter_w; ++kx) {
                    acc += row[kx * p->dilation_w] * w[kx * channels];
                }
            }
            out[((int32_t)oy * p->out_w + ox) * channels + oc] =
                tkws_requant(acc, multiplier, shift, p->rounding, p->output_offset, p->act_min, p->act_max);
        }
    }
}

#if TKWS_USE_DSP

#define PLANES 4 /* channels copied at once */

/* Input channel c into the column-major plane (its padding already 0). */
static void copy_columns(const tkws_conv_params_t *p, const int8_t *in, int c, int16_t *plane, int ph)
{
    const int in_h = p->in_h, in_w = p->in_w, channels = p->in_c;
    const int32_t row_step = (int32_t)in_w * channels, offset = p->input_offset;
    int16_t *first = plane + p->pad_left * ph + p->pad_top;
    int ix, iy;
    for (ix = 0; ix < in_w; ++ix) {
        int16_t *column = first + ix * ph;
        const int8_t *src = in + (int32_t)ix * channels + c;
        for (iy = 0; iy < in_h; ++iy) {
            column[iy] = (int16_t)(*src + offset);
            src += row_step;
        }
    }
}

/* Input channels c .. c + 3 into four planes `size` values apart: one word load per position. */
static void copy_columns4(const tkws_conv_params_t *p, const int8_t *in, int c, int16_t *planes, int size, int ph)
{
    const int in_h = p->in_h, in_w = p->in_w, channels = p->in_c;
    const int32_t row_step = (int32_t)in_w * channels;
    const uint32_t offsets = ((uint32_t)p->input_offset & 0xFFFFu) | ((uint32_t)p->input_offset << 16);
    int16_t *p0 = planes + p->pad_left * ph + p->pad_top, *p1 = p0 + size, *p2 = p1 + size, *p3 = p2 + size;
    int ix, iy;
    for (ix = 0; ix < in_w; ++ix) {
        const int8_t *src = in + (int32_t)ix * channels + c;
        const int first = ix * ph;
        for (iy = first; iy < first + in_h; ++iy) {
            const uint32_t word = tkws_load32(src);
            const uint32_t even = tkws_sxtab16(offsets, word), odd = tkws_sxtab16(offsets, tkws_ror8(word));
            p0[iy] = (int16_t)even;
            p1[iy] = (int16_t)odd;
            p2[iy] = (int16_t)(even >> 16);
            p3[iy] = (int16_t)(odd >> 16);
            src += row_step;
        }
    }
}

/* Output channel c from its plane; `sums` holds out_h + 1 int32 values; `mode` is a
 * constant in each instantiation below. */
TKWS_ALWAYS_INLINE void channel_3x3_as(const tkws_conv_params_t *p, const int16_t *plane, int ph, int c,
                                       int8_t *out, int32_t *sums, int mode)
{
    const int out_h = p->out_h, out_w = p->out_w, channels = p->in_c;
    const int32_t row_step = (int32_t)out_w * channels, lo = p->act_min, hi = p->act_max;
    const int8_t *w = p->weights + c;
    const int32_t bias = p->bias ? p->bias[c] : 0, multiplier = p->multipliers[c];
    const int r = -p->shifts[c];
    const int32_t offset = ((int32_t)1 << (r - 1)) + p->output_offset * ((int32_t)1 << r);
    /* filter rows 0 and 1 of each filter column as one word; row 2 of columns 0, 1 and 2 */
    const uint32_t top0 = (uint32_t)(uint16_t)w[0] | ((uint32_t)w[3 * channels] << 16);
    const uint32_t top1 = (uint32_t)(uint16_t)w[channels] | ((uint32_t)w[4 * channels] << 16);
    const uint32_t top2 = (uint32_t)(uint16_t)w[2 * channels] | ((uint32_t)w[5 * channels] << 16);
    const uint32_t bottom01 = (uint32_t)(uint16_t)w[6 * channels] | ((uint32_t)w[7 * channels] << 16);
    const uint32_t bottom2 = (uint16_t)w[8 * channels];
    int ox, oy;
    for (ox = 0; ox < out_w; ++ox) {
        const int16_t *c0 = plane + ox * ph, *c1 = c0 + ph, *c2 = c1 + ph;
        int32_t *sum = sums;
        int8_t *dst = out + (int32_t)ox * channels + c;
        for (oy = 0; oy < out_h; oy += 2) { /* filter columns 0 and 1 */
            int32_t s0 = bias, s1 = bias;
            uint32_t a = tkws_load32(c0 + oy), d = tkws_load32(c0 + oy + 2), u = tkws_load32(c0 + oy + 1);
            s0 = tkws_smlad(top0, a, s0);
            s0 = tkws_smlabb(bottom01, d, s0);
            s1 = tkws_smlad(top0, u, s1);
            s1 = tkws_smlabt(bottom01, d, s1);
            a = tkws_load32(c1 + oy);
            d = tkws_load32(c1 + oy + 2);
            u = tkws_load32(c1 + oy + 1);
            s0 = tkws_smlad(top1, a, s0);
            s0 = tkws_smlatb(bottom01, d, s0);
            s1 = tkws_smlad(top1, u, s1);
            s1 = tkws_smlatt(bottom01, d, s1);
            sum[0] = s0;
            sum[1] = s1;
            sum += 2;
        }
        sum = sums;
        for (oy = 0; oy + 1 < out_h; oy += 2) { /* filter column 2, requantize, store */
            const uint32_t a = tkws_load32(c2 + oy), d = tkws_load32(c2 + oy + 2), u = tkws_load32(c2 + oy + 1);
            int32_t s0 = sum[0], s1 = sum[1];
            s0 = tkws_smlad(top2, a, s0);
            s0 = tkws_smlabb(bottom2, d, s0);
            s1 = tkws_smlad(top2, u, s1);
            s1 = tkws_smlabt(bottom2, d, s1);
            dst[0] = tkws_clamp_as(tkws_requant_fast(s0, multiplier, offset, r), mode, lo, hi);
            dst[row_step] = tkws_clamp_as(tkws_requant_fast(s1, multiplier, offset, r), mode, lo, hi);
            dst += 2 * row_step;
            sum += 2;
        }
        if (oy < out_h) { /* an odd last row */
            int32_t s0 = sum[0];
            s0 = tkws_smlad(top2, tkws_load32(c2 + oy), s0);
            s0 = tkws_smlabb(bottom2, tkws_load32(c2 + oy + 2), s0);
            dst[0] = tkws_clamp_as(tkws_requant_fast(s0, multiplier, offset, r), mode, lo, hi);
        }
    }
}

static void channel_3x3(const tkws_conv_params_t *p, const int16_t *plane, int ph, int c, int8_t *out, int32_t *sums)
{
    switch (tkws_clamp_mode(p->act_min, p->act_max)) {
    case TKWS_CLAMP_INT8:
        channel_3x3_as(p, plane, ph, c, out, sums, TKWS_CLAMP_INT8);
        break;
    case TKWS_CLAMP_LOW:
        channel_3x3_as(p, plane, ph, c, out, sums, TKWS_CLAMP_LOW);
        break;
    default:
        channel_3x3_as(p, plane, ph, c, out, sums, TKWS_CLAMP_BOTH);
        break;
    }
}

/* The 3x3 stride-1 path (needs TKWS_FAST_REQUANT). */
static void depthwise_3x3(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int ph = (p->out_h + 3) & ~1, channels = p->in_c, size = ph * (p->out_w + 2);
    int32_t *sums = (int32_t *)(void *)(scratch + PLANES * size);
    int b, c, k;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *in = input + (int32_t)b * p->in_h * p->in_w * channels;
        int8_t *out = output + (int32_t)b * p->out_h * p->out_w * channels;
        memset(scratch, 0, (size_t)PLANES * size * sizeof(int16_t));
        for (c = 0; c + PLANES <= channels; c += PLANES) {
            copy_columns4(p, in, c, scratch, size, ph);
            for (k = 0; k < PLANES; ++k) {
                channel_3x3(p, scratch + k * size, ph, c + k, out, sums);
            }
        }
        for (; c < channels; ++c) {
            copy_columns(p, in, c, scratch, ph);
            channel_3x3(p, scratch, ph, c, out, sums);
        }
    }
}

#endif /* TKWS_USE_DSP */

void tkws_depthwise_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int plane_h = plane_size(p->out_h, p->stride_h, p->filter_h, p->dilation_h);
    const int plane_w = plane_size(p->out_w, p->stride_w, p->filter_w, p->dilation_w);
    const int channels = p->in_c * p->depth_multiplier;
    int b, c, m;
#if TKWS_USE_DSP
    if (p->filter_h == 3 && p->filter_w == 3 && p->stride_h == 1 && p->stride_w == 1 && p->dilation_h == 1
        && p->dilation_w == 1 && p->depth_multiplier == 1 && (p->flags & TKWS_FAST_REQUANT)) {
        depthwise_3x3(p, input, output, scratch);
        return;
    }
#endif
    for (b = 0; b < p->batch; ++b) {
        const int8_t *in = input + (int32_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (int32_t)b * p->out_h * p->out_w * channels;
        for (c = 0; c < p->in_c; ++c) {
            copy_plane(p, in, c, scratch, plane_h, plane_w);
            for (m = 0; m < p->depth_multiplier; ++m) {
                channel(p, scratch, plane_w, c * p->depth_multiplier + m, out);
            }
        }
    }
}
