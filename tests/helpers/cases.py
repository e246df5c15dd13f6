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
