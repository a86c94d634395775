/* The instruction counter of the emulated MPS2 boards: CMSDK APB timer 0.
 *
 * qemu's MPS2 boards clock the timer with a 25 MHz PCLK (40 ns per tick) from the virtual
 * clock. Under `-icount shift=S` every executed instruction advances that clock by exactly
 * 2^S ns, so the ticks between two reads of the counter measure the instructions executed
 * between them: instructions = round(ticks * 40 / 2^S). tinykws runs qemu with S = 8
 * (6.4 ticks per instruction): the at most one tick of quantisation is then 0.16
 * instruction, well inside the rounding, and 2^32 ticks last 671 million instructions.
 * The conversion happens on the host; the firmware only reports ticks.
 *
 * The timer counts down from 0xFFFFFFFF, so elapsed = first - second (mod 2^32). The
 * harness restarts it before each measured call; the interrupt status bit then records a
 * pass through zero, so an interval of 2^32 ticks or more is reported rather than
 * silently wrapped (the interrupt itself stays disabled in the NVIC and is never taken).
 */
#ifndef TKWS_COUNTER_H
#define TKWS_COUNTER_H

#include <stdint.h>

#define TKWS_TIMER0_CTRL (*(volatile uint32_t *)0x40000000u)
#define TKWS_TIMER0_VALUE (*(volatile uint32_t *)0x40000004u)
#define TKWS_TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)
#define TKWS_TIMER0_INTSTATUS (*(volatile uint32_t *)0x4000000Cu)

/* One read of the counter. The empty asm statements with a "memory" clobber keep the
 * compiler from moving memory accesses of the measured code across the read; they emit
 * no instruction. */
static inline uint32_t tkws_counter_now(void) {
  __asm volatile("" ::: "memory");
  uint32_t value = TKWS_TIMER0_VALUE;
  __asm volatile("" ::: "memory");
  return value;
}

/* Ticks from the read `first` to the later read `second`. */
static inline uint32_t tkws_counter_elapsed(uint32_t first, uint32_t second) { return first - second; }

/* Start counting from 0xFFFFFFFF and clear the wrap flag. */
void tkws_counter_start(void);
/* 1 if the counter passed zero since the last call (or the start), then clear the flag. */
uint32_t tkws_counter_wrapped(void);

#endif
