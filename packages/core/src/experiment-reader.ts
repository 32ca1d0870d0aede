/**
 * Reading an experiment folder back: the runs of its latest spec (experiment.json), each with
 * its spec, identity, result, metrics and analyses. This is what reporters and `tdx report` use.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BackendInfo } from './contracts.js';
import { TdxError } from './errors.js';
import type { AnalysisFile, ExperimentData, RunData } from './experiment-data.js';
import type { MetricsRecord, RunResult } from './events.js';
import { readJson, readJsonFile, readJsonlFile } from './run-directory.js';

/** The content of experiment.json. */
export interface ExperimentFile {
  spec: Record<string, unknown>;
  specFile?: string;
  runs: string[];
  backend?: BackendInfo;
  updatedAt: string;
}

function readRun(dir: string, id: string): RunData {
  const unreadable: NonNullable<RunData['unreadable']> = [];
  const read = <T>(path: string): T | undefined => {
    const file = readJsonFile<T>(path);
    if (file && 'damaged' in file) unreadable.push({ file: path, reason: file.damaged });
    return file && 'value' in file ? file.value : undefined;
  };
  const spec = read<Record<string, unknown>>(join(dir, 'spec.json')) ?? {};
  const info = read<Record<string, unknown>>(join(dir, 'run.json')) ?? {};
  const result = read<RunResult>(join(dir, 'result.json'));
  const analyses: Record<string, AnalysisFile> = {};
  const analysesDir = join(dir, 'analyses');
  if (existsSync(analysesDir)) {
    for (const file of readdirSync(analysesDir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const content = read<AnalysisFile>(join(analysesDir, file));
      if (content?.records) analyses[content.label] = content;
    }
  }
  const metricsPath = join(dir, 'metrics.jsonl');
  const metrics = readJsonlFile(metricsPath, { requireStep: true });
  for (const d of metrics.damaged)
    unreadable.push({ file: metricsPath, line: d.line, reason: `damaged record (${d.reason})` });
  const optimizer = (spec.optimizer as { label?: string } | undefined)?.label ?? '';
  const label = (info.label as string | undefined) ?? id;
  return {
    id,
    label,
    group: (info.group as string | undefined) ?? label,
    seed: (info.seed as number | undefined) ?? (spec.seed as number | undefined) ?? 0,
    model:
      (info.model as string | undefined) ??
      (spec.model as { label?: string } | undefined)?.label ??
      '',
    optimizer: (info.optimizer as string | undefined) ?? optimizer,
    sweep: (info.sweep as Record<string, unknown> | undefined) ?? {},
    ...(info.tune === undefined ? {} : { tune: info.tune as Record<string, unknown> }),
    dir,

    spec,
    ...(result && typeof result.status === 'string' ? { result } : {}),
    info,
    metrics: metrics.records as MetricsRecord[],
    analyses,
    ...(unreadable.length > 0 ? { unreadable } : {}),
  };
}

/** Run folders of an experiment without experiment.json: every folder holding a spec.json. */
function runFolders(dir: string): string[] {
  return readdirSync(dir)
    .filter(
      (d) =>
        !d.includes('.previous-') &&
        statSync(join(dir, d)).isDirectory() &&
        existsSync(join(dir, d, 'spec.json')),
    )
    .sort();
}

export function readExperiment(dir: string): ExperimentData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TdxError('INVALID_ARGUMENT', `no experiment folder at ${dir}`, {
      hint: "give the folder of a spec's runs, e.g. runs/quickstart",
    });
  }
  const meta = readJson<ExperimentFile>(join(dir, 'experiment.json'));
  const ids = (meta?.runs ?? runFolders(dir)).filter((id) => existsSync(join(dir, id)));
  return {
    name: (meta?.spec.name as string | undefined) ?? basename(dir),
    dir,
    spec: meta?.spec ?? {},
    ...(meta?.backend ? { backend: meta.backend } : {}),
    runs: ids.map((id) => readRun(join(dir, id), id)),
  };
}
