/** The html reporter: report.html self-contained, figures as files, written in every case. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  definePlugin,
  TdxError,
  z,
  type AnalysisInstance,
  type ExperimentData,
  type ReporterInstance,
} from '@tdx/core';
import { register } from '../src/index.js';
import { analysis, experiment, run } from './support/data.js';

const inTempDir = (data: ExperimentData): ExperimentData => ({
  ...data,
  dir: mkdtempSync(join(tmpdir(), 'tdx-report-')),
});

async function report(data: ExperimentData, registry = register(createRegistry()), config = {}) {
  const reporter = registry.create<ReporterInstance>('reporter', { name: 'html', ...config });
  const files = await reporter.report(data, { registry });
  return { files, html: readFileSync(join(data.dir, 'report.html'), 'utf8') };
}

const eigenvalue = (values: Array<[number, number]>) => ({
  'top-eigenvalue': analysis('top-eigenvalue', values),
});

const malicious = '</pre><script>alert(1)</script>';

describe('the html reporter', () => {
  const runs = [
    run('sgd', 'sgd', 0, [5, 2, 1], {
      analyses: eigenvalue([
        [0, 20],
        [20, 15],
      ]),
    }),
    run('adam', 'adam', 0, [5, 1, 0.1], {
      analyses: eigenvalue([
        [0, 20],
        [20, 2],
      ]),
    }),
  ];
  const data = inTempDir(experiment(runs, { name: 'x', description: malicious, note: malicious }));
  const written = report(data, undefined, { title: 'SGD & Adam' });

  it('writes one inline SVG per figure, and each figure as figures/<id>.svg', async () => {
    const { files, html } = await written;
    const svgs = ['loss.svg', 'eval-loss.svg', 'analysis-top-eigenvalue.svg'];
    expect(files).toEqual([
      join(data.dir, 'report.html'),
      ...svgs.map((f) => join(data.dir, 'figures', f)),
    ]);
    expect(readdirSync(join(data.dir, 'figures')).sort()).toEqual([...svgs].sort());
    expect(html.split('<svg').length - 1).toBe(3);
    expect(html.split('<figure').length - 1).toBe(3);
    // Loss figures first, then the analyses'.
    expect(html.indexOf('id="figure-loss"')).toBeLessThan(html.indexOf('id="figure-eval-loss"'));
    expect(html.indexOf('id="figure-eval-loss"')).toBeLessThan(
      html.indexOf('id="figure-analysis-top-eigenvalue"'),
    );
    const svgFile = readFileSync(join(data.dir, 'figures', 'loss.svg'), 'utf8');
    expect(html).toContain(svgFile);
  });

  it('is self-contained: inline CSS, no scripts, no links to files or URLs', async () => {
    const { html } = await written;
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<img|<link|<iframe/i);
    expect(html).not.toMatch(/\s(src|href)=/);
  });

  it('escapes everything that comes from the data', async () => {
    const { html } = await written;
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain(malicious);
    expect(html).toContain('<h1>SGD &amp; Adam</h1>');
  });

  it('shows when it was generated, the backend, the runs and the spec', async () => {
    const { html } = await written;
    expect(html).toMatch(/Generated \d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(html).toContain('backend cpu');
    expect(html).toContain(
      '<tr><td>adam</td><td class="status-completed">completed</td><td class="num">20</td><td class="num">0.1</td>',
    );
    expect(html.split('<tbody>')[1]!.split('<tr>').length - 1).toBe(2);
    const spec = /<pre>([\s\S]*)<\/pre>/.exec(html)![1]!;
    expect(spec).toContain('&quot;description&quot;: &quot;&lt;/pre&gt;');
    expect(spec.split('\n').length).toBeGreaterThan(3); // pretty-printed
    // Collapsed by default (no `open`), its summary saying what it is.
    expect(html).toMatch(
      /<details><summary>The experiment as resolved[^<]*<code>experiment\.json<\/code>\)<\/summary>\s*<pre>/,
    );
    expect(html).toMatch(/<\/pre><\/details>/);
    expect(html).not.toMatch(/<details open/);
  });

  it('is written for an experiment without runs, saying so', async () => {
    const empty = inTempDir(experiment([]));
    const { files, html } = await report(empty);
    expect(files).toEqual([join(empty.dir, 'report.html')]);
    expect(html).toContain('This experiment has no runs yet.');
    expect(html).not.toContain('<svg');
  });

  it('is written when runs have not finished, saying so', async () => {
    const unfinished = run('late', 'late', 0, [4, 3], { result: undefined });
    const partial = inTempDir(experiment([runs[0]!, unfinished]));
    const { html } = await report(partial);
    expect(html).toContain('1 of 2 run(s) have not finished');
    expect(html).toContain('<td class="status-unfinished">unfinished</td>');
  });

  it('gives figures safe, unique file names', async () => {
    const figures = [
      { id: '../../escape', title: 'a' },
      { id: '../../escape', title: 'b' },
      { id: 'a b/c', title: 'c' },
    ].map((f) => ({
      kind: 'lines' as const,
      ...f,
      x: { label: 'x' },
      y: { label: 'y' },
      series: [],
    }));
    const registry = register(createRegistry()).register(
      definePlugin({
        kind: 'analysis',
        name: 'top-eigenvalue',
        description: 'test double',
        config: z.object({}),
        create: (): AnalysisInstance => ({ run: () => ({}), figures: () => figures }),
      }),
    );
    const withRefs = runs.map((r) => ({
      ...r,
      spec: { ...r.spec, analyses: [{ name: 'top-eigenvalue', label: 'top-eigenvalue' }] },
    }));
    const named = inTempDir(experiment(withRefs));
    await report(named, registry);
    expect(readdirSync(join(named.dir, 'figures')).sort()).toEqual(
      ['a-b-c.svg', 'escape-2.svg', 'escape.svg', 'eval-loss.svg', 'loss.svg'].sort(),
    );
  });

  it('lists the records that could not be read, escaped', async () => {
    const damaged = {
      ...run('sgd', 'sgd', 0, [5, 2, 1]),
      unreadable: [{ file: '/r/x/sgd-1/metrics.jsonl', line: 11, reason: 'damaged <record>' }],
    };
    const { html } = await report(inTempDir(experiment([damaged, run('adam', 'adam', 0, [3])])));
    expect(html).toContain(
      '1 record(s) could not be read and are left out of the tables and figures',
    );
    expect(html).toContain('<code>/r/x/sgd-1/metrics.jsonl:11: damaged &lt;record&gt;</code>');
    const { html: clean } = await report(inTempDir(experiment([run('adam', 'adam', 0, [3])])));
    expect(clean).not.toContain('could not be read');
  });

  it('fails with an IO error naming the file when the folder cannot be written', async () => {
    const blocked = inTempDir(experiment([]));
    const file = join(blocked.dir, 'not-a-folder');
    writeFileSync(file, '');
    const error = await report({ ...blocked, dir: file }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TdxError);
    expect(error).toMatchObject({ code: 'IO', message: expect.stringContaining('report.html') });
  });
});
