/* Host implementations of the CMSIS-NN kernels that CMSIS-NN external codegen calls, written
 * for crewrite. crewrite verify links them unless the user compiles their own CMSIS-NN copy
 * (--lib-src). They follow the kernels' interfaces (fake_libc_include/cmsis/arm_nnfunctions.h)
 * and do use the scratch in ctx->buf: convolution and depthwise convolution gather each
 * receptive field into it as int16 (im2col) and compute from there; average pooling keeps
 * its int32 sums there. A context that is too small gives ARM_CMSIS_NN_ARG_ERROR.
 *
 * Requantization: out = round(acc * multiplier / 2^(31 - shift)), multiplier in Q31.
 * Filter layouts: convolution [out_ch][kh][kw][in_ch], depthwise [kh][kw][ch],
 * fully connected [out][in].
 */
#include <stddef.h>
#include <stdint.h>

#include <arm_nnfunctions.h>

static int32_t host_requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  int32_t rs = 31 - shift;
  int64_t prod = (int64_t)acc * (int64_t)multiplier;
  if (rs <= 0) {
    return (int32_t)(prod << (-rs));
  }
  return (int32_t)((prod + ((int64_t)1 << (rs - 1))) >> rs);
}

static int8_t host_clamp(int32_t v, const cmsis_nn_activation* act) {
  if (v < act->min) v = act->min;
  if (v > act->max) v = act->max;
  return (int8_t)v;
}

/* The receptive field of output (oy, ox) into col as int16, [ky][kx][c], the input offset
   added; a position in the padding holds 0. */
static void host_im2col(int16_t* col, const int8_t* input, const cmsis_nn_dims* input_dims,
                        int32_t KH, int32_t KW, cmsis_nn_tile stride, cmsis_nn_tile padding,
                        int32_t input_offset, int32_t oy, int32_t ox) {
  const int32_t H = input_dims->h, W = input_dims->w, C = input_dims->c;
  for (int32_t ky = 0; ky < KH; ++ky) {
    for (int32_t kx = 0; kx < KW; ++kx) {
      int32_t iy = oy * stride.h - padding.h + ky;
      int32_t ix = ox * stride.w - padding.w + kx;
      for (int32_t c = 0; c < C; ++c) {
        int16_t v = 0;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
          v = (int16_t)(input[((iy * W) + ix) * C + c] + input_offset);
        }
        col[(ky * KW + kx) * C + c] = v;
      }
    }
  }
}

int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params* conv_params,
                                                const cmsis_nn_dims* input_dims,
                                                const cmsis_nn_dims* filter_dims,
                                                const cmsis_nn_dims* output_dims) {
  (void)output_dims;
  if (filter_dims->h == 1 && filter_dims->w == 1 && conv_params->stride.h == 1 &&
      conv_params->stride.w == 1 && conv_params->padding.h == 0 && conv_params->padding.w == 0) {
    return 0;
  }
  return 2 * filter_dims->h * filter_dims->w * input_dims->c;
}

arm_cmsis_nn_status arm_convolve_wrapper_s8(
    const cmsis_nn_context* ctx, const cmsis_nn_conv_params* conv_params,
    const cmsis_nn_per_channel_quant_params* quant_params, const cmsis_nn_dims* input_dims,
    const int8_t* input_data, const cmsis_nn_dims* filter_dims, const int8_t* filter_data,
    const cmsis_nn_dims* bias_dims, const int32_t* bias_data, const cmsis_nn_dims* output_dims,
    int8_t* output_data) {
  (void)bias_dims;
  const int32_t W = input_dims->w, CI = input_dims->c;
  const int32_t KH = filter_dims->h, KW = filter_dims->w, CO = output_dims->c;
  const int32_t OH = output_dims->h, OW = output_dims->w;
  const int32_t need = arm_convolve_wrapper_s8_get_buffer_size(conv_params, input_dims,
                                                               filter_dims, output_dims);
  if (filter_dims->n != CO || filter_dims->c != CI) {
    return ARM_CMSIS_NN_ARG_ERROR;
  }
  if (need > 0 && (ctx == NULL || ctx->buf == NULL || ctx->size < need)) {
    return ARM_CMSIS_NN_ARG_ERROR;
  }
  const int32_t K = KH * KW * CI;
  for (int32_t oy = 0; oy < OH; ++oy) {
    for (int32_t ox = 0; ox < OW; ++ox) {
      const int8_t* direct = NULL;
      int16_t* col = NULL;
      if (need == 0) {
        direct = input_data + ((oy * W) + ox) * CI;
      } else {
        col = (int16_t*)ctx->buf;
        host_im2col(col, input_data, input_dims, KH, KW, conv_params->stride, conv_params->padding,
                    conv_params->input_offset, oy, ox);
      }
      for (int32_t oc = 0; oc < CO; ++oc) {
        int32_t acc = bias_data != NULL ? bias_data[oc] : 0;
        const int8_t* f = filter_data + oc * K;
        if (col != NULL) {
          for (int32_t k = 0; k < K; ++k) acc += (int32_t)col[k] * (int32_t)f[k];
        } else {
          for (int32_t k = 0; k < K; ++k) {
            acc += ((int32_t)direct[k] + conv_params->input_offset) * (int32_t)f[k];
          }
        }
        int32_t v = host_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
        output_data[((oy * OW) + ox) * CO + oc] =
            host_clamp(v + conv_params->output_offset, &conv_params->activation);
      }
    }
  }
  return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(
    const cmsis_nn_context* ctx, const cmsis_nn_dw_conv_params* dw_conv_params,
    const cmsis_nn_per_channel_quant_params* quant_params, const cmsis_nn_dims* input_dims,
    const int8_t* input_data, const cmsis_nn_dims* filter_dims, const int8_t* filter_data,
    const cmsis_nn_dims* bias_dims, const int32_t* bias_data, const cmsis_nn_dims* output_dims,
    int8_t* output_data) {
  (void)bias_dims;
  const int32_t C = input_dims->c;
  const int32_t KH = filter_dims->h, KW = filter_dims->w;
  const int32_t OH = output_dims->h, OW = output_dims->w;
  const int32_t need = 2 * KH * KW * C;
  if (dw_conv_params->ch_mult != 1 || filter_dims->c != C || output_dims->c != C) {
    return ARM_CMSIS_NN_ARG_ERROR;
  }
  if (ctx == NULL || ctx->buf == NULL || ctx->size < need) {
    return ARM_CMSIS_NN_ARG_ERROR;
  }
  int16_t* col = (int16_t*)ctx->buf;
  for (int32_t oy = 0; oy < OH; ++oy) {
    for (int32_t ox = 0; ox < OW; ++ox) {
      host_im2col(col, input_data, input_dims, KH, KW, dw_conv_params->stride,
                  dw_conv_params->padding, dw_conv_params->input_offset, oy, ox);
      for (int32_t c = 0; c < C; ++c) {
        int32_t acc = bias_data != NULL ? bias_data[c] : 0;
        for (int32_t k = 0; k < KH * KW; ++k) {
          acc += (int32_t)col[k * C + c] * (int32_t)filter_data[k * C + c];
        }
        int32_t v = host_requantize(acc, quant_params->multiplier[c], quant_params->shift[c]);
        output_data[((oy * OW) + ox) * C + c] =
            host_clamp(v + dw_conv_params->output_offset, &dw_conv_params->activation);
      }
    }
  }
  return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_s8(
    const cmsis_nn_context* ctx, const cmsis_nn_fc_params* fc_params,
    const cmsis_nn_per_tensor_quant_params* quant_params, const cmsis_nn_dims* input_dims,
    const int8_t* input_data, const cmsis_nn_dims* filter_dims, const int8_t* filter_data,
    const cmsis_nn_dims* bias_dims, const int32_t* bias_data, const cmsis_nn_dims* output_dims,
    int8_t* output_data) {
  (void)ctx;
  (void)bias_dims;
  (void)input_dims;
  const int32_t K = filter_dims->n, N = output_dims->c;
  for (int32_t n = 0; n < N; ++n) {
    int32_t acc = bias_data != NULL ? bias_data[n] : 0;
    for (int32_t k = 0; k < K; ++k) {
      acc += ((int32_t)input_data[k] + fc_params->input_offset) *
             ((int32_t)filter_data[n * K + k] + fc_params->filter_offset);
    }
    int32_t v = host_requantize(acc, quant_params->multiplier, quant_params->shift);
    output_data[n] = host_clamp(v + fc_params->output_offset, &fc_params->activation);
  }
  return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context* ctx,
                                   const cmsis_nn_pool_params* pool_params,
                                   const cmsis_nn_dims* input_dims, const int8_t* input_data,
                                   const cmsis_nn_dims* filter_dims,
                                   const cmsis_nn_dims* output_dims, int8_t* output_data) {
  const int32_t H = input_dims->h, W = input_dims->w, C = input_dims->c;
  const int32_t OH = output_dims->h, OW = output_dims->w;
  if (ctx == NULL || ctx->buf == NULL || ctx->size < 4 * C) {
    return ARM_CMSIS_NN_ARG_ERROR;
  }
  int32_t* sums = (int32_t*)ctx->buf;
  for (int32_t oy = 0; oy < OH; ++oy) {
    for (int32_t ox = 0; ox < OW; ++ox) {
      int32_t count = 0;
      for (int32_t c = 0; c < C; ++c) sums[c] = 0;
      for (int32_t ky = 0; ky < filter_dims->h; ++ky) {
        for (int32_t kx = 0; kx < filter_dims->w; ++kx) {
          int32_t iy = oy * pool_params->stride.h - pool_params->padding.h + ky;
          int32_t ix = ox * pool_params->stride.w - pool_params->padding.w + kx;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          ++count;
          for (int32_t c = 0; c < C; ++c) sums[c] += input_data[((iy * W) + ix) * C + c];
        }
      }
      if (count == 0) return ARM_CMSIS_NN_ARG_ERROR;
      for (int32_t c = 0; c < C; ++c) {
        int32_t s = sums[c];
        int32_t v = (s > 0 ? s + count / 2 : s - count / 2) / count;
        output_data[((oy * OW) + ox) * C + c] = host_clamp(v, &pool_params->activation);
      }
    }
  }
  return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context* ctx,
                                    const cmsis_nn_pool_params* pool_params,
                                    const cmsis_nn_dims* input_dims, const int8_t* input_data,
                                    const cmsis_nn_dims* filter_dims,
                                    const cmsis_nn_dims* output_dims, int8_t* output_data) {
  (void)ctx;
  const int32_t H = input_dims->h, W = input_dims->w, C = input_dims->c;
  for (int32_t oy = 0; oy < output_dims->h; ++oy) {
    for (int32_t ox = 0; ox < output_dims->w; ++ox) {
      for (int32_t c = 0; c < C; ++c) {
        int32_t m = -128;
        for (int32_t ky = 0; ky < filter_dims->h; ++ky) {
          for (int32_t kx = 0; kx < filter_dims->w; ++kx) {
            int32_t iy = oy * pool_params->stride.h - pool_params->padding.h + ky;
            int32_t ix = ox * pool_params->stride.w - pool_params->padding.w + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            int32_t v = input_data[((iy * W) + ix) * C + c];
            if (v > m) m = v;
          }
        }
        output_data[((oy * output_dims->w) + ox) * C + c] = host_clamp(m, &pool_params->activation);
      }
    }
  }
  return ARM_CMSIS_NN_SUCCESS;
}
