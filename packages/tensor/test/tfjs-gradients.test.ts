/**
 * TF.js's stock gradients and chained ops come from src/generated/tfjs-gradients.ts, generated
 * from tfjs-core's own register_all_gradients and register_all_chained_ops (which Node cannot
 * import), instead of from the 230 MB `@tensorflow/tfjs` union package. The expectations are
 * read from tfjs-core's files, not from the generated module.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { describeEachBackend } from './support/backends.js';

const require = createRequire(import.meta.url);
const coreDist = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const generated = join(packageDir, 'src/generated/tfjs-gradients.ts');

/** The kernels tfjs-core's register_all_gradients.js registers, read from its gradient files. */
function stockGradientKernels(): string[] {
  const all = readFileSync(join(coreDist, 'register_all_gradients.js'), 'utf8');
  const files = [...all.matchAll(/from '\.\/gradients\/(\w+)'/g)].map((m) => m[1]!);
  return [
    ...new Set(
      files.map((file) => {
        const text = readFileSync(join(coreDist, 'gradients', `${file}.js`), 'utf8');
        const kernel = /kernelName: (\w+)/.exec(text)![1]!;
        // kernelName is an imported constant whose value is the kernel's name.
        return (tf as unknown as Record<string, string>)[kernel]!;
      }),
    ),
  ];
}

describe('the stock TF.js gradients', () => {
  it('are registered for every kernel tfjs-core registers them for', () => {
    const kernels = stockGradientKernels();
    expect(kernels.length).toBeGreaterThan(100);
    const missing = kernels.filter((k) => tf.getGradient(k) === undefined);
    expect(missing).toEqual([]);
  });

  it('are chained ops on every tensor, as tfjs-core defines them', () => {
    const folder = join(coreDist, 'public/chained_ops');
    const methods = readdirSync(folder)
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) => [
        ...readFileSync(join(folder, f), 'utf8').matchAll(/prototype\.(\w+) = function/g),
      ])
      .map((m) => m[1]!);
    expect(methods.length).toBeGreaterThan(100);
    const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
    expect(methods.filter((m) => typeof proto[m] !== 'function')).toEqual([]);
    tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3, 4]);
      expect(Array.from(x.reshape([2, 2]).square().sum(1).dataSync())).toEqual([5, 25]);
    });
  });

  it('come from a module that imports only the public tfjs-core entry and copies no state', () => {
    const text = readFileSync(generated, 'utf8');
    const imports = [...text.matchAll(/^import .* from ["']([^"']+)["'];?$/gm)].map((m) => m[1]);
    expect(imports).toEqual(['@tensorflow/tfjs-core']);
    expect(text).not.toMatch(/^import ["']/m);
    // No second Tensor class, engine or registry: those stay tfjs-core's own.
    expect(text).not.toMatch(/class (Tensor|Engine|Environment)\b/);
    expect(text).not.toMatch(/new Map\(\)/);
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).not.toContain('@tensorflow/tfjs');
  });

  it('is the module the generator makes from the installed tfjs-core (not stale)', async () => {
    const script = join(packageDir, 'scripts/bundle-tfjs-gradients.mjs');
    const { bundleTfjsGradients } = (await import(script)) as {
      bundleTfjsGradients: () => Promise<{ code: string }>;
    };
    const { code } = await bundleTfjsGradients();
    expect(code === readFileSync(generated, 'utf8')).toBe(true);
  }, 60_000);
});

describeEachBackend('stock gradients through copied and public ops', (backend) => {
  it('atan: d/dx atan(x) = 1 / (1 + x^2)', () => {
    const xs = [-2, -0.5, 0, 0.7, 3];
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.atan(x)))(tf.tensor1d(xs)));
    const got = Array.from(g.dataSync());
    g.dispose();
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(1 / (1 + x * x), 5));
  });

  // TF.js's wasm backend has no Conv2DBackpropFilter kernel (with or without the union package).
  it.skipIf(backend === 'wasm')(
    'conv2d: the filter gradient (conv2DBackpropFilter, copied) matches finite differences',
    () => {
      const input = Array.from({ length: 2 * 5 * 5 * 2 }, (_, i) => Math.sin(i * 0.7));
      const filter = Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(i * 0.3));
      const loss = (f: tf.Tensor) =>
        tf.sum(
          tf.square(tf.conv2d(tf.tensor4d(input, [2, 5, 5, 2]), f as tf.Tensor4D, 1, 'same')),
        ) as tf.Scalar;
      const f0 = tf.tensor4d(filter, [3, 3, 2, 3]);
      const grad = tf.tidy(() => tf.grad(loss)(f0));
      const analytic = Float64Array.from(grad.dataSync());
      grad.dispose();
      // Central differences in float32 on a few coordinates, step 1e-2 (loss is quadratic in f,
      // so the central difference is exact up to rounding).
      for (const j of [0, 7, 20, 53]) {
        const at = (h: number) =>
          tf.tidy(() => {
            const f = filter.slice();
            f[j]! += h;
            return loss(tf.tensor4d(f, [3, 3, 2, 3])).dataSync()[0]!;
          });
        const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
        expect(Math.abs(numeric - analytic[j]!)).toBeLessThan(
          2e-2 * Math.max(1, Math.abs(numeric)),
        );
      }
      f0.dispose();
    },
  );
});
