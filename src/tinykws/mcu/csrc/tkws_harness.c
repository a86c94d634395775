/* Measuring calls: see tkws_harness.h for the arithmetic. */
#include "tkws_harness.h"

#include "tkws_counter.h"
#include "tkws_runtime.h"

#if defined(TKWS_PROFILE_LAYERS)
#ifndef TKWS_MODEL_HEADER
#define TKWS_MODEL_HEADER "model.h"
#endif
#include TKWS_MODEL_HEADER
#include "tkws_hooks.h"
uint32_t tkws_layer_begin_ticks[TKWS_NUM_LAYERS > 0 ? TKWS_NUM_LAYERS : 1];
uint32_t tkws_layer_end_ticks[TKWS_NUM_LAYERS > 0 ? TKWS_NUM_LAYERS : 1];
#endif

static uintptr_t deepest_stack;

__attribute__((naked, noinline)) int tkws_null_invoke(const int8_t *input, int8_t *output) {
  (void)input;
  (void)output;
  __asm volatile(
      "movs r0, #0\n"
      "bx lr\n");
}

/* noipa: no clone of this function may specialise it for one callee, so the null call and
 * the model call run exactly the same instructions around the call. */
__attribute__((noipa)) static uint32_t timed_call(tkws_invoke_fn fn, const int8_t *input, int8_t *output,
                                                  int32_t *status) {
  uint32_t first = tkws_counter_now();
  int32_t result = fn(input, output);
  uint32_t second = tkws_counter_now();
  *status = result;
  return tkws_counter_elapsed(first, second);
}

#if defined(TKWS_PROFILE_LAYERS)
__attribute__((noipa)) static uint32_t empty_hook_pair(void) {
  TKWS_LAYER_BEGIN(0);
  TKWS_LAYER_END(0);
  return tkws_counter_elapsed(tkws_layer_begin_ticks[0], tkws_layer_end_ticks[0]);
}
#endif

static void note_stack(uintptr_t deepest) {
  if (deepest < deepest_stack) deepest_stack = deepest;
}

void tkws_harness_measure(tkws_invoke_fn fn, const int8_t *input, int8_t *output, tkws_measurement *m) {
  tkws_stack_paint();
  uintptr_t frame = tkws_stack_pointer();
  /* Restart from 0xFFFFFFFF, so that passing zero means this call took 2^32 ticks or more. */
  tkws_counter_start();
  m->ticks = timed_call(fn, input, output, &m->status);
  m->wrapped = tkws_counter_wrapped();
  uintptr_t deepest = tkws_stack_deepest();
  m->stack_bytes = deepest < frame ? (uint32_t)(frame - deepest) : 0u;
  note_stack(deepest);
}

void tkws_harness_init(tkws_calibration *calibration) {
  deepest_stack = tkws_stack_deepest(); /* what start-up and main used so far */
  tkws_counter_start();
  tkws_measurement m;
  tkws_harness_measure(tkws_null_invoke, 0, 0, &m);
  calibration->null_call_ticks = m.ticks;
  calibration->null_call_stack = m.stack_bytes;
#if defined(TKWS_PROFILE_LAYERS)
  calibration->hook_pair_ticks = empty_hook_pair();
#else
  calibration->hook_pair_ticks = 0u;
#endif
}

uint32_t tkws_harness_layer_ticks(uint32_t i) {
#if defined(TKWS_PROFILE_LAYERS)
  if (i < (uint32_t)TKWS_NUM_LAYERS) return tkws_counter_elapsed(tkws_layer_begin_ticks[i], tkws_layer_end_ticks[i]);
#else
  (void)i;
#endif
  return 0u;
}

uint32_t tkws_harness_stack_peak(void) {
  note_stack(tkws_stack_deepest());
  return (uint32_t)(tkws_stack_top() - deepest_stack);
}
