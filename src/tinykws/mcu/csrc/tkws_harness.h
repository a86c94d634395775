/* Measuring one call of a model: instructions (as counter ticks) and stack, independent of
 * how inputs arrive and results leave. tkws_main_semihost.c moves them through host files;
 * a serial-protocol main can use the same calls.
 *
 * Arithmetic (done on the host, tinykws.mcu.harness): a call is timed by tkws_timed_call,
 * which reads the counter, calls the function through a pointer, and reads the counter
 * again. The same code times tkws_null_invoke, a function of exactly 2 instructions
 * (movs r0, #0; bx lr). So
 *   instructions(tkws_invoke, from its first instruction to its return, callees included)
 *     = insns(ticks of the invoke call) - insns(ticks of the null call) + 2.
 * Layers: an empty TKWS_LAYER_BEGIN/END pair is timed the same way, and its cost is
 * subtracted from every layer's end - begin.
 */
#ifndef TKWS_HARNESS_H
#define TKWS_HARNESS_H

#include <stdint.h>

typedef int (*tkws_invoke_fn)(const int8_t *input, int8_t *output);

/* Counter ticks of the fixed parts of a measurement. */
typedef struct {
  uint32_t null_call_ticks;   /* tkws_timed_call(tkws_null_invoke) */
  uint32_t null_call_stack;   /* stack bytes that call used below the measuring frame */
  uint32_t hook_pair_ticks;   /* an empty TKWS_LAYER_BEGIN/END pair (0 without hooks) */
} tkws_calibration;

typedef struct {
  int32_t status;        /* the function's return value */
  uint32_t ticks;        /* counter ticks of the timed call */
  uint32_t stack_bytes;  /* stack used below the measuring frame, the timed call's own included */
  uint32_t wrapped;      /* 1 if the counter passed zero (the call took more than 2^32 ticks) */
} tkws_measurement;

/* The reference function of the calibration: returns 0 in 2 instructions. */
int tkws_null_invoke(const int8_t *input, int8_t *output);

/* Start the counter and measure the fixed costs. */
void tkws_harness_init(tkws_calibration *calibration);
/* Run fn(input, output) once and measure it. */
void tkws_harness_measure(tkws_invoke_fn fn, const int8_t *input, int8_t *output, tkws_measurement *m);
/* Ticks of layer i in the last measured call (end - begin); 0 without hooks. */
uint32_t tkws_harness_layer_ticks(uint32_t i);
/* Deepest stack use since reset, in bytes below the top of the stack. */
uint32_t tkws_harness_stack_peak(void);

#endif
