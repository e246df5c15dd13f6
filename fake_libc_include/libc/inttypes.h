#ifndef CREWRITE_FAKE_INTTYPES_H
#define CREWRITE_FAKE_INTTYPES_H
#include <stdint.h>
#define PRId32 "d"
#define PRIu32 "u"
#define PRId64 "lld"
#define PRIu64 "llu"
#endif
