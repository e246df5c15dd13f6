#ifndef CREWRITE_FAKE_STDLIB_H
#define CREWRITE_FAKE_STDLIB_H
#include <stddef.h>
void* malloc(size_t size);
void* calloc(size_t count, size_t size);
void free(void* ptr);
void abort(void);
void exit(int status);
int abs(int x);
long labs(long x);
#endif
