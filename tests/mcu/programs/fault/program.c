/* Executes a permanently undefined instruction: a UsageFault, escalated to HardFault. */
int main(void) {
  __asm volatile("udf #0");
  return 0;
}
