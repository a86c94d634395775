/* Host harness for a generated front-end: features of many clips in one process.
 *
 *   frontend_harness MODE IN OUT CLIPS SAMPLES
 *
 * IN holds CLIPS x SAMPLES int16 samples (native byte order); OUT receives, per clip,
 * TKWS_FEATURES_COUNT int8 features (MODE int8) or tkws_feature_raw_t values (MODE raw).
 * Exit status 0 on success, 2 for bad arguments or I/O errors, 3 if the front-end fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "frontend_harness: %s%s\n", what, detail);
    return 2;
}

int main(int argc, char **argv)
{
    static int8_t features[TKWS_FEATURES_COUNT];
    static tkws_feature_raw_t raw[TKWS_FEATURES_COUNT];
    FILE *in, *out;
    long clips, samples, i;
    int16_t *pcm;
    int raw_mode, status = 0;
    if (argc != 6) return fail("usage: frontend_harness int8|raw IN OUT CLIPS SAMPLES", "");
    raw_mode = strcmp(argv[1], "raw") == 0;
    if (!raw_mode && strcmp(argv[1], "int8") != 0) return fail("unknown mode ", argv[1]);
    clips = strtol(argv[4], 0, 10);
    samples = strtol(argv[5], 0, 10);
    if (clips < 0 || samples < 0 || samples > 0x7FFFFFFFL) return fail("bad clip count or length", "");
    pcm = (int16_t *)malloc((size_t)(samples > 0 ? samples : 1) * sizeof *pcm);
    in = fopen(argv[2], "rb");
    out = fopen(argv[3], "wb");
    if (!pcm || !in || !out) return fail("cannot open input or output, or out of memory", "");
    for (i = 0; i < clips && status == 0; ++i) {
        if (fread(pcm, sizeof *pcm, (size_t)samples, in) != (size_t)samples) {
            status = fail("input file is shorter than CLIPS x SAMPLES", "");
        } else if (raw_mode) {
            if (tkws_features_raw(pcm, (int)samples, raw) != 0) status = 3;
            else if (fwrite(raw, sizeof raw[0], TKWS_FEATURES_COUNT, out) != TKWS_FEATURES_COUNT) status = 2;
        } else {
            if (tkws_features(pcm, (int)samples, features) != 0) status = 3;
            else if (fwrite(features, 1, TKWS_FEATURES_COUNT, out) != TKWS_FEATURES_COUNT) status = 2;
        }
    }
    free(pcm);
    fclose(in);
    if (fclose(out) != 0 && status == 0) status = 2;
    return status;
}
