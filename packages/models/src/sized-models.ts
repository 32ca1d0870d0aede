/**
 * `gpt`, `vit` and `mlp` with `size` presets (sizes.ts): the plugins of gpt.ts, vit.ts and
 * mlp.ts, their configs wrapped so that `size: small | nano | paper` fills the fields not
 * given. The builders and their configs' fields are those files' own; `size: small` leaves
 * every default as it was.
 */
import { definePlugin } from '@tdx/core';
import { gpt, gptConfig } from './gpt.js';
import { mlp, mlpConfig } from './mlp.js';
import { GPT_SIZES, MLP_SIZES, VIT_SIZES, sized } from './sizes.js';
import { vit, vitConfig } from './vit.js';

export const sizedGptConfig = sized(gptConfig, GPT_SIZES);
export const sizedVitConfig = sized(vitConfig, VIT_SIZES);
export const sizedMlpConfig = sized(mlpConfig, MLP_SIZES);

const presetNote = 'size: small (default) | nano | paper';

export const sizedGpt = definePlugin({
  kind: 'model',
  name: gpt.name,
  description: `${gpt.description}; ${presetNote} (GPT-2 small)`,
  config: sizedGptConfig,
  create: (config, ctx) => gpt.create(config, ctx),
  estimate: gpt.estimate,
});

export const sizedVit = definePlugin({
  kind: 'model',
  name: vit.name,
  description: `${vit.description}; ${presetNote} (ViT-base/16)`,
  config: sizedVitConfig,
  create: (config, ctx) => vit.create(config, ctx),
  estimate: vit.estimate,
});

export const sizedMlp = definePlugin({
  kind: 'model',
  name: mlp.name,
  description: `${mlp.description}; ${presetNote}`,
  config: sizedMlpConfig,
  create: (config, ctx) => mlp.create(config, ctx),
  estimate: mlp.estimate,
});
