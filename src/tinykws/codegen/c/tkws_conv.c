/*
 * conv2d (any window, stride, dilation, padding) and the 1x1 stride-1 pointwise conv2d.
 *
 * Output pixels are written in order, each only after its input was read into scratch:
 * the order tinykws' memory planner relies on when it lets the output overlap the input.
 * Padding contributes nothing (the input offset is added before the multiply, and padded
 * positions hold 0), as in TFLite.
 *
 * Portable path: one pixel at a time, its window widened to int16 in scratch, then every
 * output channel. Scratch: filter_h * filter_w * in_c int16 values.
 *
 * DSP path (tkws_dsp.h): blocks of p->block output pixels. The block's windows are widened
 * into scratch as int16 pairs, two pixels interleaved word by word; for each group of four
 * output channels their weights are widened the same way (four channels interleaved), and
 * each pixel pair x channel group is a 2x4 block of SMLADs (one load per two SMLADs).
 * Scratch: (block + 4) * kp int16 values + 4 channel records, kp = depth rounded up to 4;
 * with TKWS_PREPAD (small inputs) also the whole padded input, widened, so that windows
 * are copied without bounds checks.
 */
#include <string.h>

#include "tkws_dsp.h"
#include "tkws_fixedpoint.h"
#include "tkws_kernels.h"

static int tap_inside(const tkws_conv_params_t *p, int iy, int ix)
{
    return iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
}

#if !TKWS_USE_DSP

/* The window of output pixel (oy, ox) of one batch item, as int16 (input + offset). */
static void im2col(const tkws_conv_params_t *p, const int8_t *input, int oy, int ox, int16_t *col)
{
    const int in_c = p->in_c;
    int ky, kx;
    for (ky = 0; ky < p->filter_h; ++ky) {
        const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        for (kx = 0; kx < p->filter_w; ++kx) {
            const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (tap_inside(p, iy, ix)) {
                tkws_widen(input + ((int32_t)iy * p->in_w + ix) * in_c, col, in_c, p->input_offset);
            } else {
                memset(col, 0, (size_t)in_c * sizeof(int16_t));
            }
            col += in_c;
        }
    }
}

/* Every output channel of one prepared pixel (`depth` int16 values). */
static void channels(const tkws_conv_params_t *p, const int16_t *col, int depth, int8_t *out)
{
    int co;
    for (co = 0; co < p->out_c; ++co) {
        const int32_t acc = tkws_dot(col, p->weights + (int32_t)co * depth, depth) + (p->bias ? p->bias[co] : 0);
        out[co] = tkws_requant(acc, p->multipliers[co], p->shifts[co], p->rounding, p->output_offset, p->act_min,
                               p->act_max);
    }
}

void tkws_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int depth = p->filter_h * p->filter_w * p->in_c;
    int b, oy, ox;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *in = input + (int32_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (int32_t)b * p->out_h * p->out_w * p->out_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                im2col(p, in, oy, ox, scratch);
                channels(p, scratch, depth, out + ((int32_t)oy * p->out_w + ox) * p->out_c);
            }
        }
    }
}

void tkws_conv2d_1x1(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int32_t pixels = (int32_t)p->batch * p->in_h * p->in_w;
    int32_t q;
    for (q = 0; q < pixels; ++q) {
        /* the pixel is copied out before any of its outputs is written */
        tkws_widen(input + q * p->in_c, scratch, p->in_c, p->input_offset);
        channels(p, scratch, p->in_c, output + q * p->out_c);
    }
}

#else /* TKWS_USE_DSP */

#define GROUP 4 /* output channels per register block */

/* Requantization of one output channel, prepared once per channel group: fast (offset =
 * 2^(r-1) + zp 2^r, shift = r) or generic (shift as TFLite's). */
typedef struct {
    int32_t bias, multiplier, offset, shift;
} channel_t;

typedef struct {
    uint32_t *pairs;    /* block / 2 pixel pairs of kp words each */
    uint32_t *group;    /* GROUP channels x kp / 2 words, interleaved */
    channel_t *channel; /* GROUP records */
    int16_t *padded;    /* TKWS_PREPAD: the padded input, plane_h x plane_w x in_c */
    int kp;             /* depth rounded up to a multiple of 4 */
} layout_t;

static layout_t layout(const tkws_conv_params_t *p, int depth, int16_t *scratch)
{
    layout_t l;
    l.kp = (depth + 3) & ~3;
    l.pairs = (uint32_t *)(void *)scratch;
    l.group = l.pairs + (int32_t)p->block * l.kp / 2;
    l.channel = (channel_t *)(void *)(l.group + GROUP * l.kp / 2);
    l.padded = (int16_t *)(void *)(l.channel + GROUP);
    return l;
}

/* Rows and columns of the input every window of the output touches, padding included. */
static int plane_rows(const tkws_conv_params_t *p)
{
    return (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
}

static int plane_columns(const tkws_conv_params_t *p)
{
    return (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
}

/* TKWS_PREPAD: one batch item's input, widened, with its padding as 0, so that the windows
 * are copied without bounds checks. */
static void pad_input(const tkws_conv_params_t *p, const int8_t *in, int16_t *padded)
{
    const int rows = plane_rows(p), columns = plane_columns(p), in_c = p->in_c;
    int r, x;
    memset(padded, 0, (size_t)rows * columns * in_c * sizeof(int16_t));
    for (r = 0; r < rows; ++r) {
        const int iy = r - p->pad_top;
        if (iy < 0 || iy >= p->in_h) {
            continue;
        }
        for (x = 0; x < p->in_w; ++x) {
            const int col = x + p->pad_left;
            if (col < columns) {
                tkws_widen(in + ((int32_t)iy * p->in_w + x) * in_c, padded + ((int32_t)r * columns + col) * in_c, in_c,
                           p->input_offset);
            }
        }
    }
}

/* Value k of a row widened into an interleaved buffer of `ways` rows, row `slot`: word
 * 2 (k / 4) + (k % 2), half (k / 2) % 2 (the (x0, x2), (x1, x3) layout of tkws_widen_dot). */
static void put(uint32_t *buffer, int ways, int slot, int k, int32_t value)
{
    int16_t *half = (int16_t *)(void *)(buffer + (2 * (k >> 2) + (k & 1)) * ways + slot);
    half[(k >> 1) & 1] = (int16_t)value;
}

/* n int8 values (+ offset) as values k0.. of a pixel; k0 a multiple of 4. */
TKWS_ALWAYS_INLINE void widen_run(uint32_t *pair, int slot, int k0, const int8_t *src, int n, int32_t offset)
{
    const uint32_t offsets = ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
    uint32_t *dst = pair + k0 + slot;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t word = tkws_load32(src + i);
        dst[0] = tkws_sxtab16(offsets, word);
        dst[2] = tkws_sxtab16(offsets, tkws_ror8(word));
        dst += 4;
    }
    for (; i < n; ++i) {
        put(pair, 2, slot, k0 + i, src[i] + offset);
    }
}

/* The window of output pixel (oy, ox) into a pixel pair (already zeroed). A window row
 * inside the input is one run of filter_w * in_c bytes when dilation_w is 1. */
static void im2col(const tkws_conv_params_t *p, const int8_t *in, int oy, int ox, uint32_t *pair, int slot)
{
    const int in_c = p->in_c, row = p->filter_w * in_c;
    const int x0 = ox * p->stride_w - p->pad_left;
    const int runs = p->dilation_w == 1 && (row & 3) == 0 && x0 >= 0 && x0 + p->filter_w <= p->in_w;
    int ky, kx, c;
    for (ky = 0; ky < p->filter_h; ++ky) {
        const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            continue;
        }
        if (runs) {
            widen_run(pair, slot, ky * row, in + ((int32_t)iy * p->in_w + x0) * in_c, row, p->input_offset);
            continue;
        }
        for (kx = 0; kx < p->filter_w; ++kx) {
            const int ix = x0 + kx * p->dilation_w;
            if (tap_inside(p, iy, ix)) {
                for (c = 0; c < in_c; ++c) {
                    put(pair, 2, slot, ky * row + kx * in_c + c,
                        in[((int32_t)iy * p->in_w + ix) * in_c + c] + p->input_offset);
                }
            }
        }
    }
}

/* The window of output pixel (oy, ox) from the padded input into a pixel pair. A window
 * row of filter_w * in_c values (a multiple of 4, dilation_w 1) is copied four values at a
 * time: (x0, x1), (x2, x3) become (x0, x2), (x1, x3). */
static void im2col_padded(const tkws_conv_params_t *p, const int16_t *padded, int oy, int ox, uint32_t *pair,
                          int slot)
{
    const int in_c = p->in_c, row = p->filter_w * in_c, rows = p->filter_h;
    const int32_t row_step = (int32_t)p->dilation_h * plane_columns(p) * in_c;
    const int16_t *src = padded + ((int32_t)oy * p->stride_h * plane_columns(p) + ox * p->stride_w) * in_c;
    int ky, kx, c, g;
    if (p->dilation_w == 1 && (row & 3) == 0) {
        uint32_t *dst = pair + slot;
        for (ky = 0; ky < rows; ++ky, src += row_step) {
            for (g = 0; g < row; g += 4) {
                const uint32_t x01 = tkws_load32(src + g), x23 = tkws_load32(src + g + 2);
                dst[0] = (x01 & 0xFFFFu) | (x23 << 16);
                dst[2] = (x01 >> 16) | (x23 & 0xFFFF0000u);
                dst += 4;
            }
        }
        return;
    }
    for (ky = 0; ky < rows; ++ky, src += row_step) {
        for (kx = 0; kx < p->filter_w; ++kx) {
            for (c = 0; c < in_c; ++c) {
                put(pair, 2, slot, ky * row + kx * in_c + c, src[kx * p->dilation_w * in_c + c]);
            }
        }
    }
}

/* Weights and requantization of output channels [c0, c0 + GROUP) (zeros past out_c). */
static void prepare_group(const tkws_conv_params_t *p, const layout_t *l, int depth, int c0)
{
    const int whole = depth & ~3, words = l->kp / 2, fast = p->flags & TKWS_FAST_REQUANT;
    int co, g, k;
    for (co = 0; co < GROUP; ++co) {
        uint32_t *dst = l->group + co;
        channel_t *ch = l->channel + co;
        if (c0 + co >= p->out_c) {
            for (k = 0; k < words; ++k) {
                dst[GROUP * k] = 0;
            }
            memset(ch, 0, sizeof *ch);
            continue;
        }
        {
            const int8_t *w = p->weights + (int32_t)(c0 + co) * depth;
            const int shift = p->shifts[c0 + co];
            for (g = 0; g + 8 <= whole; g += 8) {
                const uint32_t word = tkws_load32(w + g), next = tkws_load32(w + g + 4);
                dst[0] = tkws_sxtb16(word);
                dst[GROUP] = tkws_sxtb16(tkws_ror8(word));
                dst[2 * GROUP] = tkws_sxtb16(next);
                dst[3 * GROUP] = tkws_sxtb16(tkws_ror8(next));
                dst += 4 * GROUP;
            }
            if (g < whole) {
                const uint32_t word = tkws_load32(w + g);
                dst[0] = tkws_sxtb16(word);
                dst[GROUP] = tkws_sxtb16(tkws_ror8(word));
                dst += 2 * GROUP;
            }
            if (whole < depth) {
                dst[0] = dst[GROUP] = 0;
                for (k = whole; k < depth; ++k) {
                    put(l->group, GROUP, co, k, w[k]);
                }
            }
            ch->bias = p->bias ? p->bias[c0 + co] : 0;
            ch->multiplier = p->multipliers[c0 + co];
            ch->shift = fast ? -shift : shift;
            ch->offset = fast ? ((int32_t)1 << (-shift - 1)) + p->output_offset * ((int32_t)1 << -shift) : 0;
        }
    }
}

/* One word step of a 2x4 block: pixel words x[0] (A) and x[1] (B) times the four channels'
 * words w[0..3], into a0..a3 (pixel A) and b0..b3 (pixel B). */
#define TKWS_STEP_2X4(x, w)                        \
    do {                                           \
        const uint32_t xa_ = (x)[0], xb_ = (x)[1]; \
        uint32_t w_ = (w)[0];                      \
        a0 = tkws_smlad(xa_, w_, a0);              \
        b0 = tkws_smlad(xb_, w_, b0);              \
        w_ = (w)[1];                               \
        a1 = tkws_smlad(xa_, w_, a1);              \
        b1 = tkws_smlad(xb_, w_, b1);              \
        w_ = (w)[2];                               \
        a2 = tkws_smlad(xa_, w_, a2);              \
        b2 = tkws_smlad(xb_, w_, b2);              \
        w_ = (w)[3];                               \
        a3 = tkws_smlad(xa_, w_, a3);              \
        b3 = tkws_smlad(xb_, w_, b3);              \
    } while (0)

/* Outputs of channel i of the group for pixels a and b (b only when `two`). */
#define TKWS_STORE_FAST(i, acc_a, acc_b)                                                            \
    do {                                                                                            \
        const int32_t m_ = channel[i].multiplier, o_ = channel[i].offset;                           \
        const int r_ = (int)channel[i].shift;                                                       \
        const int8_t va_ = tkws_clamp_as(tkws_requant_fast(acc_a, m_, o_, r_), mode, lo, hi);        \
        const int8_t vb_ = tkws_clamp_as(tkws_requant_fast(acc_b, m_, o_, r_), mode, lo, hi);        \
        a[i] = va_;                                                                                 \
        if (two) {                                                                                  \
            a[out_c + (i)] = vb_;                                                                   \
        }                                                                                           \
    } while (0)

/* One 2x4 block: pixel pair `pair` (words words each) times the prepared channel group,
 * stored at a (and a + out_c when `two`); `n` channels of the group are real. The
 * accumulators stay in registers from the bias to the requantization. */
TKWS_ALWAYS_INLINE void block_2x4(const uint32_t *pair, const uint32_t *group, const channel_t *channel, int words,
                                  int8_t *a, int out_c, int n, int two, int mode, int32_t lo, int32_t hi)
{
    int32_t a0 = channel[0].bias, a1 = channel[1].bias, a2 = channel[2].bias, a3 = channel[3].bias;
    int32_t b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    const uint32_t *end = pair + 2 * words;
    if (words & 2) {
        TKWS_STEP_2X4(pair, group);
        TKWS_STEP_2X4(pair + 2, group + 4);
        pair += 4;
        group += 8;
    }
    while (pair != end) { /* four words per iteration */
        TKWS_STEP_2X4(pair, group);
        TKWS_STEP_2X4(pair + 2, group + 4);
        TKWS_STEP_2X4(pair + 4, group + 8);
        TKWS_STEP_2X4(pair + 6, group + 12);
        pair += 8;
        group += 16;
    }
    TKWS_STORE_FAST(0, a0, b0);
    if (n == GROUP) {
        TKWS_STORE_FAST(1, a1, b1);
        TKWS_STORE_FAST(2, a2, b2);
        TKWS_STORE_FAST(3, a3, b3);
    } else if (n > 1) {
        TKWS_STORE_FAST(1, a1, b1);
        if (n > 2) {
            TKWS_STORE_FAST(2, a2, b2);
        }
    }
}

/* Every output channel of `pixels` prepared pixels (the block), written to out, with the
 * fast requantization; `mode` is a constant in each instantiation below. Parameters are
 * copied to locals because a store through an int8_t pointer may alias anything. */
TKWS_ALWAYS_INLINE void block_channels_fast(const tkws_conv_params_t *p, const layout_t *l, int depth, int pixels,
                                            int8_t *out, int mode)
{
    const int out_c = p->out_c, words = l->kp / 2, pair_words = l->kp;
    const int32_t lo = p->act_min, hi = p->act_max;
    const uint32_t *const pairs = l->pairs, *const group = l->group;
    const channel_t *const channel = l->channel;
    int c0, q;
    for (c0 = 0; c0 < out_c; c0 += GROUP) {
        const int n = out_c - c0 < GROUP ? out_c - c0 : GROUP;
        const uint32_t *pair = pairs;
        int8_t *a = out + c0;
        prepare_group(p, l, depth, c0);
        for (q = 0; q + 1 < pixels; q += 2) {
            block_2x4(pair, group, channel, words, a, out_c, n, 1, mode, lo, hi);
            pair += pair_words;
            a += 2 * out_c;
        }
        if (q < pixels) { /* an odd last pixel */
            block_2x4(pair, group, channel, words, a, out_c, n, 0, mode, lo, hi);
        }
    }
}

/* acc[i] (pixel A) and acc[GROUP + i] (pixel B): bias plus the 2x4 block's sums. */
static void dot_2x4_generic(const uint32_t *pair, const uint32_t *group, const channel_t *channel, int words,
                            int32_t *acc)
{
    int32_t a0 = channel[0].bias, a1 = channel[1].bias, a2 = channel[2].bias, a3 = channel[3].bias;
    int32_t b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    int k;
    for (k = 0; k < words; ++k) {
        TKWS_STEP_2X4(pair + 2 * k, group + GROUP * k);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = b0;
    acc[5] = b1;
    acc[6] = b2;
    acc[7] = b3;
}

/* The same with TFLite's requantization (any multiplier, shift and rounding). */
static void block_channels_generic(const tkws_conv_params_t *p, const layout_t *l, int depth, int pixels, int8_t *out)
{
    const int out_c = p->out_c, words = l->kp / 2, rounding = p->rounding;
    const int32_t lo = p->act_min, hi = p->act_max, zp = p->output_offset;
    int c0, q, i;
    for (c0 = 0; c0 < out_c; c0 += GROUP) {
        const int n = out_c - c0 < GROUP ? out_c - c0 : GROUP;
        prepare_group(p, l, depth, c0);
        for (q = 0; q < pixels; q += 2) {
            int32_t acc[2 * GROUP];
            int8_t *a = out + (int32_t)q * out_c + c0;
            dot_2x4_generic(l->pairs + (int32_t)(q / 2) * l->kp, l->group, l->channel, words, acc);
            for (i = 0; i < n; ++i) {
                const channel_t ch = l->channel[i];
                a[i] = tkws_requant(acc[i], ch.multiplier, ch.shift, rounding, zp, lo, hi);
                if (q + 1 < pixels) {
                    a[out_c + i] = tkws_requant(acc[GROUP + i], ch.multiplier, ch.shift, rounding, zp, lo, hi);
                }
            }
        }
    }
}

static void block_channels(const tkws_conv_params_t *p, const layout_t *l, int depth, int pixels, int8_t *out)
{
    if (!(p->flags & TKWS_FAST_REQUANT)) {
        block_channels_generic(p, l, depth, pixels, out);
        return;
    }
    switch (tkws_clamp_mode(p->act_min, p->act_max)) {
    case TKWS_CLAMP_INT8:
        block_channels_fast(p, l, depth, pixels, out, TKWS_CLAMP_INT8);
        break;
    case TKWS_CLAMP_LOW:
        block_channels_fast(p, l, depth, pixels, out, TKWS_CLAMP_LOW);
        break;
    default:
        block_channels_fast(p, l, depth, pixels, out, TKWS_CLAMP_BOTH);
        break;
    }
}

void tkws_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int depth = p->filter_h * p->filter_w * p->in_c;
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    const layout_t l = layout(p, depth, scratch);
    int b, i;
    int32_t q0;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *in = input + (int32_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (int32_t)b * pixels * p->out_c;
        const int prepad = p->flags & TKWS_PREPAD;
        if (prepad) { /* the whole input is read before any output is written */
            pad_input(p, in, l.padded);
        }
        for (q0 = 0; q0 < pixels; q0 += p->block) {
            const int n = pixels - q0 < p->block ? (int)(pixels - q0) : p->block;
            if (!prepad || (n & 1) || (depth & 3)) { /* values the copies below leave out are 0 */
                memset(l.pairs, 0, (size_t)((n + 1) / 2) * l.kp * 2 * sizeof(int16_t));
            }
            for (i = 0; i < n; ++i) {
                const int32_t q = q0 + i;
                uint32_t *pair = l.pairs + (i / 2) * l.kp;
                if (prepad) {
                    im2col_padded(p, l.padded, (int)(q / p->out_w), (int)(q % p->out_w), pair, i & 1);
                } else {
                    im2col(p, in, (int)(q / p->out_w), (int)(q % p->out_w), pair, i & 1);
                }
            }
            block_channels(p, &l, depth, n, out + q0 * p->out_c);
        }
    }
}

void tkws_conv2d_1x1(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch)
{
    const int32_t pixels = (int32_t)p->batch * p->in_h * p->in_w;
    const layout_t l = layout(p, p->in_c, scratch);
    int i;
    int32_t q0;
    for (q0 = 0; q0 < pixels; q0 += p->block) {
        const int n = pixels - q0 < p->block ? (int)(pixels - q0) : p->block;
        if ((n & 1) || (p->in_c & 3)) { /* padding values and a missing last pixel are 0 */
            memset(l.pairs, 0, (size_t)((n + 1) / 2) * l.kp * 2 * sizeof(int16_t));
        }
        /* the block's pixels are copied out before any of their outputs is written */
        for (i = 0; i < n; ++i) {
            widen_run(l.pairs + (i / 2) * l.kp, i & 1, 0, input + (q0 + i) * p->in_c, p->in_c, p->input_offset);
        }
        block_channels(p, &l, p->in_c, n, output + q0 * p->out_c);
    }
}

#endif /* TKWS_USE_DSP */
