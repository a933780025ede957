"""Training on a file larger than memory: partial_fit over chunks of a memory map.

The training set is written to a ``.npy`` file piece by piece and opened
with ``np.load(..., mmap_mode="r")``: nothing is read until a chunk is
sliced. ``sklstm.partial_fit_chunks`` then reads one chunk at a time and
calls ``partial_fit`` on it, for a few passes over the file.

The file is stored sorted by class, as data often are (by label, by date).
Read in chunks of contiguous rows, every chunk holds one class and the
network forgets the others; read in small blocks from all over the file
(``block_size``), every chunk looks like the whole file. The two runs read
the same rows and train the same network on them; only the mixing differs.

    python examples/out_of_core.py
"""

import os
import tempfile
import time

import numpy as np

from sklstm import LSTMClassifier, partial_fit_chunks

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


def main():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path, y = write_sorted_file(folder, rng)
        X = np.load(path, mmap_mode="r")
        y_test = rng.integers(0, CLASSES, 1000)
        X_test = sequences(y_test, rng)
        print(f"file: {X.nbytes / 2**20:.1f} MiB, {N} sequences of {T} steps, stored sorted by class")
        print("| chunks read as | chunks x passes | accuracy | seconds |")
        print("|---|---|---|---|")
        for name, block in [("contiguous rows (one class each)", None), ("blocks of 50 rows, mixed", 50)]:
            clf = LSTMClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.05, random_state=0)
            t0 = time.perf_counter()
            partial_fit_chunks(clf, X, y, chunk_size=1000, epochs=3, block_size=block,
                               random_state=0)
            seconds = time.perf_counter() - t0
            print(f"| {name} | {clf.n_iter_} | {clf.score(X_test, y_test):.3f} | {seconds:.1f} |")
        del X  # release the memory map before the folder goes


if __name__ == "__main__":
    main()
