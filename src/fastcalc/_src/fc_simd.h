/* The ONE place for fastcalc's vectorisation macros; every C file (and inline C block) includes it.
 *
 * FC_SIMD      `#pragma omp simd` before a loop over points (needs -fopenmp or -fopenmp-simd,
 *              which setup.py always passes; otherwise the pragma is ignored).
 * FC_SIMD_REDUCTION(clause)  the same with a reduction, e.g. FC_SIMD_REDUCTION(+:s).
 * FC_CLONES    GCC target_clones: the function is also compiled for x86-64-v3 (AVX2, FMA) and
 *              x86-64-v4 (AVX-512), chosen at load time (an ifunc), so one portable wheel uses the
 *              wide vectors where the CPU has them.  Empty elsewhere, or with -DFC_NO_CLONES (the
 *              sanitizer build uses it: ASan and ifuncs do not mix well).
 * FC_HAVE_CLONES  1 where FC_CLONES is active, else 0.
 * FC_INLINE    static inline, forced where the compiler allows it.
 * No -ffast-math anywhere: kernels test for NaN and inf. */
#ifndef FC_SIMD_H
#define FC_SIMD_H

#define FC_PRAGMA(x) _Pragma(#x)
#define FC_SIMD _Pragma("omp simd")
#define FC_SIMD_REDUCTION(clause) FC_PRAGMA(omp simd reduction(clause))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FC_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#define FC_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#define FC_HAVE_CLONES 1
#else
#define FC_CLONES
#define FC_HAVE_CLONES 0
#endif

#if defined(__GNUC__)
#define FC_INLINE static inline __attribute__((always_inline))
#else
#define FC_INLINE static inline
#endif

#endif
