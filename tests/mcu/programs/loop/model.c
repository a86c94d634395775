#include "model.h"

__attribute__((naked)) int tkws_invoke(const int8_t *input, int8_t *output) {
  (void)input;
  (void)output;
  __asm volatile(
      "ldr r2, [r0]\n"
      "1: subs r2, r2, #1\n"
      "bne 1b\n"
      "movs r0, #0\n"
      "bx lr\n");
}
