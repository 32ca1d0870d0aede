/** How a spec picks parameter blocks: a role name, or `{ role, layer, name }` (all must hold). */
import { z } from '@tdx/core';
import { PARAM_ROLES, type ParamRole, type ParamSelector } from './param-set.js';

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

// Roles as a list, so that a typo is reported against the roles (a union would only say "invalid").
const roles = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z.array(z.enum(PARAM_ROLES)).min(1),
);

const selectorObject = z.strictObject({
  role: roles.optional(),
  layer: oneOrMany(z.number().int().nonnegative()).optional(),
  name: oneOrMany(z.string().min(1))
    .optional()
    .describe('A block name; `*` matches any run of characters (`layers.*.attn.query*`).'),
});

// A bare string is a role: read it as { role } so that a typo is reported against the roles.
export const paramSelectorSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { role: value } : value),
  selectorObject,
);

export type ParamSelectorConfig = ParamRole | z.output<typeof selectorObject>;

export function toParamSelector(config: ParamSelectorConfig): ParamSelector {
  return typeof config === 'string' ? { role: config } : config;
}
