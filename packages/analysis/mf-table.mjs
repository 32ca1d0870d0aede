import { readExperiment } from '@tdx/core';
import { curveGaps, particleDistances, particleDrift } from '@tdx/analysis';
const dir = process.argv[2];
const data = readExperiment(dir);
const runs = data.runs.filter((r) => r.analyses['mean-field']).map((run) => ({ run, file: run.analyses['mean-field'] }));
for (const which of ['loss', 'objective']) {
  console.log(`curve gaps (${which}):`);
  for (const p of curveGaps(runs, which).pairs) console.log(`  ${p.from} → ${p.to}: max ${p.max.toFixed(4)} mean ${p.mean.toFixed(4)}`);
}
console.log('sliced W2 between successive sizes (at the last τ, and at τ=0):');
for (const p of particleDistances(runs).pairs) {
  const last = p.points.at(-1), first = p.points[0];
  console.log(`  ${p.from} → ${p.to} ${p.kind}: τ=${first.time} ${first.distance.toFixed(4)}, τ=${last.time} ${last.distance.toFixed(4)} ± ${last.standardError?.toFixed(4)}`);
}
const byGroup = new Map();
for (const { run, file } of runs) {
  const last = file.records.at(-1);
  const g = byGroup.get(run.group) ?? [];
  g.push(last); byGroup.set(run.group, g);
}
const fmt = (x) => (typeof x === 'number' ? x.toPrecision(4) : String(x));
for (const [g, recs] of byGroup) {
  const mean = (k) => recs.reduce((s, r) => s + r[k], 0) / recs.length;
  console.log(`${g}: τ ${fmt(recs[0].tau)} R ${fmt(mean('loss'))} Q ${fmt(mean('objective'))} gap ${fmt(mean('stationarity'))} |∇R| ${fmt(mean('gradientNorm'))}`);
}
