/* The parameters of a pool kernel call (see max_pool.c). */
typedef struct {
    int32_t channels, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
} jk_pool;
