/*
 * tinykws int8 kernels: the operators of an integer network, bit-exact with TFLite Micro's
 * reference kernels (and, for FULLY_CONNECTED with single rounding, with LiteRT's).
 *
 * Tensors are int8, NHWC, dimension 0 the batch. Every kernel accumulates in int32 as
 * TFLite does, then requantizes with the fixed-point multiplier and shift of its output
 * channel (see tkws_fixedpoint.h). No heap, no libc beyond string.h; the caller passes
 * the scratch each kernel needs (the generator sizes it).
 *
 * Input and output may overlap where tinykws' memory planner allows it
 * (tinykws.intmodel.memory): the kernels read and write in the order the planner
 * assumes, so they take no `restrict` pointers. Scratch is int16 and word-aligned.
 */
#ifndef TKWS_KERNELS_H
#define TKWS_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How MultiplyByQuantizedMultiplier rounds: gemmlowp's two roundings (TFLite Micro) or one
 * 64-bit rounding (TFLITE_SINGLE_ROUNDING, LiteRT's reference FULLY_CONNECTED). */
enum { TKWS_ROUND_DOUBLE = 0, TKWS_ROUND_SINGLE = 1 };

/* Flags of conv2d/depthwise_conv2d params. TKWS_FAST_REQUANT: every accumulator is below
 * 2^30 in magnitude, every multiplier 0 or at least 2^30 and every shift <= 0, so the DSP
 * path may requantize with tkws_requant_fast (the generator checks this per layer). */
#define TKWS_FAST_REQUANT 1u
/* conv2d flag: the DSP path widens the whole padded input into scratch first (small inputs). */
#define TKWS_PREPAD 2u

/* conv2d, 1x1 conv2d and depthwise_conv2d. Weights in TFLite order: conv (out_c, filter_h,
 * filter_w, in_c), depthwise (1, filter_h, filter_w, in_c * depth_multiplier). */
typedef struct {
    uint16_t batch, in_h, in_w, in_c, out_h, out_w, out_c;
    uint16_t filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    uint16_t depth_multiplier;  /* depthwise only */
    uint16_t block;             /* DSP conv2d / 1x1: output pixels per block (even) */
    uint8_t flags;              /* TKWS_FAST_REQUANT, TKWS_PREPAD */
    int16_t input_offset;       /* minus the input zero point */
    int16_t output_offset;      /* the output zero point */
    int8_t act_min, act_max;
    uint8_t rounding;
    const int8_t *weights;
    const int32_t *bias;        /* NULL: no bias */
    const int32_t *multipliers; /* per output channel */
    const int8_t *shifts;
} tkws_conv_params_t;

/* fully_connected: `rows` input vectors of in_c values, weights (out_c, in_c). */
typedef struct {
    uint16_t rows, in_c, out_c;
    int16_t input_offset, weight_offset, output_offset;
    int8_t act_min, act_max;
    uint8_t rounding;
    uint8_t per_channel;        /* 1: multipliers/shifts per output unit, 0: one of each */
    const int8_t *weights;
    const int32_t *bias;
    const int32_t *multipliers;
    const int8_t *shifts;
} tkws_fc_params_t;

/* average_pool2d / max_pool2d: windows clipped to the input. */
typedef struct {
    uint16_t batch, in_h, in_w, channels, out_h, out_w;
    uint16_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int8_t act_min, act_max;
} tkws_pool_params_t;

/* mean over the axes in reduce_mask (bit i: dimension i of the shape padded to 4 dims);
 * 1/count is folded into multiplier/shift by the generator, as TFLite does. */
typedef struct {
    uint16_t dims[4];
    uint8_t reduce_mask;
    uint8_t rounding;
    int32_t count;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier;
    int32_t shift;
} tkws_mean_params_t;

/* add with broadcasting: shapes padded to 4 dims; a stride of 0 repeats an input. */
typedef struct {
    uint32_t size;              /* output elements */
    uint8_t broadcast;          /* 0: both inputs have the output's shape */
    uint8_t rounding;
    uint16_t dims[4];
    uint32_t a_strides[4], b_strides[4];
    int32_t left_shift;
    int32_t a_offset, a_multiplier, a_shift;
    int32_t b_offset, b_multiplier, b_shift;
    int32_t output_offset, output_multiplier, output_shift;
    int8_t act_min, act_max;
} tkws_add_params_t;

/* requantize (RELU, RELU6, RELU_N1_TO_1, QUANTIZE int8 -> int8). */
typedef struct {
    uint32_t size;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
    int8_t act_min, act_max;
    uint8_t rounding;
} tkws_requantize_params_t;

/* softmax over the last dimension (`depth`) of `rows` rows; output scale 1/256, zp -128. */
typedef struct {
    uint32_t rows;
    uint32_t depth;
    int32_t input_multiplier, input_left_shift, diff_min;
    uint8_t rounding;
} tkws_softmax_params_t;

/* pad: shapes padded to 4 dims. */
typedef struct {
    uint16_t in_dims[4], out_dims[4], before[4];
    int8_t pad_value;
} tkws_pad_params_t;

/* concatenation along one axis: `outer` blocks, each the next `inner[i]` values of input i. */
typedef struct {
    uint32_t outer;
    uint8_t count;
    const uint32_t *inner;
    int8_t act_min, act_max;
} tkws_concat_params_t;

/* strided_slice: per axis (shapes padded to 4 dims) `count` elements from `start`, `step` apart. */
typedef struct {
    uint16_t in_dims[4];
    int32_t start[4], step[4], count[4];
} tkws_slice_params_t;
/* lookup: output[i] = table[input[i] + 128]; LOGISTIC and TANH (any int8 -> int8 function of
 * one value), the table computed by the generator with the numpy kernel of the network's
 * arithmetic (LiteRT's float table, or TFLite Micro's fixed point, for every input code). */
typedef struct {
    uint32_t size;
    const int8_t *table;
} tkws_lookup_params_t;

/* mul with broadcasting (as add): (a + a_offset) * (b + b_offset) requantized. */
typedef struct {
    uint32_t size;
    uint8_t broadcast;
    uint8_t rounding;
    uint16_t dims[4];
    uint32_t a_strides[4], b_strides[4];
    int32_t a_offset, b_offset, output_offset;
    int32_t multiplier, shift;
    int8_t act_min, act_max;
} tkws_mul_params_t;

/* split into `count` equal parts: `outer` blocks, each `inner` values to every output in turn. */
typedef struct {
    uint32_t outer;
    uint32_t inner;
    uint16_t count;
} tkws_split_params_t;

/* batch_matmul: `batch` products of (m x k) by (k x n) matrices; a batch stride of 0
 * repeats an operand; adj_x / adj_y read the operand transposed. */
typedef struct {
    uint32_t batch, m, k, n;
    uint32_t lhs_batch_stride, rhs_batch_stride;
    int32_t lhs_offset, rhs_offset, output_offset;
    int32_t multiplier, shift;
    uint8_t adj_x, adj_y;
    uint8_t rounding;
} tkws_batch_matmul_params_t;

void tkws_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch);
void tkws_conv2d_1x1(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch);
void tkws_depthwise_conv2d(const tkws_conv_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch);
void tkws_fully_connected(const tkws_fc_params_t *p, const int8_t *input, int8_t *output, int16_t *scratch);
void tkws_average_pool2d(const tkws_pool_params_t *p, const int8_t *input, int8_t *output);
void tkws_max_pool2d(const tkws_pool_params_t *p, const int8_t *input, int8_t *output);
void tkws_mean(const tkws_mean_params_t *p, const int8_t *input, int8_t *output);
void tkws_add(const tkws_add_params_t *p, const int8_t *a, const int8_t *b, int8_t *output);
void tkws_requantize(const tkws_requantize_params_t *p, const int8_t *input, int8_t *output);
void tkws_softmax(const tkws_softmax_params_t *p, const int8_t *input, int8_t *output);
void tkws_pad(const tkws_pad_params_t *p, const int8_t *input, int8_t *output);
void tkws_concatenation(const tkws_concat_params_t *p, const int8_t *const *inputs, int8_t *output);
void tkws_strided_slice(const tkws_slice_params_t *p, const int8_t *input, int8_t *output);
void tkws_lookup(const tkws_lookup_params_t *p, const int8_t *input, int8_t *output);
void tkws_mul(const tkws_mul_params_t *p, const int8_t *a, const int8_t *b, int8_t *output);
void tkws_split(const tkws_split_params_t *p, const int8_t *input, int8_t *const *outputs);
void tkws_batch_matmul(const tkws_batch_matmul_params_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);
/* reshape when it is not an alias: a copy (nothing when input == output) */
void tkws_copy(const int8_t *input, int8_t *output, uint32_t bytes);


#ifdef __cplusplus
}
#endif

#endif /* TKWS_KERNELS_H */
