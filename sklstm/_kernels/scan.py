"""Input scan: lengths from trailing all-NaN padding and a finiteness check, in one pass."""

from ._jit import jit


@jit
def scan_padded(X, lengths):
    """Find each sequence's length and check every valid value is finite.

    A step is padding when it and every later step are all NaN.

    Parameters
    ----------
    X : ndarray of shape (n, T, F), float32 or float64, C-contiguous
    lengths : int64 ndarray of shape (n,)
        Output.

    Returns
    -------
    bad : int
        -1 when every valid value is finite, else the index of the first
        sequence holding a NaN or infinity outside its padding (or that is
        padding only).
    """
    n, T, F = X.shape
    for i in range(n):
        L = T
        while L > 0:
            row = X[i, L - 1]
            allnan = True
            for f in range(F):
                if row[f] == row[f]:
                    allnan = False
                    break
            if not allnan:
                break
            L -= 1
        lengths[i] = L
        if L == 0:
            return i
        flat = X[i].reshape(T * F)
        acc = 0.0
        for j in range(L * F):
            acc += flat[j] * 0.0
        if acc != 0.0:  # NaN or inf anywhere makes x * 0 NaN
            return i
    return -1
