/* tinykws' start-up code for Cortex-M: the vector table and the reset handler.
 *
 * Reset: enable the FPU when the build has one (before any floating-point instruction),
 * copy .data from flash, zero .bss, paint the stack for the high-water mark, run main and
 * exit through semihosting with its return value. A fault prints the faulting address and
 * exits with status 250, so a crash ends the emulator instead of hanging it. No C library
 * start-up code runs (linked with -nostartfiles); nothing here needs a heap.
 */
#include <stdint.h>

#include "tkws_runtime.h"
#include "tkws_semihost.h"

/* From the linker script (tkws_sections.ld). */
extern uint32_t __tkws_data_load, __tkws_data_start, __tkws_data_end;
extern uint32_t __tkws_bss_start, __tkws_bss_end;
extern uint32_t __tkws_stack_limit, __tkws_stack_top;
extern void (*__tkws_init_array_start[])(void);
extern void (*__tkws_init_array_end[])(void);

extern int main(void);

#define TKWS_FAULT_STATUS 250

void tkws_reset_handler(void) __attribute__((noreturn));
void tkws_fault_handler(void);

#if defined(__ARM_ARCH_6M__)
/* Armv6-M has no IT instruction: report the fault without its address. */
void tkws_fault_handler(void) {
  tkws_sh_puts("tkws: fault\n");
  tkws_sh_exit(TKWS_FAULT_STATUS);
}
#else
void tkws_fault_report(const uint32_t *frame) __attribute__((noreturn));
void tkws_fault_report(const uint32_t *frame) {
  /* Exception entry stacked r0-r3, r12, lr, pc, xpsr: pc is word 6. */
  tkws_sh_puts("tkws: fault at pc=");
  tkws_sh_put_u32(frame[6]);
  tkws_sh_puts("\n");
  tkws_sh_exit(TKWS_FAULT_STATUS);
}

/* Pick the stack the exception frame went to (EXC_RETURN bit 2), then report. */
__attribute__((naked)) void tkws_fault_handler(void) {
  __asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "b tkws_fault_report\n");
}
#endif

static void unexpected_interrupt(void) {
  tkws_sh_puts("tkws: unexpected interrupt\n");
  tkws_sh_exit(TKWS_FAULT_STATUS + 1);
}

/* Initial stack pointer, then the 15 system exceptions; no device interrupt is enabled. */
__attribute__((section(".tkws_vectors"), used)) void (*const tkws_vector_table[16])(void) = {
    (void (*)(void))&__tkws_stack_top,
    tkws_reset_handler,
    unexpected_interrupt, /* NMI */
    tkws_fault_handler,   /* HardFault */
    tkws_fault_handler,   /* MemManage */
    tkws_fault_handler,   /* BusFault */
    tkws_fault_handler,   /* UsageFault */
    0, 0, 0, 0,
    unexpected_interrupt, /* SVCall */
    unexpected_interrupt, /* DebugMonitor */
    0,
    unexpected_interrupt, /* PendSV */
    unexpected_interrupt, /* SysTick */
};

uintptr_t tkws_stack_pointer(void) {
  uintptr_t sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

uintptr_t tkws_stack_top(void) { return (uintptr_t)&__tkws_stack_top; }

uint32_t tkws_stack_size(void) { return (uint32_t)((uintptr_t)&__tkws_stack_top - (uintptr_t)&__tkws_stack_limit); }

/* Everything below the stack pointer is free: no interrupt can use it meanwhile. The
 * volatile stores keep the compiler from turning the loop into a call of memset, whose
 * own frame would lie in the painted area. */
void tkws_stack_paint(void) {
  volatile uint32_t *word = &__tkws_stack_limit;
  volatile uint32_t *end = (volatile uint32_t *)(tkws_stack_pointer() & ~(uintptr_t)3u);
  while (word < end) *word++ = TKWS_STACK_PAINT;
}

uintptr_t tkws_stack_deepest(void) {
  const uint32_t *word = &__tkws_stack_limit;
  while (word < &__tkws_stack_top && *word == TKWS_STACK_PAINT) word++;
  return (uintptr_t)word;
}

void tkws_reset_handler(void) {
#if defined(__ARM_FP)
  /* CPACR: full access to coprocessors 10 and 11 (the FPU). */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  __asm volatile("dsb\n isb" ::: "memory");
#endif
  const uint32_t *src = &__tkws_data_load;
  for (uint32_t *dst = &__tkws_data_start; dst < &__tkws_data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__tkws_bss_start; dst < &__tkws_bss_end;) *dst++ = 0u;
  tkws_stack_paint();
  for (void (**init)(void) = __tkws_init_array_start; init < __tkws_init_array_end; ++init) (*init)();
  tkws_sh_exit(main());
}
