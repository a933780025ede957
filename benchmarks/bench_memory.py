"""Peak training memory of sklstm vs torch, and bounded memory with truncated BPTT.

Each measurement runs in a fresh subprocess and reports the growth of the
peak resident set size over the process's baseline (libraries imported,
data created), so the frameworks' fixed footprints cancel out.

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np
cfg = json.loads(sys.argv[1])
B, T, F, H = cfg["shape"]
rng = np.random.default_rng(0)
X = rng.standard_normal((B, T, F)).astype(np.float32)
y = rng.standard_normal((B, 1)).astype(np.float32)
if cfg["who"] == "torch":
    import torch
    torch.set_num_threads(1)
    rnn, head = torch.nn.LSTM(F, H, batch_first=True), torch.nn.Linear(H, 1)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    def step():
        opt.zero_grad()
        _, (h, _) = rnn(Xt)
        torch.nn.functional.mse_loss(head(h[-1]), yt).backward()
        opt.step()
else:
    from sklstm._network import NetworkSpec, Workspace
    from sklstm._objectives import Batch, RecurrentObjective, TrainOptions
    from sklstm._optimizers import AdamOptimizer
    spec = NetworkSpec("lstm", F, (H,), False, 1)
    flat = spec.init_params(rng, np.float32)
    grad = np.empty_like(flat)
    opt = AdamOptimizer(flat.size, np.float32, 1e-3)
    ws = Workspace()
    lengths = np.full(B, T, dtype=np.int64)
    objective = RecurrentObjective(spec, "squared_error", TrainOptions(bptt_steps=cfg.get("bptt")))
    batch = Batch(X, lengths, y, np.ones(B))
    def step():
        objective.loss_and_grad(flat, grad, batch, None, ws)
        opt.update(flat, grad)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for _ in range(cfg.get("steps", 3)):
    step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"delta_mib": (peak - base) / 1024}))
"""


def measure(cfg):
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1] if out.stderr else "failed"
    return json.loads(out.stdout.strip().splitlines()[-1])["delta_mib"], ""


def main():
    print("# peak training memory (growth of peak RSS over the baseline), float32, 1 thread")
    print("command: python benchmarks/bench_memory.py")
    print("| case | sklstm MiB | torch MiB |")
    print("|---|---|---|")
    cfg = {"shape": [64, 200, 32, 256]}
    s, _ = measure({**cfg, "who": "sklstm"})
    t, err = measure({**cfg, "who": "torch"})
    print(f"| LSTM (64,200,32,256), full BPTT | {s:.0f} | {t:.0f} |" if t is not None
          else f"| LSTM (64,200,32,256), full BPTT | {s:.0f} | - ({err}) |")
    for T, k in ((10_000, None), (10_000, 100), (100_000, 100)):
        s, _ = measure({"shape": [4, T, 8, 64], "who": "sklstm", "bptt": k, "steps": 1})
        print(f"| LSTM (4,{T},8,64), bptt_steps={k} | {s:.0f} | |")


if __name__ == "__main__":
    main()
