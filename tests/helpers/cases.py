"""C bodies (lib1 of `helpers.projects.make_project`) that several test modules use."""

TWO_OPS = """
TVM_DLL int32_t tvmgen_t_op_a(int8_t* p0, int8_t* T_out) {
  void* data_vec = TVMBackendAllocWorkspace(1, 0, (uint64_t)1024, 0, 8);
  if (data_vec == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 1024; ++i) {
    ((int8_t*)data_vec)[i] = p0[i];
  }
  int8_t* row = (int8_t*)data_vec + 64;
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = row[i];
  }
  if (TVMBackendFreeWorkspace(1, 0, data_vec) != 0) {
    return -1;
  }
  return 0;
}
static int32_t* tvmgen_t_saved;
TVM_DLL int32_t tvmgen_t_op_b(int8_t* p0, int8_t* T_out) {
  void* data_vec = TVMBackendAllocWorkspace(1, 0, (uint64_t)(4 * 512), 2, 32);
  if (data_vec == NULL) {
    return -1;
  }
  tvmgen_t_saved = (int32_t*)data_vec;
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = p0[i] + (int8_t)tvmgen_t_saved[i];
  }
  if (TVMBackendFreeWorkspace(1, 0, data_vec) != 0) {
    return -1;
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  if (tvmgen_t_op_a(x, sid_1) != 0 ) return -1;
  if (tvmgen_t_op_b(sid_1, y) != 0 ) return -1;
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {
    return -1;
  }
  return 0;
}
"""


# USMP-built (helpers.projects.make_usmp_project): an entry that runs `tvmgen_t_op` once.
USMP_ENTRY = """
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x_buffer_var, int8_t* y_buffer_var, uint8_t* global_workspace_1_var) {
  if (tvmgen_t_op(x_buffer_var, y_buffer_var, global_workspace_1_var) != 0 ) return -1;
  return 0;
}
"""  # noqa: E501

# s holds 64 int32 first, then (after t took what it needed) 4 int32 beside u: one slice,
# two uses in sequence. As one box it keeps 256 B all along (512 B in all); split at the
# statement that rewrites every byte read after it, its second use takes 16 B (272 B).
TWO_USES = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* s_let = (&(global_workspace_2_var[0]));
  void* t_let = (&(global_workspace_2_var[256]));
  void* u_let = (&(global_workspace_2_var[272]));
  for (int32_t i = 0; i < 64; ++i) {
    ((int32_t*)s_let)[i] = ((int32_t)p0[i]) * 2;
  }
  for (int32_t i = 0; i < 4; ++i) {
    ((int32_t*)t_let)[i] = ((int32_t*)s_let)[(i * 16)] + ((int32_t*)s_let)[((i * 16) + 15)];
  }
  for (int32_t i = 0; i < 4; ++i) {
    ((int32_t*)s_let)[i] = ((int32_t*)t_let)[(3 - i)];
  }
  for (int32_t i = 0; i < 60; ++i) {
    ((int32_t*)u_let)[i] = (((int32_t*)s_let)[(i & 3)] + ((int32_t*)t_let)[(i & 3)]) + i;
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = (int8_t)(((int32_t*)u_let)[(i % 60)] + ((int32_t*)s_let)[(i & 3)]);
  }
  return 0;
}
"""

# An entry with no workspace call and no USMP pool: nothing to rewrite.
STATIC = """
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  for (int32_t i = 0; i < 16; ++i) {
    y[i] = x[i];
  }
  return 0;
}
"""
