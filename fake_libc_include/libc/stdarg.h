#ifndef CREWRITE_FAKE_STDARG_H
#define CREWRITE_FAKE_STDARG_H
typedef void* va_list;
#define va_start(ap, last) ((void)(ap))
#define va_arg(ap, type) (*(type*)(ap))
#define va_end(ap) ((void)(ap))
#define va_copy(dst, src) ((dst) = (src))
#endif
