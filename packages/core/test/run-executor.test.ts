/**
 * executeRun writing into one folder while its results name another (`reportDir`): a run
 * executed in a scratch folder whose files are copied to their folder afterwards.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executeRun, Registry, resolveExperiment, type ExperimentEvent } from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

describe('executeRun with a reportDir', () => {
  it('writes into dir and reports reportDir in result.json and the events', async () => {
    const registry = Registry.create().register(...toyPlugins);
    const { runs } = await resolveExperiment(toySpec, { registry });
    const dir = join(mkdtempSync(join(tmpdir(), 'tdx-scratch-')), 'run');
    const events: ExperimentEvent[] = [];
    const result = await executeRun(
      { plan: runs[0]!, dir, reportDir: '/results/toy/run', index: 0, total: 1, mode: 'fresh' },
      {
        registry,
        backend: { name: 'toy-backend' },
        emit: (e) => events.push(e),
        checkpoint: {},
        shouldStop: () => false,
      },
    );
    expect(result).toMatchObject({ status: 'completed', dir: '/results/toy/run' });
    expect(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')).dir).toBe('/results/toy/run');
    expect(existsSync(join(dir, 'metrics.jsonl'))).toBe(true);
    expect(existsSync('/results/toy/run')).toBe(false);
    const start = events.find((e) => e.type === 'run-start');
    expect(start && start.type === 'run-start' && start.dir).toBe('/results/toy/run');
  });
});
