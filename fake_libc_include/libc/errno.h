#ifndef CREWRITE_FAKE_ERRNO_H
#define CREWRITE_FAKE_ERRNO_H
extern int errno;
#endif
