/**
 * A model's parameters as named blocks, each with a role and a layer. A ParamSet flattens
 * to one vector and back, selects blocks (by role, layer or name), and marks blocks frozen.
 * Selections are views: they share the blocks (and their variables) with the set they came from.
 */
import { TdxError } from '@tdx/core';
import { tf, type Tensor } from './tf.js';

/** What a block is for. Blockwise analyses group blocks by role. */
export const PARAM_ROLES = [
  'query',
  'key',
  'value',
  'output',
  'attention',
  'mlp',
  'embedding',
  'position',
  'norm',
  'head',
  'conv',
  'bias',
  'other',
] as const;

export type ParamRole = (typeof PARAM_ROLES)[number];

export interface ParamBlockSpec {
  /** Unique within the model, dotted: `layers.0.attn.query`. */
  name: string;
  role: ParamRole;
  /** Index of the layer the block belongs to, when it belongs to one. */
  layer?: number;
  /**
   * Learning-rate multiplier of the block (default 1), for parameterisations that scale step
   * sizes per block (mean-field: L·M). The trainer multiplies the block's gradient by it before
   * the optimizer, so it is exactly a per-block learning rate for gradient descent and the
   * gradient flow, while an optimizer's own weight decay is not multiplied; scale-invariant
   * optimizers (Adam) are unaffected by it.
   */
  lrScale?: number;
}

export interface ParamBlock extends ParamBlockSpec {
  readonly variable: tf.Variable;
  readonly shape: readonly number[];
  readonly size: number;
  frozen: boolean;
}

/** Parameter values by block name: the variables themselves, or other tensors of their shapes. */
export type ParamValues = Record<string, Tensor>;

/** Picks blocks. Every given criterion must hold; a name pattern may use `*` as a wildcard. */
export interface ParamSelector {
  role?: ParamRole | readonly ParamRole[];
  layer?: number | readonly number[];
  name?: string | RegExp | ReadonlyArray<string | RegExp>;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function matches(block: ParamBlockSpec, selector: ParamSelector): boolean {
  const list = <T>(x: T | readonly T[] | undefined): readonly T[] | undefined =>
    x === undefined ? undefined : Array.isArray(x) ? (x as readonly T[]) : [x as T];
  const roles = list(selector.role);
  if (roles && !roles.includes(block.role)) return false;
  const layers = list(selector.layer);
  if (layers && (block.layer === undefined || !layers.includes(block.layer))) return false;
  const names = list(selector.name);
  if (names) {
    const ok = names.some((n) =>
      typeof n === 'string' ? globToRegExp(n).test(block.name) : n.test(block.name),
    );
    if (!ok) return false;
  }
  return true;
}

export class ParamSet {
  private constructor(
    readonly blocks: readonly ParamBlock[],
    private readonly owner: boolean,
  ) {}

  /** Creates variables from initial values (tensors are copied; arrays need a shape). */
  static create(
    specs: ReadonlyArray<
      ParamBlockSpec & { init: Tensor | { values: ArrayLike<number>; shape: number[] } }
    >,
  ): ParamSet {
    const seen = new Set<string>();
    const blocks = specs.map((spec) => {
      if (seen.has(spec.name))
        throw new TdxError('INVALID_ARGUMENT', `duplicate parameter block name "${spec.name}"`);
      seen.add(spec.name);
      const variable = tf.tidy(() => {
        const init =
          spec.init instanceof tf.Tensor
            ? tf.cast(spec.init, 'float32')
            : tf.tensor(Float32Array.from(spec.init.values), spec.init.shape, 'float32');
        return tf.variable(init, true);
      });
      const block: ParamBlock = {
        name: spec.name,
        role: spec.role,
        ...(spec.layer === undefined ? {} : { layer: spec.layer }),
        ...(spec.lrScale === undefined ? {} : { lrScale: spec.lrScale }),
        variable,
        shape: variable.shape,
        size: variable.size,
        frozen: false,
      };
      return block;
    });
    return new ParamSet(blocks, true);
  }

  /** Number of scalar parameters in this set. */
  get size(): number {
    return this.blocks.reduce((n, b) => n + b.size, 0);
  }

  get names(): string[] {
    return this.blocks.map((b) => b.name);
  }

  block(name: string): ParamBlock {
    const block = this.blocks.find((b) => b.name === name);
    if (!block) {
      throw new TdxError('INVALID_ARGUMENT', `no parameter block named "${name}"`, {
        hint: `blocks: ${this.names.join(', ')}`,
      });
    }
    return block;
  }

  /** Offset of each block in the flat vector of this set. */
  offsets(): number[] {
    let offset = 0;
    return this.blocks.map((b) => {
      const at = offset;
      offset += b.size;
      return at;
    });
  }

  /** The blocks matching the selector, as a view. Throws when none match: a typo is likely. */
  select(selector: ParamSelector): ParamSet {
    const blocks = this.blocks.filter((b) => matches(b, selector));
    if (blocks.length === 0) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `no parameter block matches ${JSON.stringify(selector, (_k, v) => (v instanceof RegExp ? String(v) : v))}`,
        {
          hint: `blocks: ${this.blocks.map((b) => `${b.name} (${b.role}${b.layer === undefined ? '' : `, layer ${b.layer}`})`).join(', ')}`,
        },
      );
    }
    return new ParamSet(blocks, false);
  }

  /** The blocks that are not frozen, as a view. */
  trainable(): ParamSet {
    return new ParamSet(
      this.blocks.filter((b) => !b.frozen),
      false,
    );
  }

  /** Freezes the matching blocks (all blocks when no selector): they keep their values in training. */
  freeze(selector?: ParamSelector): this {
    for (const b of selector ? this.select(selector).blocks : this.blocks) b.frozen = true;
    return this;
  }

  unfreeze(selector?: ParamSelector): this {
    for (const b of selector ? this.select(selector).blocks : this.blocks) b.frozen = false;
    return this;
  }

  /** The current values: the variables themselves, by name. Do not dispose them. */
  values(): ParamValues {
    return Object.fromEntries(this.blocks.map((b) => [b.name, b.variable]));
  }

  /** The current values as one vector, blocks in order. */
  flatten(): Float32Array {
    const out = new Float32Array(this.size);
    let offset = 0;
    for (const b of this.blocks) {
      out.set(b.variable.dataSync() as Float32Array, offset);
      offset += b.size;
    }
    return out;
  }

  /** Writes a flat vector into the variables of this set. */
  assign(flat: ArrayLike<number>): void {
    this.checkLength(flat.length);
    let offset = 0;
    for (const b of this.blocks) {
      const part = Float32Array.from({ length: b.size }, (_, i) => flat[offset + i]!);
      tf.tidy(() => b.variable.assign(tf.tensor(part, b.shape as number[], 'float32')));
      offset += b.size;
    }
  }

  /**
   * New tensors shaped like the blocks, from a flat vector (host array or 1-D tensor).
   * From a tensor the result is differentiable with respect to it. The caller owns them.
   */
  unflatten(flat: ArrayLike<number> | Tensor): ParamValues {
    const length = flat instanceof tf.Tensor ? flat.size : flat.length;
    this.checkLength(length);
    const vector =
      flat instanceof tf.Tensor ? flat : tf.tensor1d(Float32Array.from(flat), 'float32');
    const out: ParamValues = {};
    let offset = 0;
    for (const b of this.blocks) {
      out[b.name] = tf.reshape(tf.slice(vector, [offset], [b.size]), b.shape as number[]);
      offset += b.size;
    }
    if (!(flat instanceof tf.Tensor)) vector.dispose();
    return out;
  }

  /** Concatenates values of this set's blocks (any map holding them) into one 1-D tensor. */
  concat(values: ParamValues): Tensor {
    return tf.tidy(() =>
      tf.concat(
        this.blocks.map((b) => {
          const v = values[b.name];
          if (!v) throw new TdxError('INVALID_ARGUMENT', `values lack block "${b.name}"`);
          return tf.reshape(v, [-1]);
        }),
        0,
      ),
    );
  }

  /** Disposes the variables. Only the set that created them may do so, not a view. */
  dispose(): void {
    if (!this.owner)
      throw new TdxError(
        'INVALID_ARGUMENT',
        'dispose() on a selection: dispose the ParamSet that created the blocks',
      );
    for (const b of this.blocks) b.variable.dispose();
  }

  private checkLength(length: number): void {
    if (length !== this.size) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `expected a vector of ${this.size} values for blocks ${this.names.join(', ')}, got ${length}`,
      );
    }
  }
}
