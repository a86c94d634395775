/* The measuring firmware's main for hosts reached through semihosting.
 *
 * Reads the inputs from the host file tkws_in.bin (N x TKWS_INPUT_BYTES, relative to the
 * emulator's working folder), or from tkws_embedded_inputs when built with
 * TKWS_EMBEDDED_INPUTS; runs tkws_invoke on each, measured by tkws_harness; writes
 * tkws_out.bin. Layout of tkws_out.bin, little-endian 32-bit words
 * (parsed by tinykws.mcu.harness):
 *   header  "TKWR", version 1, input bytes, output bytes, layers recorded,
 *           null-call ticks, null-call stack bytes, empty hook-pair ticks
 *   record  status, ticks, stack bytes, wrapped, layer ticks x layers recorded,
 *           then the output bytes, padded with zeros to a multiple of 4   (one per input)
 *   trailer "TKWE", records, stack peak since reset (bytes), stack reserved (bytes)
 * The exit status is 0 when every input ran, whatever tkws_invoke returned (each record
 * carries that); otherwise one of the statuses below.
 */
#include <stdint.h>

#ifndef TKWS_MODEL_HEADER
#define TKWS_MODEL_HEADER "model.h"
#endif
#include TKWS_MODEL_HEADER
#include "tkws_harness.h"
#include "tkws_runtime.h"
#include "tkws_semihost.h"

enum {
  EXIT_NO_INPUT = 3,
  EXIT_BAD_INPUT_SIZE = 4,
  EXIT_NO_OUTPUT = 5,
  EXIT_SHORT_READ = 6,
  EXIT_SHORT_WRITE = 7,
};

#if defined(TKWS_PROFILE_LAYERS)
#define LAYERS_RECORDED TKWS_NUM_LAYERS
#else
#define LAYERS_RECORDED 0
#endif

#define WORDS(bytes) (((bytes) + 3u) / 4u)
#define RECORD_WORDS (4u + LAYERS_RECORDED + WORDS(TKWS_OUTPUT_BYTES))

#if defined(TKWS_EMBEDDED_INPUTS)
extern const int8_t tkws_embedded_inputs[];
extern const uint32_t tkws_embedded_input_count;
#endif

static int8_t input[TKWS_INPUT_BYTES] __attribute__((aligned(8)));
static uint32_t record[RECORD_WORDS];

static const char MAGIC_HEADER[4] = {'T', 'K', 'W', 'R'};
static const char MAGIC_TRAILER[4] = {'T', 'K', 'W', 'E'};

static uint32_t magic_word(const char m[4]) {
  return (uint32_t)(uint8_t)m[0] | (uint32_t)(uint8_t)m[1] << 8 | (uint32_t)(uint8_t)m[2] << 16 |
         (uint32_t)(uint8_t)m[3] << 24;
}

static int fail(const char *what, int status) {
  tkws_sh_puts("tkws: ");
  tkws_sh_puts(what);
  tkws_sh_puts("\n");
  return status;
}

/* The number of inputs, or -1 (and the exit status in *status). */
static int32_t open_inputs(int32_t *handle, int *status) {
#if defined(TKWS_EMBEDDED_INPUTS)
  *handle = -1;
  (void)status;
  return (int32_t)tkws_embedded_input_count;
#else
  *handle = tkws_sh_open("tkws_in.bin", TKWS_SH_MODE_RB);
  if (*handle < 0) {
    *status = fail("cannot open tkws_in.bin", EXIT_NO_INPUT);
    return -1;
  }
  int32_t length = tkws_sh_flen(*handle);
  if (length < 0 || (uint32_t)length % (uint32_t)TKWS_INPUT_BYTES != 0u) {
    *status = fail("tkws_in.bin is not a whole number of inputs", EXIT_BAD_INPUT_SIZE);
    return -1;
  }
  return (int32_t)((uint32_t)length / (uint32_t)TKWS_INPUT_BYTES);
#endif
}

static int next_input(int32_t handle, uint32_t index) {
#if defined(TKWS_EMBEDDED_INPUTS)
  (void)handle;
  const int8_t *src = tkws_embedded_inputs + index * (uint32_t)TKWS_INPUT_BYTES;
  for (uint32_t i = 0; i < (uint32_t)TKWS_INPUT_BYTES; i++) input[i] = src[i];
  return 1;
#else
  (void)index;
  return tkws_sh_read(handle, input, TKWS_INPUT_BYTES) == (uint32_t)TKWS_INPUT_BYTES;
#endif
}

static int write_words(int32_t handle, const uint32_t *words, uint32_t count) {
  return tkws_sh_write(handle, words, count * 4u) == count * 4u;
}

int main(void) {
  tkws_calibration calibration;
  tkws_harness_init(&calibration);

  int status = 0;
  int32_t in_handle;
  int32_t count = open_inputs(&in_handle, &status);
  if (count < 0) return status;
  int32_t out_handle = tkws_sh_open("tkws_out.bin", TKWS_SH_MODE_WB);
  if (out_handle < 0) return fail("cannot create tkws_out.bin", EXIT_NO_OUTPUT);

  const uint32_t header[8] = {
      magic_word(MAGIC_HEADER), 1u, TKWS_INPUT_BYTES, TKWS_OUTPUT_BYTES, LAYERS_RECORDED,
      calibration.null_call_ticks, calibration.null_call_stack, calibration.hook_pair_ticks,
  };
  if (!write_words(out_handle, header, 8u)) return fail("short write to tkws_out.bin", EXIT_SHORT_WRITE);

  for (uint32_t n = 0; n < (uint32_t)count; n++) {
    if (!next_input(in_handle, n)) return fail("short read from tkws_in.bin", EXIT_SHORT_READ);
    record[RECORD_WORDS - 1u] = 0u; /* zero the padding of the output bytes */
    int8_t *output = (int8_t *)&record[4u + LAYERS_RECORDED];
    tkws_measurement m;
    tkws_harness_measure(tkws_invoke, input, output, &m);
    record[0] = (uint32_t)m.status;
    record[1] = m.ticks;
    record[2] = m.stack_bytes;
    record[3] = m.wrapped;
    for (uint32_t i = 0; i < (uint32_t)LAYERS_RECORDED; i++) record[4u + i] = tkws_harness_layer_ticks(i);
    if (!write_words(out_handle, record, RECORD_WORDS)) return fail("short write to tkws_out.bin", EXIT_SHORT_WRITE);
  }

  const uint32_t trailer[4] = {magic_word(MAGIC_TRAILER), (uint32_t)count, tkws_harness_stack_peak(),
                               tkws_stack_size()};
  if (!write_words(out_handle, trailer, 4u)) return fail("short write to tkws_out.bin", EXIT_SHORT_WRITE);
  tkws_sh_close(out_handle);
  if (in_handle >= 0) tkws_sh_close(in_handle);
  tkws_sh_puts("tkws: ");
  tkws_sh_put_u32((uint32_t)count);
  tkws_sh_puts(" inferences\n");
  return 0;
}
