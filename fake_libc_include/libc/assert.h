#ifndef CREWRITE_FAKE_ASSERT_H
#define CREWRITE_FAKE_ASSERT_H
#define assert(x) ((void)0)
#endif
