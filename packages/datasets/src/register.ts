import type { Registry } from '@tdx/core';
import { iclLinearRegression } from './icl-linear-regression.js';
import { mailTextDataset } from './mail-text.js';
import { markovText } from './markov-text.js';
import { maskedTokens } from './masked-tokens.js';
import { mnist } from './mnist.js';
import { quadratic } from './quadratic.js';
import { spamAssassin } from './spam-assassin.js';
import { tokenRegression } from './token-regression.js';

/** Registers the built-in datasets. */
export function register(registry: Registry): Registry {
  return registry.register(
    iclLinearRegression,
    quadratic,
    markovText,
    mnist,
    spamAssassin,
    tokenRegression,
    maskedTokens,
    mailTextDataset,
  );
}
