/**
 * tdx's reverse pass over TF.js's tape: the engine records kernels exactly as for
 * `tf.grads`, and this module walks the recorded tape backwards itself.
 *
 * Why not `engine.gradients`:
 * - It differentiates one tensor y only. A Hessian-vector product is the gradient of
 *   Σ_b <g_b, v_b> over blocks b; built as a scalar that costs a product, a sum and their
 *   gradients per block. Seeding the reverse pass with v_b at each g_b (TensorFlow's
 *   `grad_ys`) gives the same vector with no extra kernel.
 * - Its accumulation disposes a gradient when a second contribution arrives, even when the
 *   same tensor is also the gradient of another tensor, so no gradient function may pass dy
 *   through unchanged. Here a gradient tensor is disposed only when no tensor's gradient
 *   refers to it any more, which lets the lean gradients (lean-gradients.ts) return dy as it
 *   is instead of copying it.
 *
 * The walk is the engine's own (tfjs-core 4.22 `tape.ts`): keep the nodes on a path from the
 * xs to the ys, visit them in reverse, call each node's gradient with its outputs' gradients
 * (zeros for outputs that do not lead to a y), and add up the gradients of every input.
 * Kernels run while an outer tape records are recorded as usual, so the result can itself be
 * differentiated (second order).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

/** A recorded kernel (tfjs-core's TapeNode). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  gradient?: (dys: Array<Tensor | null>) => Record<string, () => Tensor>;
}

/** The parts of TF.js's Engine this module uses (not in its public types). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  /** Hands out the next tensor id (ids only grow). */
  nextTensorId(): number;
}

const engine = (): EngineInternals => tf.engine() as unknown as EngineInternals;

/**
 * The nodes on a path from some x to some y, in tape order, each with its inputs narrowed to
 * those that depend on an x (only those need gradients).
 */
function nodesBetween(tape: TapeNode[], xs: readonly Tensor[], ys: readonly Tensor[]): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const output of node.outputs) fromX.add(output.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>(ys.map((y) => y.id));
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((output) => toY.has(output.id))) {
      for (const input of Object.values(node.inputs)) toY.add(input.id);
      nodesToY.add(node.id);
    }
  }
  const kept: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs = Object.fromEntries(
      Object.entries(node.inputs).filter(([, input]) => fromX.has(input.id)),
    );
    kept.push({ ...node, inputs });
  }
  return kept;
}

/**
 * The gradients of every tensor on the path, keyed by tensor id, starting from `seeds` at the
 * ys. A tensor's contributions are collected and summed by one AddN when its gradient is
 * first needed (k contributions: one kernel, not k - 1 additions). A gradient tensor may be
 * a contribution to several tensors at once (a gradient function that passes dy through); it
 * is disposed when the last of them has summed it, and only if the walk created it.
 */
function backpropagate(
  nodes: TapeNode[],
  xs: readonly Tensor[],
  ys: readonly Tensor[],
  seeds: readonly Tensor[],
): Array<Tensor | null> {
  // Tensors with a smaller id existed before the walk: never the walk's to dispose.
  const firstId = engine().nextTensorId();
  const contributions = new Map<number, Tensor[]>();
  const uses = new Map<Tensor, number>();
  const seedSet = new Set<Tensor>(seeds);
  const contribute = (id: number, g: Tensor) => {
    const list = contributions.get(id);
    if (list) list.push(g);
    else contributions.set(id, [g]);
    uses.set(g, (uses.get(g) ?? 0) + 1);
  };
  const release = (g: Tensor) => {
    const left = uses.get(g)! - 1;
    uses.set(g, left);
    if (left === 0 && !seedSet.has(g) && g.id >= firstId) g.dispose();
  };
  /** The gradient of tensor `id`: its contributions summed (and replaced by the sum). */
  const total = (id: number): Tensor | null => {
    const list = contributions.get(id);
    if (!list) return null;
    if (list.length === 1) return list[0]!;
    const sum = tf.addN(list);
    for (const g of list) release(g);
    contributions.set(id, [sum]);
    uses.set(sum, 1);
    return sum;
  };
  ys.forEach((y, i) => contribute(y.id, seeds[i]!));

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const dys = node.outputs.map((o) => total(o.id));
    if (dys.every((dy) => dy === null)) continue;
    if (!node.gradient)
      throw new Error(
        `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
      );
    const inputGradients = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      const thunk = inputGradients[name];
      if (!thunk)
        throw new Error(
          `Cannot backprop through input ${name} of ${node.kernelName}. Available gradients: ${Object.keys(inputGradients)}.`,
        );
      const dx = engine().tidy(`${node.kernelName}.grad`, thunk);
      if (dx.dtype !== 'float32')
        throw new Error(
          `Error in gradient for op ${node.kernelName}: the gradient of input ${name} must have dtype float32, but has ${dx.dtype}`,
        );
      if (!tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `Error in gradient for op ${node.kernelName}: the gradient of input ${name} has shape [${dx.shape}], the input has [${x.shape}]`,
        );
      contribute(x.id, dx);
    }
  }
  return xs.map((x) => total(x.id));
}

/**
 * Runs `f` under a tape and returns its outputs and the gradients of Σ_i <ys_i, seeds_i> with
 * respect to each x (zeros for an x the ys do not depend on). `seeds` default to ones (the
 * gradient of a scalar y). Call inside tf.tidy; the returned tensors belong to the caller.
 */
export function reverseGradients(
  f: () => Tensor[],
  xs: readonly Tensor[],
  seeds?: readonly Tensor[],
): { values: Tensor[]; grads: Tensor[] } {
  const e = engine();
  const values = e.scopedRun(
    () => e.startTape(),
    () => e.endTape(),
    () => e.tidy('forward', f),
  );
  const tape = e.state.activeTape!;
  const nodes = nodesBetween(tape, xs, values);
  return e.tidy('backward', () => {
    // tf.ones and tf.zeros write host arrays: no kernel.
    const startSeeds = seeds ?? values.map((y) => tf.ones(y.shape));
    values.forEach((y, i) => {
      const seed = startSeeds[i];
      if (!seed || !tf.util.arraysEqual(seed.shape, y.shape))
        throw new Error(
          `the seed of output ${i} has shape [${seed?.shape}], the output has [${y.shape}]`,
        );
    });
    const grads = backpropagate(nodes, xs, values, startSeeds).map(
      (g, i) => g ?? tf.zeros(xs[i]!.shape),
    );
    if (e.state.gradientDepth === 0) {
      // Not inside an outer differentiation: the tape and what it saved can go.
      for (const node of tape)
        for (const t of (node as { saved?: Tensor[] }).saved ?? []) t.dispose();
      e.state.activeTape = null;
    }
    return { values, grads };
  });
}
