// The malformed specs of the fuzz (fuzz-specs.mjs and tests/src/fuzz.test.ts): each case is a
// file's content (and, for plugin cases, the plugin files next to it). Every one is wrong in
// some way, so tdx must refuse each cleanly. Deterministic: the junk comes from a seeded LCG.
import { stringify } from 'yaml';

const base = () => ({
  name: 'fuzz',
  seed: 0,
  dataset: { name: 'icl-linear-regression', d: 3, n: 8, batchSize: 20, evalBatchSize: 20 },
  model: { name: 'linear-transformer', layers: 2 },
  optimizers: [
    { name: 'sgd', lr: 0.01 },
    { name: 'adam', lr: 0.01 },
  ],
  train: { steps: 20, logEvery: 5 },
});

function junk(seed, length) {
  let x = seed >>> 0;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const nested = (depth, leaf) => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { x: v };
  return v;
};

export function fuzzCases() {
  const cases = [];
  const add = (name, content, extra = {}) => cases.push({ name, content, ...extra });
  const spec = (name, change) => {
    const s = base();
    change(s);
    add(name, stringify(s));
  };
  const raw = (name, text, ext = 'yaml') => add(name, text, { ext });

  // The file itself.
  raw('empty', '');
  raw('whitespace', '   \n\n\t\n');
  raw('comment-only', '# nothing here\n');
  raw('null', 'null\n');
  raw('scalar', '42\n');
  raw('string', 'hello world\n');
  raw('list', '- 1\n- 2\n');
  raw('binary-junk', junk(1, 4096));
  raw('binary-junk-2', junk(7, 300));
  raw('unclosed-bracket', 'name: x\nmodel: {name: linear-transformer\n');
  raw('bad-indent', 'name: x\n  model: y\n dataset: z\n');
  raw('duplicate-keys', 'name: a\nname: b\n');
  raw('json-trailing-comma', '{"name": "x",}', 'json');
  raw('json-truncated', '{"name": "x", "train": {"steps": 1', 'json');
  raw('utf16', Buffer.from('\ufeffname: x\n', 'utf16le'));
  raw('huge-file', `name: x\ndescription: "${'a'.repeat(2_000_000)}"\n`);
  raw(
    'alias-bomb',
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
      .concat(
        'bcdefghi'
          .split('')
          .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
      )
      .join('\n'),
  );
  raw('deep-brackets', `${'['.repeat(5000)}${']'.repeat(5000)}`, 'json');
  raw('deep-mapping', JSON.stringify({ ...base(), extra: nested(200, 1) }), 'json');
  raw('tab-value', 'name:\tx\ntrain: {steps: \t}\n');

  // Wrong types and values.
  spec('name-number', (s) => (s.name = 123));
  spec('name-list', (s) => (s.name = ['a']));
  spec('name-empty', (s) => (s.name = ''));
  spec('name-path', (s) => (s.name = '../escape'));
  spec('name-300', (s) => (s.name = 'n'.repeat(300)));
  spec('seed-negative', (s) => (s.seed = -1));
  spec('seed-fraction', (s) => (s.seed = 1.5));
  spec('seed-string', (s) => (s.seed = 'zero'));
  spec('seed-huge', (s) => (s.seed = 1e300));
  spec('seeds-empty', (s) => (s.seeds = []));
  spec('seeds-duplicate', (s) => (s.seeds = [0, 0]));
  spec('seeds-string', (s) => (s.seeds = 'abc'));
  spec('train-number', (s) => (s.train = 5));
  spec('steps-zero', (s) => (s.train.steps = 0));
  spec('steps-negative', (s) => (s.train.steps = -3));
  spec('steps-fraction', (s) => (s.train.steps = 1.5));
  spec('steps-string', (s) => (s.train.steps = '100'));
  spec('steps-missing', (s) => delete s.train.steps);
  spec('logEvery-zero', (s) => (s.train.logEvery = 0));
  spec('dataset-number', (s) => (s.dataset = 42));
  spec('model-list', (s) => (s.model = [1]));
  spec('optimizers-mapping', (s) => (s.optimizers = {}));
  spec('optimizers-empty', (s) => (s.optimizers = []));
  spec('optimizer-and-optimizers', (s) => (s.optimizer = { name: 'sgd', lr: 0.1 }));
  spec('no-optimizer', (s) => delete s.optimizers);
  spec('plugins-string', (s) => (s.plugins = 'x'));
  spec('plugins-number', (s) => (s.plugins = [1]));
  spec('analyses-mapping', (s) => (s.analyses = { name: 'x' }));
  spec('reporters-number', (s) => (s.reporters = 5));
  spec('sweep-list', (s) => (s.sweep = []));
  spec('sweep-scalar-values', (s) => (s.sweep = { 'optimizer.lr': 0.1 }));
  spec('sweep-bad-path', (s) => (s.sweep = { 'bad path!': [1] }));
  spec('sweep-root', (s) => (s.sweep = { name: ['a', 'b'] }));
  spec('sweep-duplicate-value', (s) => (s.sweep = { 'optimizer.lr': [0.1, 0.1] }));
  spec('backend-number', (s) => (s.backend = 7));
  spec('trainer-list', (s) => (s.trainer = []));
  spec('lr-negative', (s) => (s.optimizers[0].lr = -0.1));
  spec('lr-string', (s) => (s.optimizers[0].lr = 'fast'));
  raw('lr-nan', stringify(base()).replace('lr: 0.01', 'lr: .nan'));
  raw('steps-infinite', stringify(base()).replace('steps: 20', 'steps: .inf'));
  raw('lr-minus-infinity', stringify(base()).replace('lr: 0.01', 'lr: -.inf'));

  // Unknown keys and names.
  spec('top-level-typo', (s) => (s.optimiser = { name: 'sgd' }));
  spec('dataset-unknown-key', (s) => (s.dataset.dimension = 5));
  spec('model-unknown-name', (s) => (s.model.name = 'transformr'));
  spec('optimizer-swapped-letters', (s) => (s.optimizers[1].name = 'adma'));
  spec('analysis-unknown', (s) => (s.analyses = [{ name: 'no-such-analysis' }]));
  spec('backend-unknown', (s) => (s.backend = 'gpu'));
  spec('reporter-unknown', (s) => (s.reporters = ['pdf']));
  spec('label-spaces', (s) => (s.optimizers[0].label = 'a b'));
  spec('labels-duplicate', (s) => (s.optimizers[1] = { ...s.optimizers[0] }));
  spec('tune-unknown-label', (s) => (s.tune = { grid: { nadam: { lr: [0.1] } } }));
  spec(
    'analysis-at-after-end',
    (s) => (s.analyses = [{ name: 'top-hessian-eigenvalue', at: [999] }]),
  );

  // Sizes that cannot fit.
  spec('steps-1e12', (s) => (s.train.steps = 1e12));
  spec('layers-1e6', (s) => (s.model.layers = 1_000_000));
  spec('batch-1e9', (s) => (s.dataset.batchSize = 1e9));
  spec('eval-batch-1e9', (s) => (s.dataset.evalBatchSize = 1e9));
  spec('d-1e5', (s) => (s.dataset.d = 100_000));
  spec('n-1e7', (s) => (s.dataset.n = 10_000_000));
  spec('heads-1e6', (s) => (s.model.heads = 1_000_000));
  spec('sweep-1e6-points', (s) => {
    const values = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1e4);
    s.sweep = { 'optimizer.lr': values, 'optimizer.momentum': values.map((v) => v / 10) };
    s.optimizers = [{ name: 'sgd', lr: 0.01 }];
  });
  spec('seeds-20000', (s) => (s.seeds = Array.from({ length: 20_000 }, (_, i) => i)));
  spec('gpt-vocabulary-1e7', (s) => {
    s.dataset = { name: 'markov-text', vocabulary: 10_000_000 };
    s.model = { name: 'gpt' };
  });

  // Deep nesting inside values.
  spec('deep-model-config', (s) => (s.model.extra = nested(100, 1)));
  spec('deep-sweep-value', (s) => (s.sweep = { 'optimizer.lr': [nested(100, 1)] }));
  spec('deep-description', (s) => (s.description = nested(80, 'x')));

  // Plugin modules.
  spec('plugin-missing-file', (s) => (s.plugins = ['./no-such-plugin.mjs']));
  spec('plugin-missing-package', (s) => (s.plugins = ['no-such-tdx-plugin-package']));
  const pluginCase = (name, file) =>
    cases.push({
      name,
      content: stringify({ ...base(), plugins: [`./${name}.mjs`] }),
      files: { [`${name}.mjs`]: file },
    });
  pluginCase('plugin-syntax-error', 'export const = ;\n');
  pluginCase('plugin-exports-nothing', 'export const x = 1;\n');
  pluginCase('plugin-throws-on-import', "throw new Error('boom at import');\n");
  pluginCase('plugin-register-throws', "export function register() { throw new Error('boom'); }\n");
  pluginCase(
    'plugin-never-settles',
    'await new Promise(() => {});\nexport function register() {}\n',
  );
  pluginCase('plugin-bad-plugin', "export default { kind: 'optimizer', name: 'Bad Name' };\n");

  return cases.map((c, index) => ({ ...c, index }));
}
