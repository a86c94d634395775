/* TFLite-Micro audio microfrontend (tinykws kind "microfrontend": presets mltk_kws,
 * micro_speech, mww_40), integer only.
 *
 * tinykws appends this file to a generated frontend.c, after the TKWS_FE_* constants and the
 * fe_* tables built by the same Python code as the numpy front-end
 * (tinykws.audio.frontends.micro); it does not compile on its own. Every stage performs the
 * integer operations of that numpy code, so the uint16 features are bit-exact with it:
 *
 *   window (Q12) -> shift up to 15 bits -> 16-bit KISS FFT -> |X|^2 -> filterbank (uint64
 *   sums) -> rounded sqrt -> noise reduction -> PCAN -> log -> uint16
 *
 * Each call is a fresh front-end: the noise estimate starts at zero for every clip.
 * The code relies on what every C compiler for these targets does (GCC, Clang, Arm): right
 * shifts of negative integers are arithmetic and conversions to narrower signed types wrap,
 * as in the C library it reproduces.
 */

#define FE_Q15_ROUND 16384

static int16_t fe_frame_buf[TKWS_FE_FFT_SIZE];           /* windowed samples, then zeros */
static int16_t fe_zr[TKWS_FE_HALF], fe_zi[TKWS_FE_HALF];  /* complex FFT of N/2 points */
static int32_t fe_energy[TKWS_FE_END_INDEX - TKWS_FE_START_INDEX];
static uint32_t fe_signal[TKWS_FE_CHANNELS];
static uint32_t fe_noise[TKWS_FE_CHANNELS];               /* noise estimate, carried across frames */

/* C_FIXDIV of KISS FFT: x * (32767 / radix) in rounded Q15. */
static int16_t fe_div(int16_t x, int32_t q15) { return (int16_t)((x * q15 + FE_Q15_ROUND) >> 15); }

/* C_MUL of KISS FFT: each part of (ar + i ai)(br + i bi) is one rounded Q15 of its exact
 * sum of products, computed with 32-bit wrap-around. */
static int16_t fe_mul_re(int16_t ar, int16_t ai, int16_t br, int16_t bi)
{
    const uint32_t sum = (uint32_t)((int32_t)ar * br) - (uint32_t)((int32_t)ai * bi) + FE_Q15_ROUND;
    return (int16_t)((int32_t)sum >> 15);
}

static int16_t fe_mul_im(int16_t ar, int16_t ai, int16_t br, int16_t bi)
{
    const uint32_t sum = (uint32_t)((int32_t)ar * bi) + (uint32_t)((int32_t)ai * br) + FE_Q15_ROUND;
    return (int16_t)((int32_t)sum >> 15);
}

/* One radix-2 butterfly per k of a block: re, im point at the block, twiddle k * fstride. */
static void fe_butterfly2(int16_t *re, int16_t *im, int32_t m, int32_t fstride)
{
    const int16_t *w = fe_twiddle[0];
    int32_t k;
    for (k = 0; k < m; ++k, w += 2 * fstride) {
        const int16_t ar = fe_div(re[k], 32767 / 2), ai = fe_div(im[k], 32767 / 2);
        const int16_t br = fe_div(re[k + m], 32767 / 2), bi = fe_div(im[k + m], 32767 / 2);
        const int16_t tr = fe_mul_re(br, bi, w[0], w[1]), ti = fe_mul_im(br, bi, w[0], w[1]);
        re[k + m] = (int16_t)(ar - tr);
        im[k + m] = (int16_t)(ai - ti);
        re[k] = (int16_t)(ar + tr);
        im[k] = (int16_t)(ai + ti);
    }
}

/* One radix-4 butterfly per k of a block (kf_bfly4 of KISS FFT, forward): twiddles
 * k, 2k and 3k times fstride. Every intermediate is stored as int16, as KISS FFT does. */
static void fe_butterfly4(int16_t *re, int16_t *im, int32_t m, int32_t fstride)
{
    const int16_t *w1 = fe_twiddle[0], *w2 = w1, *w3 = w1;
    int32_t k;
    for (k = 0; k < m; ++k, w1 += 2 * fstride, w2 += 4 * fstride, w3 += 6 * fstride) {
        int16_t *r = re + k, *i = im + k;
        const int16_t f0r = fe_div(r[0], 32767 / 4), f0i = fe_div(i[0], 32767 / 4);
        const int16_t f1r = fe_div(r[m], 32767 / 4), f1i = fe_div(i[m], 32767 / 4);
        const int16_t f2r = fe_div(r[2 * m], 32767 / 4), f2i = fe_div(i[2 * m], 32767 / 4);
        const int16_t f3r = fe_div(r[3 * m], 32767 / 4), f3i = fe_div(i[3 * m], 32767 / 4);
        const int16_t s0r = fe_mul_re(f1r, f1i, w1[0], w1[1]), s0i = fe_mul_im(f1r, f1i, w1[0], w1[1]);
        const int16_t s1r = fe_mul_re(f2r, f2i, w2[0], w2[1]), s1i = fe_mul_im(f2r, f2i, w2[0], w2[1]);
        const int16_t s2r = fe_mul_re(f3r, f3i, w3[0], w3[1]), s2i = fe_mul_im(f3r, f3i, w3[0], w3[1]);
        const int16_t s5r = (int16_t)(f0r - s1r), s5i = (int16_t)(f0i - s1i);
        const int16_t g0r = (int16_t)(f0r + s1r), g0i = (int16_t)(f0i + s1i);
        const int16_t s3r = (int16_t)(s0r + s2r), s3i = (int16_t)(s0i + s2i);
        const int16_t s4r = (int16_t)(s0r - s2r), s4i = (int16_t)(s0i - s2i);
        r[2 * m] = (int16_t)(g0r - s3r);
        i[2 * m] = (int16_t)(g0i - s3i);
        r[0] = (int16_t)(g0r + s3r);
        i[0] = (int16_t)(g0i + s3i);
        r[m] = (int16_t)(s5r + s4i);
        i[m] = (int16_t)(s5i - s4r);
        r[3 * m] = (int16_t)(s5r - s4i);
        i[3 * m] = (int16_t)(s5i + s4r);
    }
}

/* A windowed sample shifted left as a 16-bit value (wrapping, as the C library stores it). */
static int16_t fe_shifted(int16_t v, int32_t shift)
{
    return (int16_t)(uint16_t)((uint32_t)(uint16_t)v << shift);
}

/* The complex FFT of KISS FFT, unrolled: leaves in the recursion's order (taking the
 * windowed samples shifted by `shift`), then the stages from the innermost (fe_stages:
 * radix, sub-length m, twiddle stride; innermost first). */
static void fe_complex_fft(int32_t shift)
{
    int32_t j, s;
    for (j = 0; j < TKWS_FE_HALF; ++j) {
        fe_zr[j] = fe_shifted(fe_frame_buf[2 * fe_leaf[j]], shift);
        fe_zi[j] = fe_shifted(fe_frame_buf[2 * fe_leaf[j] + 1], shift);
    }
    for (s = 0; s < TKWS_FE_STAGES; ++s) {
        const int32_t radix = fe_stages[s][0], m = fe_stages[s][1], fstride = fe_stages[s][2];
        int32_t block;
        for (block = 0; block < fstride; ++block) {
            if (radix == 4) {
                fe_butterfly4(fe_zr + block * 4 * m, fe_zi + block * 4 * m, m, fstride);
            } else {
                fe_butterfly2(fe_zr + block * 2 * m, fe_zi + block * 2 * m, m, fstride);
            }
        }
    }
}

/* Bin b of kiss_fftr's output (0 <= b <= N/2) from the complex FFT, as its split loop
 * computes it: bins b < H/2 from pair k = b, the others from k = H - b (H = N/2 points). */
static void fe_real_bin(int32_t b, int16_t *re, int16_t *im)
{
    int32_t k;
    int16_t pr, pi, nr, ni, f1r, f1i, f2r, f2i, tr, ti;
    const int16_t *w;
    if (b == 0 || b == TKWS_FE_HALF) {
        const int16_t dr = fe_div(fe_zr[0], 32767 / 2), di = fe_div(fe_zi[0], 32767 / 2);
        *re = (int16_t)(b == 0 ? dr + di : dr - di);
        *im = 0;
        return;
    }
    k = 2 * b < TKWS_FE_HALF ? b : TKWS_FE_HALF - b;
    pr = fe_div(fe_zr[k], 32767 / 2);
    pi = fe_div(fe_zi[k], 32767 / 2);
    nr = fe_div(fe_zr[TKWS_FE_HALF - k], 32767 / 2);
    ni = fe_div((int16_t)-fe_zi[TKWS_FE_HALF - k], 32767 / 2);
    f1r = (int16_t)(pr + nr);
    f1i = (int16_t)(pi + ni);
    f2r = (int16_t)(pr - nr);
    f2i = (int16_t)(pi - ni);
    w = fe_super_twiddle[k - 1];
    tr = fe_mul_re(f2r, f2i, w[0], w[1]);
    ti = fe_mul_im(f2r, f2i, w[0], w[1]);
    if (2 * b < TKWS_FE_HALF) {
        *re = (int16_t)((f1r + tr) >> 1);
        *im = (int16_t)((f1i + ti) >> 1);
    } else {
        *re = (int16_t)((f1r - tr) >> 1);
        *im = (int16_t)((ti - f1i) >> 1);
    }
}

/* Sqrt64 of the C library: floor square root, plus one when the remainder exceeds the root,
 * except at the top of the 32-bit (65535) and 64-bit (2^32 - 1) ranges. */
static uint32_t fe_sqrt_rounded(uint64_t n)
{
    uint64_t rest;
    uint64_t root = fe_isqrt64(n, &rest);
    if (rest > root && root != (n >> 32 ? 0xFFFFFFFFu : 0xFFFFu)) ++root;
    return (uint32_t)root;
}

/* Stages 1-3 for the frame at `start`: fe_signal[c] = sqrt(filterbank energy) >> shift. */
static void fe_filterbank(const int16_t *pcm, int32_t available, int32_t start)
{
    int32_t i, shift, band, c;
    int16_t max_abs = 0;
    uint64_t carry = 0;
    for (i = 0; i < TKWS_FE_WINDOW_SAMPLES; ++i) {
        const int32_t sample = start + i < available ? pcm[start + i] : 0;
        const int16_t v = (int16_t)((sample * fe_window[i]) >> 12);
        const int16_t magnitude = (int16_t)(v < 0 ? -v : v); /* -32768 stays negative: never the max */
        fe_frame_buf[i] = v;
        if (magnitude > max_abs) max_abs = magnitude;
    }
    shift = 15 - fe_msb((uint32_t)max_abs);
    fe_complex_fft(shift); /* fe_frame_buf stays zero past the window: the FFT's zero padding */
    for (i = TKWS_FE_START_INDEX; i < TKWS_FE_END_INDEX; ++i) {
        int16_t re, im;
        fe_real_bin(i, &re, &im);
        fe_energy[i - TKWS_FE_START_INDEX] = (int32_t)((uint32_t)(re * re) + (uint32_t)(im * im));
    }
    /* channel c sums band c's "unweights" and band c + 1's weights, modulo 2^64 */
    for (band = 0; band <= TKWS_FE_CHANNELS; ++band) {
        uint64_t weighted = 0, unweighted = 0;
        for (i = fe_band_start[band]; i < fe_band_start[band] + fe_band_width[band]; ++i) {
            const uint64_t energy = (uint64_t)(int64_t)fe_energy[i - TKWS_FE_START_INDEX];
            weighted += energy * (uint64_t)fe_weight[i - TKWS_FE_START_INDEX];
            unweighted += energy * (uint64_t)fe_unweight[i - TKWS_FE_START_INDEX];
        }
        if (band > 0) {
            c = band - 1;
            fe_signal[c] = fe_sqrt_rounded(carry + weighted) >> shift;
        }
        carry = unweighted;
    }
}

#if TKWS_FE_NOISE_REDUCTION
/* Stage 4: update each channel's noise estimate and subtract it, keeping a floor. */
static void fe_noise_reduction(void)
{
    int32_t c;
    for (c = 0; c < TKWS_FE_CHANNELS; ++c) {
        const uint64_t smoothing = (c & 1) ? TKWS_FE_ODD_SMOOTHING : TKWS_FE_EVEN_SMOOTHING;
        const uint32_t scaled = fe_signal[c] << TKWS_FE_SMOOTHING_BITS;
        const uint32_t floor = (uint32_t)(((uint64_t)fe_signal[c] * TKWS_FE_MIN_SIGNAL_REMAINING) >> 14);
        uint32_t kept, out;
        fe_noise[c] = (uint32_t)(((uint64_t)scaled * smoothing + (uint64_t)fe_noise[c] * (16384u - smoothing)) >> 14);
        kept = fe_noise[c] < scaled ? fe_noise[c] : scaled;
        out = (scaled - kept) >> TKWS_FE_SMOOTHING_BITS;
        fe_signal[c] = out > floor ? out : floor;
    }
}
#endif

#if TKWS_FE_PCAN
/* Gain (noise + offset)^-strength from the piecewise-quadratic table, int16. */
static int16_t fe_pcan_gain(uint32_t x)
{
    int32_t interval, base, frac, result;
    if (x <= 2) return fe_pcan_lut[x];
    interval = fe_msb(x);
    base = 4 * interval - 6;
    frac = (int32_t)((interval < 11 ? x << (11 - interval) : x >> (interval - 11)) & 0x3FFu);
    result = (fe_pcan_lut[base + 2] * frac) >> 5;
    result += fe_pcan_lut[base + 1] * 32;
    result *= frac;
    result = (result + (1 << 14)) >> 15;
    return (int16_t)(result + fe_pcan_lut[base]);
}

/* Stage 5: per-channel energy normalisation, then the square-law / linear shrink (Q6). */
static void fe_pcan(void)
{
    int32_t c;
    for (c = 0; c < TKWS_FE_CHANNELS; ++c) {
        const uint32_t gain = (uint32_t)(int32_t)fe_pcan_gain(fe_noise[c]);
        const uint32_t snr = (uint32_t)(((uint64_t)fe_signal[c] * gain) >> TKWS_FE_PCAN_SNR_SHIFT);
        fe_signal[c] = snr < (2u << 12) ? (uint32_t)(((uint64_t)snr * snr) >> 20) : (snr >> 6) - (1u << 6);
    }
}
#endif

#if TKWS_FE_LOG
/* round(ln(x) 2^TKWS_FE_LOG_SCALE_SHIFT) in the library's fixed point, x >= 2. */
static uint32_t fe_log(uint32_t x)
{
    const int32_t integer = fe_msb(x) - 1;
    uint32_t frac = x - (1u << integer);
    int32_t segment, c0, c1, rel;
    uint32_t log2, loge;
    frac = integer < 16 ? frac << (16 - integer) : frac >> (integer - 16);
    segment = (int32_t)(frac >> 9);
    c0 = fe_log_lut[segment];
    c1 = fe_log_lut[segment + 1];
    rel = ((c1 - c0) * ((int32_t)frac - segment * 512)) >> 16;
    log2 = ((uint32_t)integer << 16) + (uint32_t)((int32_t)frac + c0 + rel);
    loge = (uint32_t)(((uint64_t)45426u * log2 + 32768u) >> 16);
    return ((loge << TKWS_FE_LOG_SCALE_SHIFT) + 32768u) >> 16;
}
#endif

/* Stage 6 and the output: uint16, saturated. */
static uint16_t fe_output(uint32_t value)
{
#if TKWS_FE_LOG
#if TKWS_FE_CORRECTION_BITS < 0
    value >>= -(TKWS_FE_CORRECTION_BITS);
#else
    value <<= TKWS_FE_CORRECTION_BITS;
#endif
    value = value > 1 ? fe_log(value) : 0;
#endif
    return (uint16_t)(value > 0xFFFFu ? 0xFFFFu : value);
}

/* uint16 feature -> the network's int8, as tinykws' float path does it (u * output_scale,
 * then TFLite's QUANTIZE): the number of thresholds at or below u, found by bisection. */
static int8_t fe_quantize(uint16_t u)
{
    int32_t low = 0, count = TKWS_FE_QUANT_LEVELS;
    while (count > 0) {
        const int32_t half = count / 2;
        if (fe_quant_threshold[low + half] <= u) {
            low += half + 1;
            count -= half + 1;
        } else {
            count = half;
        }
    }
    return (int8_t)(TKWS_FE_QUANT_MIN + low);
}

static int fe_run(const int16_t *pcm, int n_samples, uint16_t *raw_out, int8_t *int8_out)
{
    int32_t available, frame, c;
    if (pcm == 0 || n_samples < 0 || (raw_out == 0 && int8_out == 0)) return -1;
    available = n_samples < TKWS_FE_CLIP_SAMPLES ? n_samples : TKWS_FE_CLIP_SAMPLES;
    for (c = 0; c < TKWS_FE_CHANNELS; ++c) fe_noise[c] = 0;
    for (frame = 0; frame < TKWS_FE_FRAMES; ++frame) {
        fe_filterbank(pcm, available, frame * TKWS_FE_STRIDE);
#if TKWS_FE_NOISE_REDUCTION
        fe_noise_reduction();
#endif
#if TKWS_FE_PCAN
        fe_pcan();
#endif
        for (c = 0; c < TKWS_FE_CHANNELS; ++c) {
            const uint16_t feature = fe_output(fe_signal[c]);
            if (raw_out) raw_out[frame * TKWS_FE_CHANNELS + c] = feature;
            if (int8_out) int8_out[frame * TKWS_FE_CHANNELS + c] = fe_quantize(feature);
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
