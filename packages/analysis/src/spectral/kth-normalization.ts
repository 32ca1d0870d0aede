/**
 * Spectra normalised by their k-th largest eigenvalue, as Zhang et al. (2024) draw them (their
 * figures divide every spectrum by its 10th largest eigenvalue, so that spectra of different
 * scales, such as a CNN's and a Transformer's, can be set on one axis; their σ = √1e-5 is
 * meant for that scale). Their public code stores raw Ritz values, so the scaling here is
 * applied to the quadratures after SLQ.
 *
 * λ_k is estimated from the Ritz values: each probe's k-th largest node, averaged over probes.
 * By Cauchy interlacing the k-th largest Ritz value of a Lanczos run is at most λ_k, with
 * equality once the run has as many steps as the dimension (with reorthogonalisation); the
 * top Ritz values converge first, so a few dozen steps give λ_10 closely. Without
 * reorthogonalisation, ghost copies of the top eigenvalues can take the places above k and
 * overstate it.
 */
import { TdxError } from '@tdx/core';
import type { Quadrature } from './slq.js';

export interface KthNormalization {
  kth: number;
  /** The eigenvalue every node was divided by. */
  by: number;
}

/** Mean over probes of each probe's k-th largest Ritz value. */
export function kthLargestRitzValue(quadratures: readonly Quadrature[], k: number, name = 'H') {
  if (!Number.isInteger(k) || k < 1)
    throw new TdxError('INVALID_ARGUMENT', `normalize.kth must be a positive integer, not ${k}`);
  if (quadratures.length === 0)
    throw new TdxError('INVALID_ARGUMENT', `${name}: no quadratures to normalise`);
  let sum = 0;
  for (const [p, q] of quadratures.entries()) {
    if (q.nodes.length < k)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `${name}: normalize.kth is ${k} but probe ${p} has only ${q.nodes.length} Ritz values`,
        {
          hint: 'use more Lanczos steps (steps ≥ kth) or a smaller kth; a block smaller than kth cannot be normalised',
        },
      );
    sum += [...q.nodes].sort((a, b) => b - a)[k - 1]!;
  }
  return sum / quadratures.length;
}

/** The quadratures with every node divided by λ_k (weights unchanged), and λ_k. */
export function normalizeByKth(
  quadratures: readonly Quadrature[],
  k: number,
  name = 'H',
): { quadratures: Quadrature[]; normalization: KthNormalization } {
  const by = kthLargestRitzValue(quadratures, k, name);
  if (!(by > 0))
    throw new TdxError(
      'NOT_FINITE',
      `${name}: its ${k}th largest eigenvalue is ${by}, not positive: dividing by it would flip or blow up the spectrum`,
      { hint: 'choose a smaller kth, or leave this block out (exclude / blocks)' },
    );
  return {
    quadratures: quadratures.map((q) => ({
      nodes: q.nodes.map((x) => x / by),
      weights: q.weights,
    })),
    normalization: { kth: k, by },
  };
}
