"""Training on data larger than memory: sklstm.partial_fit_chunks.

What it reads (every row once per pass, in contiguous blocks, in a seeded
order), what it trains (bitwise the same as the partial_fit calls it stands
for, from a memory map or a dask array as from memory), and how much memory
it holds: a child process trains on a file four times larger than the
memory it may grow by, and its peak memory does not grow with the number of
chunks.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sklstm import LSTMClassifier, LSTMRegressor, partial_fit_chunks

TINY_NET = dict(hidden_layer_sizes=(4,), learning_rate_init=0.01, random_state=0)


class Recorder:
    """An incremental learner that records the rows (X holds row numbers) and arguments it was given."""

    def __init__(self):
        self.calls = []

    def partial_fit(self, X, y, **kwargs):
        self.calls.append((np.asarray(X).ravel().tolist(), kwargs))
        return self


def _rows(n):
    return np.arange(n)[:, None], np.zeros(n)


def test_every_pass_reads_every_row_once_in_blocks_of_contiguous_rows():
    X, y = _rows(103)
    rec = partial_fit_chunks(Recorder(), X, y, 20, epochs=3, block_size=5, random_state=0)
    chunks = [rows for rows, _ in rec.calls]
    assert len(chunks) == 3 * 6  # 103 rows: five chunks of 20 and one of 3, per pass
    passes = [sum(chunks[i * 6:(i + 1) * 6], []) for i in range(3)]
    for rows in passes:
        assert sorted(rows) == list(range(103))
    assert passes[0] != passes[1] != passes[2]  # a new order in each pass
    for rows in chunks:
        assert len(rows) <= 20
        runs = np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1)
        for run in runs:  # whole blocks: contiguous rows from a multiple of 5 to one (or to the end)
            assert run[0] % 5 == 0 and (run[-1] + 1) % 5 == 0 or run[-1] == 102, rows
    # several places of the data in one chunk
    assert any(len({r // 20 for r in rows}) > 1 for rows in chunks)


def test_order_is_seeded_and_unshuffled_order_is_the_file_order():
    X, y = _rows(50)
    a = partial_fit_chunks(Recorder(), X, y, 8, epochs=2, random_state=3).calls
    b = partial_fit_chunks(Recorder(), X, y, 8, epochs=2, random_state=3).calls
    c = partial_fit_chunks(Recorder(), X, y, 8, epochs=2, random_state=4).calls
    assert a == b and a != c
    plain = partial_fit_chunks(Recorder(), X, y, 8, epochs=2, shuffle=False, block_size=2).calls
    assert [rows for rows, _ in plain] == [list(range(s, min(s + 8, 50))) for s in range(0, 50, 8)] * 2


def test_the_same_as_the_partial_fit_calls_it_stands_for(rng):
    X = rng.normal(size=(90, 5, 2)).astype("float32")
    y = X[:, :, 0].mean(axis=1)
    w = rng.uniform(0.5, 1.5, size=90)
    by_hand = LSTMRegressor(**TINY_NET)
    for _ in range(2):
        for s in range(0, 90, 40):
            by_hand.partial_fit(X[s:s + 40], y[s:s + 40], sample_weight=w[s:s + 40])
    est = partial_fit_chunks(LSTMRegressor(**TINY_NET), X, y, 40, epochs=2, shuffle=False, sample_weight=w)
    np.testing.assert_array_equal(est.coefs_flat_, by_hand.coefs_flat_)
    assert est.n_iter_ == 6 and est.t_ == 180 and len(est.loss_curve_) == 6


def test_a_memory_map_trains_bitwise_as_memory(rng, tmp_path):
    X = rng.normal(size=(120, 6, 3)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    Xm, ym = np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")
    kw = dict(chunk_size=50, epochs=2, block_size=10, random_state=0)
    a = partial_fit_chunks(LSTMClassifier(**TINY_NET), X, y, **kw)
    b = partial_fit_chunks(LSTMClassifier(**TINY_NET), Xm, ym, **kw)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    np.testing.assert_array_equal(a.classes_, [0, 1])


def test_dask_arrays_train_bitwise_as_numpy(rng):
    da = pytest.importorskip("dask.array")
    X = rng.normal(size=(100, 4, 2)).astype("float32")
    y = X[:, :, 1].mean(axis=1)
    kw = dict(chunk_size=30, epochs=2, block_size=15, random_state=0)
    a = partial_fit_chunks(LSTMRegressor(**TINY_NET), X, y, **kw)
    b = partial_fit_chunks(LSTMRegressor(**TINY_NET), da.from_array(X, chunks=(25, 4, 2)),
                           da.from_array(y, chunks=25), **kw)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    unknown = da.from_array(X, chunks=(25, 4, 2))[da.from_array(y, chunks=25) > 0]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        partial_fit_chunks(LSTMRegressor(), unknown, y, 10)


def test_classes_are_read_from_y_when_a_chunk_lacks_one(rng):
    X = rng.normal(size=(60, 3, 2))
    y = np.array(["a"] * 30 + ["b"] * 20 + ["c"] * 10)  # sorted: the first chunks hold one class
    est = partial_fit_chunks(LSTMClassifier(**TINY_NET), X, y, 25, shuffle=False)
    np.testing.assert_array_equal(est.classes_, ["a", "b", "c"])
    sgd = partial_fit_chunks(SGDClassifier(random_state=0), X[:, 0, :], y, 25, random_state=0)
    np.testing.assert_array_equal(sgd.classes_, ["a", "b", "c"])  # any scikit-learn incremental learner
    again = partial_fit_chunks(est, X, y, 25)  # fitted: its classes_, no pass over y
    np.testing.assert_array_equal(again.classes_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="not the same"):
        partial_fit_chunks(est, X, y, 25, classes=["a", "b"])


def test_multilabel_needs_no_classes_and_ragged_lists_and_dataframes_are_sliced(rng):
    pd = pytest.importorskip("pandas")
    X = rng.normal(size=(40, 3, 2))
    Y = (X[:, :, :2].sum(axis=1) > 0).astype(int)
    est = partial_fit_chunks(LSTMClassifier(**TINY_NET), X, Y, 15, random_state=0)
    assert est.classes_.tolist() == [0, 1] and est.n_iter_ == 3
    seqs = [rng.normal(size=(int(rng.integers(2, 7)), 2)) for _ in range(30)]
    reg = partial_fit_chunks(LSTMRegressor(**TINY_NET), seqs, np.ones(30), 10, block_size=5, random_state=0)
    assert reg.t_ == 30
    df = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"], index=np.arange(100, 130))
    reg = partial_fit_chunks(LSTMRegressor(**TINY_NET), df, pd.Series(np.ones(30), index=df.index), 7,
                             block_size=3, random_state=0)
    assert reg.t_ == 30 and list(reg.feature_names_in_) == ["a", "b", "c"]


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(estimator=object()), TypeError, "partial_fit"),
    (dict(X=iter(range(10))), TypeError, "sliceable"),
    (dict(X=3.0), TypeError, "sliceable"),
    (dict(y=np.zeros(9)), ValueError, "X has 10 rows but y has 9"),
    (dict(y=None), ValueError, "y is required"),
    (dict(sample_weight=np.ones(11)), ValueError, "sample_weight has 11"),
    (dict(X=np.zeros((0, 2, 1)), y=np.zeros(0)), ValueError, "no rows"),
    (dict(chunk_size=0), ValueError, "chunk_size must be at least 1"),
    (dict(chunk_size=2.5), TypeError, "chunk_size must be an int"),
    (dict(chunk_size=True), TypeError, "chunk_size must be an int"),
    (dict(epochs=0), ValueError, "epochs must be at least 1"),
    (dict(block_size=6), ValueError, "block_size must be at most chunk_size=5"),
    (dict(block_size="4"), TypeError, "block_size must be an int"),
    (dict(estimator=LSTMClassifier(), y=[np.zeros(i % 3 + 1) for i in range(10)]), ValueError,
     "pass classes="),
])
def test_bad_input_is_refused_before_any_training(kwargs, error, match):
    args = dict(estimator=Recorder(), X=np.zeros((10, 2, 1)), y=np.zeros(10), chunk_size=5)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        partial_fit_chunks(**args)
    if isinstance(args["estimator"], Recorder):
        assert args["estimator"].calls == []


# The child trains on a memory-mapped file. After a warm-up (kernels loaded, threads and allocator
# started) its data segment may grow by BUDGET bytes only (RLIMIT_DATA counts private writable
# memory, not the read-only file mapping); a thread samples its resident anonymous memory
# (RssAnon) during a pass over half of the file, then over all of it.
_CHILD = r"""
import json, resource, sys, threading
import numpy as np
from sklstm import LSTMRegressor, partial_fit_chunks

def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ":"))

peak, stop = [0], threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], status("RssAnon"))
        stop.wait(0.0005)
def peak_of(fn):
    peak[0] = status("RssAnon")
    fn()
    return peak[0]

X, y = np.load(sys.argv[1], mmap_mode="r"), np.load(sys.argv[2], mmap_mode="r")
chunk, budget = int(sys.argv[3]), int(sys.argv[4])
threading.Thread(target=sample, daemon=True).start()
est = LSTMRegressor(hidden_layer_sizes=(4,), batch_size=128, learning_rate_init=0.01, random_state=0)
LSTMRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(X[:2], y[:2])  # load the kernels
before = status("RssAnon")
warm = peak_of(lambda: partial_fit_chunks(est, X[:2 * chunk], y[:2 * chunk], chunk, random_state=0))
resource.setrlimit(resource.RLIMIT_DATA, (status("VmData") + budget, resource.RLIM_INFINITY))
half = peak_of(lambda: partial_fit_chunks(est, X[:len(X) // 2], y[:len(X) // 2], chunk,
                                          block_size=chunk // 4, random_state=1))
full = peak_of(lambda: partial_fit_chunks(est, X, y, chunk, block_size=chunk // 4, random_state=2))
stop.set()
try:
    np.array(X)  # the whole file in memory: must not fit under the cap
    whole = "fits"
except MemoryError:
    whole = "MemoryError"
print(json.dumps({"before": before, "warm": warm, "half": half, "full": full, "whole": whole,
                  "t": int(est.t_), "finite": bool(np.isfinite(est.coefs_flat_).all())}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="RLIMIT_DATA and /proc/self/status are Linux's")
def test_a_file_four_times_the_memory_budget_trains_in_flat_memory(tmp_path):
    n, T, F, chunk = 16384, 16, 64, 512  # 64 MiB of float32 in 32 chunks of 2 MiB
    budget = 16 * 2**20
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, T, F))
    rng = np.random.default_rng(0)
    for s in range(0, n, 2048):
        X[s:s + 2048] = rng.standard_normal((2048, T, F), dtype=np.float32)
    X.flush()
    np.save(tmp_path / "y.npy", X[:, :, 0].mean(axis=1))
    assert X.nbytes >= 4 * budget
    del X
    res = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "X.npy"), str(tmp_path / "y.npy"),
                          str(chunk), str(budget)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads(res.stdout.strip().splitlines()[-1])
    assert m["whole"] == "MemoryError", m  # the cap holds: the file could not have been in memory
    assert m["t"] == 2 * 512 + n // 2 + n and m["finite"]
    chunk_bytes = chunk * T * F * 4
    # 2, 16 and 32 chunks: the same peak (within half a chunk), a few chunks above the start
    assert abs(m["full"] - m["half"]) < chunk_bytes // 4, m
    assert max(m["half"], m["full"]) - m["warm"] < chunk_bytes // 2, m
    assert m["full"] - m["before"] < budget, m
