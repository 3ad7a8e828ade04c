/* The accepted low-level signatures as SciPy, ctypes and numba spell them, and their codes
   (SIG_* in _core.pxd); other spellings go through _core._normalize_signature. */
#ifndef FC_SIGS_H
#define FC_SIGS_H
#include <string.h>
static int fc_sig_code(const char *s) {
    static const char *names[6] = {
        "double (double)", "double (double, void *)", "double (int, double *)",
        "double (int, double *, void *)", "void (int, const double *, int, double *, void *)",
        "void (int, double *, int, double *, void *)"};
    static const int codes[6] = {0, 1, 2, 3, 4, 4};
    int i;
    for (i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0) return codes[i];
    return -1;
}

#endif
