/** Trees of tensors (parameter maps, optimizer states) and their memory. */
import type { ParamValues } from './param-set.js';
import { tf, type Tensor } from './tf.js';

/** Every tensor in a tree of plain objects, arrays, tensors and numbers. */
export function tensorsIn(tree: unknown, out: Tensor[] = []): Tensor[] {
  if (tree instanceof tf.Tensor) out.push(tree);
  else if (Array.isArray(tree)) for (const item of tree) tensorsIn(item, out);
  else if (tree !== null && typeof tree === 'object')
    for (const item of Object.values(tree)) tensorsIn(item, out);
  return out;
}

/** Disposes the tensors of `previous` that `next` no longer holds. */
export function disposeReplaced(previous: unknown, next: unknown): void {
  const kept = new Set(tensorsIn(next).map((t) => t.id));
  for (const t of tensorsIn(previous)) if (!kept.has(t.id) && !t.isDisposed) t.dispose();
}

/** Applies `fn` to every block of a parameter map. */
export function mapValues(
  values: ParamValues,
  fn: (value: Tensor, name: string) => Tensor,
): ParamValues {
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [name, fn(v, name)]));
}

/** Applies `fn` block by block to several maps with the same keys as the first. */
export function zipValues(
  maps: readonly ParamValues[],
  fn: (values: Tensor[], name: string) => Tensor,
): ParamValues {
  const [first] = maps;
  if (!first) return {};
  return Object.fromEntries(
    Object.keys(first).map((name) => [
      name,
      fn(
        maps.map((m) => m[name]!),
        name,
      ),
    ]),
  );
}
