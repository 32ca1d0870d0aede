/** Running reporters: each one's failure and each problem it records become report errors. */
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  definePlugin,
  runReporters,
  z,
  type ExperimentData,
  type ReportContext,
  type ReporterInstance,
} from '../src/index.js';

const data = { dir: '/nowhere', spec: {}, runs: [] } as unknown as ExperimentData;

function reporter(name: string, report: (problem?: (m: string) => void) => string[]) {
  return definePlugin({
    kind: 'reporter',
    name,
    description: 'test double',
    config: z.object({}),
    create: (): ReporterInstance => ({
      report: (_data: ExperimentData, ctx: ReportContext) => report(ctx.problem),
    }),
  });
}

describe('runReporters', () => {
  it('keeps the files of every reporter and names the problems and failures of each', async () => {
    const registry = createRegistry().register(
      reporter('fine', () => ['a.csv']),
      reporter('partial', (problem) => {
        problem?.('the figures of analysis "x" failed: bad data');
        return ['report.html'];
      }),
      reporter('broken', () => {
        throw new Error('disk full');
      }),
    );
    const refs = ['fine', 'partial', 'broken'].map((name) => ({ name, label: name, config: {} }));
    const outcome = await runReporters(data, refs, registry);
    expect(outcome.files).toEqual(['a.csv', 'report.html']);
    expect(outcome.errors).toEqual([
      'reporter "partial": the figures of analysis "x" failed: bad data',
      'reporter "broken" failed: disk full',
    ]);
  });
});
