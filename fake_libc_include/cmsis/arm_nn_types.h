/* CMSIS-NN parameter types as CMSIS-NN external codegen uses them, declared for crewrite. */
#ifndef CREWRITE_ARM_NN_TYPES_H
#define CREWRITE_ARM_NN_TYPES_H
#include <stdbool.h>
#include <stdint.h>

typedef enum { ARM_SIGMOID = 0, ARM_TANH = 1 } arm_nn_activation_type;

typedef enum {
  ARM_CMSIS_NN_SUCCESS = 0,
  ARM_CMSIS_NN_ARG_ERROR = -1,
  ARM_CMSIS_NN_NO_IMPL_ERROR = -2,
  ARM_CMSIS_NN_FAILURE = -3
} arm_cmsis_nn_status;

typedef struct { int32_t w; int32_t h; } cmsis_nn_tile;
typedef struct { int32_t min; int32_t max; } cmsis_nn_activation;
typedef struct { int32_t n; int32_t h; int32_t w; int32_t c; } cmsis_nn_dims;
typedef struct { int32_t* multiplier; int32_t* shift; } cmsis_nn_per_channel_quant_params;
typedef struct { int32_t multiplier; int32_t shift; } cmsis_nn_per_tensor_quant_params;
/* Scratch memory handed to a kernel: `buf` may be NULL when `size` is 0. */
typedef struct { void* buf; int32_t size; } cmsis_nn_context;

typedef struct {
  int32_t input_offset;
  int32_t output_offset;
  cmsis_nn_tile stride;
  cmsis_nn_tile padding;
  cmsis_nn_tile dilation;
  cmsis_nn_activation activation;
} cmsis_nn_conv_params;

typedef struct {
  int32_t input_offset;
  int32_t output_offset;
  int32_t ch_mult;
  cmsis_nn_tile stride;
  cmsis_nn_tile padding;
  cmsis_nn_tile dilation;
  cmsis_nn_activation activation;
} cmsis_nn_dw_conv_params;

typedef struct {
  int32_t input_offset;
  int32_t filter_offset;
  int32_t output_offset;
  cmsis_nn_activation activation;
} cmsis_nn_fc_params;

typedef struct {
  cmsis_nn_tile stride;
  cmsis_nn_tile padding;
  cmsis_nn_activation activation;
} cmsis_nn_pool_params;

/* Newer CMSIS-NN releases. */
typedef struct {
  const void* data;
  const bool is_int32_bias;
} cmsis_nn_bias_data;

typedef struct {
  int32_t input_offset;
  int32_t output_offset;
  cmsis_nn_tile stride;
  cmsis_nn_tile padding;
  cmsis_nn_tile padding_offsets;
  cmsis_nn_tile dilation;
  cmsis_nn_activation activation;
} cmsis_nn_transpose_conv_params;

typedef struct {
  bool adj_x;
  bool adj_y;
  cmsis_nn_fc_params fc_params;
} cmsis_nn_bmm_params;

typedef struct {
  int32_t rank;
  int32_t input_offset;
  int32_t output_offset;
  cmsis_nn_activation input_activation;
  cmsis_nn_activation output_activation;
} cmsis_nn_svdf_params;

typedef struct {
  const int16_t* exp_lut;
  const int16_t* one_by_one_lut;
} cmsis_nn_softmax_lut_s16;

typedef struct {
  int32_t multiplier;
  int32_t shift;
} cmsis_nn_scaling;

typedef struct {
  int32_t num_batches;
  int32_t num_inputs;
  int32_t max_time;
  int32_t num_outputs;
} cmsis_nn_lstm_dims;

typedef struct {
  int32_t input_multiplier;
  int32_t input_shift;
  const void* input_weights;
  const void* input_effective_bias;
  int32_t hidden_multiplier;
  int32_t hidden_shift;
  const void* hidden_weights;
  const void* hidden_effective_bias;
  const void* bias;
  arm_nn_activation_type activation_type;
} cmsis_nn_lstm_gate;

typedef struct {
  int32_t time_major;
  int32_t batch_size;
  int32_t time_steps;
  int32_t input_size;
  int32_t hidden_size;
  int32_t input_offset;
  int32_t forget_to_cell_multiplier;
  int32_t forget_to_cell_shift;
  int32_t input_to_cell_multiplier;
  int32_t input_to_cell_shift;
  int32_t cell_clip;
  int32_t cell_scale_power;
  int32_t output_multiplier;
  int32_t output_shift;
  int32_t output_offset;
  cmsis_nn_lstm_gate forget_gate;
  cmsis_nn_lstm_gate input_gate;
  cmsis_nn_lstm_gate cell_gate;
  cmsis_nn_lstm_gate output_gate;
} cmsis_nn_lstm_params;

typedef struct {
  void* temp1;
  void* temp2;
  void* cell_state;
} cmsis_nn_lstm_context;
#endif
