#ifndef CREWRITE_FAKE_STDIO_H
#define CREWRITE_FAKE_STDIO_H
#include <stddef.h>
typedef struct crewrite_fake_file FILE;
int printf(const char* format, ...);
int fprintf(FILE* stream, const char* format, ...);
int snprintf(char* out, size_t n, const char* format, ...);
int puts(const char* s);
#endif
