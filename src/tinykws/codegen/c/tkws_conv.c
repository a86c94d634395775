/*
 * conv2d (any window, stride, dilation, padding) and the 1x1 stride-1 pointwise conv2d.
 *
 * Both prepare output pixels into int16 scratch first: the window of a pixel (im2col) or
 * the pixel itself, with the input offset added (padding becomes 0, contributing nothing,
 * as in TFLite), and then compute every output channel of those pixels. Output pixels are
 * written in order, each after its input was read: the order tinykws' memory planner
 * relies on when it lets the output overlap the input.
 *
 * Scratch: TKWS_CONV_PIXELS * filter_h * filter_w * in_c int16 values.
 */
#include <string.h>

#include "tkws_dsp.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

/* The window of output pixel (oy, ox) of one batch item, as int16 (input + offset). */
static void im2col(const tkws_conv_params_t *p, const int8_t *input, int oy, int ox, int16_t *col)
{
    const int in_c = p->in_c;
    int ky, kx;
    for (ky = 0; ky < p->filter_h; ++ky) {
        const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        for (kx = 0; kx < p->filter_w; ++kx) {
            const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                memset(col, 0, (size_t)in_c * sizeof(int16_t));
            } else {
                tkws_widen(input + ((int32_t)iy * p->in_w + ix) * in_c, col, in_c, p->input_offset);
            }
            col += in_c;
        }
    }
}

/* Output channels [0, out_c) of `pixels` prepared pixels (each `depth` int16 values). */
static void channels(const tkws_conv_params_t *p, const int16_t *cols, int pixels, int depth, int8_t *out)
{
    const int out_c = p->out_c;
    int co = 0;
    for (; co < out_c; ++co) {
        const int8_t *w = p->weights + (int32_t)co * depth;
        const int32_t bias = p->bias ? p->bias[co] : 0;
        int px;
        for (px = 0; px < pixels; ++px) {
            const int32_t acc = tkws_dot(cols + px * depth, w, depth) + bias;
            out[px * out_c + co] = tkws_requant(acc, p->multipliers[co], p->shifts[co], p->rounding,
                                                p->output_offset, p->act_min, p->act_max);
        }
    }
}

void tkws_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int depth = p->filter_h * p->filter_w * p->in_c;
    const int pixels = p->out_h * p->out_w;
    int b;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *in = input + (int32_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (int32_t)b * pixels * p->out_c;
        int q = 0;
        while (q < pixels) {
            const int n = (pixels - q >= TKWS_CONV_PIXELS) ? TKWS_CONV_PIXELS : 1;
            int i;
            for (i = 0; i < n; ++i) {
                im2col(p, in, (q + i) / p->out_w, (q + i) % p->out_w, scratch + i * depth);
            }
            channels(p, scratch, n, depth, out + (int32_t)q * p->out_c);
            q += n;
        }
    }
}

void tkws_conv2d_1x1(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int depth = p->in_c;
    const int32_t pixels = (int32_t)p->batch * p->in_h * p->in_w;
    int32_t q = 0;
    while (q < pixels) {
        const int n = (pixels - q >= TKWS_CONV_PIXELS) ? TKWS_CONV_PIXELS : 1;
        /* the pixels are copied out before any of their outputs is written */
        tkws_widen(input + q * depth, scratch, n * depth, p->input_offset);
        channels(p, scratch, n, depth, output + q * p->out_c);
        q += n;
    }
}
