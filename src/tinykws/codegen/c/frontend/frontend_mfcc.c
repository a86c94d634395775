/* MFCC front-end (tinykws kind "mfcc", e.g. preset mlperf_mfcc), single-precision float.
 *
 * tinykws appends this file to a generated frontend.c, after the TKWS_FE_* constants and the
 * fe_* tables it computed offline (window, bit reversal, FFT twiddles, sparse mel filterbank,
 * DCT); it does not compile on its own. The steps follow tinykws' numpy definition
 * (tinykws.audio.frontends.spectral.SpectralPipeline):
 *
 *   int16 clip (zero-padded / cut to TKWS_FE_CLIP_SAMPLES) -> frames -> periodic Hann window
 *   -> real FFT (zero-padded frame) -> |X| -> mel -> / peak -> log(. + offset) -> DCT-II
 *
 * Dividing the clip by its peak is done on the mel energies instead of the samples: with a
 * magnitude spectrum every step before the log is linear, so mel(x / p) = mel(x) / p and one
 * multiply per band replaces one per sample.
 *
 * The real FFT of N samples is a complex FFT of N/2 points over (even, odd) sample pairs
 * (iterative radix-4 decimation in time on bit-reversed input, one radix-2 stage first when
 * log2(N/2) is odd) followed by the usual split step, evaluated only for the FFT bins the
 * mel filterbank uses. The split step computes 2 X[k]; the mel weights carry the 1/2.
 *
 * Floats: only +, -, *, / and square root, all correctly rounded in IEEE single precision,
 * so a build without contraction of a*b+c into fused multiply-adds (-std=c99, or
 * -ffp-contract=off) gives the same bits on the host and on a Cortex-M4F.
 */

#if defined(__ARM_FEATURE_SIMD32) && defined(__GNUC__)
#include <arm_acle.h>
#endif

/* Square root, correctly rounded as IEEE requires, without libm: the FPU instruction where
 * there is one (Cortex-M4F/M7, x86-64, AArch64), else an exact integer method; all give the
 * same bits. Defining TKWS_FE_PORTABLE_SQRT forces the integer method (for tests). */
#if defined(__GNUC__) && defined(__ARM_FP) && (__ARM_FP & 4) && !defined(TKWS_FE_PORTABLE_SQRT)
static float fe_sqrtf(float x)
{
    float root;
    __asm__("vsqrt.f32 %0, %1" : "=t"(root) : "t"(x));
    return root;
}
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__SSE__)) && !defined(TKWS_FE_PORTABLE_SQRT)
static float fe_sqrtf(float x)
{
    float root;
    __asm__("sqrtss %1, %0" : "=x"(root) : "x"(x));
    return root;
}
#elif defined(__GNUC__) && defined(__aarch64__) && !defined(TKWS_FE_PORTABLE_SQRT)
static float fe_sqrtf(float x)
{
    float root;
    __asm__("fsqrt %s0, %s1" : "=w"(root) : "w"(x));
    return root;
}
#else
/* x >= 0. x = m 2^e (m an integer of 24 bits); M = m 2^k with e - k even and M of 49 or 50
 * bits, so r = floor(sqrt(M)) has 25 bits and sqrt(x) = sqrt(M) 2^((e - k) / 2). Rounding r
 * to 24 bits is (r + 1) >> 1: M is even, so sqrt(M) is never exactly halfway. */
static float fe_sqrtf(float x)
{
    uint32_t bits, mantissa;
    int32_t biased, e, k;
    uint64_t root, rest;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7FFFFFFFu) == 0 || bits >= 0x7F800000u) return x; /* zero, infinity, NaN */
    biased = (int32_t)(bits >> 23);
    mantissa = bits & 0x007FFFFFu;
    if (biased == 0) { /* subnormal: normalise */
        biased = 1;
        while (!(mantissa & 0x00800000u)) {
            mantissa <<= 1;
            --biased;
        }
    } else {
        mantissa |= 0x00800000u;
    }
    e = biased - 150;
    k = (e & 1) ? 25 : 26;
    root = (fe_isqrt64((uint64_t)mantissa << k, &rest) + 1) >> 1;
    biased = (e - k) / 2 + 151;
    if (root >> 24) { /* rounded up to 2^24 */
        root >>= 1;
        ++biased;
    }
    bits = ((uint32_t)biased << 23) | ((uint32_t)root & 0x007FFFFFu);
    memcpy(&x, &bits, sizeof x);
    return x;
}
#endif

/* Work buffers (static: no heap, nothing on the stack worth mentioning). */
static float fe_z[2 * TKWS_FE_HALF];             /* complex FFT, interleaved re, im */
static float fe_mag[TKWS_FE_BIN_HI - TKWS_FE_BIN_LO]; /* 2 |X[k]| of the bins the mel bands use */
static float fe_logmel[TKWS_FE_MELS];

/* Natural log of a positive, normal float: log(m) + e ln 2 with m in [sqrt(1/2), sqrt(2)),
 * log(m) = 2 atanh(s), s = (m - 1) / (m + 1), by its odd series to s^9 (|s| < 0.1716, the
 * next term is below 1e-9). Accurate to a few units in the last place; the features' int8
 * step is about 1e5 times coarser. */
static float fe_logf(float x)
{
    uint32_t bits;
    int32_t exponent;
    float m, s, z, series;
    memcpy(&bits, &x, sizeof bits);
    exponent = (int32_t)((bits >> 23) & 0xFFu) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u; /* m in [1, 2) */
    if (bits > 0x3FB504F3u) {                  /* m > sqrt(2): use m / 2 */
        bits -= 0x00800000u;
        exponent += 1;
    }
    memcpy(&m, &bits, sizeof m);
    s = (m - 1.0f) / (m + 1.0f);
    z = s * s;
    series = z * (0.33333333f + z * (0.2f + z * (0.14285714f + z * 0.11111111f)));
    /* ln 2 in two parts: the exponent term stays exact for |exponent| < 2^8 */
    return (float)exponent * 0.693145752f + (2.0f * s + 2.0f * s * series + (float)exponent * 1.42860677e-06f);
}

/* The FFT's first stage, which has no twiddles, on one group of points x (re, im
 * interleaved) in bit-reversed order: radix 2 on a pair, or radix 4 on a quadruple, whose
 * elements are, by bit reversal, the residues 0, 2, 1, 3 mod 4 of its sub-transform.
 * Reads all of x before writing out, so out may be x. */
static void fe_first_butterfly(float *out, const float *x)
{
#if TKWS_FE_RADIX2_FIRST
    const float ar = x[0], ai = x[1], br = x[2], bi = x[3];
    out[0] = ar + br; out[1] = ai + bi;
    out[2] = ar - br; out[3] = ai - bi;
#else
    const float t0r = x[0] + x[2], t0i = x[1] + x[3], t1r = x[0] - x[2], t1i = x[1] - x[3];
    const float t2r = x[4] + x[6], t2i = x[5] + x[7], t3r = x[4] - x[6], t3i = x[5] - x[7];
    out[0] = t0r + t2r; out[1] = t0i + t2i;  /* t0 + t2   */
    out[2] = t1r + t3i; out[3] = t1i - t3r;  /* t1 - i t3 */
    out[4] = t0r - t2r; out[5] = t0i - t2i;  /* t0 - t2   */
    out[6] = t1r - t3i; out[7] = t1i + t3r;  /* t1 + i t3 */
#endif
}

#define FE_GROUP (TKWS_FE_RADIX2_FIRST ? 2 : 4) /* complex points per first-stage butterfly */

/* Complex point m = (frame[2m], frame[2m + 1]) of the windowed frame at src (fe_window is
 * zero past the frame length, so the FFT-length read needs no test). */
#define FE_LOAD_POINT(x, q, src)                                       \
    do {                                                               \
        const int32_t i_ = 2 * (int32_t)fe_bitrev[p + (q)];            \
        (x)[2 * (q)] = (float)(src)[i_] * fe_window[i_];               \
        (x)[2 * (q) + 1] = (float)(src)[i_ + 1] * fe_window[i_ + 1];   \
    } while (0)

/* Window the frame at pcm + start, which lies wholly inside the clip, into fe_z in
 * bit-reversed order, running the first FFT stage on the way. */
static void fe_load_frame_fast(const int16_t *src)
{
    int32_t p;
    float x[8];
    for (p = 0; p < TKWS_FE_HALF; p += FE_GROUP) {
        FE_LOAD_POINT(x, 0, src);
        FE_LOAD_POINT(x, 1, src);
#if !TKWS_FE_RADIX2_FIRST
        FE_LOAD_POINT(x, 2, src);
        FE_LOAD_POINT(x, 3, src);
#endif
        fe_first_butterfly(fe_z + 2 * p, x);
    }
}

/* The same for a frame that runs past the clip's end (zeros there): window in order,
 * permute in place (bit reversal is its own inverse), then the first stage in place. */
static void fe_load_frame_edge(const int16_t *pcm, int32_t available, int32_t start)
{
    int32_t i, p;
    for (i = 0; i < 2 * TKWS_FE_HALF; ++i) {
        fe_z[i] = start + i < available ? (float)pcm[start + i] * fe_window[i] : 0.0f;
    }
    for (p = 0; p < TKWS_FE_HALF; ++p) {
        const int32_t m = fe_bitrev[p];
        if (m > p) {
            const float re = fe_z[2 * p], im = fe_z[2 * p + 1];
            fe_z[2 * p] = fe_z[2 * m];
            fe_z[2 * p + 1] = fe_z[2 * m + 1];
            fe_z[2 * m] = re;
            fe_z[2 * m + 1] = im;
        }
    }
    for (p = 0; p < TKWS_FE_HALF; p += FE_GROUP) {
        fe_first_butterfly(fe_z + 2 * p, fe_z + 2 * p);
    }
}

/* The remaining stages of the in-place forward complex FFT of TKWS_FE_HALF points: radix 4,
 * four transforms of `span` points (in the order of residues 0, 2, 1, 3 mod 4, as bit
 * reversal leaves them) becoming one of 4 span points. */
static void fe_fft_stages(float *z)
{
    const float *tw = fe_twiddle;
    int32_t span, k, base;
    for (span = TKWS_FE_RADIX2_FIRST ? 2 : 4; span < TKWS_FE_HALF; span *= 4) {
        const int32_t step = 2 * span; /* floats between the four quarters */
        for (k = 0; k < span; ++k, tw += 6) {
            const float w1r = tw[0], w1i = tw[1], w2r = tw[2], w2i = tw[3], w3r = tw[4], w3i = tw[5];
            for (base = 2 * k; base < 2 * TKWS_FE_HALF; base += 4 * step) {
                float *p0 = z + base, *p2 = p0 + step, *p1 = p2 + step, *p3 = p1 + step;
                const float a0r = p0[0], a0i = p0[1];
                const float a2r = p2[0] * w2r - p2[1] * w2i, a2i = p2[0] * w2i + p2[1] * w2r;
                const float a1r = p1[0] * w1r - p1[1] * w1i, a1i = p1[0] * w1i + p1[1] * w1r;
                const float a3r = p3[0] * w3r - p3[1] * w3i, a3i = p3[0] * w3i + p3[1] * w3r;
                const float t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i;
                const float t2r = a1r + a3r, t2i = a1i + a3i, t3r = a1r - a3r, t3i = a1i - a3i;
                p0[0] = t0r + t2r; p0[1] = t0i + t2i;  /* X[k]          */
                p2[0] = t1r + t3i; p2[1] = t1i - t3r;  /* X[k + span]   = t1 - i t3 */
                p1[0] = t0r - t2r; p1[1] = t0i - t2i;  /* X[k + 2 span] */
                p3[0] = t1r - t3i; p3[1] = t1i + t3r;  /* X[k + 3 span] = t1 + i t3 */
            }
        }
    }
}

/* 2 |X[k]| for the used bins, from the complex FFT Z of the (even, odd) pairs:
 * 2 X[k] = (Z[k] + conj Z[H-k]) - i W^k (Z[k] - conj Z[H-k]),  W = exp(-2 pi i / N). */
static void fe_magnitudes(const float *z)
{
    int32_t k;
    const float *w = fe_split;
    for (k = TKWS_FE_BIN_LO; k < TKWS_FE_BIN_HI; ++k, w += 2) {
        const int32_t a = 2 * (k & (TKWS_FE_HALF - 1)), b = 2 * ((TKWS_FE_HALF - k) & (TKWS_FE_HALF - 1));
        const float sr = z[a] + z[b], si = z[a + 1] - z[b + 1];
        const float dr = z[a] - z[b], di = z[a + 1] + z[b + 1];
        const float xr = sr + w[0] * di + w[1] * dr;
        const float xi = si + w[1] * di - w[0] * dr;
        fe_mag[k - TKWS_FE_BIN_LO] = fe_sqrtf(xr * xr + xi * xi);
    }
}

/* Coefficients of the frame starting at sample `start`; `gain` is 1 / peak. */
static void fe_frame(const int16_t *pcm, int32_t available, int32_t start, float gain, float *coeffs)
{
    int32_t band, c, i;
    const float *weight = fe_mel_weight;
    if (start + 2 * TKWS_FE_HALF <= available) {
        fe_load_frame_fast(pcm + start);
    } else {
        fe_load_frame_edge(pcm, available, start);
    }
    fe_fft_stages(fe_z);
    fe_magnitudes(fe_z);
    for (band = 0; band < TKWS_FE_MELS; ++band) {
        const float *mag = fe_mag + fe_mel_start[band];
        float sum = 0.0f;
        for (i = 0; i < fe_mel_count[band]; ++i) {
            sum += mag[i] * weight[i];
        }
        weight += fe_mel_count[band];
        fe_logmel[band] = fe_logf(sum * gain + TKWS_FE_LOG_OFFSET);
    }
    for (c = 0; c < TKWS_FE_COEFFS; ++c) {
        const float *basis = fe_dct[c];
        float sum = 0.0f;
        /* unrolled by 4 with one accumulator: the same sum, in the same order */
        for (band = 0; band + 4 <= TKWS_FE_MELS; band += 4) {
            sum += fe_logmel[band] * basis[band];
            sum += fe_logmel[band + 1] * basis[band + 1];
            sum += fe_logmel[band + 2] * basis[band + 2];
            sum += fe_logmel[band + 3] * basis[band + 3];
        }
        for (; band < TKWS_FE_MELS; ++band) {
            sum += fe_logmel[band] * basis[band];
        }
        coeffs[c] = sum;
    }
}

/* 1 / the clip's scale: its largest sample value (numpy: max(x), falling back to max|x|
 * when no sample is positive) with peak normalisation, else 32768 (x = pcm / 32768). */
static float fe_gain(const int16_t *pcm, int32_t available)
{
#if TKWS_FE_PEAK_NORMALIZE
    int32_t i = 0, peak = 0, trough = 0;
#if defined(__ARM_FEATURE_SIMD32) && defined(__GNUC__)
    /* Two samples per step: SSUB16 sets the per-lane flags that SEL picks by. */
    if (((uintptr_t)pcm & 3u) == 0) {
        int16x2_t high = 0, low = 0;
        const uint32_t *pairs = (const uint32_t *)(const void *)pcm;
        for (; i + 2 <= available; i += 2) {
            const int16x2_t v = (int16x2_t)pairs[i / 2];
            (void)__ssub16(v, high);
            high = (int16x2_t)__sel((uint8x4_t)v, (uint8x4_t)high);
            (void)__ssub16(low, v);
            low = (int16x2_t)__sel((uint8x4_t)v, (uint8x4_t)low);
        }
        peak = (int16_t)(high & 0xFFFF) > (int16_t)(high >> 16) ? (int16_t)(high & 0xFFFF) : (int16_t)(high >> 16);
        trough = (int16_t)(low & 0xFFFF) < (int16_t)(low >> 16) ? (int16_t)(low & 0xFFFF) : (int16_t)(low >> 16);
    }
#endif
    for (; i < available; ++i) {
        if (pcm[i] > peak) peak = pcm[i];
        if (pcm[i] < trough) trough = pcm[i];
    }
    if (peak == 0) peak = -trough;
    return peak > 0 ? 1.0f / (float)peak : 1.0f;
#else
    (void)pcm;
    (void)available;
    return 1.0f / 32768.0f;
#endif
}

/* TFLite's QUANTIZE: value / scale in float, rounded half away from zero, plus the zero
 * point, saturated to int8 (as tinykws.intmodel.quantize_io.quantize). */
static int8_t fe_quantize(float value)
{
    const float scaled = value / TKWS_FE_INPUT_SCALE;
    float magnitude = scaled < 0.0f ? -scaled : scaled;
    int32_t q;
    if (magnitude > 1000.0f) magnitude = 1000.0f; /* saturates below anyway; keeps the cast defined */
    q = (int32_t)(magnitude + 0.5f);              /* floor of a non-negative float */
    q = (scaled < 0.0f ? -q : q) + TKWS_FE_INPUT_ZERO_POINT;
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

static int fe_run(const int16_t *pcm, int n_samples, float *raw_out, int8_t *int8_out)
{
    int32_t available, frame, c;
    float gain, coeffs[TKWS_FE_COEFFS];
    if (pcm == 0 || n_samples < 0 || (raw_out == 0 && int8_out == 0)) return -1;
    available = n_samples < TKWS_FE_CLIP_SAMPLES ? n_samples : TKWS_FE_CLIP_SAMPLES;
    gain = fe_gain(pcm, available);
    for (frame = 0; frame < TKWS_FE_FRAMES; ++frame) {
        fe_frame(pcm, available, frame * TKWS_FE_HOP, gain, coeffs);
        for (c = 0; c < TKWS_FE_COEFFS; ++c) {
            if (raw_out) raw_out[frame * TKWS_FE_COEFFS + c] = coeffs[c];
            if (int8_out) int8_out[frame * TKWS_FE_COEFFS + c] = fe_quantize(coeffs[c]);
        }
    }
    return 0;
}

int tkws_features_raw(const int16_t *pcm, int n_samples, tkws_feature_raw_t *features_out)
{
    return fe_run(pcm, n_samples, features_out, 0);
}

int tkws_features(const int16_t *pcm, int n_samples, int8_t *features_out)
{
    return fe_run(pcm, n_samples, 0, features_out);
}
