/* What tkws_startup.c gives the rest of the firmware: the stack high-water mark. */
#ifndef TKWS_RUNTIME_H
#define TKWS_RUNTIME_H

#include <stdint.h>

/* The word the unused stack is painted with. */
#define TKWS_STACK_PAINT 0xC5C5C5C5u

/* Paint the stack below the caller's frame, so that a later tkws_stack_deepest() finds
 * the lowest word the code called after this has written. */
void tkws_stack_paint(void);
/* Address of the lowest stack word that no longer holds the paint (the stack top if none). */
uintptr_t tkws_stack_deepest(void);
/* The current stack pointer. */
uintptr_t tkws_stack_pointer(void);
/* Top (highest address, exclusive) and size of the stack the linker reserved. */
uintptr_t tkws_stack_top(void);
uint32_t tkws_stack_size(void);

#endif
