/* tinykws: strided_slice, the ring-buffer operator of streaming steps (a copy: input and
 * output share their quantization). The generator resolves begin/end/stride and the masks
 * into a start, a step and a count per axis (shapes padded to 4 dims). */
#include <string.h>

#include "tkws_kernels.h"

void tkws_strided_slice(const tkws_slice_params_t *p, const int8_t *input, int8_t *output)
{
    const uint16_t *d = p->in_dims;
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < p->count[0]; ++i0) {
        const int32_t j0 = p->start[0] + i0 * p->step[0];
        for (i1 = 0; i1 < p->count[1]; ++i1) {
            const int32_t j1 = p->start[1] + i1 * p->step[1];
            for (i2 = 0; i2 < p->count[2]; ++i2) {
                const int32_t j2 = p->start[2] + i2 * p->step[2];
                const int8_t *row = input + ((j0 * d[1] + j1) * d[2] + j2) * d[3];
                if (p->step[3] == 1) {
                    memcpy(output, row + p->start[3], (size_t)p->count[3]);
                    output += p->count[3];
                    continue;
                }
                for (i3 = 0; i3 < p->count[3]; ++i3) {
                    *output++ = row[p->start[3] + i3 * p->step[3]];
                }
            }
        }
    }
}
