#ifndef CREWRITE_FAKE_STDARG_H
#define CREWRITE_FAKE_STDARG_H
typedef void* va_list;
#endif
