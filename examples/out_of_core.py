"""
Training on a file larger than memory
=====================================

``partial_fit`` over chunks of a memory map. The training set is written to
a ``.npy`` file piece by piece and opened with ``np.load(..., mmap_mode="r")``:
nothing is read until a chunk is sliced. ``sklstm.partial_fit_chunks`` then
reads one chunk at a time and calls ``partial_fit`` on it, for a few passes
over the file.

The file is stored sorted by class, as data often are (by label, by date).
Read in chunks of contiguous rows, every chunk holds one class and the network
forgets the others; read in small blocks from all over the file
(``block_size``), every chunk looks like the whole file. The two runs read the
same rows and train the same network on them; only the mixing differs. The
figure shows the training loss of each chunk.

::

    python examples/out_of_core.py    # a few seconds (--quick and SKLSTM_EXAMPLES_QUICK change nothing)
"""

import os
import tempfile
import time

import numpy as np

from sklstm import LSTMClassifier, partial_fit_chunks

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

N, T, F, CLASSES, NOISE = 6000, 12, 4, 3, 1.0


def sequences(labels, rng):
    """Noisy sine waves, each class its own frequency."""
    steps = np.arange(T)[None, :, None]
    return (np.sin(steps * (0.5 + 0.15 * labels[:, None, None]))
            + rng.normal(0, NOISE, size=(len(labels), T, F))).astype(np.float32)


def write_sorted_file(folder, rng):
    """A (N, T, F) float32 file of three classes of sequences (stored by class) and its labels."""
    path = os.path.join(folder, "sequences.npy")
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N, T, F))
    y = np.repeat(np.arange(CLASSES), N // CLASSES)
    for start in range(0, N, 1000):  # in pieces: the whole file never needs to be in memory
        X[start:start + 1000] = sequences(y[start:start + 1000], rng)
    X.flush()
    return path, y


# %%
# A file sorted by class, opened as a memory map
# ----------------------------------------------
rng = np.random.default_rng(0)
folder = tempfile.TemporaryDirectory()
path, y = write_sorted_file(folder.name, rng)
X = np.load(path, mmap_mode="r")  # nothing is read yet
y_test = rng.integers(0, CLASSES, 1000)
X_test = sequences(y_test, rng)
print(f"file: {X.nbytes / 2**20:.1f} MiB, {N} sequences of {T} steps, stored sorted by class")

# %%
# Chunks of contiguous rows against chunks mixed from blocks
# ----------------------------------------------------------
# Six chunks of 1,000 rows per pass, three passes.
print("| chunks read as | chunks x passes | accuracy | seconds |")
print("|---|---|---|---|")
curves = {}
for name, block in [("contiguous rows (one class each)", None), ("blocks of 50 rows, mixed", 50)]:
    clf = LSTMClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.05, random_state=0)
    t0 = time.perf_counter()
    partial_fit_chunks(clf, X, y, chunk_size=1000, epochs=3, block_size=block, random_state=0)
    seconds = time.perf_counter() - t0
    print(f"| {name} | {clf.n_iter_} | {clf.score(X_test, y_test):.3f} | {seconds:.1f} |")
    curves[f"{name}: accuracy {clf.score(X_test, y_test):.3f}"] = clf.loss_curve_  # one mean loss per chunk
del X  # release the memory map before the folder goes
folder.cleanup()

# %%
# The training loss of each chunk
# -------------------------------
# Read in order, each chunk teaches one class: the loss drops within a class
# and jumps when the next class comes.
if plt is not None:
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, curve in curves.items():
        ax.plot(np.arange(1, len(curve) + 1), curve, marker="o", label=label)
    for boundary in (6.5, 12.5):
        ax.axvline(boundary, color="0.7", linestyle=":")
    ax.set_xticks(range(1, 19))
    ax.set_xlabel("chunk (6 per pass over the file)")
    ax.set_ylabel("training loss of the chunk")
    ax.legend()
    plt.show()
