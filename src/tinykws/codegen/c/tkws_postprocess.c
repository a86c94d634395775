/*
 * tinykws post-processing (see tkws_postprocess.h): argmax, and the argmax of the mean
 * over a window of outputs kept as running sums.
 */
#include <string.h>

#include "tkws_postprocess.h"

int tkws_smoother_init(tkws_smoother *s, int8_t *history, int32_t *sums, int32_t classes, int32_t window)
{
    if (s == 0 || history == 0 || sums == 0 || classes < 1 || window < 1) {
        return -1;
    }
    s->history = history;
    s->sums = sums;
    s->classes = classes;
    s->window = window;
    tkws_smoother_reset(s);
    return 0;
}

void tkws_smoother_reset(tkws_smoother *s)
{
    memset(s->sums, 0, (size_t)s->classes * sizeof s->sums[0]);
    s->held = 0;
    s->next = 0;
}

int tkws_postprocess(tkws_smoother *s, const int8_t *scores, tkws_decision *decision)
{
    int8_t *row;
    int32_t c, classes, top = 0, best = 0, mean;

    if (s == 0 || scores == 0 || decision == 0) {
        return -1;
    }
    classes = s->classes;
    row = s->history + s->next * classes;
    if (s->held == s->window) {
        /* the oldest output, in the row about to be overwritten, leaves the window */
        for (c = 0; c < classes; ++c) {
            s->sums[c] -= row[c];
        }
    } else {
        s->held += 1;
    }
    for (c = 0; c < classes; ++c) {
        row[c] = scores[c];
        s->sums[c] += scores[c];
        if (scores[c] > scores[top]) {
            top = c;
        }
        if (s->sums[c] > s->sums[best]) {
            best = c;
        }
    }
    s->next = s->next + 1 == s->window ? 0 : s->next + 1;
    /* floor(sum / held): C division truncates toward zero */
    mean = s->sums[best] / s->held;
    if (s->sums[best] % s->held != 0 && s->sums[best] < 0) {
        mean -= 1;
    }
    decision->top = top;
    decision->top_score = scores[top];
    decision->smoothed_top = best;
    decision->smoothed_score = mean;
    decision->held = s->held;
    return 0;
}
