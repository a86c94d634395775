/* Arm semihosting calls (see tkws_semihost.h). Operation numbers and parameter blocks
 * follow the Arm "Semihosting for AArch32 and AArch64" specification: r0 holds the
 * operation, r1 a pointer to its parameter block, the result comes back in r0. */
#include "tkws_semihost.h"

enum {
  SYS_OPEN = 0x01,
  SYS_CLOSE = 0x02,
  SYS_WRITE0 = 0x04,
  SYS_WRITE = 0x05,
  SYS_READ = 0x06,
  SYS_FLEN = 0x0C,
  SYS_EXIT_EXTENDED = 0x20,
};

/* The reason code of a normal application exit; with SYS_EXIT_EXTENDED the second word
 * becomes the host exit status (plain SYS_EXIT on AArch32 can only say 0 or 1). */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int32_t semihost_call(int32_t op, const void *block) {
  register int32_t r0 __asm("r0") = op;
  register const void *r1 __asm("r1") = block;
  /* "memory": the host reads and writes the blocks and buffers behind r1. */
  __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static uint32_t string_length(const char *s) {
  uint32_t n = 0;
  while (s[n] != '\0') n++;
  return n;
}

void tkws_sh_puts(const char *s) { semihost_call(SYS_WRITE0, s); }

void tkws_sh_put_u32(uint32_t value) {
  char digits[11];
  int i = 10;
  digits[i] = '\0';
  do {
    digits[--i] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0u);
  tkws_sh_puts(&digits[i]);
}

int32_t tkws_sh_open(const char *path, int32_t mode) {
  const uint32_t block[3] = {(uint32_t)path, (uint32_t)mode, string_length(path)};
  return semihost_call(SYS_OPEN, block);
}

int32_t tkws_sh_close(int32_t handle) {
  const uint32_t block[1] = {(uint32_t)handle};
  return semihost_call(SYS_CLOSE, block);
}

int32_t tkws_sh_flen(int32_t handle) {
  const uint32_t block[1] = {(uint32_t)handle};
  return semihost_call(SYS_FLEN, block);
}

/* SYS_READ and SYS_WRITE return the number of bytes NOT transferred. */
uint32_t tkws_sh_read(int32_t handle, void *buf, uint32_t n) {
  const uint32_t block[3] = {(uint32_t)handle, (uint32_t)buf, n};
  uint32_t left = (uint32_t)semihost_call(SYS_READ, block);
  return left > n ? 0u : n - left;
}

uint32_t tkws_sh_write(int32_t handle, const void *buf, uint32_t n) {
  const uint32_t block[3] = {(uint32_t)handle, (uint32_t)buf, n};
  uint32_t left = (uint32_t)semihost_call(SYS_WRITE, block);
  return left > n ? 0u : n - left;
}

void tkws_sh_exit(int32_t status) {
  const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  semihost_call(SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}
