/* CMSIS-NN kernel prototypes, declared for crewrite from the library's documented API: the
   kernels CMSIS-NN external codegen calls first (the tests define those), then the rest of
   the public API of recent and older releases, so that any of them parses. */
#ifndef CREWRITE_ARM_NNFUNCTIONS_H
#define CREWRITE_ARM_NNFUNCTIONS_H
#include <stdint.h>
#include "arm_nn_math_types.h"
#include "arm_nn_types.h"

arm_cmsis_nn_status arm_convolve_wrapper_s8(
    const cmsis_nn_context* ctx, const cmsis_nn_conv_params* conv_params,
    const cmsis_nn_per_channel_quant_params* quant_params, const cmsis_nn_dims* input_dims,
    const int8_t* input_data, const cmsis_nn_dims* filter_dims, const int8_t* filter_data,
    const cmsis_nn_dims* bias_dims, const int32_t* bias_data, const cmsis_nn_dims* output_dims,
    int8_t* output_data);
int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params* conv_params,
                                                const cmsis_nn_dims* input_dims,
                                                const cmsis_nn_dims* filter_dims,
                                                const cmsis_nn_dims* output_dims);

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(
    const cmsis_nn_context* ctx, const cmsis_nn_dw_conv_params* dw_conv_params,
    const cmsis_nn_per_channel_quant_params* quant_params, const cmsis_nn_dims* input_dims,
    const int8_t* input_data, const cmsis_nn_dims* filter_dims, const int8_t* filter_data,
    const cmsis_nn_dims* bias_dims, const int32_t* bias_data, const cmsis_nn_dims* output_dims,
    int8_t* output_data);

arm_cmsis_nn_status arm_fully_connected_s8(
    const cmsis_nn_context* ctx, const cmsis_nn_fc_params* fc_params,
    const cmsis_nn_per_tensor_quant_params* quant_params, const cmsis_nn_dims* input_dims,
    const int8_t* input_data, const cmsis_nn_dims* filter_dims, const int8_t* filter_data,
    const cmsis_nn_dims* bias_dims, const int32_t* bias_data, const cmsis_nn_dims* output_dims,
    int8_t* output_data);

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context* ctx,
                                   const cmsis_nn_pool_params* pool_params,
                                   const cmsis_nn_dims* input_dims, const int8_t* input_data,
                                   const cmsis_nn_dims* filter_dims,
                                   const cmsis_nn_dims* output_dims, int8_t* output_data);

arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context* ctx,
                                    const cmsis_nn_pool_params* pool_params,
                                    const cmsis_nn_dims* input_dims, const int8_t* input_data,
                                    const cmsis_nn_dims* filter_dims,
                                    const cmsis_nn_dims* output_dims, int8_t* output_data);

void arm_softmax_s8(const int8_t* input, const int32_t num_rows, const int32_t row_size,
                    const int32_t mult, const int32_t shift, const int32_t diff_min,
                    int8_t* output);

arm_cmsis_nn_status arm_elementwise_add_s8(
    const int8_t* input_1_vect, const int8_t* input_2_vect, const int32_t input_1_offset,
    const int32_t input_1_mult, const int32_t input_1_shift, const int32_t input_2_offset,
    const int32_t input_2_mult, const int32_t input_2_shift, const int32_t left_shift,
    int8_t* output, const int32_t out_offset, const int32_t out_mult, const int32_t out_shift,
    const int32_t out_activation_min, const int32_t out_activation_max, const int32_t block_size);
/* ---- the rest of the public API ---- */
#define CREWRITE_NN_CONV_ARGS(in_t, out_t, bias_t)                                          \
  const cmsis_nn_context *ctx, const cmsis_nn_conv_params *conv_params,                    \
      const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims, \
      const in_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,  \
      const cmsis_nn_dims *bias_dims, const bias_t *bias_data,                               \
      const cmsis_nn_dims *output_dims, out_t *output_data
#define CREWRITE_NN_DW_ARGS(in_t, out_t, bias_t)                                            \
  const cmsis_nn_context *ctx, const cmsis_nn_dw_conv_params *dw_conv_params,              \
      const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims, \
      const in_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,  \
      const cmsis_nn_dims *bias_dims, const bias_t *bias_data,                               \
      const cmsis_nn_dims *output_dims, out_t *output_data
#define CREWRITE_NN_FC_ARGS(in_t, out_t, bias_t)                                            \
  const cmsis_nn_context *ctx, const cmsis_nn_fc_params *fc_params,                        \
      const cmsis_nn_per_tensor_quant_params *quant_params, const cmsis_nn_dims *input_dims, \
      const in_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,  \
      const cmsis_nn_dims *bias_dims, const bias_t *bias_data,                               \
      const cmsis_nn_dims *output_dims, out_t *output_data
#define CREWRITE_NN_POOL_ARGS(t)                                                             \
  const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,                    \
      const cmsis_nn_dims *input_dims, const t *input_data, const cmsis_nn_dims *filter_dims, \
      const cmsis_nn_dims *output_dims, t *output_data

arm_cmsis_nn_status arm_convolve_s8(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_s4(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_1x1_s8(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_1x1_s8_fast(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_1x1_s4_fast(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_1_x_n_s8(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_1_x_n_s4(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_convolve_s16(CREWRITE_NN_CONV_ARGS(int16_t, int16_t, int64_t));
arm_cmsis_nn_status arm_convolve_fast_s16(CREWRITE_NN_CONV_ARGS(int16_t, int16_t, int64_t));
arm_cmsis_nn_status arm_convolve_wrapper_s16(CREWRITE_NN_CONV_ARGS(int16_t, int16_t, int64_t));
arm_cmsis_nn_status arm_convolve_wrapper_s4(CREWRITE_NN_CONV_ARGS(int8_t, int8_t, int32_t));
int32_t arm_convolve_s8_get_buffer_size(const cmsis_nn_dims *input_dims,
                                        const cmsis_nn_dims *filter_dims);
int32_t arm_convolve_s16_get_buffer_size(const cmsis_nn_dims *input_dims,
                                         const cmsis_nn_dims *filter_dims);
int32_t arm_convolve_1x1_s8_fast_get_buffer_size(const cmsis_nn_dims *input_dims);
int32_t arm_convolve_1_x_n_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                              const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims,
                                              const cmsis_nn_dims *output_dims);
int32_t arm_convolve_wrapper_s16_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                 const cmsis_nn_dims *input_dims,
                                                 const cmsis_nn_dims *filter_dims,
                                                 const cmsis_nn_dims *output_dims);
int32_t arm_convolve_wrapper_s4_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims);
arm_cmsis_nn_status arm_transpose_conv_s8(
    const cmsis_nn_context *ctx, const cmsis_nn_context *output_ctx,
    const cmsis_nn_transpose_conv_params *transpose_conv_params,
    const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,
    const int8_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
    const cmsis_nn_dims *bias_dims, const int32_t *bias_data, const cmsis_nn_dims *output_dims,
    int8_t *output_data);
int32_t arm_transpose_conv_s8_get_buffer_size(const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims,
                                              const cmsis_nn_dims *out_dims);

arm_cmsis_nn_status arm_depthwise_conv_s8(CREWRITE_NN_DW_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_depthwise_conv_s8_opt(CREWRITE_NN_DW_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_depthwise_conv_3x3_s8(CREWRITE_NN_DW_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_depthwise_conv_s4(CREWRITE_NN_DW_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_depthwise_conv_s4_opt(CREWRITE_NN_DW_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s4(CREWRITE_NN_DW_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_depthwise_conv_s16(CREWRITE_NN_DW_ARGS(int16_t, int16_t, int64_t));
arm_cmsis_nn_status arm_depthwise_conv_fast_s16(CREWRITE_NN_DW_ARGS(int16_t, int16_t, int64_t));
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s16(
    CREWRITE_NN_DW_ARGS(int16_t, int16_t, int64_t));
int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(
    const cmsis_nn_dw_conv_params *dw_conv_params, const cmsis_nn_dims *input_dims,
    const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims);
int32_t arm_depthwise_conv_s8_opt_get_buffer_size(const cmsis_nn_dims *input_dims,
                                                  const cmsis_nn_dims *filter_dims);
int32_t arm_depthwise_conv_fast_s16_get_buffer_size(const cmsis_nn_dims *input_dims,
                                                    const cmsis_nn_dims *filter_dims);
int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size(
    const cmsis_nn_dw_conv_params *dw_conv_params, const cmsis_nn_dims *input_dims,
    const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims);

arm_cmsis_nn_status arm_fully_connected_s4(CREWRITE_NN_FC_ARGS(int8_t, int8_t, int32_t));
arm_cmsis_nn_status arm_fully_connected_s16(CREWRITE_NN_FC_ARGS(int16_t, int16_t, int64_t));
int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims);
int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims);
arm_cmsis_nn_status arm_vector_sum_s8(int32_t *vector_sum_buf, const int32_t vector_cols,
                                      const int32_t vector_rows, const int8_t *vector_data,
                                      const int32_t lhs_offset, const int32_t *bias_data);
arm_cmsis_nn_status arm_batch_matmul_s8(const cmsis_nn_context *ctx,
                                        const cmsis_nn_bmm_params *bmm_params,
                                        const cmsis_nn_per_tensor_quant_params *quant_params,
                                        const cmsis_nn_dims *input_lhs_dims,
                                        const int8_t *input_lhs,
                                        const cmsis_nn_dims *input_rhs_dims,
                                        const int8_t *input_rhs,
                                        const cmsis_nn_dims *output_dims, int8_t *output);

arm_cmsis_nn_status arm_avgpool_s16(CREWRITE_NN_POOL_ARGS(int16_t));
arm_cmsis_nn_status arm_max_pool_s16(CREWRITE_NN_POOL_ARGS(int16_t));
int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src);
int32_t arm_avgpool_s16_get_buffer_size(const int dim_dst_width, const int ch_src);

void arm_softmax_s8_s16(const int8_t *input, const int32_t num_rows, const int32_t row_size,
                        const int32_t mult, const int32_t shift, const int32_t diff_min,
                        int16_t *output);
arm_cmsis_nn_status arm_softmax_s16(const int16_t *input, const int32_t num_rows,
                                    const int32_t row_size, const int32_t mult,
                                    const int32_t shift,
                                    const cmsis_nn_softmax_lut_s16 *softmax_params,
                                    int16_t *output);
void arm_softmax_u8(const uint8_t *input, const int32_t num_rows, const int32_t row_size,
                    const int32_t mult, const int32_t shift, const int32_t diff_min,
                    uint8_t *output);

arm_cmsis_nn_status arm_elementwise_add_s16(
    const int16_t *input_1_vect, const int16_t *input_2_vect, const int32_t input_1_offset,
    const int32_t input_1_mult, const int32_t input_1_shift, const int32_t input_2_offset,
    const int32_t input_2_mult, const int32_t input_2_shift, const int32_t left_shift,
    int16_t *output, const int32_t out_offset, const int32_t out_mult, const int32_t out_shift,
    const int32_t out_activation_min, const int32_t out_activation_max, const int32_t block_size);
arm_cmsis_nn_status arm_elementwise_mul_s8(
    const int8_t *input_1_vect, const int8_t *input_2_vect, const int32_t input_1_offset,
    const int32_t input_2_offset, int8_t *output, const int32_t out_offset,
    const int32_t out_mult, const int32_t out_shift, const int32_t out_activation_min,
    const int32_t out_activation_max, const int32_t block_size);
arm_cmsis_nn_status arm_elementwise_mul_s16(
    const int16_t *input_1_vect, const int16_t *input_2_vect, const int32_t input_1_offset,
    const int32_t input_2_offset, int16_t *output, const int32_t out_offset,
    const int32_t out_mult, const int32_t out_shift, const int32_t out_activation_min,
    const int32_t out_activation_max, const int32_t block_size);

void arm_relu_q7(int8_t *data, uint16_t size);
void arm_relu_q15(int16_t *data, uint16_t size);
void arm_relu6_s8(int8_t *data, uint16_t size);
void arm_nn_activation_s16(const int16_t *input, int16_t *output, const int32_t size,
                           const int32_t left_shift, const arm_nn_activation_type type);

void arm_reshape_s8(const int8_t *input, int8_t *output, const uint32_t total_size);
void arm_concatenation_s8_x(const int8_t *input, const uint16_t input_x, const uint16_t input_y,
                            const uint16_t input_z, const uint16_t input_w, int8_t *output,
                            const uint16_t output_x, const uint32_t offset_x);
void arm_concatenation_s8_y(const int8_t *input, const uint16_t input_x, const uint16_t input_y,
                            const uint16_t input_z, const uint16_t input_w, int8_t *output,
                            const uint16_t output_y, const uint32_t offset_y);
void arm_concatenation_s8_z(const int8_t *input, const uint16_t input_x, const uint16_t input_y,
                            const uint16_t input_z, const uint16_t input_w, int8_t *output,
                            const uint16_t output_z, const uint32_t offset_z);
void arm_concatenation_s8_w(const int8_t *input, const uint16_t input_x, const uint16_t input_y,
                            const uint16_t input_z, const uint16_t input_w, int8_t *output,
                            const uint32_t offset_w);
arm_cmsis_nn_status arm_pad_s8(const int8_t *input, int8_t *output, const int8_t pad_value,
                               const cmsis_nn_dims *input_size, const cmsis_nn_dims *pre_pad,
                               const cmsis_nn_dims *post_pad);

arm_cmsis_nn_status arm_svdf_s8(
    const cmsis_nn_context *ctx, const cmsis_nn_context *input_ctx,
    const cmsis_nn_context *output_ctx, const cmsis_nn_svdf_params *svdf_params,
    const cmsis_nn_per_tensor_quant_params *input_quant_params,
    const cmsis_nn_per_tensor_quant_params *output_quant_params, const cmsis_nn_dims *input_dims,
    const int8_t *input_data, const cmsis_nn_dims *state_dims, int8_t *state_data,
    const cmsis_nn_dims *weights_feature_dims, const int8_t *weights_feature_data,
    const cmsis_nn_dims *weights_time_dims, const int8_t *weights_time_data,
    const cmsis_nn_dims *bias_dims, const int32_t *bias_data, const cmsis_nn_dims *output_dims,
    int8_t *output_data);
arm_cmsis_nn_status arm_svdf_state_s16_s8(
    const cmsis_nn_context *input_ctx, const cmsis_nn_context *output_ctx,
    const cmsis_nn_svdf_params *svdf_params,
    const cmsis_nn_per_tensor_quant_params *input_quant_params,
    const cmsis_nn_per_tensor_quant_params *output_quant_params, const cmsis_nn_dims *input_dims,
    const int8_t *input_data, const cmsis_nn_dims *state_dims, int16_t *state_data,
    const cmsis_nn_dims *weights_feature_dims, const int8_t *weights_feature_data,
    const cmsis_nn_dims *weights_time_dims, const int16_t *weights_time_data,
    const cmsis_nn_dims *bias_dims, const int32_t *bias_data, const cmsis_nn_dims *output_dims,
    int8_t *output_data);
arm_cmsis_nn_status arm_lstm_unidirectional_s8(const int8_t *input, int8_t *output,
                                               const cmsis_nn_lstm_params *params,
                                               cmsis_nn_lstm_context *buffers);

/* Older (q7/q15) releases. */
arm_status arm_convolve_HWC_q7_basic(const q7_t *Im_in, const uint16_t dim_im_in,
                                     const uint16_t ch_im_in, const q7_t *wt,
                                     const uint16_t ch_im_out, const uint16_t dim_kernel,
                                     const uint16_t padding, const uint16_t stride,
                                     const q7_t *bias, const uint16_t bias_shift,
                                     const uint16_t out_shift, q7_t *Im_out,
                                     const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);
arm_status arm_fully_connected_q7(const q7_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                  const uint16_t num_of_rows, const uint16_t bias_shift,
                                  const uint16_t out_shift, const q7_t *bias, q7_t *pOut,
                                  q15_t *vec_buffer);
void arm_maxpool_q7_HWC(q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                        const uint16_t dim_kernel, const uint16_t padding, const uint16_t stride,
                        const uint16_t dim_im_out, q7_t *bufferA, q7_t *Im_out);
void arm_avepool_q7_HWC(q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                        const uint16_t dim_kernel, const uint16_t padding, const uint16_t stride,
                        const uint16_t dim_im_out, q7_t *bufferA, q7_t *Im_out);
void arm_softmax_q7(const q7_t *vec_in, const uint16_t dim_vec, q7_t *p_out);
#endif
