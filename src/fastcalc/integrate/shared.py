"""What the integration modules share: the warning class and the status messages."""
from fastcalc._qengine import FLAGS

try:  # SciPy's warning class, so existing warning filters keep working
    from scipy.integrate import IntegrationWarning
except ImportError:  # pragma: no cover
    class IntegrationWarning(UserWarning):
        """Warning on issues during integration."""

__all__ = ["IntegrationWarning", "FLAGS", "message", "flag_names"]

#: QUADPACK's messages for ier = 1, 2, 3 (as scipy.integrate.quad words them)
IER_MESSAGES = {
    1: "The maximum number of subdivisions ({limit}) has been achieved.\n  If increasing the "
       "limit yields no improvement it is advised to analyze \n  the integrand in order to "
       "determine the difficulties.  If the position of a \n  local difficulty can be determined "
       "(singularity, discontinuity) one will \n  probably gain from splitting up the interval "
       "and calling the integrator \n  on the subranges.  Perhaps a special-purpose integrator "
       "should be used.",
    2: "The occurrence of roundoff error is detected, which prevents \n  the requested tolerance "
       "from being achieved.  The error may be \n  underestimated.",
    3: "Extremely bad integrand behavior occurs at some points of the\n  integration interval.",
}
MSG_NONFINITE = "The integrand returned NaN or inf at a node; the result is NaN."
MSG_TRANSFORM = ("The map of the infinite range overflowed: a finite integrand value times the "
                 "map's Jacobian is not finite\n  (the integrand does not decay towards infinity; "
                 "the integral probably diverges).  The result is NaN.")
MSG_ZERO = ("The integrand was 0 at every one of the {neval} nodes sampled, so the result 0 is "
            "not confirmed:\n  a narrow peak between the nodes may have been missed.  Give "
            "`points=` near the feature or\n  split the interval.")
MSG_INNER = "{nfail} inner integral(s) did not converge (worst status {worst})."


def message(ier, flags, limit, neval):
    """The message for status ``ier`` with the engine's ``flags``."""
    if flags & FLAGS["transform-overflow"]:
        return MSG_TRANSFORM
    if flags & FLAGS["nonfinite"]:
        return MSG_NONFINITE
    if flags & FLAGS["all-zero"]:
        return MSG_ZERO.format(neval=neval)
    return IER_MESSAGES.get(ier, "Unknown error.").format(limit=limit)


def flag_names(flags):
    """The names of the bits set in ``flags``, comma-separated (the infodict's ``flags``)."""
    return ",".join(name for name, bit in FLAGS.items() if flags & bit)
