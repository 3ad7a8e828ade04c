/* Relaxed atomics: counters and a flag shared by the threads of a parallel loop (_core). */
#ifndef FC_ATOMIC_H
#define FC_ATOMIC_H
#if defined(_MSC_VER)
#include <windows.h>
static inline void fc_atomic_add(Py_ssize_t *p, Py_ssize_t v) {
    InterlockedExchangeAdd64((volatile LONG64 *)p, (LONG64)v); }
static inline Py_ssize_t fc_atomic_add_fetch(Py_ssize_t *p, Py_ssize_t v) {
    return (Py_ssize_t)InterlockedExchangeAdd64((volatile LONG64 *)p, (LONG64)v) + v; }
static inline void fc_atomic_store(Py_ssize_t *p, Py_ssize_t v) {
    InterlockedExchange64((volatile LONG64 *)p, (LONG64)v); }
static inline int fc_flag_get(int *p) { return *(volatile int *)p; }
static inline void fc_flag_set(int *p, int v) { InterlockedExchange((volatile LONG *)p, v); }
#else
static inline void fc_atomic_add(Py_ssize_t *p, Py_ssize_t v) {
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline Py_ssize_t fc_atomic_add_fetch(Py_ssize_t *p, Py_ssize_t v) {
    return __atomic_add_fetch(p, v, __ATOMIC_RELAXED); }
static inline void fc_atomic_store(Py_ssize_t *p, Py_ssize_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline int fc_flag_get(int *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void fc_flag_set(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
#endif

/* An evaluator's counter += v, atomic only inside an active OpenMP parallel region: the one place
 * where threads share an evaluator (each call of a kernel makes its own; the adapter's cache hands
 * one out only when nobody else holds it).  A locked add costs about 20 ns here, a third of a 2-D
 * gradient-descent step. */
#if defined(_OPENMP)
#include <omp.h>
static inline Py_ssize_t fc_count_add_fetch(Py_ssize_t *p, Py_ssize_t v) {
    if (omp_in_parallel())
        return fc_atomic_add_fetch(p, v);
    *p += v;
    return *p;
}
#else
static inline Py_ssize_t fc_count_add_fetch(Py_ssize_t *p, Py_ssize_t v) {
    return fc_atomic_add_fetch(p, v); }
#endif

#endif
