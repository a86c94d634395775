/* The firmware's main for the MLPerf Tiny device protocol (EEMBC EnergyRunner's
 * performance-mode API) over the board's UART; the host side is tinykws.harness.device.
 *
 * Commands end with '%'; words are separated by spaces. Every command is answered with
 * lines ending in "\r\n" and then "m-ready":
 *   name             m-name-dut-[tinykws]
 *   profile          m-profile-[...] and m-model-[TKWS_EE_MODEL]
 *   timestamp        m-lap-us-T             (T: microseconds of the board's timer)
 *   db load N        m-[Expecting N bytes]  (N: the raw bytes of one sample)
 *   db HEX...        m-load-done once N bytes arrived
 *   db print         m-buffer-xx-xx-...     (8 bytes a line)
 *   infer N W        m-warmup-start-W, m-warmup-done, m-infer-start-N, m-lap-us-T1,
 *                    m-lap-us-T2, m-infer-done, then the results
 *   results          m-results-[v,...] (3 decimals) and m-raw-[hex of the int8 outputs]
 * Errors are lines "e-[...]". After reset the firmware prints m-init-done and m-ready.
 *
 * The sample in the buffer is in the benchmark's stored form and becomes the model's int8
 * input as the reference firmware's th_load_tensor does (TKWS_EE_INPUT): 0 int8 bytes as
 * they are; 1 uint8 pixels, input = pixel - 128; 2 float32 reals quantized with the
 * model's input scale and zero point (TFLite's QUANTIZE: divide in float32, round half
 * away from zero, add the zero point, saturate). The results are the dequantized outputs
 * (TKWS_EE_RESULT 0) or, for the anomaly-detection autoencoder (1), the mean squared error
 * between the float input and the dequantized output. m-raw is tinykws' addition: the
 * exact outputs, so the host can compare them bit for bit.
 *
 * Time: the CMSDK timer 1 counts down at TKWS_EE_TIMER_HZ; the firmware extends it to 64
 * bits by reading it after every inference and while it waits for input (each read must
 * come within 2^32 ticks of the last). The two timestamps of `infer` are taken around
 * the loop and printed after it, so printing does not fall inside the interval. On qemu
 * under -icount the timer counts executed instructions (tinykws.mcu.qemu).
 */
#include <stdint.h>

#ifndef TKWS_MODEL_HEADER
#define TKWS_MODEL_HEADER "model.h"
#endif
#include TKWS_MODEL_HEADER
#include "tkws_uart.h"

#ifndef TKWS_EE_MODEL
#define TKWS_EE_MODEL "unknown"
#endif
#ifndef TKWS_EE_INPUT
#define TKWS_EE_INPUT 0
#endif
#ifndef TKWS_EE_RESULT
#define TKWS_EE_RESULT 0
#endif
#ifndef TKWS_EE_CMD_SIZE
#define TKWS_EE_CMD_SIZE 80
#endif
#ifndef TKWS_EE_TIMER_HZ
#define TKWS_EE_TIMER_HZ 25000000u
#endif

#define FIRMWARE_VERSION "tinykws MLPerf Tiny device firmware 1"
#define MAX_WORDS 4

#if TKWS_EE_INPUT == 2
#define DB_BYTES (4u * (uint32_t)TKWS_INPUT_BYTES)
#else
#define DB_BYTES ((uint32_t)TKWS_INPUT_BYTES)
#endif

static char command[TKWS_EE_CMD_SIZE + 1];
static uint32_t command_length;
static int command_overflow;
static uint8_t db[DB_BYTES] __attribute__((aligned(8)));
static uint32_t db_size;
static uint32_t db_position;
static int8_t input[TKWS_INPUT_BYTES] __attribute__((aligned(8)));
static int8_t output[TKWS_OUTPUT_BYTES] __attribute__((aligned(8)));

/* ---- the 64-bit clock on CMSDK timer 1 ---------------------------------------------- */
#define TIMER1_CTRL (*(volatile uint32_t *)0x40001000u)
#define TIMER1_VALUE (*(volatile uint32_t *)0x40001004u)
#define TIMER1_RELOAD (*(volatile uint32_t *)0x40001008u)

static uint32_t clock_last;
static uint64_t clock_total;

static void clock_start(void) {
  TIMER1_CTRL = 0u;
  TIMER1_RELOAD = 0xFFFFFFFFu;
  TIMER1_VALUE = 0xFFFFFFFFu;
  TIMER1_CTRL = 1u;
  clock_last = 0xFFFFFFFFu;
  clock_total = 0u;
}

/* Ticks since start; the counter counts down, so elapsed = last - now (mod 2^32). */
static uint64_t clock_ticks(void) {
  uint32_t now = TIMER1_VALUE;
  clock_total += (uint32_t)(clock_last - now);
  clock_last = now;
  return clock_total;
}

/* ---- output ---------------------------------------------------------------------------- */
static void put_u64(uint64_t value) {
  char digits[21];
  int n = 0;
  do {
    digits[n++] = (char)('0' + (int)(value % 10u));
    value /= 10u;
  } while (value != 0u);
  while (n > 0) tkws_uart_putc(digits[--n]);
}

static void put_hex(uint8_t byte) {
  static const char hex[] = "0123456789abcdef";
  tkws_uart_putc(hex[byte >> 4]);
  tkws_uart_putc(hex[byte & 15u]);
}

/* A float with 3 decimals, rounded half away from zero (as printf's "%0.3f" for the
 * values results take). */
static void put_fixed3(float value) {
  double v = (double)value;
  if (v < 0.0) {
    tkws_uart_putc('-');
    v = -v;
  }
  uint64_t thousandths = (uint64_t)(v * 1000.0 + 0.5);
  put_u64(thousandths / 1000u);
  tkws_uart_putc('.');
  uint32_t frac = (uint32_t)(thousandths % 1000u);
  tkws_uart_putc((char)('0' + frac / 100u));
  tkws_uart_putc((char)('0' + frac / 10u % 10u));
  tkws_uart_putc((char)('0' + frac % 10u));
}

static void put_line(const char *text) {
  tkws_uart_puts(text);
  tkws_uart_puts("\r\n");
}

static void put_timestamp(uint64_t ticks) {
  tkws_uart_puts("m-lap-us-");
  put_u64(ticks / (TKWS_EE_TIMER_HZ / 1000000u));
  tkws_uart_puts("\r\n");
}

/* ---- parsing --------------------------------------------------------------------------- */
static int same(const char *a, const char *b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

/* Split `line` in place at spaces; returns the number of words (at most MAX_WORDS). */
static int split(char *line, char *words[MAX_WORDS]) {
  int count = 0;
  while (*line && count < MAX_WORDS) {
    while (*line == ' ') *line++ = '\0';
    if (!*line) break;
    words[count++] = line;
    while (*line && *line != ' ') line++;
  }
  return count;
}

/* A decimal number, or -1 when `text` is not one (or exceeds 10^9). */
static int32_t parse_count(const char *text) {
  int32_t value = 0;
  if (!*text) return -1;
  for (; *text; text++) {
    if (*text < '0' || *text > '9' || value > 100000000) return -1;
    value = value * 10 + (*text - '0');
  }
  return value;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* ---- commands -------------------------------------------------------------------------- */
static void db_command(int argc, char **argv) {
  if (argc < 2) {
    put_line("e-[Command 'db' requires a subcommand]");
  } else if (same(argv[1], "load")) {
    int32_t n = argc > 2 ? parse_count(argv[2]) : -1;
    if (n <= 0) {
      put_line("e-[Command 'db load' requires a number of bytes > 0]");
    } else if ((uint32_t)n > DB_BYTES) {
      tkws_uart_puts("e-[Supplied buffer size ");
      put_u64((uint32_t)n);
      tkws_uart_puts(" exceeds maximum of ");
      put_u64(DB_BYTES);
      put_line("]");
    } else {
      db_size = (uint32_t)n;
      db_position = 0u;
      tkws_uart_puts("m-[Expecting ");
      put_u64(db_size);
      put_line(" bytes]");
    }
  } else if (same(argv[1], "print")) {
    for (uint32_t i = 0; i < db_position; i++) {
      if (i % 8u == 0u) tkws_uart_puts("m-buffer-");
      put_hex(db[i]);
      tkws_uart_puts((i % 8u == 7u || i + 1u == db_position) ? "\r\n" : "-");
    }
  } else {
    const char *hex = argv[1];
    uint32_t digits = 0;
    while (hex[digits]) digits++;
    if (digits % 2u) {
      put_line("e-[Insufficent number of hex digits]");
      return;
    }
    for (uint32_t i = 0; i < digits; i += 2u) {
      int high = hex_digit(hex[i]), low = hex_digit(hex[i + 1u]);
      if (high < 0 || low < 0) {
        put_line("e-[Invalid hex digit]");
        return;
      }
      if (db_position >= db_size) {
        put_line("e-[More bytes than 'db load' announced]");
        return;
      }
      db[db_position++] = (uint8_t)(high << 4 | low);
      if (db_position == db_size) put_line("m-load-done");
    }
  }
}

/* The model input from the buffer, as the reference th_load_tensor; 0 when incomplete. */
static int load_tensor(void) {
  if (db_size != DB_BYTES || db_position != DB_BYTES) {
    tkws_uart_puts("e-[The buffer holds ");
    put_u64(db_position);
    tkws_uart_puts(" bytes; the model takes ");
    put_u64(DB_BYTES);
    put_line("]");
    return 0;
  }
  for (uint32_t i = 0; i < (uint32_t)TKWS_INPUT_BYTES; i++) {
#if TKWS_EE_INPUT == 0
    input[i] = (int8_t)db[i];
#elif TKWS_EE_INPUT == 1
    input[i] = (int8_t)((int32_t)db[i] - 128);
#else
    float x;
    __builtin_memcpy(&x, &db[4u * i], 4u);
    float scaled = x / TKWS_INPUT_SCALE;
    float magnitude = scaled < 0.0f ? -scaled : scaled;
    int32_t rounded = (int32_t)(magnitude + 0.5f); /* truncation is floor for non-negatives */
    int32_t q = (scaled < 0.0f ? -rounded : rounded) + TKWS_INPUT_ZERO_POINT;
    input[i] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
#endif
  }
  return 1;
}

static float dequantized_output(uint32_t i) {
  return (float)((int32_t)output[i] - TKWS_OUTPUT_ZERO_POINT) * TKWS_OUTPUT_SCALE;
}

static void results(void) {
  tkws_uart_puts("m-results-[");
#if TKWS_EE_RESULT == 1
  float sum = 0.0f;
  for (uint32_t i = 0; i < (uint32_t)TKWS_OUTPUT_BYTES; i++) {
    float x;
    __builtin_memcpy(&x, &db[4u * i], 4u);
    float d = x - dequantized_output(i);
    sum += d * d;
  }
  put_fixed3(sum / (float)TKWS_OUTPUT_BYTES);
#else
  for (uint32_t i = 0; i < (uint32_t)TKWS_OUTPUT_BYTES; i++) {
    if (i) tkws_uart_putc(',');
    put_fixed3(dequantized_output(i));
  }
#endif
  put_line("]");
  tkws_uart_puts("m-raw-[");
  for (uint32_t i = 0; i < (uint32_t)TKWS_OUTPUT_BYTES; i++) put_hex((uint8_t)output[i]);
  put_line("]");
}

static void infer(int argc, char **argv) {
  int32_t n = 1, warmup = 10;
  if (argc > 1) {
    n = parse_count(argv[1]);
    if (n <= 0) {
      put_line("e-[Inference iterations must be >0]");
      return;
    }
  }
  if (argc > 2) {
    warmup = parse_count(argv[2]);
    if (warmup < 0) {
      put_line("e-[Inference warmup must be >=0]");
      return;
    }
  }
  if (!load_tensor()) return;
  tkws_uart_puts("m-warmup-start-");
  put_u64((uint32_t)warmup);
  tkws_uart_puts("\r\n");
  for (int32_t i = 0; i < warmup; i++) {
    (void)tkws_invoke(input, output);
    (void)clock_ticks();
  }
  put_line("m-warmup-done");
  tkws_uart_puts("m-infer-start-");
  put_u64((uint32_t)n);
  tkws_uart_puts("\r\n");
  int status = 0;
  uint64_t first = clock_ticks();
  for (int32_t i = 0; i < n; i++) {
    status |= tkws_invoke(input, output);
    (void)clock_ticks();
  }
  uint64_t second = clock_ticks();
  put_timestamp(first);
  put_timestamp(second);
  if (status != 0) put_line("e-[tkws_invoke returned an error]");
  put_line("m-infer-done");
  results();
}

static void help(void) {
  put_line(FIRMWARE_VERSION);
  put_line("name: the device name; profile: firmware and model; timestamp: the timer in us");
  put_line("db load N: expect N bytes; db HEX..: load bytes; db print: show them");
  put_line("infer N [W=10]: N timed inferences after W warm-up ones; results: the last outputs");
}

static void handle(char *line) {
  char *words[MAX_WORDS];
  int argc = split(line, words);
  if (command_overflow) {
    tkws_uart_puts("e-[Command longer than ");
    put_u64(TKWS_EE_CMD_SIZE);
    put_line(" characters]");
  } else if (argc == 0) {
    /* an empty command only asks for m-ready */
  } else if (same(words[0], "name")) {
    put_line("m-name-dut-[tinykws]");
  } else if (same(words[0], "profile")) {
    put_line("m-profile-[" FIRMWARE_VERSION "]");
    put_line("m-model-[" TKWS_EE_MODEL "]");
  } else if (same(words[0], "timestamp")) {
    put_timestamp(clock_ticks());
  } else if (same(words[0], "help")) {
    help();
  } else if (same(words[0], "db")) {
    db_command(argc, words);
  } else if (same(words[0], "infer")) {
    infer(argc, words);
  } else if (same(words[0], "results")) {
    results();
  } else {
    tkws_uart_puts("e-[Unknown command: ");
    tkws_uart_puts(words[0]);
    put_line("]");
  }
  put_line("m-ready");
}

int main(void) {
  tkws_uart_init();
  clock_start();
  put_line("m-init-done");
  put_line("m-ready");
  for (;;) {
    (void)clock_ticks(); /* keeps the 64-bit clock across counter wraps while idle */
    if (!tkws_uart_ready()) continue;
    char c = tkws_uart_getc();
    if (c == '%') {
      command[command_length] = '\0';
      handle(command);
      command_length = 0u;
      command_overflow = 0;
    } else if (c == '\r' || c == '\n') {
      /* line ends from a terminal are not part of a command */
    } else if (command_length < (uint32_t)TKWS_EE_CMD_SIZE) {
      command[command_length++] = c;
    } else {
      command_overflow = 1;
    }
  }
}
