"""The host side of the MLPerf Tiny device protocol: the reply parser (`protocol`), byte
pipes (`transport`), a command-by-command session (`session`), qemu running the firmware's
device main (`qemu`), and the device systems under test "c-qemu-serial" and "serial"
(`runner`). The firmware side is tinykws/mcu/csrc/tkws_main_eembc.c."""
