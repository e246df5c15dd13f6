/* For the fixture oracle (tests/expected_test.py), the USMP tests and tools/bench_usmp.py:
   the pthread names that two fixtures' hand-extended or vendor files use. crewrite's own
   headers leave pthread.h out on purpose, so that those fixtures exercise a file crewrite
   cannot read and leaves out (and, given this folder with -I, can). */
#ifndef CREWRITE_TESTS_PTHREAD_H_
#define CREWRITE_TESTS_PTHREAD_H_
typedef struct {
  int locked;
} pthread_mutex_t;
#define PTHREAD_MUTEX_INITIALIZER {0}
int pthread_mutex_lock(pthread_mutex_t* mutex);
int pthread_mutex_unlock(pthread_mutex_t* mutex);
#endif
