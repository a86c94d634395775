/*
 * tinykws post-processing: what a device does with the network's int8 output for each
 * keyword decision. The top class of this output (argmax), and the top class of the
 * scores averaged over the last `window` outputs (posterior smoothing: a word heard over
 * several overlapping clips outweighs one noisy clip).
 *
 * The caller owns all memory (no heap, no statics), so several smoothers may run side by
 * side:
 *
 *     static int8_t history[4 * TKWS_OUTPUT_BYTES];   window x classes
 *     static int32_t sums[TKWS_OUTPUT_BYTES];
 *     static tkws_smoother smoother;
 *     tkws_smoother_init(&smoother, history, sums, TKWS_OUTPUT_BYTES, 4);
 *     ...for every network output:
 *     tkws_decision d;
 *     tkws_postprocess(&smoother, output, &d);   then e.g. d.smoothed_top, d.smoothed_score
 *
 * Cost per decision: O(classes), whatever the window (a running sum per class; the oldest
 * output leaves it as the new one enters). The same arithmetic in numpy:
 * tinykws.codegen.postprocess.smooth_decisions.
 */
#ifndef TKWS_POSTPROCESS_H
#define TKWS_POSTPROCESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int8_t *history;     /* window x classes: the last `window` outputs, oldest overwritten first */
    int32_t *sums;       /* classes: sum of each class's int8 score over the outputs held */
    int32_t classes;
    int32_t window;
    int32_t held;        /* outputs held so far, at most window */
    int32_t next;        /* row of history the next output goes to */
} tkws_smoother;

typedef struct {
    int32_t top;             /* argmax of this output (the first class on ties) */
    int32_t top_score;       /* its int8 score */
    int32_t smoothed_top;    /* argmax of the mean score over the outputs held (first on ties) */
    int32_t smoothed_score;  /* that mean, rounded down: an int8 score in the output's quantization */
    int32_t held;            /* outputs averaged: min(window, outputs seen) */
} tkws_decision;

/* Set up `s` over the caller's `history` (window x classes int8) and `sums` (classes
 * int32). Returns 0, or -1 for a NULL pointer or classes or window < 1. */
int tkws_smoother_init(tkws_smoother *s, int8_t *history, int32_t *sums, int32_t classes, int32_t window);

/* Forget every output held (e.g. after a detection). */
void tkws_smoother_reset(tkws_smoother *s);

/* Take one network output (`classes` int8 scores) and write the decision. Returns 0, or
 * -1 for a NULL pointer. */
int tkws_postprocess(tkws_smoother *s, const int8_t *scores, tkws_decision *decision);

#ifdef __cplusplus
}
#endif

#endif /* TKWS_POSTPROCESS_H */
