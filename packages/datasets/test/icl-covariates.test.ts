/**
 * The covariate distributions, covariance, label noise and evaluation seed of
 * icl-linear-regression, against closed forms (moments of the Gamma, the sphere and the normal,
 * U D² Uᵀ, the eigenvalues D²) with tolerances of a few standard errors.
 */
import { createHash } from 'node:crypto';
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Registry, TdxError } from '@tdx/core';
import { Rng, tf, useBackend, type Batch, type Dataset } from '@tdx/tensor';
import { iclCovariance, register, sampleIclPrompts, type IclPromptConfig } from '../src/index.js';

const registry = register(Registry.create());
const dataset = (config: Record<string, unknown>, seed = 0): Dataset =>
  registry.create<Dataset>('dataset', { name: 'icl-linear-regression', ...config }, { seed });

const sha256 = (...arrays: Float32Array[]): string => {
  const hash = createHash('sha256');
  for (const a of arrays) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex');
};
const batchHash = (batch: Batch): string =>
  sha256(batch.inputs.dataSync() as Float32Array, batch.targets.dataSync() as Float32Array);

/** The covariates (rows of d numbers) and labels (context and query, in order) of a sample. */
function unpack(config: IclPromptConfig, batchSize: number, seed: number | string) {
  const { tokens, targets } = sampleIclPrompts(new Rng(seed), config, batchSize);
  const { d, n } = config;
  const rows = n + 1;
  const x: Float64Array[] = [];
  const labels: number[][] = [];
  for (let b = 0; b < batchSize; b++) {
    const y: number[] = [];
    for (let i = 0; i < rows; i++) {
      const at = (b * rows + i) * (d + 1);
      x.push(Float64Array.from(tokens.subarray(at, at + d)));
      y.push(i < n ? tokens[at + d]! : targets[b]!);
    }
    labels.push(y);
  }
  return { x, labels, tokens, targets };
}

const mean = (v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
};
const variance = (v: ArrayLike<number>): number => {
  const m = mean(v);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i]! - m) ** 2;
  return s / (v.length - 1);
};
const kurtosis = (v: ArrayLike<number>): number => {
  const m = mean(v);
  let s2 = 0;
  let s4 = 0;
  for (let i = 0; i < v.length; i++) {
    const c = (v[i]! - m) ** 2;
    s2 += c;
    s4 += c * c;
  }
  return s4 / v.length / (s2 / v.length) ** 2;
};
const squaredNorm = (x: Float64Array): number => x.reduce((s, v) => s + v * v, 0);

/** Empirical second moments E[x xᵀ] (the covariates have mean 0). */
function secondMoments(x: Float64Array[], d: number): number[][] {
  const m = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const v of x)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m[i]![j]! += v[i]! * v[j]!;
  return m.map((row) => row.map((s) => s / x.length));
}

/** Expects each entry of an empirical E[v vᵀ] of m Gaussian vectors within 5 standard errors of Σ. */
function expectGaussianSecondMoments(empirical: number[][], sigma: number[][], m: number): void {
  const d = sigma.length;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      // Var(v_i v_j) = Σ_ii Σ_jj + Σ_ij² for a centred Gaussian vector.
      const se = Math.sqrt((sigma[i]![i]! * sigma[j]![j]! + sigma[i]![j]! ** 2) / m);
      expect(Math.abs(empirical[i]![j]! - sigma[i]![j]!)).toBeLessThan(5 * se);
    }
}

/** A D^p Aᵀ for a row-major d × d matrix A and the diagonal D = diag(scales). */
function sandwich(a: Float64Array, scales: number[], power: number): number[][] {
  const d = scales.length;
  return Array.from({ length: d }, (_, i) =>
    Array.from({ length: d }, (_, j) =>
      scales.reduce((s, v, k) => s + a[i * d + k]! * v ** power * a[j * d + k]!, 0),
    ),
  );
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, error below 1.5e-7). */
function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Each prompt's task w, recovered by least squares from its n noiseless context pairs. */
function recoverTasks(config: IclPromptConfig, x: Float64Array[], labels: number[][]): number[][] {
  const rows = config.n + 1;
  return labels.map((y, b) => {
    const X = new Matrix(x.slice(b * rows, b * rows + config.n).map((r) => Array.from(r)));
    return solve(X, Matrix.columnVector(y.slice(0, config.n))).getColumn(0);
  });
}

describe('icl-linear-regression options', () => {
  it('keeps the default stream byte for byte', async () => {
    await useBackend('cpu');
    // These SHA-256 digests pin the stream as it was before the covariate, covariance, noise
    // and evalSeed options existed (computed on the code of commit e5b2464): the defaults must
    // reproduce existing results exactly.
    const batch0 = '611cba1129bce8c4596993d75a72aadfa0b9cb95df2966fced17c1720afd631d';
    const evaluation = '6f924cbbabfcf8dca51f057cf4c1e981121415cd0f21385591ec85e13514ef6e';
    const sample = '2efeb34816d0e23ddda3c13824c1f399b4f9b95d4dd828c1efac772ed5f960eb';
    for (const config of [{}, { covariates: 'normal', noise: 0, gammaShape: 0.3 }]) {
      const data = dataset(config, 0);
      expect(tf.tidy(() => batchHash(data.batch(0)))).toBe(batch0);
      expect(batchHash(data.evalBatch!())).toBe(evaluation);
      data.dispose();
    }
    const { tokens, targets } = sampleIclPrompts(new Rng(5), { d: 5, n: 20 }, 100);
    expect(sha256(tokens, targets)).toBe(sample);
  });

  it('puts sphere covariates on the unit sphere, isotropic: E[x xᵀ] = I/d, E[y²] = 1', () => {
    const config = { d: 4, n: 9, covariates: 'sphere' } as const;
    const { x, labels } = unpack(config, 2000, 'sphere');
    for (const v of x) expect(Math.abs(Math.sqrt(squaredNorm(v)) - 1)).toBeLessThan(1e-6);
    const m = secondMoments(x, 4);
    // Var(x_i²) = E[x_i⁴] − 1/d² = 3/(d(d+2)) − 1/d² = 1/48 for d = 4; 20,000 vectors.
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++)
        expect(Math.abs(m[i]![j]! - (i === j ? 0.25 : 0))).toBeLessThan(
          5 * Math.sqrt(1 / 48 / x.length),
        );
    // y = <w, x> with w ~ N(0, I): y ~ N(0, |x|²) = N(0, 1); Var(y²) = 2.
    const y2 = labels.flat().map((y) => y * y);
    expect(Math.abs(mean(y2) - 1)).toBeLessThan(5 * Math.sqrt(2 / y2.length));
  });

  it('draws gamma covariates with |x|² ~ Gamma(k, sqrt(10/k)): mean sqrt(10k), variance 10', () => {
    for (const k of [0.1, 0.5, 2.5]) {
      const { x } = unpack({ d: 5, n: 19, covariates: 'gamma', gammaShape: k }, 10000, `g${k}`);
      const g = x.map(squaredNorm);
      // G ~ Gamma(k, θ = sqrt(10/k)): mean kθ = sqrt(10k), variance kθ² = 10, excess kurtosis
      // 6/k, so Var(sample variance) ≈ σ⁴ (2 + 6/k) / m.
      const theta = Math.sqrt(10 / k);
      const m = g.length;
      expect(Math.abs(mean(g) - k * theta)).toBeLessThan(5 * Math.sqrt((k * theta * theta) / m));
      const sigma2 = k * theta * theta;
      expect(Math.abs(variance(g) - sigma2)).toBeLessThan(5 * sigma2 * Math.sqrt((2 + 6 / k) / m));
    }
  });

  it('gives gamma covariates heavier tails than normal ones (coordinate kurtosis)', () => {
    const coordinates = (config: IclPromptConfig, seed: string) =>
      unpack(config, 10000, seed).x.flatMap((v) => Array.from(v));
    const d = 5;
    // x_1 = u_1 sqrt(G): E[x_1⁴] / E[x_1²]² = E[u_1⁴] E[G²] / (E[u_1²] E[G])²
    //   = (3 / (d(d+2))) (10 + 10k) / (10k / d²) = 3 d (1 + k) / ((d + 2) k).
    const closedForm = (k: number) => (3 * d * (1 + k)) / ((d + 2) * k);
    const heavy = kurtosis(coordinates({ d, n: 19, covariates: 'gamma', gammaShape: 0.1 }, 'h'));
    const normal = kurtosis(coordinates({ d, n: 19 }, 'n'));
    expect(closedForm(0.1)).toBeCloseTo(23.57, 2);
    expect(Math.abs(heavy / closedForm(0.1) - 1)).toBeLessThan(0.2);
    expect(Math.abs(normal - 3)).toBeLessThan(0.1);
    expect(heavy).toBeGreaterThan(5 * normal);
    // k = 2.5, d = 5 makes G ~ chi²_5 and x ~ N(0, I_5) exactly (the scale of Ahn et al.):
    // Kolmogorov-Smirnov on one coordinate, 0.1% critical value 1.95 / sqrt(m).
    const { x } = unpack({ d, n: 19, covariates: 'gamma', gammaShape: 2.5 }, 1000, 'ks');
    const first = x.map((v) => v[0]!).sort((a, b) => a - b);
    const ks = Math.max(
      ...first.map((v, i) =>
        Math.max(
          Math.abs((i + 1) / first.length - normalCdf(v)),
          Math.abs(i / first.length - normalCdf(v)),
        ),
      ),
    );
    expect(ks).toBeLessThan(1.95 / Math.sqrt(first.length));
  });

  it('applies the covariance: E[x xᵀ] = U D² Uᵀ with orthogonal U, eigenvalues D²', () => {
    const scales = [2, 1, 0.5, 0.25];
    const config = { d: 4, n: 19, covariance: { scales } };
    const { rotation } = iclCovariance(4, config.covariance);
    const uut = sandwich(rotation, [1, 1, 1, 1], 1);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) expect(uut[i]![j]!).toBeCloseTo(i === j ? 1 : 0, 12);
    const { x } = unpack(config, 5000, 'cov');
    const empirical = secondMoments(x, 4);
    const sigma = sandwich(rotation, scales, 2);
    expectGaussianSecondMoments(empirical, sigma, x.length);
    // The rotation is not the identity: the covariance has clearly non-zero off-diagonals.
    expect(
      Math.max(...sigma.flatMap((row, i) => row.filter((_, j) => j !== i).map(Math.abs))),
    ).toBeGreaterThan(0.1);
    // Independently of U: the spectrum of the empirical covariance is D² (relative standard
    // error of an eigenvalue about sqrt(2/m) = 0.5%).
    const eigenvalues = new EigenvalueDecomposition(new Matrix(empirical), {
      assumeSymmetric: true,
    }).realEigenvalues.sort((a, b) => b - a);
    eigenvalues.forEach((l, i) => expect(Math.abs(l / scales[i]! ** 2 - 1)).toBeLessThan(0.03));
    // U comes from covariance.seed alone.
    const other = iclCovariance(4, { scales, seed: 1 }).rotation;
    expect(Array.from(other)).not.toEqual(Array.from(rotation));
    expect(Array.from(iclCovariance(4, { scales, seed: 0 }).rotation)).toEqual(
      Array.from(rotation),
    );
  });

  it('keeps the axes without rotation: E[x xᵀ] = D²', () => {
    const scales = [3, 1, 0.2];
    const { x } = unpack({ d: 3, n: 19, covariance: { scales, rotation: false } }, 3000, 'diag');
    const diagonal = scales.map((s, i) => scales.map((_, j) => (i === j ? s * s : 0)));
    expectGaussianSecondMoments(secondMoments(x, 3), diagonal, x.length);
  });

  it('transforms the task as Ahn et al. (w = U D⁻¹ w₀, y = <w₀, z>) unless told not to', () => {
    const scales = [2, 1, 0.5, 0.25];
    for (const transformTask of [true, false]) {
      const config = { d: 4, n: 20, covariance: { scales, transformTask } };
      const { x, labels } = unpack(config, 6000, `task-${transformTask}`);
      const w = recoverTasks(config, x, labels).map((v) => Float64Array.from(v));
      const { rotation } = iclCovariance(4, config.covariance);
      const identity = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)));
      const expected = transformTask ? sandwich(rotation, scales, -2) : identity;
      expectGaussianSecondMoments(secondMoments(w, 4), expected, w.length);
      // E[y_q²] = E[wᵀ Σ w] = tr(U D⁻¹ D² D⁻¹ Uᵀ) = d with the transform, tr(D²) without;
      // y_q is Gaussian given nothing, so Var(y_q²) = 2 E[y_q²]².
      const target = transformTask ? 4 : scales.reduce((s, v) => s + v * v, 0);
      const y2 = labels.map((y) => y[20]! ** 2);
      expect(Math.abs(mean(y2) - target)).toBeLessThan(5 * target * Math.sqrt(2 / y2.length));
    }
  });

  it('adds label noise: E[(y − <w, x>)²] = noise² on context labels and the query target', () => {
    const config = { d: 3, n: 10 };
    const noise = 0.5;
    const clean = unpack(config, 4000, 'noise');
    const noisy = unpack({ ...config, noise }, 4000, 'noise');
    // The noise has its own stream: x (and w) are the same as without noise.
    for (let r = 0; r < clean.x.length; r++)
      expect(Array.from(noisy.x[r]!)).toEqual(Array.from(clean.x[r]!));
    const w = recoverTasks(config, clean.x, clean.labels);
    const residuals = (i: number) =>
      noisy.labels.map((y, b) => {
        const x = noisy.x[b * 11 + i]!;
        return y[i]! - w[b]!.reduce((s, v, k) => s + v * x[k]!, 0);
      });
    for (const i of [0, 10]) {
      const r = residuals(i);
      const r2 = r.map((v) => v * v);
      // ε ~ N(0, 1): Var((noise ε)²) = 2 noise⁴.
      expect(Math.abs(mean(r2) - noise ** 2)).toBeLessThan(
        5 * noise ** 2 * Math.sqrt(2 / r.length),
      );
      expect(Math.abs(mean(r))).toBeLessThan(5 * noise * Math.sqrt(1 / r.length));
    }
    // And the noiseless residuals are zero up to float32 rounding.
    expect(
      Math.max(
        ...clean.labels.map((y, b) =>
          Math.abs(y[10]! - w[b]!.reduce((s, v, k) => s + v * clean.x[b * 11 + 10]![k]!, 0)),
        ),
      ),
    ).toBeLessThan(1e-4);
  });

  it('draws the evaluation batch from evalSeed, independently of the training stream', async () => {
    await useBackend('cpu');
    const covariance = { scales: [1, 1, 0.5, 0.25, 1] };
    const hashes = (config: Record<string, unknown>, seed: number) => {
      const data = dataset({ batchSize: 8, evalBatchSize: 16, ...config }, seed);
      const out = {
        train: tf.tidy(() => batchHash(data.batch(0))),
        evaluation: batchHash(data.evalBatch!()),
      };
      data.dispose();
      return out;
    };
    for (const extra of [{}, { covariates: 'gamma', covariance }]) {
      const a = hashes({ ...extra, evalSeed: 99 }, 0);
      const b = hashes({ ...extra, evalSeed: 99 }, 1);
      expect(a.evaluation).toBe(b.evaluation);
      expect(a.train).not.toBe(b.train);
      // The training stream is the one without evalSeed.
      expect(a.train).toBe(hashes(extra, 0).train);
      expect(a.evaluation).not.toBe(hashes(extra, 0).evaluation);
      // evalSeed: s gives the evaluation batch that data seed s gives by default.
      expect(a.evaluation).toBe(hashes({ ...extra, seed: 99 }, 5).evaluation);
    }
  });

  it('records the covariates and the noise in info.meta', () => {
    const plain = dataset({ d: 5, n: 20 });
    expect(plain.info.meta).toEqual({ d: 5, n: 20, covariates: 'normal', noise: 0 });
    const data = dataset({
      d: 3,
      n: 4,
      covariates: 'gamma',
      gammaShape: 0.5,
      noise: 0.1,
      covariance: { scales: [1, 0.5, 0.25], rotation: false },
    });
    expect(data.info.meta).toEqual({
      d: 3,
      n: 4,
      covariates: 'gamma',
      gammaShape: 0.5,
      noise: 0.1,
      covarianceScales: '1,0.5,0.25',
      covarianceRotation: false,
      covarianceTransformTask: true,
    });
  });

  it('rejects bad options with the path', () => {
    const problems = (config: Record<string, unknown>) =>
      registry.check('dataset', { name: 'icl-linear-regression', ...config }, 'dataset').problems;
    expect(problems({ d: 5, covariance: { scales: [1, 2, 3] } })).toMatchObject([
      { path: 'dataset.covariance.scales', message: 'needs d = 5 scales, got 3' },
    ]);
    expect(problems({ covariates: 'cauchy' })[0]).toMatchObject({ path: 'dataset.covariates' });
    expect(problems({ noise: -1 })[0]).toMatchObject({
      path: 'dataset.noise',
      message: 'must be >= 0',
    });
    expect(problems({ gammaShape: 0 })[0]).toMatchObject({ path: 'dataset.gammaShape' });
    expect(problems({ d: 2, covariance: { scales: [1, 0] } })[0]).toMatchObject({
      path: 'dataset.covariance.scales[1]',
    });
    expect(problems({ d: 2, covariance: { scales: [1, 1], rotate: true } })[0]).toMatchObject({
      path: 'dataset.covariance.rotate',
    });
    expect(() =>
      sampleIclPrompts(new Rng(1), { d: 2, n: 3, covariance: { scales: [1] } }, 1),
    ).toThrow(TdxError);
    expect(() => sampleIclPrompts(new Rng(1), { d: 2, n: 3, noise: -1 }, 1)).toThrow(TdxError);
  });

  it('does not leak tensors over many batches', async () => {
    await useBackend('cpu');
    const data = dataset({
      batchSize: 32,
      evalBatchSize: 32,
      covariates: 'gamma',
      noise: 0.1,
      covariance: { scales: [1, 1, 0.5, 0.25, 1] },
    });
    data.evalBatch!();
    const before = tf.memory().numTensors;
    for (let step = 0; step < 30; step++) {
      tf.tidy(() => {
        data.batch(step);
        data.evalBatch!();
      });
      const { inputs, targets } = data.batch(step);
      tf.dispose([inputs, targets]);
    }
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
  });
});
