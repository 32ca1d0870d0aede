/** How a spec picks parameter blocks: a role name, or `{ role, layer, name }` (all must hold). */
import { z } from '@tdx/core';
import { PARAM_ROLES, type ParamSelector } from './param-set.js';

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

export const paramSelectorSchema = z.union([
  z.enum(PARAM_ROLES),
  z.strictObject({
    role: oneOrMany(z.enum(PARAM_ROLES)).optional(),
    layer: oneOrMany(z.number().int().nonnegative()).optional(),
    /** A block name; `*` matches any run of characters (`layers.*.attn.query*`). */
    name: oneOrMany(z.string().min(1)).optional(),
  }),
]);

export type ParamSelectorConfig = z.output<typeof paramSelectorSchema>;

export function toParamSelector(config: ParamSelectorConfig): ParamSelector {
  return typeof config === 'string' ? { role: config } : config;
}
