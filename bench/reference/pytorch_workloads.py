"""PyTorch reference timings for tdx's benchmark workloads (CPU, same machine, side by side).

`npm run bench -- --pytorch` runs this script (with /usr/bin/python3, Debian's python3-torch) in the
same session as tdx's workloads and prints the ratios; bench/src/ defines the same workloads.

Each workload prints one JSON line: {"workload", "impl":"pytorch", "median_ms", ...}.
Workloads:
  icl-adam-step : linear-attention transformer (Ahn et al.), d=5, N=20, L=3, batch 1000; one Adam step
  gpt-hvp       : 2-layer softmax GPT, vocab 64, seq 32, width 64, 4 heads, batch 16; one Hessian-vector product
  gpt-slq       : same model; SLQ spectral density, 4 probes x 32 Lanczos steps, full reorthogonalisation
  gpt-hvp-3m    : the same GPT at width 256, 4 layers, 4 heads, seq 64, batch 16 (3,208,768 parameters); one HVP
  blas-check    : a 1024^3 float32 matmul rate (GFLOP/s) and the thread count; printed first by default

The reference must run on an optimised BLAS. Debian's python3-torch calls whatever libblas.so.3
the system selects; with the reference implementation (package libblas3 alone) every product is
about 10x slower and the comparison is meaningless. Install libopenblas0-pthread (Debian), then
check that blas-check reports well over 50 GFLOP/s. Threads: PyTorch runs with its default here
(one thread on the two-core machines); compare per core.
"""
import json, sys, time, statistics, math
import torch
torch.manual_seed(0)

def timeit(fn, reps, warm=2):
    for _ in range(warm): fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)

# ---------- icl linear transformer ----------
def icl_data(B, d, N, gen):
    X = torch.randn(B, N + 1, d, generator=gen)
    w = torch.randn(B, d, generator=gen)
    y = torch.einsum('bnd,bd->bn', X, w)
    Z = torch.cat([X, y.unsqueeze(-1)], dim=-1).transpose(1, 2).clone()  # B x (d+1) x (N+1)
    target = Z[:, d, N].clone()
    Z[:, d, N] = 0.0
    return Z, target

class LinearTransformer(torch.nn.Module):
    def __init__(self, d, L):
        super().__init__()
        self.P = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(d + 1, d + 1) * 0.1) for _ in range(L)])
        self.Q = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(d + 1, d + 1) * 0.1) for _ in range(L)])
    def forward(self, Z):
        N = Z.shape[2] - 1
        M = torch.ones(N + 1); M[N] = 0.0
        for P, Q in zip(self.P, self.Q):
            attn = Z.transpose(1, 2) @ Q @ Z           # B x (N+1) x (N+1)
            Z = Z + (P @ (Z * M) @ attn) / N
        return -Z[:, -1, -1]

def icl_adam_step():
    gen = torch.Generator().manual_seed(1)
    d, N, L, B = 5, 20, 3, 1000
    model = LinearTransformer(d, L)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def step():
        Z, t = icl_data(B, d, N, gen)
        opt.zero_grad(); loss = ((model(Z) - t) ** 2).mean(); loss.backward(); opt.step()
    return {"median_ms": timeit(step, 30)}

# ---------- small GPT ----------
class Block(torch.nn.Module):
    def __init__(self, D, H):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(D); self.ln2 = torch.nn.LayerNorm(D)
        self.q = torch.nn.Linear(D, D); self.k = torch.nn.Linear(D, D); self.v = torch.nn.Linear(D, D); self.o = torch.nn.Linear(D, D)
        self.fc1 = torch.nn.Linear(D, 4 * D); self.fc2 = torch.nn.Linear(4 * D, D); self.H = H
    def forward(self, x):
        B, T, D = x.shape; H = self.H
        h = self.ln1(x)
        q = self.q(h).view(B, T, H, D // H).transpose(1, 2)
        k = self.k(h).view(B, T, H, D // H).transpose(1, 2)
        v = self.v(h).view(B, T, H, D // H).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D // H)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        s = s.masked_fill(mask, float('-inf')).softmax(-1)
        a = (s @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(a)
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))

class GPT(torch.nn.Module):
    def __init__(self, V=64, T=32, D=64, H=4, L=2):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D); self.pos = torch.nn.Parameter(torch.randn(T, D) * 0.02)
        self.blocks = torch.nn.ModuleList([Block(D, H) for _ in range(L)])
        self.lnf = torch.nn.LayerNorm(D); self.head = torch.nn.Linear(D, V)
    def forward(self, idx):
        x = self.emb(idx) + self.pos[: idx.shape[1]]
        for b in self.blocks: x = b(x)
        return self.head(self.lnf(x))

def gpt_setup(D=64, L=2, T=32):
    torch.manual_seed(0)
    model = GPT(T=T, D=D, L=L); V, B = 64, 16
    idx = torch.randint(0, V, (B, T + 1))
    params = [p for p in model.parameters()]
    def loss_fn():
        logits = model(idx[:, :-1])
        return torch.nn.functional.cross_entropy(logits.reshape(-1, V), idx[:, 1:].reshape(-1))
    return model, params, loss_fn

def hvp(params, loss_fn, vs):
    loss = loss_fn()
    g = torch.autograd.grad(loss, params, create_graph=True)
    dot = sum((gi * vi).sum() for gi, vi in zip(g, vs))
    return torch.autograd.grad(dot, params)

def gpt_hvp(**size):
    model, params, loss_fn = gpt_setup(**size)
    vs = [torch.randn_like(p) for p in params]
    n = sum(p.numel() for p in params)
    return {"median_ms": timeit(lambda: hvp(params, loss_fn, vs), 20), "params": n}

def gpt_slq(probes=4, steps=32):
    model, params, loss_fn = gpt_setup()
    shapes = [p.shape for p in params]; sizes = [p.numel() for p in params]; n = sum(sizes)
    def flat_hvp(v):
        vs = [t.view(s) for t, s in zip(torch.split(v, sizes), shapes)]
        return torch.cat([h.reshape(-1) for h in hvp(params, loss_fn, vs)])
    def run():
        nodes = []
        for _ in range(probes):
            v = torch.randn(n); v /= v.norm(); V = [v]; a = []; b = []; w_prev = None; beta = 0.0
            for j in range(steps):
                w = flat_hvp(V[-1])
                alpha = torch.dot(w, V[-1]).item(); a.append(alpha)
                w = w - alpha * V[-1] - (beta * V[-2] if j > 0 else 0)
                for u in V: w -= torch.dot(w, u) * u   # full reorthogonalisation
                beta = w.norm().item()
                if j < steps - 1: b.append(beta); V.append(w / beta)
            T = torch.diag(torch.tensor(a)) + torch.diag(torch.tensor(b), 1) + torch.diag(torch.tensor(b), -1)
            nodes.append(torch.linalg.eigh(T.double()))
        return nodes
    return {"median_ms": timeit(run, 3, warm=1), "params": n, "probes": probes, "steps": steps}

def blas_check():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    ms = timeit(lambda: a @ b, 10)
    gflops = 2 * 1024 ** 3 / ms / 1e6
    return {"median_ms": ms, "gflops": round(gflops, 1), "threads": torch.get_num_threads(),
            "optimised_blas": gflops > 50}

if __name__ == '__main__':
    which = sys.argv[1:] or ['blas-check', 'icl-adam-step', 'gpt-hvp', 'gpt-slq', 'gpt-hvp-3m']
    fns = {'blas-check': blas_check, 'icl-adam-step': icl_adam_step, 'gpt-hvp': gpt_hvp, 'gpt-slq': gpt_slq,
           'gpt-hvp-3m': lambda: gpt_hvp(D=256, L=4, T=64)}
    for w in which:
        r = fns[w](); r.update({"workload": w, "impl": "pytorch-" + torch.__version__})
        print(json.dumps(r), flush=True)
