/** The `tdx` command as a user runs it: the built binary, in a child process. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickstartVariant, readJsonl, root, tdx, tempDir } from './support.js';

describe('tdx run', () => {
  it('writes the resolved spec and the metrics of each optimizer', () => {
    const out = tempDir();
    const spec = quickstartVariant((s) => {
      s.train = { steps: 40, logEvery: 10 };
      s.analyses = [{ name: 'top-hessian-eigenvalue', every: 20, maxIterations: 30 }];
      (s.dataset as Record<string, unknown>).batchSize = 200;
    });
    const result = tdx(['run', spec, '--out', out]);
    expect(result.stderr).toContain('tdx: quickstart: 2 run(s) on wasm');
    expect(result.code).toBe(0);
    const runs = readdirSync(join(out, 'quickstart'))
      .filter((d) => existsSync(join(out, 'quickstart', d, 'spec.json')))
      .sort();
    expect(existsSync(join(out, 'quickstart', 'experiment.json'))).toBe(true);

    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/^adam-[0-9a-f]{8}$/);
    expect(runs[1]).toMatch(/^sgd-[0-9a-f]{8}$/);

    const sgdDir = join(out, 'quickstart', runs[1]!);
    const resolved = JSON.parse(readFileSync(join(sgdDir, 'spec.json'), 'utf8'));
    // Defaults are filled in: the spec on disk is complete.
    expect(resolved.optimizer).toEqual({
      name: 'sgd',
      label: 'sgd',
      lr: 0.02,
      momentum: 0.9,
      nesterov: false,
      weightDecay: 0,
      clipNorm: 1,
    });
    expect(resolved.seed).toBe(0);

    expect(resolved.dataset).toMatchObject({
      name: 'icl-linear-regression',
      d: 5,
      n: 20,
      batchSize: 200,
      evalBatchSize: 1000,
    });
    expect(resolved.model).toMatchObject({
      name: 'linear-transformer',
      layers: 3,
      heads: 1,
      parameterization: 'sparse',
    });
    expect(resolved.backend).toEqual({ name: 'wasm', label: 'wasm' });

    const metrics = readJsonl(join(sgdDir, 'metrics.jsonl'));
    expect(metrics.map((m) => m.step)).toEqual([0, 10, 20, 30, 40]);
    for (const m of metrics) {
      expect(m.optimizer).toBe('sgd');
      expect(typeof m.loss).toBe('number');
    }
    const withEigenvalue = metrics
      .filter((m) => typeof m['top-hessian-eigenvalue'] === 'number')
      .map((m) => m.step);
    expect(withEigenvalue).toEqual([0, 20, 40]);
    // At initialisation the loss is about E[y_q^2] = d = 5 (Ahn et al.'s notebook reports 5.27).
    expect(metrics[0]!.evalLoss as number).toBeGreaterThan(4);
    expect(metrics[0]!.evalLoss as number).toBeLessThan(6.5);
    const adam = readJsonl(join(out, 'quickstart', runs[0]!, 'metrics.jsonl'));
    expect(adam[0]!.loss).toBe(metrics[0]!.loss); // same start, same first batch
  });

  it('skips runs that already finished', () => {
    const out = tempDir();
    const spec = quickstartVariant((s) => {
      s.train = { steps: 5, logEvery: 5 };
      s.analyses = [];
      s.optimizers = [{ name: 'adam', lr: 0.01 }];
    });
    expect(tdx(['run', spec, '--out', out]).code).toBe(0);
    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('[skip] adam: already finished');
  });
});

describe('a bad spec', () => {
  const cases: Array<[string, (s: Record<string, unknown>) => void, string[]]> = [
    [
      'an unknown plugin name',
      (s) => ((s.model as Record<string, unknown>).name = 'linear-transfomer'),
      [
        'model.name: unknown model (got "linear-transfomer")',
        'did you mean "linear-transformer"?',
        'model choices: linear-transformer',
      ],
    ],
    [
      'a wrong type',
      (s) => ((s.dataset as Record<string, unknown>).d = 'five'),
      ['dataset.d: expected number (got "five")'],
    ],
    [
      'a negative learning rate',
      (s) => ((s.optimizers as Array<Record<string, unknown>>)[1]!.lr = -0.02),
      ['optimizers[1].lr: must be > 0 (got -0.02)'],
    ],
    ['a missing field', (s) => delete s.train, ['train: required (object)']],
    [
      'a misspelt key',
      (s) => ((s.model as Record<string, unknown>).layer = 3),
      ['model.layer: unknown key for model "linear-transformer"', 'did you mean "layers"?'],
    ],
    [
      'an empty sweep axis',
      (s) => (s.sweep = { 'optimizer.lr': [] }),
      ['sweep["optimizer.lr"]: must have at least 1 item(s) (got an array of 0)'],
    ],
    [
      'a bad sweep value',
      (s) => (s.sweep = { 'model.layers': [2, 'three'] }),
      ['sweep["model.layers"][1]: expected number (got "three")'],
    ],
    [
      'an unknown top-level key',
      (s) => (s.optimiser = { name: 'adam' }),
      ['optimiser: unknown key', 'did you mean "optimizer"?'],
    ],
  ];
  for (const [what, change, messages] of cases) {
    it(`with ${what} fails before any work, naming the field, the value and the choices`, () => {
      const out = tempDir();
      const spec = quickstartVariant(change);
      const result = tdx(['run', spec, '--out', out]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('tdx: error [SPEC_INVALID]');
      for (const message of messages) expect(result.stderr).toContain(message);
      expect(result.stderr).toMatch(/spec\.yaml:\d+:\d+/); // the line in the file
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(readdirSync(out)).toEqual([]);
    });
  }

  it('shows the stack trace only when asked', () => {
    const spec = quickstartVariant((s) => delete s.train);
    expect(tdx(['run', spec, '--debug', '--out', tempDir()]).stderr).toMatch(/\n\s+at /);
  });

  it('that cannot be read or parsed says so, with the line', () => {
    const missing = tdx(['run', 'no/such/spec.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read spec file no/such/spec.yaml');
    const file = join(tempDir(), 'broken.yaml');
    writeFileSync(
      file,
      'name: broken\noptimizers: [{ name: adam, lr: 0.1 }\ntrain: { steps: 3 }\n',
    );
    const broken = tdx(['run', file]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(
      /tdx: error \[SPEC_PARSE\]: cannot parse spec file .*broken\.yaml\n {2}- .*broken\.yaml:\d+:\d+ /,
    );
    expect(broken.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('tdx validate, list, describe', () => {
  it('validate expands the SGD–Adam gap recipe: JS⁰ only where its where: picks', () => {
    const result = tdx(['validate', 'recipes/sgd-adam-gap.yaml']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/is valid: 180 run\(s\) of 200 steps/);
    const spec = JSON.parse(result.stdout);
    expect(spec.models.map((m: { name: string; size: string }) => [m.name, m.size])).toEqual([
      ['gpt', 'small'],
      ['bert', 'small'],
      ['vit', 'small'],
      ['mlp', 'small'],
      ['vgg', 'small'],
      ['resnet', 'small'],
    ]);
    expect(spec.analyses.map((a: { where: unknown }) => a.where)).toEqual([
      { model: ['gpt', 'bert'], optimizer: 'sgd', tune: { lr: 0.01 } },
      { model: ['vit', 'mlp', 'vgg', 'resnet'], optimizer: 'sgd', tune: { lr: 0.01 } },
    ]);
  });

  it('validate prints the quickstart resolved, with every default', () => {
    const result = tdx(['validate', 'recipes/quickstart.yaml']);
    expect(result.code).toBe(0);
    const spec = JSON.parse(result.stdout);
    expect(spec.optimizers[1]).toEqual({
      name: 'adam',
      label: 'adam',
      lr: 0.02,
      b1: 0.9,
      b2: 0.9,
      eps: 1e-8,
      weightDecay: 0,
      clipNorm: 1,
    });

    expect(spec.trainer).toEqual({ name: 'minibatch', label: 'minibatch', leakCheck: 'error' });
  });

  it('validate accepts the recipes behind the README claims table, with their run counts', () => {
    const counts: Record<string, string> = {
      'recipes/kernels/qkv-vs-value.yaml': '20 run(s) of 2000 steps',
      'recipes/kernels/embedding-dimension.yaml': '60 run(s) of 2000 steps',
      'recipes/linear-attention/noise-depth.yaml': '4 run(s) of 1 steps',
      'recipes/linear-attention/deep-warmup.yaml': '12 run(s) of 800 steps',
      'recipes/linear-attention/condition-number-covariates.yaml': '12 run(s) of 750 steps',
      'recipes/linear-attention/condition-number-depth.yaml': '12 run(s) of 750 steps',
      'recipes/linear-attention/noise-init.yaml': '2 run(s) of 1 steps',
      'recipes/linear-attention/nonlinear.yaml': '24 run(s) of 500 steps',
      'recipes/linear-attention/deep-clip.yaml': '8 run(s) of 800 steps',
      'recipes/mean-field/gradient-flow.yaml': '1 run(s) of 3000 steps',
      'recipes/quadratic-adam-beta2-one.yaml': '156 run(s) of 1000 steps',
    };
    for (const [recipe, count] of Object.entries(counts)) {
      const result = tdx(['validate', recipe]);
      expect(result.stderr, recipe).toContain(`is valid: ${count}`);
      expect(result.code, recipe).toBe(0);
    }
    const flow = JSON.parse(tdx(['validate', 'recipes/mean-field/gradient-flow.yaml']).stdout);
    expect(flow.optimizers[0]).toMatchObject({ name: 'gradient-flow', weightDecay: 0.001 });
    expect(flow.dataset).toMatchObject({ evalSplit: 'train', batchSize: 500, evalBatchSize: 500 });
    const theorem = JSON.parse(tdx(['validate', 'recipes/quadratic-adam-beta2-one.yaml']).stdout);
    expect(theorem.optimizers[1]).toMatchObject({ b1: 0, b2: 1, secondMomentInit: 'gradient' });
  });

  it('list shows every plugin with its description; describe shows a config', () => {
    const list = tdx(['list', 'optimizer']);
    // Names are padded to the longest, so descriptions start in one column.
    expect(list.stdout).toMatch(/^optimizer\n {2}sgd +stochastic gradient descent/);
    expect(list.stdout).toMatch(/\n {2}adam +Adam \(Kingma/);
    const rows = list.stdout.trimEnd().split('\n').slice(1);
    const column = (row: string) => row.search(/(?<=\S {2,})\S/);

    expect(new Set(rows.map(column)).size).toBe(1);

    const described = tdx(['describe', 'optimizer', 'adam']);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('lr                number > 0  (required)');
    expect(described.stdout).toContain('b2                number >= 0 <= 1  (default 0.999)');
    const unknown = tdx(['describe', 'optimizer', 'adamw']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('optimizer choices: sgd, adam');
    expect(tdx(['list', 'optimiser']).stderr).toContain('did you mean "optimizer"?');
  });

  it('usage errors exit 2 and help exits 0', () => {
    expect(tdx(['run']).code).toBe(2);
    expect(tdx(['frobnicate']).code).toBe(2);
    const help = tdx(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('run [options] <spec>');
  });

  it('the README commands exist', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
    expect(existsSync(join(root, '.ci/run'))).toBe(true);
  });
});
