"""Layer 9: the microcontroller: the Arm toolchain, firmware for emulated Cortex-M boards
(startup code and linker scripts of tinykws' own), qemu runs with exact instruction counts,
and the table of real boards."""
