/* Never returns. */
int main(void) {
  for (;;) {
    __asm volatile("nop");
  }
}
