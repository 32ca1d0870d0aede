/**
 * Jensen–Shannon divergence between spectral densities: JS(p, q) = ½ KL(p‖m) + ½ KL(q‖m),
 * m = (p + q)/2, in nats. Zhang et al. (2024) call it the JS distance; JS⁰ is its average over
 * every pair of blocks at initialisation.
 *
 * `probability` (default): densities on a common grid become probability masses (density × Δt,
 * normalised), so the value is bounded by ln 2 and does not change when the grid is refined.
 * `raw-density`: the same formula on the raw density values, which is what makes the JS⁰ that
 * Zhang et al. (2024, arXiv:2402.16788) tabulate for Transformers reach the hundreds, far above
 * ln 2; it scales with 1/Δt (the grid step), so only orderings are portable (the
 * Jensen–Shannon tests in packages/analysis/test/spectral.test.ts show both).
 */
export type JsMode = 'probability' | 'raw-density';

function klTerm(a: number, m: number): number {
  return a > 0 ? a * Math.log(a / m) : 0;
}

export function jensenShannon(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  mode: JsMode = 'probability',
): number {
  if (p.length !== q.length)
    throw new RangeError(`densities on different grids (${p.length} vs ${q.length} points)`);
  let P = Array.from(p, (x) => Math.max(0, x));
  let Q = Array.from(q, (x) => Math.max(0, x));
  if (mode === 'probability') {
    const sp = P.reduce((s, x) => s + x, 0);
    const sq = Q.reduce((s, x) => s + x, 0);
    if (sp === 0 || sq === 0) throw new RangeError('a density is zero everywhere on the grid');
    P = P.map((x) => x / sp);
    Q = Q.map((x) => x / sq);
  }
  let js = 0;
  for (let i = 0; i < P.length; i++) {
    const m = (P[i]! + Q[i]!) / 2;
    if (m > 0) js += 0.5 * klTerm(P[i]!, m) + 0.5 * klTerm(Q[i]!, m);
  }
  return js;
}

/** The matrix of JS between every pair of densities (on one grid), and JS⁰, its mean over pairs. */
export function jensenShannonMatrix(
  densities: ReadonlyArray<ArrayLike<number>>,
  mode: JsMode = 'probability',
): { matrix: number[][]; mean: number } {
  const n = densities.length;
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const js = jensenShannon(densities[i]!, densities[j]!, mode);
      matrix[i]![j] = js;
      matrix[j]![i] = js;
      total += js;
      pairs++;
    }
  }
  return { matrix, mean: pairs > 0 ? total / pairs : 0 };
}
