/* A two-layer int8 network with the generated-model contract, small enough to check in
 * numpy (tests/mcu/test_platform.py reproduces it): 64 inputs -> 32 (ReLU) -> 8 outputs.
 * Weights follow closed formulas so both sides build them the same way. */
#ifndef MODEL_H
#define MODEL_H
#include <stdint.h>
#define TKWS_INPUT_BYTES 64
#define TKWS_OUTPUT_BYTES 8
#define TKWS_NUM_LAYERS 2
#define TKWS_ARENA_BYTES 32
int tkws_invoke(const int8_t *input, int8_t *output);
#endif
