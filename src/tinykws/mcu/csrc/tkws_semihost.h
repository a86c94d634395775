/* Host I/O through Arm semihosting (BKPT 0xAB): console text, files, exit with a status.
 *
 * tinykws' own calls instead of newlib's librdimon: the firmware then needs no syscall
 * layer, no heap and no stdio (printf alone costs tens of KB of flash that would blur the
 * model's size), nothing runs before main (rdimon opens the console handles at start-up),
 * and every host call is visible here. Semihosting works under qemu and on a board with a
 * debugger attached; a UART main replaces it on a board without one.
 */
#ifndef TKWS_SEMIHOST_H
#define TKWS_SEMIHOST_H

#include <stdint.h>

/* SYS_OPEN modes (ISO C fopen equivalents). */
#define TKWS_SH_MODE_RB 1
#define TKWS_SH_MODE_WB 5

/* Write a NUL-terminated string to the host console (SYS_WRITE0). */
void tkws_sh_puts(const char *s);
/* Write an unsigned number in decimal to the host console. */
void tkws_sh_put_u32(uint32_t value);
/* Open a host file (SYS_OPEN); returns a handle >= 0, or -1. */
int32_t tkws_sh_open(const char *path, int32_t mode);
/* Close a handle (SYS_CLOSE); 0 on success. */
int32_t tkws_sh_close(int32_t handle);
/* Length of an open file in bytes (SYS_FLEN), or -1. */
int32_t tkws_sh_flen(int32_t handle);
/* Read up to n bytes (SYS_READ); returns the number of bytes read. */
uint32_t tkws_sh_read(int32_t handle, void *buf, uint32_t n);
/* Write n bytes (SYS_WRITE); returns the number of bytes written. */
uint32_t tkws_sh_write(int32_t handle, const void *buf, uint32_t n);
/* End the program: qemu exits with `status` (SYS_EXIT_EXTENDED, application exit). */
void tkws_sh_exit(int32_t status) __attribute__((noreturn));

#endif
