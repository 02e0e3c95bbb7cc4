// libm_sincosf reads float32 values (little endian) from stdin and writes,
// for each, the float32 results of the C library's sinf and cosf, then of
// sincosf, to stdout. The CPU backend's sincosf is compared with it: on
// x86-64 Linux these are glibc's functions that llama.cpp's RoPE calls.
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>

int main(void) {
    float x;
    while (fread(&x, sizeof x, 1, stdin) == 1) {
        float r[4];
        r[0] = sinf(x);
        r[1] = cosf(x);
        sincosf(x, &r[2], &r[3]);
        fwrite(r, sizeof r[0], 4, stdout);
    }
    return 0;
}
