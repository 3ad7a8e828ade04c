/* Plain-argument checks of the compiled fast paths (quad_single, fixed_single): is this Python
 * object a float or an int (exactly: not bool, not a NumPy scalar) whose value fits a double?
 * Anything else -- and an int too large for a double -- is left to the wrapper's general path,
 * which validates it and raises the documented error.  Included after Python.h (Cython). */
#ifndef FC_PYARGS_H
#define FC_PYARGS_H
#include <Python.h>

static inline int fc_plain_real(PyObject *v, double *out) {
    if (PyFloat_CheckExact(v)) {
        *out = PyFloat_AS_DOUBLE(v);
        return 1;
    }
    if (PyLong_CheckExact(v)) {
        double d = PyLong_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred()) {     /* OverflowError: not for the fast path */
            PyErr_Clear();
            return 0;
        }
        *out = d;
        return 1;
    }
    return 0;
}

#endif
