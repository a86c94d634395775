/* The UART of the emulated MPS2 boards (CMSDK APB UART0 at 0x40004000), polled.
 *
 * qemu exposes it to the host as whatever `-serial` names (a socket or a pty); it moves a
 * byte only when the baud divider is at least 16 and the direction is enabled, and holds
 * one received byte (RXFULL) until DATA is read, so the host's writes wait for the
 * firmware instead of being dropped. */
#ifndef TKWS_UART_H
#define TKWS_UART_H

#include <stdint.h>

/* Enable transmit and receive (the divider only matters to qemu's check). */
void tkws_uart_init(void);
/* Send one byte, waiting while the transmit buffer is full. */
void tkws_uart_putc(char c);
/* Send a NUL-terminated string. */
void tkws_uart_puts(const char *s);
/* 1 if a received byte is waiting. */
int tkws_uart_ready(void);
/* The received byte (call when tkws_uart_ready() says one is waiting). */
char tkws_uart_getc(void);

#endif
