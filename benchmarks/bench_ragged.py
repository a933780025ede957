"""Cost of ragged training: lengths uniform in [10, 200] vs equal lengths with the same total steps.

    python benchmarks/bench_ragged.py
"""
import numpy as np, time, warnings, numba
warnings.simplefilter("ignore")
from threadpoolctl import threadpool_limits
import scipy.linalg
threadpool_limits(1); numba.set_num_threads(1)
from sklstm import LSTMRegressor
rng=np.random.default_rng(0)
L=rng.integers(10,201,size=640)
rag=[rng.normal(size=(l,16)).astype(np.float32) for l in L]
eq=rng.normal(size=(640,int(round(L.mean())),16)).astype(np.float32)
y=rng.normal(size=640)
def t(X):
    m=LSTMRegressor(hidden_layer_sizes=(64,),max_iter=1,batch_size=64,random_state=0); m.fit(X,y)
    best=1e9
    for _ in range(3):
        m=LSTMRegressor(hidden_layer_sizes=(64,),max_iter=2,batch_size=64,random_state=0)
        s=time.perf_counter(); m.fit(X,y); best=min(best,time.perf_counter()-s)
    return best
a=t(rag); b=t(eq)
print("command: python benchmarks/bench_ragged.py (1 thread, LSTM hidden 64, 16 features, batch 64)")
print(f"ragged lengths U[10,200]: {a:.2f}s  equal length {int(round(L.mean()))} (same total steps): {b:.2f}s  ratio {a/b:.2f}")
