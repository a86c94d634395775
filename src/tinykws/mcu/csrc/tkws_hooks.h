/* Per-layer hooks of generated models, force-included (-include tkws_hooks.h) into every
 * file of a profiling build. TKWS_LAYER_BEGIN(i)/TKWS_LAYER_END(i) store one counter read
 * each; the harness turns end - begin into instructions and subtracts the calibrated cost
 * of an empty BEGIN/END pair. Without this file the generated code defines both as no-ops. */
#ifndef TKWS_HOOKS_H
#define TKWS_HOOKS_H

#include <stdint.h>

#include "tkws_counter.h"

extern uint32_t tkws_layer_begin_ticks[];
extern uint32_t tkws_layer_end_ticks[];

#define TKWS_LAYER_BEGIN(i) (tkws_layer_begin_ticks[(i)] = tkws_counter_now())
#define TKWS_LAYER_END(i) (tkws_layer_end_ticks[(i)] = tkws_counter_now())

#endif
