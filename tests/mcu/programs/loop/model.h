/* A calibration "model" with the generated-model contract: tkws_invoke reads N (the first
 * four input bytes, little-endian, N >= 1) and runs a subs/bne loop N times. From its
 * first instruction to its return it executes exactly 2N + 3 instructions
 * (ldr, N x (subs, bne), movs, bx lr). It copies nothing to the output. */
#ifndef MODEL_H
#define MODEL_H
#include <stdint.h>
#define TKWS_INPUT_BYTES 4
#define TKWS_OUTPUT_BYTES 4
#define TKWS_NUM_LAYERS 1
int tkws_invoke(const int8_t *input, int8_t *output);
#endif
