/* CMSDK APB timer 0 as a free-running down-counter (see tkws_counter.h). */
#include "tkws_counter.h"

#define CTRL_ENABLE 1u
#define CTRL_IRQ_ENABLE 8u /* only so that INTSTATUS records a wrap; the NVIC line stays off */

void tkws_counter_start(void) {
  TKWS_TIMER0_CTRL = 0u;
  TKWS_TIMER0_RELOAD = 0xFFFFFFFFu;
  TKWS_TIMER0_VALUE = 0xFFFFFFFFu;
  TKWS_TIMER0_INTSTATUS = 1u; /* write-one-to-clear */
  TKWS_TIMER0_CTRL = CTRL_ENABLE | CTRL_IRQ_ENABLE;
}

uint32_t tkws_counter_wrapped(void) {
  uint32_t wrapped = TKWS_TIMER0_INTSTATUS & 1u;
  TKWS_TIMER0_INTSTATUS = 1u;
  return wrapped;
}
