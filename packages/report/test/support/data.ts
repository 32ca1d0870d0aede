/** Synthetic experiments, built by hand: what readExperiment would return for known runs. */
import type { AnalysisFile, ExperimentData, MetricsRecord, RunData } from '@tdx/core';

export function run(
  label: string,
  group: string,
  seed: number,
  losses: Array<number | null>,
  extra: Partial<RunData> = {},
): RunData {
  const metrics: MetricsRecord[] = losses.map((loss, i) => ({
    step: i * 10,
    optimizer: group,
    loss,
    evalLoss: loss === null ? null : loss * 1.1,
  }));
  return {
    id: `${label}-0000000${seed}`,
    label,
    group,
    seed,
    model: 'm',
    optimizer: group,
    sweep: {},
    dir: `/runs/x/${label}`,
    spec: {
      name: 'x',
      seed,
      dataset: { name: 'd', label: 'd', n: 20 },
      model: { name: 'm', label: 'm', layers: 3 },
      optimizer: { name: group, label: group, lr: 0.01, betas: [0.9, 0.99] },
      trainer: { name: 'minibatch', label: 'minibatch' },
      train: { steps: 20, logEvery: 10 },
      analyses: [],
    },
    result: {
      id: `${label}-0000000${seed}`,
      label,
      dir: `/runs/x/${label}`,
      status: 'completed',
      steps: 20,
      finalLoss: losses.at(-1) ?? undefined,
      wallMs: 2500,
    },
    info: {},
    metrics,
    analyses: {},
    ...extra,
  } as RunData;
}

export function analysis(
  label: string,
  values: Array<[number, number]>,
  name = label,
): AnalysisFile {
  return {
    analysis: name,
    label,
    config: {},
    every: 10,
    records: values.map(([step, value]) => ({ step, value })),
  };
}

export function experiment(
  runs: RunData[],
  spec: Record<string, unknown> = { name: 'x' },
): ExperimentData {
  return { name: 'x', dir: '/runs/x', spec, backend: { name: 'cpu' }, runs };
}
