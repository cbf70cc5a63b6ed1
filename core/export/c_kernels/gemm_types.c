/* The parameters of a gemm kernel call (see gemm.c). */
typedef struct {
    int32_t m, k, n, trans_a, trans_b, per_column;
    int32_t a_zp, y_zp, act_min, act_max;
    int32_t bias_mode;        /* 0 none, 1 one value, 2 per column, 3 [M][N] */
    const int8_t *b;          /* [K][N], or [N][K] when trans_b */
    const int32_t *b_zp;      /* per column, or NULL when every zero point is 0 */
    const int32_t *bias;
    const int32_t *mult;      /* quantized output */
    const int8_t *shift;
    const float *fscale;      /* float output */
} jk_gemm;
