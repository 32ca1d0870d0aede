/**
 * Seeded random numbers for host arrays and tensors: xoshiro128** (Blackman & Vigna),
 * seeded through splitmix32. Draws are made on the host, so the same seed gives the same
 * numbers on every backend. The state can be saved and restored (checkpoints).
 */
import { deriveSeed } from '@tdx/core';
import { tf, type Tensor } from './tf.js';

export interface RngState {
  seed: number;
  s: [number, number, number, number];
  /** The second normal of the last Box-Muller pair, not yet used. */
  spareNormal: number | null;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Rng {
  readonly seed: number;
  private s: Uint32Array;
  private spare: number | null = null;

  /** A generator for a 32-bit seed, or a string hashed to one. */
  constructor(seed: number | string) {
    this.seed = typeof seed === 'string' ? deriveSeed(0, seed) : seed >>> 0;
    const next = splitmix32(this.seed);
    this.s = Uint32Array.from([next(), next(), next(), next()]);
    if (this.s.every((x) => x === 0)) this.s[0] = 1; // the all-zero state is a fixed point
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(state.seed);
    rng.s = Uint32Array.from(state.s);
    rng.spare = state.spareNormal;
    return rng;
  }

  state(): RngState {
    return {
      seed: this.seed,
      s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!],
      spareNormal: this.spare,
    };
  }

  /** An independent stream named by labels; depends on this generator's seed, not its position. */
  fork(...labels: ReadonlyArray<string | number>): Rng {
    return new Rng(deriveSeed(this.seed, ...labels));
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0)
      throw new RangeError(`int(n) needs a positive integer n, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape k, scale θ) by Marsaglia and Tsang (2000); for k < 1, Gamma(k+1) U^(1/k). */
  gamma(shape: number, scale = 1): number {
    if (!(shape > 0) || !(scale > 0))
      throw new RangeError(`gamma needs shape > 0 and scale > 0, got ${shape}, ${scale}`);
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.uniform();
      return this.gamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  normalArray(n: number, mean = 0, std = 1): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  uniformArray(n: number, low = 0, high = 1): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** A float32 tensor of normal draws. */
  normalTensor(shape: number[], mean = 0, std = 1): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(Float32Array.from(this.normalArray(n, mean, std)), shape, 'float32');
  }

  /** A float32 tensor of uniform draws on [low, high). */
  uniformTensor(shape: number[], low = 0, high = 1): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(Float32Array.from(this.uniformArray(n, low, high)), shape, 'float32');
  }
}
