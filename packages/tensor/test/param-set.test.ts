import { afterEach, describe, expect, it } from 'vitest';
import type { TdxError } from '@tdx/core';
import { ParamSet, paramSelectorSchema, tf } from '../src/index.js';

function model(): ParamSet {
  return ParamSet.create([
    {
      name: 'embed',
      role: 'embedding',
      init: tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    },
    { name: 'layers.0.attn.query', role: 'query', layer: 0, init: tf.tensor1d([5, 6, 7]) },
    { name: 'layers.0.attn.key', role: 'key', layer: 0, init: tf.tensor1d([8]) },
    {
      name: 'layers.1.attn.query',
      role: 'query',
      layer: 1,
      init: { values: [9, 10], shape: [1, 2] },
    },
  ]);
}

describe('ParamSet', () => {
  const created: ParamSet[] = [];
  const make = () => {
    const p = model();
    created.push(p);
    return p;
  };
  afterEach(() => {
    while (created.length) created.pop()!.dispose();
  });

  it('flattens blocks in order and assigns back', () => {
    const p = make();
    expect(p.size).toBe(10);
    expect(Array.from(p.flatten())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(p.offsets()).toEqual([0, 4, 7, 8]);
    p.assign(Float64Array.from({ length: 10 }, (_, i) => -i));
    expect(Array.from(p.block('layers.0.attn.key').variable.dataSync())).toEqual([-7]);
    expect(p.block('layers.1.attn.query').variable.shape).toEqual([1, 2]);
  });

  it('selects by role, layer and name pattern, as views sharing variables', () => {
    const p = make();
    expect(p.select({ role: 'query' }).names).toEqual([
      'layers.0.attn.query',
      'layers.1.attn.query',
    ]);
    expect(p.select({ layer: 0 }).names).toEqual(['layers.0.attn.query', 'layers.0.attn.key']);
    expect(p.select({ role: ['query', 'key'], layer: 1 }).names).toEqual(['layers.1.attn.query']);
    expect(p.select({ name: 'layers.*.attn.key' }).names).toEqual(['layers.0.attn.key']);
    expect(p.select({ name: /^embed$/ }).names).toEqual(['embed']);
    const queries = p.select({ role: 'query' });
    queries.assign([0, 0, 0, 0, 0]);
    expect(Array.from(p.flatten())).toEqual([1, 2, 3, 4, 0, 0, 0, 8, 0, 0]);
  });

  it('says which blocks exist when a selection matches nothing', () => {
    expect(() => make().select({ role: 'value' })).toThrow(
      /no parameter block matches \{"role":"value"\}/,
    );
    try {
      make().select({ name: 'layers.2.*' });
    } catch (e) {
      expect((e as TdxError).hint).toContain('layers.0.attn.key (key, layer 0)');
    }
  });

  it('freezes blocks, which leave the trainable view', () => {
    const p = make().freeze({ role: 'query' });
    expect(p.trainable().names).toEqual(['embed', 'layers.0.attn.key']);
    p.unfreeze({ layer: 1 });
    expect(p.trainable().names).toEqual(['embed', 'layers.0.attn.key', 'layers.1.attn.query']);
  });

  it('unflattens a tensor differentiably and concatenates back', () => {
    const p = make();
    tf.tidy(() => {
      const flat = tf.range(0, 10).toFloat();
      const g = tf.grad((x: tf.Tensor) => {
        const parts = p.unflatten(x);
        return tf.sum(tf.mul(parts['layers.0.attn.query']!, tf.tensor1d([1, 2, 3])));
      })(flat);
      expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 1, 2, 3, 0, 0, 0]);
      expect(Array.from(p.concat(p.unflatten(flat)).dataSync())).toEqual(
        Array.from(flat.dataSync()),
      );
    });
  });

  it('rejects vectors of the wrong length and duplicate names', () => {
    expect(() => make().assign([1, 2])).toThrow(/expected a vector of 10 values/);
    expect(() =>
      ParamSet.create([
        { name: 'a', role: 'other', init: tf.scalar(1) },
        { name: 'a', role: 'other', init: tf.scalar(2) },
      ]),
    ).toThrow(/duplicate parameter block name "a"/);
  });

  it('lets only the owner dispose the variables', () => {
    const p = make();
    expect(() => p.select({ role: 'key' }).dispose()).toThrow(/selection/);
  });
});

describe('selectors in specs', () => {
  it('read a bare role as { role }, and report a misspelt role against the roles', () => {
    expect(paramSelectorSchema.parse('value')).toEqual({ role: ['value'] });
    expect(paramSelectorSchema.parse({ role: 'query', layer: 0 })).toEqual({
      role: ['query'],
      layer: 0,
    });
    const result = paramSelectorSchema.safeParse('querry');
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['role', 0]);
    expect(result.error!.issues[0]!.message).toContain('query');
  });
});
