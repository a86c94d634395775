/* Prints through semihosting and exits with status 42. */
#include "tkws_semihost.h"

int main(void) {
  tkws_sh_puts("hello from the board\n");
  tkws_sh_put_u32(4294967295u);
  tkws_sh_puts("\n");
  return 42;
}
