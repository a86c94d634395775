/* tinykws generated-code support: the broadcasting loop shared by the binary element-wise
 * kernels (ADD, SUB, MUL). Written by tinykws. */
#ifndef TKWS_BROADCAST_H
#define TKWS_BROADCAST_H

#include <stdint.h>

/* output[i] = ONE(p, a[ia], b[ib]) over the 4-d output (dims, row-major), a and b read
 * through their strides (a stride of 0 repeats an operand along that axis); without
 * broadcasting, element by element over `size`. A macro rather than a function taking a
 * function pointer, so that each kernel's per-element step is inlined as before. */
#define TKWS_BINARY_BROADCAST(p, a, b, output, ONE)                                                    \
    do {                                                                                               \
        uint32_t i_ = 0;                                                                               \
        int i0_, i1_, i2_, i3_;                                                                        \
        if (!(p)->broadcast) {                                                                         \
            for (i_ = 0; i_ < (p)->size; ++i_) {                                                       \
                (output)[i_] = ONE((p), (a)[i_], (b)[i_]);                                             \
            }                                                                                          \
            break;                                                                                     \
        }                                                                                              \
        for (i0_ = 0; i0_ < (p)->dims[0]; ++i0_) {                                                     \
            for (i1_ = 0; i1_ < (p)->dims[1]; ++i1_) {                                                 \
                for (i2_ = 0; i2_ < (p)->dims[2]; ++i2_) {                                             \
                    for (i3_ = 0; i3_ < (p)->dims[3]; ++i3_) {                                         \
                        const uint32_t ia_ = i0_ * (p)->a_strides[0] + i1_ * (p)->a_strides[1]         \
                                             + i2_ * (p)->a_strides[2] + i3_ * (p)->a_strides[3];      \
                        const uint32_t ib_ = i0_ * (p)->b_strides[0] + i1_ * (p)->b_strides[1]         \
                                             + i2_ * (p)->b_strides[2] + i3_ * (p)->b_strides[3];      \
                        (output)[i_++] = ONE((p), (a)[ia_], (b)[ib_]);                                 \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    } while (0)

#endif
