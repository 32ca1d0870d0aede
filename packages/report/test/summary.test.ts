/** summary.csv: header, RFC 4180 quoting, best values, config columns, full precision. */
import { describe, expect, it } from 'vitest';
import { summaryCsv } from '../src/index.js';
import { run } from './support/data.js';

/** Parses RFC 4180 text: an independent reading of what summaryCsv writes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(field);
      field = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      rows.push([...row, field]);
      row = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  return rows;
}

const HEADER =
  'id,label,group,seed,status,tuned,steps,final_loss,final_eval_loss,best_loss,best_eval_loss,wall_time_s';

describe('summary.csv', () => {
  const tricky = run('odd, "quoted"', 'adam', 1, [2, null, 0.5, 0.7], { result: undefined });
  const sgd = run('sgd', 'sgd', 0, [3, 1, 2]);
  const csv = summaryCsv({ runs: [sgd, tricky], spec: {} });
  const [header, first, second, ...rest] = parseCsv(csv);
  const row = (cells: string[]) => Object.fromEntries(header!.map((h, i) => [h, cells[i]]));

  it('starts with the outcome columns, then the flattened config', () => {
    expect(header!.join(',').startsWith(HEADER + ',')).toBe(true);
    expect(header!.slice(12)).toEqual([
      'dataset.name',
      'dataset.label',
      'dataset.n',
      'model.name',
      'model.label',
      'model.layers',
      'optimizer.name',
      'optimizer.label',
      'optimizer.lr',
      'optimizer.betas',
      'trainer.name',
      'trainer.label',
      'train.steps',
      'train.logEvery',
    ]);
    expect(rest).toEqual([]);
  });

  it('ends every line with CRLF', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')).toHaveLength(4);
  });

  it('quotes a label with a comma and a quote, doubling the quote', () => {
    expect(csv).toContain('"odd, ""quoted"""');
    expect(row(second!).label).toBe('odd, "quoted"');
  });

  it('writes the outcome: best values ignore nulls, unfinished runs have empty results', () => {
    expect(row(first!)).toMatchObject({
      status: 'completed',
      steps: '20',
      final_loss: '2',
      best_loss: '1',
      best_eval_loss: String(1 * 1.1),
      wall_time_s: '2.5',
      'optimizer.betas': '[0.9,0.99]',
      'model.layers': '3',
    });
    expect(row(second!)).toMatchObject({
      status: 'unfinished',
      steps: '',
      final_loss: '',
      best_loss: '0.5',
      best_eval_loss: String(0.5 * 1.1),
      wall_time_s: '',
      seed: '1',
    });
  });

  it('writes numbers in full precision', () => {
    const precise = run('p', 'p', 0, [0.1 + 0.2]);
    const [, cells] = parseCsv(summaryCsv({ runs: [precise], spec: {} }));
    expect(Number(cells![9])).toBe(0.1 + 0.2);
    expect(cells![9]).toBe('0.30000000000000004');
  });

  it('takes config columns from every run, in the order they first appear', () => {
    const other = run('o', 'o', 0, [1]);
    other.spec = { ...other.spec, model: { name: 'gpt', label: 'gpt', heads: 4 } };
    const [cols, , second] = parseCsv(summaryCsv({ runs: [sgd, other], spec: {} }));
    expect(cols!.at(-1)).toBe('model.heads');
    expect(second!.at(-1)).toBe('4');
    expect(second![cols!.indexOf('model.layers')]).toBe('');
  });

  it("adds each analysis's value at its first and last step, and marks tuned choices", () => {
    const analysis = (values: number[]) => ({
      js: {
        analysis: 'block-heterogeneity',
        label: 'js',
        config: {},
        records: values.map((value, i) => ({ step: i * 100, value })),
      },
    });
    const tuned = (id: string, lr: number, loss: number) =>
      run(id, `gd_lr=${lr}`, 0, [1, loss], {
        optimizer: 'gd',
        tune: { lr },
        analyses: analysis([0.5, 0.2, loss]),
      });
    const csv = summaryCsv({
      runs: [tuned('a', 0.1, 0.3), tuned('b', 0.2, 0.1)],
      spec: { tune: { metric: 'finalLoss' } },
    });
    const [cols, a, b] = parseCsv(csv);
    const at = (row: string[], col: string) => row[cols!.indexOf(col)];
    expect(cols!.slice(12, 14)).toEqual(['js@0', 'js@200']);
    expect([at(a!, 'js@0'), at(a!, 'js@200'), at(b!, 'js@200')]).toEqual(['0.5', '0.3', '0.1']);
    expect([at(a!, 'tuned'), at(b!, 'tuned')]).toEqual(['not chosen', 'chosen']);
  });

  it('is a header alone for an experiment without runs', () => {
    expect(summaryCsv({ runs: [], spec: {} })).toBe(`${HEADER}\r\n`);
  });
});
