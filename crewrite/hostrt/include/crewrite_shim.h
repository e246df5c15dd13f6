/* crewrite's host "board runtime": what a generated microTVM project needs from the device
 * runtime to run on the build machine.
 *
 * TVMBackendAllocWorkspace / TVMBackendFreeWorkspace are served from a LIFO stack over a
 * pool handed in with shim_workspace_init(), like the C runtime's stack allocator: every
 * allocation is rounded up to CREWRITE_SHIM_ALIGN bytes (default 16, the runtime's
 * TVM_RUNTIME_ALLOC_ALIGNMENT_BYTES) and starts aligned to it; frees must come in reverse
 * order (the shim aborts with a message otherwise); an allocation that does not fit returns
 * NULL after a message on stderr. Each new buffer is filled with a byte that changes with
 * every allocation and with the environment variable CREWRITE_FILL_SEED (default 1), so a
 * program that reads scratch memory before writing it gives different results under
 * different fill seeds.
 */
#ifndef CREWRITE_SHIM_H_
#define CREWRITE_SHIM_H_
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Build with -DCREWRITE_SHIM_EXACT_MALLOC -fsanitize=address to give every buffer its own
   exact-size heap block, so that AddressSanitizer reports any access past a buffer's end
   (peak and calls are counted as in the pool). */

/* Hand the allocator its pool; resets the stack, the peak and the call counter
   (not the fill sequence). The start is aligned up to CREWRITE_SHIM_ALIGN bytes. */
void shim_workspace_init(uint8_t* pool, size_t size);
/* Highest number of bytes held at once since the last shim_workspace_init. */
size_t shim_workspace_peak(void);
/* Number of TVMBackendAllocWorkspace calls since the last shim_workspace_init. */
size_t shim_workspace_calls(void);
/* Bytes currently held (0 after a balanced run). */
size_t shim_workspace_in_use(void);
/* Fill `n` bytes the way a new workspace buffer is filled (next byte of the fill sequence);
   for memory the application hands the model, such as workspace pools. */
void shim_fill(void* data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
