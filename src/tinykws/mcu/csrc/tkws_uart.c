/* CMSDK APB UART0 of the MPS2 boards, polled (see tkws_uart.h). */
#include "tkws_uart.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u
#define CTRL_TX_ENABLE 1u
#define CTRL_RX_ENABLE 2u

void tkws_uart_init(void) {
  UART_BAUDDIV = 217u; /* 25 MHz / 115200; qemu only requires >= 16 */
  UART_CTRL = CTRL_TX_ENABLE | CTRL_RX_ENABLE;
  /* qemu's UART asks its host side for input again only when DATA is read: without this
   * read, bytes the host sent before the receiver was enabled wait until some unrelated
   * event (tens of seconds under -icount). */
  (void)UART_DATA;
}

void tkws_uart_putc(char c) {
  while (UART_STATE & STATE_TX_FULL) {
  }
  UART_DATA = (uint32_t)(uint8_t)c;
}

void tkws_uart_puts(const char *s) {
  while (*s) tkws_uart_putc(*s++);
}

int tkws_uart_ready(void) { return (UART_STATE & STATE_RX_FULL) != 0u; }

char tkws_uart_getc(void) { return (char)(UART_DATA & 0xFFu); }
