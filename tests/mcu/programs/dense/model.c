#include "model.h"

#ifndef TKWS_LAYER_BEGIN
#define TKWS_LAYER_BEGIN(i) ((void)0)
#endif
#ifndef TKWS_LAYER_END
#define TKWS_LAYER_END(i) ((void)0)
#endif

static int8_t arena[TKWS_ARENA_BYTES];

static int8_t saturate(int32_t v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }

/* w[o][i] = ((o * a + i * b) % 17) - 8; y = clamp((sum + bias) >> 6, lo, 127). */
static void dense(const int8_t *x, int n_in, int8_t *y, int n_out, int a, int b, int32_t lo) {
  for (int o = 0; o < n_out; o++) {
    int32_t acc = o * 3 - 40;
    for (int i = 0; i < n_in; i++) acc += (int32_t)x[i] * (((o * a + i * b) % 17) - 8);
    int32_t v = acc >> 6;
    y[o] = saturate(v < lo ? lo : v);
  }
}

int tkws_invoke(const int8_t *input, int8_t *output) {
  TKWS_LAYER_BEGIN(0);
  dense(input, 64, arena, 32, 7, 13, 0);
  TKWS_LAYER_END(0);
  TKWS_LAYER_BEGIN(1);
  dense(arena, 32, output, 8, 5, 11, -128);
  TKWS_LAYER_END(1);
  return 0;
}
