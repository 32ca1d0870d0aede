// Replays one run of deep-clip.yaml (L = 8, Adam lr 0.005, b2 0.9, global clip 1, batches of
// 500) up to the step T where its loss turned infinite, then evaluates the parameters θ_T on
// every training batch 0..799 and θ_{T-1} on batch T: is the blow-up a property of batch T or
// of the parameters?  usage: node tests/scripts/divergence-batches.mjs <seed> <T> [optimizer json]
import { deriveSeed } from '@tdx/core';
import { createDefaultRegistry } from '@tdx/cli';
import { tf, useBackend, startMinibatchSession } from '@tdx/tensor';
const [seed, T] = process.argv.slice(2, 4).map(Number);
const optRef = process.argv[4]
  ? JSON.parse(process.argv[4])
  : { name: 'adam', lr: 0.005, b1: 0.9, b2: 0.9, clipNorm: 1 };
await useBackend('tensorflow');
const registry = createDefaultRegistry();
const dataset = registry.create(
  'dataset',
  { name: 'icl-linear-regression', d: 5, n: 20, batchSize: 500, evalBatchSize: 1000 },
  { seed: deriveSeed(seed, 'dataset') },
);
const builder = registry.create(
  'model',
  { name: 'linear-transformer', layers: 8, initStd: 0.05, parameterization: 'sparse' },
  { seed: deriveSeed(seed, 'model') },
);
const optimizer = registry.create('optimizer', optRef, { seed: deriveSeed(seed, 'optimizer') });
const session = startMinibatchSession({ dataset, model: builder, optimizer }, { leakCheck: 'off' });
const model = session.target().model;
let before = null;
const lossOn0 = (s) =>
  tf.tidy(() => model.loss(model.params.values(), dataset.batch(s)).dataSync()[0]);
const census = (t) => {
  const all = Array.from({ length: 800 }, (_, s) => lossOn0(s));
  console.log(
    `θ_${t}: batches with loss > 1: ${all.filter((l) => !(l <= 1)).length}/800, non-finite ${all.filter((l) => !Number.isFinite(l)).length}, median ${all.sort((a, b) => a - b)[400].toExponential(2)}`,
  );
};
const checkpoints = (process.env.CENSUS ?? '').split(',').filter(Boolean).map(Number);
for (let t = 0; t < T; t++) {
  if (checkpoints.includes(t)) census(t);
  if (t === T - 1) before = model.params.flatten();
  const loss = session.step(t);
  if (process.env.TRACE && t % 50 === 0) console.log(`replay step ${t}: loss ${loss}`);
  if (!Number.isFinite(loss)) {
    console.log(`non-finite loss already at step ${t}`);
    process.exit(0);
  }
}
const lossOn = (s) =>
  tf.tidy(() => model.loss(model.params.values(), dataset.batch(s)).dataSync()[0]);
const perPrompt = (s) =>
  tf.tidy(() => {
    const b = dataset.batch(s);
    const p = model.predict(model.params.values(), b.inputs).dataSync();
    const y = b.targets.dataSync();
    return Array.from(p, (v, i) => (v - y[i]) ** 2);
  });
const all = Array.from({ length: 800 }, (_, s) => lossOn(s));
const finite = all.filter(Number.isFinite);
const bad = all.map((l, s) => [s, l]).filter(([, l]) => !Number.isFinite(l) || l > 1);
console.log(
  `seed ${seed}: loss at θ_${T} on batch ${T}: ${all[T]}; on the 800 batches: ${finite.length} finite, median ${finite.sort((a, b) => a - b)[400]?.toExponential(2)}`,
);
console.log(
  `batches with loss > 1 or non-finite at θ_${T}: ${bad.length} ${JSON.stringify(bad.slice(0, 20).map(([s, l]) => [s, Number(l.toPrecision(3))]))}`,
);
const errs = perPrompt(T);
const worst = errs
  .map((e, i) => [i, e])
  .sort((a, b) => (Number.isFinite(b[1]) ? b[1] : 1e300) - (Number.isFinite(a[1]) ? a[1] : 1e300))
  .slice(0, 3);
console.log(
  `batch ${T} at θ_${T}: worst prompts (index, squared error): ${JSON.stringify(worst.map(([i, e]) => [i, Number(e.toPrecision(3))]))}; prompts non-finite: ${errs.filter((e) => !Number.isFinite(e)).length}`,
);
{
  const b = dataset.batch(T);
  const x = b.inputs.arraySync();
  const sq = (v) => v.slice(0, 5).reduce((a, c) => a + c * c, 0);
  const info = (i) => ({
    query: sq(x[i][20]),
    maxContext: Math.max(...x[i].slice(0, 20).map(sq)),
    sumContext: x[i].slice(0, 20).reduce((a, r) => a + sq(r), 0),
  });
  const w = worst[0][0];
  const rankBy = (key) => 1 + x.filter((_, i) => info(i)[key] > info(w)[key]).length;
  console.log(
    `worst prompt ${w}: ${JSON.stringify(info(w))}; ranks in its batch of 500: query ${rankBy('query')}, maxContext ${rankBy('maxContext')}, sumContext ${rankBy('sumContext')}`,
  );
}
const after = model.params.flatten();
model.params.assign(before);
console.log(
  `batch ${T} at θ_${T - 1}: ${lossOn(T)}; batch ${T - 1} at θ_${T - 1}: ${lossOn(T - 1)}; |θ_${T} − θ_${T - 1}|_max ${Math.max(...after.map((x, i) => Math.abs(x - before[i])))}`,
);
