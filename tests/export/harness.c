/* Runs a C model exported by Joule Studio over a file of inputs and records its answers.
 *
 * Build (host):  cc -std=c99 -DJOULE_MODEL=model -DJOULE_MODEL_HEADER='"model.h"' -IDIR
 *                   tests/export/harness.c DIR/model.c -o harness
 * Cortex-M4 / QEMU build: docs/export.md (with core/export/cortex_m/startup.c and mps2_an386.ld).
 *
 * Usage: harness INPUT.bin OUTPUT.bin [LIMIT]
 *   INPUT.bin   raw little-endian float32, N x INPUT_SIZE values (N from the file size,
 *               capped at LIMIT when given).
 *   OUTPUT.bin  per input, one record, little-endian, no padding:
 *               int32 s1, OUTPUT_SIZE x float32 (NAME_run_f32),
 *               int32 s2, OUTPUT_SIZE x int8    (NAME_run on NAME_quantize_input's codes)
 *               where s1, s2 are the stages that answered.
 * Returns 0 on success; on failure prints one line naming the file and returns 1.
 * Inputs are read one at a time into static buffers (small-RAM targets). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef JOULE_MODEL
#define JOULE_MODEL model
#endif
#ifndef JOULE_MODEL_HEADER
#define JOULE_MODEL_HEADER "model.h"
#endif
#include JOULE_MODEL_HEADER

#define JOULE_PASTE2(a, b) a##b
#define JOULE_PASTE(a, b) JOULE_PASTE2(a, b)
#define M(suffix) JOULE_PASTE(JOULE_MODEL, suffix)

#define IN_SIZE M(_INPUT_SIZE)
#define OUT_SIZE M(_OUTPUT_SIZE)
#define IN_BYTES ((long)IN_SIZE * 4)
#define RECORD_BYTES (4 + OUT_SIZE * 4 + 4 + OUT_SIZE)

static uint8_t in_bytes[IN_SIZE * 4];
static float input[IN_SIZE];
static int8_t codes[IN_SIZE];
static float out_f32[OUT_SIZE];
static int8_t out_i8[OUT_SIZE];
static uint8_t record[RECORD_BYTES];

static float get_f32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint8_t *put_u32(uint8_t *p, uint32_t u)
{
    p[0] = (uint8_t)u;
    p[1] = (uint8_t)(u >> 8);
    p[2] = (uint8_t)(u >> 16);
    p[3] = (uint8_t)(u >> 24);
    return p + 4;
}

static uint8_t *put_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return put_u32(p, u);
}

static int fail(const char *path, const char *what)
{
    fprintf(stderr, "harness: %s: %s\n", path, what);
    return 1;
}

int main(int argc, char **argv)
{
    const char *in_path, *out_path;
    FILE *in, *out;
    long size, n, i;
    int j;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: harness INPUT.bin OUTPUT.bin [LIMIT]\n");
        return 1;
    }
    in_path = argv[1];
    out_path = argv[2];

    in = fopen(in_path, "rb");
    if (!in)
        return fail(in_path, "cannot open for reading");
    if (fseek(in, 0, SEEK_END) != 0 || (size = ftell(in)) < 0 || fseek(in, 0, SEEK_SET) != 0) {
        fclose(in);
        return fail(in_path, "cannot determine size");
    }
    if (size % IN_BYTES != 0) {
        fclose(in);
        return fail(in_path, "size is not a multiple of INPUT_SIZE float32 values");
    }
    n = size / IN_BYTES;
    if (argc == 4) {
        char *end;
        long limit = strtol(argv[3], &end, 10);
        if (end == argv[3] || *end != '\0' || limit < 0) {
            fclose(in);
            return fail(argv[3], "LIMIT is not a non-negative integer");
        }
        if (limit < n)
            n = limit;
    }

    out = fopen(out_path, "wb");
    if (!out) {
        fclose(in);
        return fail(out_path, "cannot open for writing");
    }

    for (i = 0; i < n; ++i) {
        uint8_t *p = record;
        int s1, s2;

        if (fread(in_bytes, 1, sizeof in_bytes, in) != sizeof in_bytes) {
            fclose(in);
            fclose(out);
            return fail(in_path, "read error");
        }
        for (j = 0; j < IN_SIZE; ++j)
            input[j] = get_f32(in_bytes + 4 * j);

        s1 = M(_run_f32)(input, out_f32);
        M(_quantize_input)(input, codes);
        s2 = M(_run)(codes, out_i8);

        p = put_u32(p, (uint32_t)(int32_t)s1);
        for (j = 0; j < OUT_SIZE; ++j)
            p = put_f32(p, out_f32[j]);
        p = put_u32(p, (uint32_t)(int32_t)s2);
        for (j = 0; j < OUT_SIZE; ++j)
            *p++ = (uint8_t)out_i8[j];

        if (fwrite(record, 1, sizeof record, out) != sizeof record) {
            fclose(in);
            fclose(out);
            return fail(out_path, "write error");
        }
    }

    fclose(in);
    if (fclose(out) != 0)
        return fail(out_path, "write error");
    return 0;
}
