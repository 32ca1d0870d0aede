import { describe, expect, it } from 'vitest';
import {
  gelu,
  layerNorm,
  Rng,
  startMinibatchSession,
  tf,
  useBackend,
  type Dataset,
  type GradientTransformation,
  type ModelBuilder,
  type ParamValues,
  type Tensor,
  exactnessBackends,
  isMeanFieldModel,
  missingMeanField,
  type MeanFieldModel,
  type Model,
} from '@tdx/tensor';
import {
  blockShape,
  buildGpt,
  gaussianKernel,
  gptConfig,
  transformerBlock,
  transformerBlockParams,
  transformerParticles,
  vitConfig,
  buildVit,
} from '../src/index.js';
import { expectExactHvp, imageInfo, images, lmInfo, tokens } from './support/checks.js';

/** The model as a mean-field model; fails the test when it is not one. */
function meanFieldOf(model: Model): MeanFieldModel {
  if (!isMeanFieldModel(model))
    throw new Error(`not a mean-field model: no ${missingMeanField(model).join(', ')}`);
  return model;
}

const meanField = (heads: number, layers: number, alpha = 1.5) =>
  blockShape({
    width: 6,
    heads,
    headDim: 2,
    mlpRatio: 1,
    mlpWidth: heads,
    layers,
    parameterization: 'mean-field',
    alpha,
  });

/** The block's parameters as tensors, by name. */
function blockValues(shape: ReturnType<typeof meanField>, layer: number, seed: number) {
  const specs = transformerBlockParams(layer, shape, new Rng(seed), 1);
  const values: ParamValues = Object.fromEntries(
    specs.map((s) => [s.name, tf.tensor(Float32Array.from(s.init.values), s.init.shape)]),
  );
  return { specs, values };
}

describe('the mean-field parameterisation [cpu]', () => {
  it('scales each sublayer by α/(L·M) times the sum over its heads and neurons', async () => {
    await useBackend('cpu');
    const kernel = gaussianKernel({ normalize: false });
    for (const [M, L] of [
      [3, 1],
      [5, 3],
    ] as const) {
      const shape = meanField(M, L);
      const { values } = blockValues(shape, 0, 11);
      tf.tidy(() => {
        const x = new Rng(2).normalTensor([2, 4, 6]);
        const got = transformerBlock(x, values, 0, shape, kernel);
        // Independently: one head or neuron at a time, summed, then scaled.
        const v = (name: string) => values[`layers.0.${name}`]!;
        const h = layerNorm(x, v('norm1.gain'), v('norm1.bias'));
        const columns = (w: Tensor, j: number) => tf.slice(w, [0, 2 * j], [6, 2]);
        let attention: Tensor = tf.zeros([2, 4, 6]);
        for (let j = 0; j < M; j++) {
          const [q, k, val] = ['attn.query', 'attn.key', 'attn.value'].map((n) =>
            tf.matMul(h, tf.tile(tf.expandDims(columns(v(n), j), 0), [2, 1, 1])),
          );
          const head = tf.matMul(kernel.weights(q!, k!), val!);
          const out = tf.slice(v('attn.output'), [2 * j, 0], [2, 6]);
          attention = tf.add(attention, tf.matMul(head, tf.tile(tf.expandDims(out, 0), [2, 1, 1])));
        }
        const x1 = tf.add(x, tf.mul(attention, 1.5 / (L * M)));
        const m = layerNorm(x1, v('norm2.gain'), v('norm2.bias'));
        let mlp: Tensor = tf.zeros([2, 4, 6]);
        for (let j = 0; j < M; j++) {
          const w = tf.slice(v('mlp.in'), [0, j], [6, 1]);
          const b = tf.slice(v('mlp.in.bias'), [j], [1]);
          const a = tf.slice(v('mlp.out'), [j, 0], [1, 6]);
          const unit = gelu(tf.add(tf.matMul(tf.reshape(m, [8, 6]), w), b));
          mlp = tf.add(mlp, tf.reshape(tf.matMul(unit, a), [2, 4, 6]));
        }
        const expected = tf.add(x1, tf.mul(mlp, 1.5 / (L * M)));
        const [g, e] = [got.dataSync(), expected.dataSync()];
        e.forEach((value, i) => expect(g[i]!).toBeCloseTo(value, 5));
      });
      tf.dispose(Object.values(values));
    }
  });

  it('has no projection biases, and lrScale L·M on every unit block only', () => {
    const shape = meanField(4, 3);
    const specs = transformerBlockParams(1, shape, new Rng(1), 1);
    const scales = Object.fromEntries(specs.map((s) => [s.name, s.lrScale]));
    expect(scales).toEqual({
      'layers.1.norm1.gain': undefined,
      'layers.1.norm1.bias': undefined,
      'layers.1.attn.query': 12,
      'layers.1.attn.key': 12,
      'layers.1.attn.value': 12,
      'layers.1.attn.output': 12,
      'layers.1.norm2.gain': undefined,
      'layers.1.norm2.bias': undefined,
      'layers.1.mlp.in': 12,
      'layers.1.mlp.in.bias': 12,
      'layers.1.mlp.out': 12,
    });
  });

  it('lays out particles as each head’s Q, K, V columns and O rows; each neuron’s w, b, a', () => {
    const shape = meanField(3, 1);
    const { values } = blockValues(shape, 0, 5);
    const [heads, neurons] = transformerParticles(values, shape);
    expect(heads).toMatchObject({ kind: 'attention', layer: 0, count: 3, dimension: 4 * 6 * 2 });
    expect(neurons).toMatchObject({ kind: 'mlp', layer: 0, count: 3, dimension: 13 });
    const q = values['layers.0.attn.query']!.arraySync() as number[][];
    const o = values['layers.0.attn.output']!.arraySync() as number[][];
    const j = 2;
    const particle = Array.from(heads!.values.subarray(j * 48, (j + 1) * 48));
    expect(particle.slice(0, 12)).toEqual(q.flatMap((row) => row.slice(2 * j, 2 * j + 2)));
    expect(particle.slice(36)).toEqual([...o[2 * j]!, ...o[2 * j + 1]!]);
    const wIn = values['layers.0.mlp.in']!.arraySync() as number[][];
    const wOut = values['layers.0.mlp.out']!.arraySync() as number[][];
    const neuron = Array.from(neurons!.values.subarray(13, 26));
    expect(neuron).toEqual([...wIn.map((row) => row[1]!), 0, ...wOut[1]!]);
    tf.dispose(Object.values(values));
  });
});

for (const backend of exactnessBackends()) {
  describe(`mean-field models [${backend}]`, () => {
    it('gpt and vit have exact Hessian-vector products, and expose particles', async () => {
      await useBackend(backend);
      const config = {
        layers: 2,
        width: 8,
        heads: 3,
        headDim: 2,
        mlpWidth: 5,
        initStd: 0.5,
        parameterization: 'mean-field',
      };
      const gpt = buildGpt(gptConfig.parse(config), lmInfo(5, 7), 3);
      const text = tokens(2, 3, 5, 7);
      await expectExactHvp(gpt, text);
      const field = meanFieldOf(gpt);
      expect(field.meanField).toEqual({ layers: 2, heads: 3, neurons: 5, alpha: 1 });
      expect(field.particles(gpt.params.values()).map((g) => [g.kind, g.layer, g.count])).toEqual([
        ['attention', 0, 3],
        ['mlp', 0, 5],
        ['attention', 1, 3],
        ['mlp', 1, 5],
      ]);
      gpt.dispose();
      tf.dispose([text.inputs, text.targets]);
      const vit = buildVit(vitConfig.parse({ ...config, patch: 2 }), imageInfo(4, 3), 1);
      const pictures = images(2, 3, 4, 3);
      await expectExactHvp(vit, pictures);
      vit.dispose();
      tf.dispose([pictures.inputs, pictures.targets]);
      const standard = buildGpt(gptConfig.parse({ width: 8, heads: 2 }), lmInfo(4, 5), 1);
      expect(missingMeanField(standard)).toEqual(['particles', 'meanField']);
      standard.dispose();
    });
  });
}

describe('sizes of a mean-field model [cpu]', () => {
  it('are coupled: the same embedding and readout, and the first M units of 2M are those of M', async () => {
    await useBackend('cpu');
    const build = (heads: number) =>
      buildGpt(
        gptConfig.parse({
          layers: 2,
          width: 8,
          heads,
          headDim: 2,
          mlpWidth: 2 * heads,
          initStd: 1,
          parameterization: 'mean-field',
        }),
        lmInfo(5, 7),
        3,
      );
    const [small, large] = [build(3), build(6)];
    for (const name of ['embed.token', 'embed.position', 'head'])
      expect(large.params.block(name).variable.dataSync()).toEqual(
        small.params.block(name).variable.dataSync(),
      );
    const [a, b] = [small, large].map((m) => meanFieldOf(m).particles(m.params.values()));
    for (let g = 0; g < a.length; g++) {
      const { count, dimension } = a[g]!;
      expect(b[g]!.values.slice(0, count * dimension)).toEqual(a[g]!.values);
    }
    small.dispose();
    large.dispose();
  });
});

describe('training time in the mean-field parameterisation [cpu]', () => {
  it('moves a particle at O(1) speed whatever M, and shared particles alike as M grows', async () => {
    await useBackend('cpu');
    const gd: GradientTransformation<null> = {
      init: () => null,
      update: (grads, state) => ({
        updates: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, -0.05)])),
        state,
      }),
    };
    const data: Dataset = {
      info: lmInfo(6, 5),
      batch: (step) => tokens(step, 16, 6, 5),
      dispose: () => undefined,
    };
    /** One step's displacement of the first 4 heads of layer 0 (the same particles at every M). */
    const firstHeadsStep = (heads: number): Float64Array => {
      const builder: ModelBuilder = {
        build: (info) =>
          buildGpt(
            gptConfig.parse({
              layers: 1,
              width: 8,
              heads,
              headDim: 2,
              mlpWidth: heads,
              initStd: 1,
              parameterization: 'mean-field',
            }),
            info,
            7,
          ),
      };
      const session = startMinibatchSession(
        { dataset: data, model: builder, optimizer: gd, seed: 0 },
        { leakCheck: 'error', trainable: [{ role: ['query', 'key', 'value', 'output'] }] },
      );
      const { model, params } = session.target();
      const heads4 = () => {
        const group = meanFieldOf(model).particles(params.values())[0]!;
        return group.values.slice(0, 4 * group.dimension);
      };
      const before = heads4();
      session.step(0);
      const after = heads4();
      session.dispose();
      return after.map((x, i) => x - before[i]!);
    };
    const [m4, m16, m64] = [4, 16, 64].map(firstHeadsStep);
    const norm = (v: Float64Array) => Math.hypot(...v);
    const distance = (a: Float64Array, b: Float64Array) => norm(a.map((x, i) => x - b[i]!));
    // The coupled initialisation gives the same first four heads at every M.
    expect(norm(m4)).toBeGreaterThan(1e-3);
    // O(1) speed: without the L·M multiplier the ratio of the norms would be 16 and 1/4.
    for (const m of [m16, m64]) {
      expect(norm(m) / norm(m4)).toBeGreaterThan(1 / 3);
      expect(norm(m) / norm(m4)).toBeLessThan(3);
    }
    // The shared particles' velocities settle as M grows: the mean-field state converges.
    expect(distance(m16, m64)).toBeLessThan(distance(m4, m64));
  });
});
