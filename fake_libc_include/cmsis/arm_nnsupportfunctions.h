/* CMSIS-NN support declarations and the DSP intrinsics native Arm schedules call,
   declared for crewrite as plain functions (host definitions: crewrite/hostrt). */
#ifndef CREWRITE_ARM_NNSUPPORTFUNCTIONS_H
#define CREWRITE_ARM_NNSUPPORTFUNCTIONS_H
#include <stdint.h>
#include "arm_nn_math_types.h"
#include "arm_nn_types.h"
#include "arm_acle.h"

#ifndef MAX
#define MAX(A, B) ((A) > (B) ? (A) : (B))
#endif
#ifndef MIN
#define MIN(A, B) ((A) < (B) ? (A) : (B))
#endif
#ifndef CLAMP
#define CLAMP(x, h, l) MAX(MIN((x), (h)), (l))
#endif
#define LEFT_SHIFT(_shift) ((_shift) > 0 ? (_shift) : 0)
#define RIGHT_SHIFT(_shift) ((_shift) > 0 ? 0 : -(_shift))
#define REDUCE_MULTIPLIER(_mult) (((_mult) < 0x7FFF0000) ? (((_mult) + (1 << 15)) >> 16) : 0x7FFF)

int32_t arm_nn_requantize(const int32_t val, const int32_t multiplier, const int32_t shift);
int32_t arm_nn_doubling_high_mult(const int32_t m1, const int32_t m2);
int32_t arm_nn_doubling_high_mult_no_sat(const int32_t m1, const int32_t m2);
int32_t arm_nn_divide_by_power_of_two(const int32_t dividend, const int32_t exponent);
int32_t arm_nn_read_s8x4_ia(const int8_t **in_s8);
int32_t arm_nn_read_q7x4_ia(const int8_t **in_q7);
int32_t arm_nn_read_s8x4(const int8_t *in_s8);
int32_t arm_nn_read_q15x2_ia(const int16_t **in_q15);
int32_t arm_nn_read_s16x2(const int16_t *in);
void arm_nn_write_s8x4_ia(int8_t **dst, int32_t value);
void arm_memcpy_s8(int8_t *dst, const int8_t *src, uint32_t block_size);
void arm_memset_s8(int8_t *dst, const int8_t val, uint32_t block_size);
void arm_q7_to_q15_with_offset(const int8_t *src, int16_t *dst, int32_t block_size,
                               int16_t offset);
void arm_s8_to_s16_unordered_with_offset(const int8_t *src, int16_t *dst, int32_t block_size,
                                         int16_t offset);
arm_cmsis_nn_status arm_nn_mat_mult_nt_t_s8(
    const int8_t *lhs, const int8_t *rhs, const int32_t *bias, int8_t *dst,
    const int32_t *dst_multipliers, const int32_t *dst_shifts, const int32_t lhs_rows,
    const int32_t rhs_rows, const int32_t rhs_cols, const int32_t lhs_offset,
    const int32_t dst_offset, const int32_t activation_min, const int32_t activation_max,
    const int32_t row_address_offset, const int32_t lhs_cols_offset);
arm_cmsis_nn_status arm_nn_vec_mat_mult_t_s8(
    const int8_t *lhs, const int8_t *rhs, const int32_t *kernel_sum, const int32_t *bias,
    int8_t *dst, const int32_t lhs_offset, const int32_t dst_offset, const int32_t dst_multiplier,
    const int32_t dst_shift, const int32_t rhs_cols, const int32_t rhs_rows,
    const int32_t activation_min, const int32_t activation_max, const int32_t address_offset,
    const int32_t rhs_offset);
int8_t *arm_nn_mat_mult_kernel_s8_s16(const int8_t *input_a, const int16_t *input_b,
                                      const uint16_t output_ch, const int32_t *out_shift,
                                      const int32_t *out_mult, const int32_t out_offset,
                                      const int16_t activation_min, const int16_t activation_max,
                                      const int32_t num_col_a, const int32_t aligned_num_col_a,
                                      const int32_t *const output_bias, int8_t *out_0);
arm_cmsis_nn_status arm_nn_depthwise_conv_nt_t_s8(
    const int8_t *lhs, const int8_t *rhs, const int32_t lhs_offset, const int32_t active_ch,
    const int32_t total_ch, const int32_t *out_shift, const int32_t *out_mult,
    const int32_t out_offset, const int32_t activation_min, const int32_t activation_max,
    const uint16_t row_x_col, const int32_t *const output_bias, int8_t *out);
#endif
