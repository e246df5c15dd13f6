/* Host "board runtime" for building crewrite fixtures on the build machine.
 *
 * TVMBackendAllocWorkspace / TVMBackendFreeWorkspace are served from a LIFO stack over a
 * pool the application hands in with shim_workspace_init(). Every allocation is rounded up
 * to 16 bytes and 16-byte aligned; frees must come in reverse order (the shim aborts with a
 * message otherwise); an allocation that does not fit returns NULL. Each new buffer is
 * filled with a byte that changes with every allocation and with the environment variable
 * CREWRITE_FILL_SEED (default 1), so a program that reads scratch memory before writing it
 * gives different results under different fill seeds.
 */
#ifndef CREWRITE_SHIM_H_
#define CREWRITE_SHIM_H_
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Build with -DCREWRITE_SHIM_EXACT_MALLOC -fsanitize=address to give every buffer its own
   exact-size heap block (overruns reported; peak and calls unchanged). */

/* Hand the allocator its pool; resets the stack, the peak and the call counter
   (not the fill sequence). The start is aligned up to 16 bytes. */
void shim_workspace_init(uint8_t* pool, size_t size);
/* Highest number of bytes held at once since the last shim_workspace_init. */
size_t shim_workspace_peak(void);
/* Number of TVMBackendAllocWorkspace calls since the last shim_workspace_init. */
size_t shim_workspace_calls(void);
/* Bytes currently held (0 after a balanced run). */
size_t shim_workspace_in_use(void);

#ifdef __cplusplus
}
#endif
#endif
