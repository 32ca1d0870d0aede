/**
 * gradient-flow against closed forms. On L(w) = ½ wᵀAw − bᵀw with weight decay λ the flow
 * dw/dτ = −(Aw − b) − λw is linear: w(τ) = w* + exp(−(A + λI)τ)(w0 − w*), w* = (A + λI)⁻¹b.
 * A = Q diag(eigenvalues) Qᵀ with Q a Hadamard matrix / 4 (entries ±1/4) and integer
 * eigenvalues, so A, b, w0 and λ are exact in float32 and the float64 reference is the exact
 * flow of the very problem the tensors hold.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, Registry, TdxError, writeCheckpoint } from '@tdx/core';
import {
  meanSquaredError,
  ParamSet,
  Rng,
  startMinibatchSession,
  tf,
  useBackend,
  valueAndGrad,
  type Batch,
  type Dataset,
  type GradientTransformation,
  type LossFunction,
  type ModelBuilder,
  type Scalar,
  type UpdateContext,
  exactnessBackends,
} from '@tdx/tensor';
import {
  gradientFlow,
  gradientFlowConfig,
  gradientFlowPlugin,
  type GradientFlowConfig,
  type GradientFlowState,
} from '../src/gradient-flow.js';

const n = 16;
const popcount = (x: number): number => (x === 0 ? 0 : (x & 1) + popcount(x >> 1));
/** Sylvester's Hadamard matrix / 4: orthogonal, entries ±1/4. */
const Q = Array.from({ length: n }, (_, i) =>
  Array.from({ length: n }, (_, j) => (popcount(i & j) % 2 === 1 ? -0.25 : 0.25)),
);
/** Condition 100; the stiff direction is 100. */
const EIGENVALUES = [1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 13, 17, 25, 40, 64, 100];
const DECAY = 0.125;
const b = Array.from({ length: n }, (_, i) => ((i % 5) - 2) / 4);
const w0 = Array.from({ length: n }, (_, i) => (((i * 7) % 11) - 5) / 4);

const qT = (v: number[]): number[] =>
  Q.map((_, k) => Q.reduce((s, row, i) => s + row[k]! * v[i]!, 0));
const q = (c: number[]): number[] => Q.map((row) => row.reduce((s, x, k) => s + x * c[k]!, 0));

function quadratic(eigenvalues: number[], lambda: number) {
  const A = Q.map((ri) =>
    Q.map((rj) => eigenvalues.reduce((s, e, k) => s + ri[k]! * e * rj[k]!, 0)),
  );
  // The exact flow in the eigenbasis: each coordinate relaxes at rate e_k + λ.
  const rates = eigenvalues.map((e) => e + lambda);
  const cStar = qT(b).map((x, k) => x / rates[k]!);
  const wStar = q(cStar);
  const c0 = qT(w0).map((x, k) => x - cStar[k]!);
  const exact = (tau: number): number[] =>
    q(c0.map((c, k) => c * Math.exp(-rates[k]! * tau))).map((x, i) => x + wStar[i]!);
  // Gradient descent with step h, N times: each coordinate contracts by (1 − h(e_k + λ)).
  const euler = (h: number, steps: number): number[] =>
    q(c0.map((c, k) => c * (1 - h * rates[k]!) ** steps)).map((x, i) => x + wStar[i]!);
  return { A, exact, euler, rates };
}

/** The quadratic as tensors over two blocks (a: 4×2, b: 8), and the update context. */
function tensorProblem(A: number[][]) {
  const params = ParamSet.create([
    { name: 'a', role: 'other', init: { values: w0.slice(0, 8), shape: [4, 2] } },
    { name: 'b', role: 'other', init: { values: w0.slice(8), shape: [8] } },
  ]);
  const At = tf.tensor2d(A);
  const bt = tf.tensor1d(b);
  const loss: LossFunction = (p) =>
    tf.tidy(() => {
      const w = tf.concat([tf.reshape(p.a!, [8]), p.b!]);
      const Aw = tf.squeeze(tf.matMul(At, tf.reshape(w, [n, 1])));
      return tf.sub(tf.mul(0.5, tf.sum(tf.mul(w, Aw))), tf.sum(tf.mul(bt, w))) as Scalar;
    });
  const context: UpdateContext = {
    gradient: (values) => valueAndGrad(loss, params, { at: values }).grads,
  };
  const dispose = () => {
    params.dispose();
    tf.dispose([At, bt]);
  };
  return { params, loss, context, dispose };
}

interface Run {
  w: number[];
  state: GradientFlowState;
  /** Accepted step sizes, in order. */
  steps: number[];
}

/** Updates until τ ≥ T (or `updates` updates); checks that no tensor is left behind. */
function integrate(
  config: Partial<GradientFlowConfig>,
  { T = Infinity, updates = Infinity, eigenvalues = EIGENVALUES, withContext = true } = {},
): Run {
  const { A } = quadratic(eigenvalues, config.weightDecay ?? 0);
  const problem = tensorProblem(A);
  const opt = gradientFlow(gradientFlowConfig.parse(config));
  let state = opt.init(problem.params.values());
  const steps: number[] = [];
  let live = -1;
  try {
    for (let t = 0; state.tau < T && t < updates; t++) {
      tf.tidy(() => {
        const { grads } = valueAndGrad(problem.loss, problem.params);
        const out = opt.update(
          grads,
          state,
          problem.params.values(),
          withContext ? problem.context : undefined,
        );
        for (const block of problem.params.blocks)
          block.variable.assign(tf.add(block.variable, out.updates[block.name]!));
        state = out.state;
      });
      if (state.lastStep > 0) steps.push(state.lastStep);
      if (t === 1) live = tf.memory().numTensors;
      if (t > 1) expect(tf.memory().numTensors).toBe(live);
    }
    return { w: Array.from(problem.params.flatten()), state, steps };
  } finally {
    problem.dispose();
  }
}

/** y = <(1, -2, 0.5), x> + 0.3, x ~ N(0, I): a fresh batch per step. */
const regression = (): Dataset => ({
  info: { task: 'test-regression', inputShape: [3], targetShape: [1], meta: {} },
  batch: (step) => {
    const x = new Rng(7).fork('train', step).normalArray(16 * 3);
    const y = Float32Array.from(
      { length: 16 },
      (_, i) => x[3 * i]! - 2 * x[3 * i + 1]! + 0.5 * x[3 * i + 2]! + 0.3,
    );
    return { inputs: tf.tensor2d(Float32Array.from(x), [16, 3]), targets: tf.tensor2d(y, [16, 1]) };
  },
  dispose: () => {},
});

/** A linear model whose bias steps twice as fast (lrScale 2), as a mean-field block would. */
const linearModel: ModelBuilder = {
  build: () => {
    const params = ParamSet.create([
      { name: 'w', role: 'head', init: { values: [0.1, 0.2, -0.3], shape: [3, 1] } },
      { name: 'b', role: 'bias', lrScale: 2, init: { values: [0], shape: [1] } },
    ]);
    const predict = (v: Record<string, tf.Tensor>, x: tf.Tensor) =>
      tf.add(tf.matMul(x, v.w!), v.b!);
    return {
      params,
      predict,
      loss: (v, batch: Batch) => meanSquaredError(predict(v, batch.inputs), batch.targets),
      dispose: () => params.dispose(),
    };
  },
};

const rms = (x: number[], y: number[]): number =>
  Math.sqrt(x.reduce((s, xi, i) => s + (xi - y[i]!) ** 2, 0) / x.length);

for (const backend of exactnessBackends()) {
  describe(`gradient-flow [${backend}]`, () => {
    beforeAll(() => useBackend(backend));

    it('follows the exact linear flow; the global error shrinks with the tolerance', () => {
      const T = 1;
      const { exact } = quadratic(EIGENVALUES, DECAY);
      const rows = [1e-2, 1e-3, 1e-4, 1e-5].map((tolerance) => {
        const run = integrate({ tolerance, weightDecay: DECAY }, { T });
        return {
          tolerance,
          tau: run.state.tau,
          error: rms(run.w, exact(run.state.tau)),
          accepted: run.state.accepted,
          rejected: run.state.rejected,
        };
      });
      for (let i = 1; i < rows.length; i++) {
        // Monotone, and by more than 3× per decade of tolerance.
        expect(rows[i]!.error).toBeLessThan(rows[i - 1]!.error / 3);
        expect(rows[i]!.accepted).toBeGreaterThan(rows[i - 1]!.accepted);
      }
      // Measured (both backends): RMS error ≈ 0.45, 0.41, 0.23, 0.23 × tolerance; 58 → 602 steps.
      for (const row of rows) expect(row.error).toBeLessThan(row.tolerance);
      expect(rows[0]!.error / rows.at(-1)!.error).toBeGreaterThan(300);
      expect(rows.at(-1)!.tau).toBeGreaterThanOrEqual(T);
    });

    it('reports τ = Σ accepted steps, and counts trials and gradient evaluations', () => {
      const run = integrate({ tolerance: 1e-4, weightDecay: DECAY }, { T: 0.5 });
      const { state } = run;
      expect(run.steps.reduce((a, h) => a + h, 0)).toBe(state.tau);
      expect(run.steps).toHaveLength(state.accepted);
      expect(state.rejected).toBeGreaterThan(0); // the first steps from 1e-3 outgrow the stiff bound
      // Per update: the caller's gradient, then one per trial (accepted or not).
      expect(state.evaluations).toBe(2 * state.accepted + state.rejected);
      expect(state.error).toBeLessThanOrEqual(1);
      const opt = gradientFlow(gradientFlowConfig.parse({}));
      expect(opt.metrics!(state)).toEqual({
        tau: state.tau,
        stepSize: state.step,
        rejected: state.rejected,
        evaluations: state.evaluations,
        curvature: state.curvature,
      });
      // λ is a setting, not a number of the state: a hyperparameter, not logged.
      expect(opt.hyperparameters!()).toEqual({ weightDecay: 0 });
      expect(opt.metrics!(opt.init({}))).toEqual({
        tau: 0,
        stepSize: Math.fround(1e-3),
        rejected: 0,
        evaluations: 0,
        curvature: 0,
      });
    });

    it('a stiff direction holds the step at the explicit stability bound 2 / λmax', () => {
      // Loose tolerance, long horizon: accuracy alone would allow ever larger steps as the flow
      // settles, but Heun (like Euler) is stable only for h·λ ≤ 2. The controller then hovers
      // at the bound: a step above it amplifies the stiff component, whose error estimate then
      // rejects or shrinks the next step.
      const lateMean = (steps: number[]) => {
        const late = steps.slice(Math.floor(steps.length / 2));
        return late.reduce((a, h) => a + h, 0) / late.length;
      };
      const stiff = integrate({ tolerance: 1e-3, weightDecay: DECAY }, { T: 8 });
      const bound = 2 / (100 + DECAY);
      const mean = lateMean(stiff.steps);
      expect(mean).toBeLessThan(1.01 * bound);
      expect(mean).toBeGreaterThan(0.9 * bound);
      // Early on the steps outgrow the bound while the stiff component is still negligible.
      expect(Math.max(...stiff.steps.slice(stiff.steps.length / 2))).toBeLessThan(1.1 * bound);
      // The curvature it reports along the flow is then λmax(A + λI) itself.
      expect(stiff.state.curvature).toBeCloseTo(100 + DECAY, 1);
      // Stable, and accurate: still within the tolerance of the exact flow.
      const { exact } = quadratic(EIGENVALUES, DECAY);
      expect(rms(stiff.w, exact(stiff.state.tau))).toBeLessThan(1e-3);

      // Without the stiff directions (eigenvalues capped at 10) it steps ~10× further.
      const capped = EIGENVALUES.map((e) => Math.min(e, 10));
      const mild = integrate(
        { tolerance: 1e-3, weightDecay: DECAY },
        { T: 8, eigenvalues: capped },
      );
      expect(lateMean(mild.steps)).toBeGreaterThan(5 * bound);
      expect(mild.state.accepted).toBeLessThan(stiff.state.accepted / 3);
    });

    it('method euler is gradient descent with a fixed step, on the same clock', () => {
      const h = 0.015;
      const steps = 100;
      // No context needed: Euler uses only the caller's gradient.
      const run = integrate(
        { method: 'euler', initialStep: h, weightDecay: DECAY },
        { updates: steps, withContext: false },
      );
      const { euler } = quadratic(EIGENVALUES, DECAY);
      expect(rms(run.w, euler(Math.fround(h), steps))).toBeLessThan(2e-6);
      expect(run.state.tau).toBeCloseTo(steps * Math.fround(h), 12);
      expect(run.state).toMatchObject({ accepted: steps, rejected: 0, evaluations: steps });
      const opt = gradientFlow(gradientFlowConfig.parse({ method: 'euler' }));
      expect(Object.keys(opt.metrics!(run.state)).sort()).toEqual([
        'evaluations',
        'rejected',
        'stepSize',
        'tau',
      ]);
    });

    it('until: lands on τ exactly, then makes zero updates', () => {
      const until = 0.3;
      const { exact } = quadratic(EIGENVALUES, DECAY);
      for (const method of ['heun', 'euler'] as const) {
        const config = { method, until, tolerance: 1e-5, initialStep: 0.007, weightDecay: DECAY };
        const done = integrate(config, { T: until });
        expect(done.state.tau).toBe(until);
        const later = integrate(config, { updates: done.state.accepted + 25 });
        expect(later.state).toEqual(done.state);
        expect(later.w).toEqual(done.w);
        if (method === 'heun') expect(rms(done.w, exact(until))).toBeLessThan(1e-5);
        // Euler: 42 full steps of 0.007 and a last one of 0.006.
        else expect(done.state.accepted).toBe(43);
      }
    });

    it('norm max bounds the largest coordinate; relativeTolerance scales with ‖w‖', () => {
      const T = 1;
      const { exact } = quadratic(EIGENVALUES, DECAY);
      const rmsRun = integrate({ tolerance: 1e-4, weightDecay: DECAY }, { T });
      const maxRun = integrate({ tolerance: 1e-4, norm: 'max', weightDecay: DECAY }, { T });
      const reference = exact(maxRun.state.tau);
      const maxError = Math.max(...maxRun.w.map((w, i) => Math.abs(w - reference[i]!)));
      expect(maxError).toBeLessThan(1e-4);
      // max ≥ rms: the same tolerance in the max norm is stricter.
      expect(maxRun.state.accepted).toBeGreaterThan(rmsRun.state.accepted);

      // Relative only: between absolute runs at r·min‖w‖ and r·max‖w‖ along the path.
      const r = 1e-4;
      const norms = Array.from({ length: 101 }, (_, i) =>
        Math.sqrt(exact((i / 100) * T).reduce((s, x) => s + x * x, 0) / n),
      );
      const relative = integrate(
        { tolerance: 1e-30, relativeTolerance: r, weightDecay: DECAY },
        { T },
      );
      const loose = integrate({ tolerance: r * Math.max(...norms), weightDecay: DECAY }, { T });
      const tight = integrate({ tolerance: r * Math.min(...norms), weightDecay: DECAY }, { T });
      expect(relative.state.accepted).toBeGreaterThanOrEqual(loose.state.accepted);
      expect(relative.state.accepted).toBeLessThanOrEqual(tight.state.accepted);
    });

    it('fails clearly: no context, too many rejections, step below minStep, non-finite', () => {
      const before = tf.memory().numTensors;
      const fails = (config: Partial<GradientFlowConfig>, options = {}) => {
        try {
          integrate(config, { updates: 5, ...options });
        } catch (error) {
          expect(error).toBeInstanceOf(TdxError);
          return error as TdxError;
        }
        throw new Error('expected a TdxError');
      };
      const noContext = fails({}, { withContext: false });
      expect(noContext.code).toBe('PLUGIN_CONTRACT');
      expect(noContext.message).toMatch(/update context/);
      expect(noContext.hint).toMatch(/minibatch trainer/);

      // h = 1 on λmax = 100 is far too long; two shrinks of at most ×0.5 cannot fix it.
      const rejections = fails({ initialStep: 1, minShrink: 0.5, maxRejections: 2 });
      expect(rejections.code).toBe('RUN_FAILED');
      expect(rejections.message).toMatch(/3 trial steps in a row were rejected at τ = 0/);
      expect(rejections.hint).toMatch(/maxRejections/);

      const stiff = fails({ tolerance: 1e-9, initialStep: 1e-3, minStep: 1e-3 });
      expect(stiff.code).toBe('RUN_FAILED');
      expect(stiff.message).toMatch(/needs h = .* < minStep = 0.001/);
      expect(stiff.message).toMatch(/curvature along the flow is about/);
      expect(tf.memory().numTensors).toBe(before);

      const opt = gradientFlow(gradientFlowConfig.parse({}));
      const context: UpdateContext = { gradient: (v) => v };
      expect(() =>
        tf.tidy(() => {
          opt.update(
            { w: tf.tensor1d([NaN, 1]) },
            opt.init({}),
            { w: tf.tensor1d([1, 1]) },
            context,
          );
        }),
      ).toThrow(/gradient at the current parameters is not finite/);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('config: defaults, and steps that do not fit', () => {
      expect(gradientFlowConfig.parse({})).toEqual({
        method: 'heun',
        tolerance: 1e-4,
        relativeTolerance: 0,
        norm: 'rms',
        initialStep: 1e-3,
        minStep: 1e-10,
        weightDecay: 0,
        safety: 0.9,
        maxGrowth: 5,
        minShrink: 0.2,
        maxRejections: 10,
      });
      const registry = Registry.create().register(gradientFlowPlugin);
      const problem = (ref: Record<string, unknown>) => {
        try {
          registry.create('optimizer', { name: 'gradient-flow', ...ref });
        } catch (error) {
          return (error as TdxError).format();
        }
        return 'no error';
      };
      expect(problem({ initialStep: 0.1, maxStep: 0.01 })).toMatch(
        /initialStep.*must be ≤ maxStep/,
      );
      expect(problem({ initialStep: 0.1, minStep: 1 })).toMatch(/minStep.*must be ≤ initialStep/);
    });

    describe('with the minibatch trainer', () => {
      const dir = mkdtempSync(join(tmpdir(), 'tdx-gradient-flow-'));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));
      const registry = Registry.create().register(gradientFlowPlugin);
      const config = {
        name: 'gradient-flow',
        tolerance: 1e-3,
        initialStep: 0.05,
        weightDecay: 0.01,
      };
      const parts = () => ({
        dataset: regression(),
        model: linearModel,
        optimizer: registry.create<GradientTransformation>('optimizer', config),
        seed: 0,
      });

      it('takes a Heun step on the batch, with lrScale on the gradient and not on λ', () => {
        const session = startMinibatchSession(parts());
        session.step(0);
        const { tau } = session.metrics();
        // τ is the accepted step, h = 0.05 or a shorter one after rejections.
        expect(tau).toBeGreaterThan(0);
        expect(tau).toBeLessThanOrEqual(Math.fround(0.05));
        // The same step in float64 on the host: k = −s·∇L − λw, s = lrScale (1 for w, 2 for b).
        const batch = regression().batch(0);
        const X = Array.from(batch.inputs.dataSync());
        const y = Array.from(batch.targets.dataSync());
        tf.dispose([batch.inputs, batch.targets]);
        const direction = (p: number[]) => {
          const r = y.map(
            (yi, i) =>
              X[3 * i]! * p[0]! + X[3 * i + 1]! * p[1]! + X[3 * i + 2]! * p[2]! + p[3]! - yi,
          );
          const g = [0, 1, 2].map(
            (j) => (2 / y.length) * r.reduce((s, ri, i) => s + ri * X[3 * i + j]!, 0),
          );
          g.push(((2 * 2) / y.length) * r.reduce((s, ri) => s + ri, 0));
          return g.map((gi, j) => -gi - 0.01 * p[j]!);
        };
        const start = [0.1, 0.2, -0.3, 0];
        const k1 = direction(start);
        const k2 = direction(start.map((w, j) => w + tau! * k1[j]!));
        const expected = start.map((w, j) => w + (tau! / 2) * (k1[j]! + k2[j]!));
        const got = Array.from(session.target().params.flatten());
        got.forEach((w, j) => expect(Math.abs(w - expected[j]!)).toBeLessThan(1e-6));
        session.dispose();
      });

      it('trains, and resumes from a checkpoint on disk bit for bit', () => {
        const [steps, half] = [30, 12];
        const before = tf.memory().numTensors;
        const straight = startMinibatchSession(parts());
        const first = straight.loss(0);
        const losses: number[] = [];
        for (let t = 0; t < steps; t++) {
          if (t === half) writeCheckpoint(dir, { ...straight.checkpoint!(), step: t, runId: 'r' });
          losses.push(straight.step(t));
        }
        const metrics = straight.metrics();
        // Measured: τ ≈ 0.42 after 30 updates, loss of batch 0 from 4.04 to 0.88.
        expect(metrics.tau).toBeGreaterThan(0.3);
        expect(metrics.evaluations).toBe(2 * steps + metrics.rejected!);
        expect(straight.loss(0)).toBeLessThan(first / 3);

        const saved = readCheckpoint(dir, 'r')!;
        // The state is plain numbers: only the parameters are arrays.
        expect(Object.keys(saved.arrays).sort()).toEqual(['param:b', 'param:w']);
        const resumed = startMinibatchSession(parts());
        resumed.restore!(saved, half);
        const rest: number[] = [];
        for (let t = half; t < steps; t++) rest.push(resumed.step(t));
        expect(rest).toEqual(losses.slice(half));
        expect(resumed.metrics()).toEqual(metrics);
        expect(Array.from(resumed.target().params.flatten())).toEqual(
          Array.from(straight.target().params.flatten()),
        );
        // Control: the same parameters with a fresh integrator (τ = 0, h = initialStep)
        // continue on another clock, so τ comes from the restored state. (The parameters may
        // well agree: on a quadratic the error is exactly ∝ h², and the controller's proposal
        // 0.9·h·err^(−½) then forgets h.)
        const fresh = startMinibatchSession(parts());
        const freshState = (fresh.checkpoint!().state as { optimizer: unknown }).optimizer;
        fresh.restore!(
          { ...saved, state: { ...(saved.state as object), optimizer: freshState } },
          half,
        );
        for (let t = half; t < steps; t++) fresh.step(t);
        expect(fresh.metrics().tau).toBeLessThan(metrics.tau! - 0.05);
        straight.dispose();
        resumed.dispose();
        fresh.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  });
}
