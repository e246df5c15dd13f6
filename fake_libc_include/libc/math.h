#ifndef CREWRITE_FAKE_MATH_H
#define CREWRITE_FAKE_MATH_H
double exp(double x);
float expf(float x);
double log(double x);
float logf(float x);
double sqrt(double x);
float sqrtf(float x);
double tanh(double x);
float tanhf(float x);
double fabs(double x);
float fabsf(float x);
double floor(double x);
float floorf(float x);
double ceil(double x);
float ceilf(float x);
double round(double x);
float roundf(float x);
double sin(double x);
float sinf(float x);
double cos(double x);
float cosf(float x);
double tan(double x);
float tanf(float x);
double erf(double x);
float erff(float x);
double exp2(double x);
float exp2f(float x);
double log2(double x);
float log2f(float x);
double log10(double x);
float log10f(float x);
double trunc(double x);
float truncf(float x);
double nearbyint(double x);
float nearbyintf(float x);
double rint(double x);
float rintf(float x);
double atan(double x);
float atanf(float x);
double asin(double x);
float asinf(float x);
double acos(double x);
float acosf(float x);
double sinh(double x);
float sinhf(float x);
double cosh(double x);
float coshf(float x);
double pow(double x, double y);
float powf(float x, float y);
double fmax(double x, double y);
float fmaxf(float x, float y);
double fmin(double x, double y);
float fminf(float x, float y);
double fmod(double x, double y);
float fmodf(float x, float y);
double atan2(double x, double y);
float atan2f(float x, float y);
int isnan(double x);
int isinf(double x);
#define INFINITY (1e300 * 1e300)
#define NAN (0.0 / 0.0)
#define HUGE_VALF INFINITY
#endif
