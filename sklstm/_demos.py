"""The applications behind ``python -m sklstm demo <name>`` (each prints its score)."""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def _quiet():
    warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budgets are the point here


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def vowels(seed=0, epochs=100):
    """Speaker recognition on UCI Japanese Vowels: LSTM on ragged sequences vs an MLP on padded input."""
    from sklearn.neural_network import MLPClassifier

    from . import LSTMClassifier
    from .datasets import load_japanese_vowels
    from .preprocessing import SequenceScaler

    _quiet()
    X, y = load_japanese_vowels("train")
    Xt, yt = load_japanese_vowels("test")
    scaler = SequenceScaler().fit(X)
    Xs, Xts = scaler.transform(X), scaler.transform(Xt)
    clf = LSTMClassifier(hidden_layer_sizes=(64,), bidirectional=True, learning_rate_init=5e-3,
                         batch_size=32, max_iter=epochs, tol=1e-6, n_iter_no_change=20, random_state=seed)
    _, secs = _timed(lambda: clf.fit(Xs, y))
    acc = clf.score(Xts, yt)

    def flat(seqs):  # the usual workaround: zero-pad to 29 frames and flatten
        out = np.zeros((len(seqs), 29 * 12), dtype=np.float32)
        for i, s in enumerate(seqs):
            out[i, :s.size] = s.ravel()
        return out

    mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=seed).fit(flat(Xs), y)
    base = mlp.score(flat(Xts), yt)
    print("UCI Japanese Vowels: 9 speakers, 12 LPC coefficients, 7-29 frames; 270 train / 370 test")
    print(f"bidirectional LSTMClassifier(64) test accuracy: {acc:.3f}   "
          f"(fit {secs:.1f}s, {clf.n_iter_} epochs)")
    print(f"baseline MLP on zero-padded flattened frames: {base:.3f}")
    return {"accuracy": acc, "baseline": base}


def tagging(seed=0, epochs=60):
    """Per-step outputs on ragged sequences: tagging (classifier) and seq2seq regression."""
    from . import LSTMClassifier, LSTMRegressor

    _quiet()
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(rng.integers(5, 40)), 2)).astype(np.float32) for _ in range(600)]
    tags = [np.where(np.cumsum(x[:, 0]) > 0, "above", "below") for x in X]
    running = [np.cumsum(x[:, 1]) / np.sqrt(np.arange(1, len(x) + 1)) for x in X]
    tr, te = slice(0, 450), slice(450, None)
    clf = LSTMClassifier(hidden_layer_sizes=(32,), return_sequences=True, learning_rate_init=0.01,
                         batch_size=32, max_iter=epochs, random_state=seed).fit(X[tr], tags[tr])
    reg = LSTMRegressor(hidden_layer_sizes=(32,), return_sequences=True, learning_rate_init=0.01,
                        batch_size=32, max_iter=epochs, random_state=seed).fit(X[tr], running[tr])
    acc, r2 = clf.score(X[te], tags[te]), reg.score(X[te], running[te])
    print("per-step tagging (is the running sum of feature 0 positive?), ragged lengths 5-39")
    print(f"LSTMClassifier(return_sequences=True) per-step test accuracy: {acc:.3f}")
    print(f"LSTMRegressor(return_sequences=True) per-step test R2 (scaled running sum): {r2:.3f}")
    return {"accuracy": acc, "r2": r2}


def _snaive_growth(history, h, m=12):
    """Seasonal naive on logs plus the mean yearly growth: the last season again, grown each year."""
    logs = np.log(history)
    growth = float(np.mean(logs[m:] - logs[:-m]))
    steps = np.arange(1, h + 1)
    years = (steps - 1) // m + 1
    return np.exp(logs[len(logs) - m + (steps - 1) % m] + years * growth)


def airline(seed=0, epochs=200, origins=(96, 108, 120), horizon=12, seeds=3):
    """Airline passengers over rolling forecast origins: LSTMForecaster against seasonal naive baselines.

    Each origin refits on the months before it and forecasts the next
    ``horizon``; the mean sMAPE and RMSE over the origins are printed. The
    forecaster models logs with the M4 deseasonalisation, windows of two
    years scaled by their own level, and averages ``seeds`` fits.
    """
    from .datasets import load_airline
    from .forecasting import LSTMForecaster

    _quiet()
    y = load_airline()

    def smape(f, t):
        return float(np.mean(200 * np.abs(f - t) / (np.abs(f) + np.abs(t))))

    rows = {"LSTMForecaster": [], "seasonal naive": [], "seasonal naive + growth (logs)": []}
    secs = 0.0
    for origin in origins:
        truth = y[origin:origin + horizon]
        fits, t = _timed(lambda: [LSTMForecaster(horizon=horizon, seasonal_period=12, window=24, log=True,
                                                 deseasonalize=True, hidden_layer_sizes=32,
                                                 learning_rate_init=0.01, max_iter=epochs,
                                                 random_state=seed + k).fit(y[:origin])
                                  for k in range(seeds)])
        secs += t
        lstm = np.mean([f.predict() for f in fits], axis=0)
        naive = np.resize(y[origin - 12:origin], horizon)
        for name, f in zip(rows, (lstm, naive, _snaive_growth(y[:origin], horizon))):
            rows[name].append((smape(f, truth), float(np.sqrt(np.mean((f - truth) ** 2)))))
    print(f"monthly airline passengers 1949-1960: origins at months {', '.join(map(str, origins))}, "
          f"{horizon} months ahead each")
    out = {}
    for name, scores in rows.items():
        out[name] = np.mean(scores, axis=0).tolist()
        print(f"  {name:32s} sMAPE {out[name][0]:5.2f}   RMSE {out[name][1]:6.1f}")
    print(f"  (LSTMForecaster: {seeds} seeds per origin, {secs:.0f}s in all; "
          "Holt-Winters and the airline ARIMA are in benchmarks/bench_airline.py)")
    return out


def adding(seed=0, lag=100, epochs=10, n_train=10000):
    """The adding problem: LSTM vs plain RNN at a long lag (trivial baseline MSE about 0.167)."""
    from . import LSTMRegressor
    from .datasets import make_adding_problem

    _quiet()
    X, y = make_adding_problem(n_train, lag, random_state=seed)
    Xt, yt = make_adding_problem(500, lag, random_state=seed + 1)
    out = {}
    print(f"adding problem, T={lag}: predict the sum of the two marked values (baseline MSE 0.167)")
    for cell in ("lstm", "rnn"):
        reg = LSTMRegressor(hidden_layer_sizes=(32,), cell=cell, learning_rate_init=0.01, batch_size=32,
                            clip_norm=1.0, max_iter=epochs, random_state=seed)
        _, secs = _timed(lambda: reg.fit(X, y))
        out[cell] = float(np.mean((reg.predict(Xt) - yt) ** 2))
        print(f"{cell:>5}: test MSE {out[cell]:.4f}   (fit {secs:.1f}s)")
    return out


def stream(seed=0):
    """Stateful streaming: feed a fitted model one step at a time; equals predict on every prefix."""
    from . import LSTMRegressor

    _quiet()
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 20, 1)).astype(np.float32)
    y = np.cumsum(X[:, :, 0], axis=1)[:, -1]
    reg = LSTMRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=40,
                        random_state=seed).fit(X, y)
    s = reg.stream()
    outs = [s.step(x_t) for x_t in X[0]]
    same = all(outs[t] == reg.predict(X[:1, :t + 1])[0] for t in range(20))
    print("streaming: one step at a time through a fitted LSTMRegressor (running-sum task)")
    print("step outputs:", np.round(outs[:5], 3), "...")
    print(f"equal to predict() on every prefix: {same}; final R2 on training data {reg.score(X, y):.3f}")
    return {"same": same}


def text(seed=0, epochs=20):
    """Raw strings in a Pipeline: word order (negation, "but") and language identification, with baselines."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from . import LSTMClassifier
    from .datasets import load_language_snippets, make_contrast_sentiment
    from .text import TextVectorizer

    _quiet()
    out = {}
    X, y = make_contrast_sentiment(2000, random_state=seed)
    Xt, yt = make_contrast_sentiment(1000, random_state=seed + 1)
    lstm = make_pipeline(TextVectorizer(), LSTMClassifier(embedding_dim=16, hidden_layer_sizes=(32,),
                                                          learning_rate_init=0.01, batch_size=32,
                                                          max_iter=epochs, random_state=seed))
    _, secs = _timed(lambda: lstm.fit(X, y))
    out["order_lstm"] = lstm.score(Xt, yt)
    for name, ngrams in (("order_bow", (1, 1)), ("order_bigrams", (1, 2))):
        bow = make_pipeline(CountVectorizer(ngram_range=ngrams), LogisticRegression(max_iter=1000))
        out[name] = bow.fit(X, y).score(Xt, yt)
    print('word order: reviews with negation and "but" clauses (2000 train / 1000 test, generated)')
    print(f"TextVectorizer + LSTMClassifier(embedding_dim=16): {out['order_lstm']:.3f}   (fit {secs:.1f}s)")
    print(f"bag of words + LogisticRegression: {out['order_bow']:.3f}   "
          f"word pairs + LogisticRegression: {out['order_bigrams']:.3f}")
    X, y = load_language_snippets("train")
    Xt, yt = load_language_snippets("test")
    lstm = make_pipeline(TextVectorizer(analyzer="char"),
                         LSTMClassifier(embedding_dim=32, hidden_layer_sizes=(64,), learning_rate_init=0.005,
                                        batch_size=32, max_iter=epochs, random_state=seed))
    _, secs = _timed(lambda: lstm.fit(X, y))
    out["language_lstm"] = lstm.score(Xt, yt)
    ngram = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)),
                          LogisticRegression(max_iter=1000))
    out["language_ngrams"] = ngram.fit(X, y).score(Xt, yt)
    print("language identification: public-domain snippets in 6 languages (1200 train / 600 test)")
    print(f"character TextVectorizer + LSTMClassifier(embedding_dim=32): {out['language_lstm']:.3f}   "
          f"(fit {secs:.1f}s)")
    print(f"character 1-3-grams + LogisticRegression: {out['language_ngrams']:.3f}")
    return out


def _bits(model, texts):
    return -model.score(texts) / np.log(2)


def _language_model_run(name, train, test, epochs, seed, dropout, prompt=""):
    """Held-out bits per character of an LSTM and of unigram / Kneser-Ney n-gram baselines, and samples."""
    from . import LSTMLanguageModel
    from .language_model import NgramLanguageModel

    out = {}
    ngram = {n: _bits(NgramLanguageModel(order=n).fit([train]), [test]) for n in range(1, 9)}
    best = min(ngram, key=ngram.get)
    lm = LSTMLanguageModel(embedding_dim=256, hidden_layer_sizes=(256,), tie_weights=True, dropout=dropout,
                           learning_rate_init=3e-3, batch_size=32, bptt_steps=64, max_iter=epochs,
                           random_state=seed)
    _, secs = _timed(lambda: lm.fit([train]))
    out.update(lstm=_bits(lm, [test]), unigram=ngram[1], ngram=ngram[best], ngram_order=best)
    print(f"{name}: {len(train):,} characters to train on, {len(test):,} held out")
    print(f"  held-out bits per character: LSTM {out['lstm']:.3f} (fit {secs:.0f}s, {epochs} epochs)   "
          f"Kneser-Ney {best}-gram {out['ngram']:.3f}   unigram {out['unigram']:.3f}")
    print("  n-gram by order: " + "  ".join(f"{n}:{b:.3f}" for n, b in ngram.items()))
    for temperature in (0.5, 1.0):
        sample = lm.generate(prompt, max_new_tokens=300, temperature=temperature, random_state=seed)
        print(f"  sample at temperature {temperature}:")
        print("    " + sample.replace("\n", "\n    "))
    return out


def generate(seed=0, epochs=None, corpus=("austen", "python")):
    """Character language models on Jane Austen and on Python's own source, against n-gram baselines."""
    from .datasets import load_lady_susan, load_stdlib_source

    _quiet()
    out = {}
    if "austen" in corpus:
        text = load_lady_susan()
        cut = int(0.9 * len(text))
        out["austen"] = _language_model_run("Lady Susan (Jane Austen), the last 10% held out", text[:cut],
                                            text[cut:], 35 if epochs is None else epochs, seed, 0.5)
    if "python" in corpus:
        text = load_stdlib_source(STDLIB_CHARS)
        cut = int(0.9 * len(text))
        epochs = STDLIB_EPOCHS if epochs is None else epochs
        out["python"] = _language_model_run("the standard library's source (read now), the last 10% held out",
                                            text[:cut], text[cut:], epochs, seed, STDLIB_DROPOUT, "def ")
    return out


#: the source-code run's size, budget and dropout (about two minutes on two cores)
STDLIB_CHARS, STDLIB_EPOCHS, STDLIB_DROPOUT = 150_000, 16, 0.25


def _exact(pred, truth):
    return float(np.mean([p == t for p, t in zip(pred, truth)]))


def translate(seed=0, epochs=10, n_train=8000, n_test=2000):
    """Dates written in English, French or German (years in words too) to ISO dates: encoder-decoders.

    Held-out exact match of an LSTM encoder-decoder without and with
    attention, greedy and with beam search, next to a nearest-neighbour
    baseline (the ISO date of the most similar training source).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from . import LSTMSeq2Seq
    from .datasets import make_date_pairs

    _quiet()
    X, y = make_date_pairs(n_train + n_test, spell_years=True, random_state=seed)
    X, y, Xt, yt = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(f"dates in words (English, French, German) -> ISO dates: {n_train} train / {n_test} test, "
          "generated")
    print(f"  e.g. {X[0]!r} -> {y[0]!r}, {X[1]!r} -> {y[1]!r}")
    knn = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)),
                        KNeighborsClassifier(n_neighbors=1, metric="cosine"))
    with warnings.catch_warnings():  # one class per distinct date: a lookup table, by design
        warnings.simplefilter("ignore", UserWarning)
        out = {"nearest_neighbour": knn.fit(X, y).score(Xt, yt)}
    print(f"  nearest neighbour (character 1-3-gram tf-idf): exact match {out['nearest_neighbour']:.3f}")
    for attention in (False, True):
        model = LSTMSeq2Seq(hidden_layer_sizes=(64,), embedding_dim=32, attention=attention,
                            learning_rate_init=0.01, batch_size=64, max_iter=epochs, random_state=seed)
        _, secs = _timed(lambda: model.fit(X, y))
        greedy, t_greedy = _timed(lambda: model.predict(Xt))
        beam, t_beam = _timed(lambda: model.predict(Xt, num_beams=4))
        key = "attention" if attention else "plain"
        out[key] = {"greedy": _exact(greedy, yt), "beam": _exact(beam, yt), "fit_seconds": secs}
        print(f"  LSTMSeq2Seq(64){' + attention' if attention else '            '}: exact match greedy "
              f"{out[key]['greedy']:.3f}, beam(4) {out[key]['beam']:.3f}   (fit {secs:.0f}s, {epochs} epochs;"
              " "
              f"decode {n_test}: greedy {t_greedy:.1f}s, beam {t_beam:.1f}s)")
    wrong = [(a, b, c) for a, b, c in zip(Xt, greedy, yt) if b != c][:3]
    for src, got, want in wrong:
        print(f"  miss: {src!r} -> {got!r} (true {want!r})")
    return out


def caption(seed=0, epochs=20, n_train=3000, n_test=1000):
    """The captioning pattern: a feature vector initialises the decoder that writes a caption."""
    from sklearn.neighbors import KNeighborsClassifier

    from . import LSTMSeq2Seq
    from .datasets import make_shape_scenes

    _quiet()
    X, y = make_shape_scenes(n_train + n_test, random_state=seed)
    X, y, Xt, yt = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(f"scene features (two shapes, colours, positions; noise 0.1) -> captions: {n_train} train / "
          f"{n_test} test, generated")
    out = {"nearest_neighbour": KNeighborsClassifier(n_neighbors=1).fit(X, y).score(Xt, yt)}
    model = LSTMSeq2Seq(hidden_layer_sizes=(64,), embedding_dim=16, target_analyzer="word",
                        learning_rate_init=3e-3, max_iter=epochs, random_state=seed)
    _, secs = _timed(lambda: model.fit(X, y))
    out["lstm"] = model.score(Xt, yt)
    print(f"  LSTMSeq2Seq(64) from the feature vector: exact match {out['lstm']:.3f}   (fit {secs:.0f}s)")
    print(f"  nearest-neighbour caption: exact match {out['nearest_neighbour']:.3f}")
    print(f"  e.g. {model.predict(Xt[:1])[0]!r} (true {yt[0]!r})")
    return out


DEMOS = {"vowels": vowels, "tagging": tagging, "airline": airline, "adding": adding, "stream": stream,
         "text": text, "generate": generate, "translate": translate, "caption": caption}
