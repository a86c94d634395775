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
 */
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

void tkws_depthwise_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int plane_h = plane_size(p->out_h, p->stride_h, p->filter_h, p->dilation_h);
    const int plane_w = plane_size(p->out_w, p->stride_w, p->filter_w, p->dilation_w);
    const int channels = p->in_c * p->depth_multiplier;
    int b, c, m;
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
