/**
 * Loss landscapes (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"): the loss
 * of the analysis batch on a line w + α d (1-D) or a plane w + α d₁ + β d₂ (2-D) through the
 * current trainable parameters w. The parameters are never written: every point is a fresh
 * map of tensors handed to the model's loss, so they are exactly as before afterwards.
 *
 * Directions (`directions`, one or two of):
 * - `random`: a Gaussian draw per trainable block, `normalization`:
 *   - `filter` (default, Li et al.): each filter rescaled to the norm of the same filter of w,
 *     d_f = r_f ‖w_f‖ / ‖r_f‖. A filter is an output unit: a column of a [in, out] weight (tdx
 *     layers compute x·W), an output channel of the cnn's [k·k·C_in, C_out] kernels; the
 *     slice along a block's last axis. This makes slices comparable across networks whose
 *     weights differ in scale: for a ReLU unit rescaled by c > 0 (its column and bias times c)
 *     the direction scales with it (tested: the landscape over a layer whose next layer
 *     compensates is unchanged; with `layer` or `none` it changes).
 *   - `layer`: each block (tensor) rescaled as a whole to ‖w_b‖; `none`: the raw draw.
 *   `oneDimensional` says what 1-D blocks (biases, norm gains; rank ≤ 1 as in Li et al.'s
 *   code) get: `zero` (default, their `ignore: biasbn`: they do not move), `filter`
 *   (normalised like the rest; under filter normalisation each entry is its own filter,
 *   d_i = sign(r_i)|w_i|), `keep` (the raw draw) or `weights` (d = w, their code otherwise).
 *   Draws come from `seed` when given (the same draw at every step), else from the
 *   evaluation's seed (a new draw each step); the same on every backend.
 * - `hessian`: unit eigenvectors of the Hessian of the analysis batch's loss at w, over the
 *   trainable blocks: the first `hessian` entry is the top eigenvector (`which: largest`,
 *   algebraically: the sharpest upward curvature; or `magnitude`), a second one the next.
 *   Lanczos with full reorthogonalisation, `lanczosSteps` (40) exact Hessian-vector products,
 *   keeping the basis (steps × parameters float64 on the host); Ritz vectors with residuals.
 *   Along a unit eigenvector v the slice is f + (g·v) α + λ α²/2 + O(α³).
 * - `initial`: towards the run's parameters at step 0 (the coordinate 1 is there). The analysis
 *   records them when it runs at step 0, so schedule it there (`at: [0, ...]` or `every`); at
 *   step 0 itself the line is a point, and only the centre loss is recorded. A run resumed
 *   from a checkpoint has lost them: an error says so.
 * - `{ run: <run folder> }`: towards another run's saved parameters (its
 *   `checkpoints/latest.json`, the final parameters of a completed run; same model).
 *
 * Coordinates: `range` ([-1, 1] for random and Hessian directions, [-0.5, 1.5] towards an
 * endpoint; one pair for every axis or one per direction), `points` per axis (51 for a slice,
 * 21 for a grid). Cost: one forward pass of the analysis batch per point plus one at the centre
 * (a 21 × 21 grid: 442), plus for Hessian directions lanczosSteps + k Hessian-vector products
 * (each about 3-4 forward passes). With analysis workers the grid's rows are computed in
 * parallel (`pointsPerPart`, default one row per part) when the dataset has a fixed evaluation
 * batch.
 *
 * Value: the loss at w. Data: `dimensions`, `centre`, `axes` (per direction its `kind`,
 * `label`, coordinate `values`, `norm` ‖d‖ and, by kind, `blocks` (each block's treatment,
 * ‖w_b‖ and ‖d_b‖), `eigenvalue`/`residual`/`lanczosSteps`, or `endpoint`), `losses` (1-D: one
 * per coordinate; 2-D: losses[i][j] at (axes[0].values[j], axes[1].values[i]); null where not
 * finite), `minimum` (the lowest loss and its coordinates), `cosine` between two directions,
 * `curvature` (a smoothness number: the surface's own finite-difference Hessian at every
 * interior point and the non-convexity ratio max(0, −λ₂)/max|λ| summarised over the grid; see
 * ../landscape/surface-curvature.ts) and `settings`. Figures: the slices per run over its evaluations; per run at its first and
 * last evaluation, a contour and a 3-D surface of the grid (`scale`: log when the losses span
 * more than two decades, by default).
 */
import { definePlugin, type AnalysisInstance } from '@tdx/core';
import { lossLandscapeConfig } from '../landscape/config.js';
import { landscapeFigures } from '../landscape/figures.js';
import { LandscapeState, lossLandscapeParts } from '../landscape/landscape.js';

export { lossLandscapeConfig, type LossLandscapeConfig } from '../landscape/config.js';
export { lossLandscape, lossLandscapeParts, LandscapeState } from '../landscape/landscape.js';
export { landscapeFigures } from '../landscape/figures.js';

export const lossLandscapePlugin = definePlugin({
  kind: 'analysis',
  name: 'loss-landscape',
  title: 'loss landscape',
  description:
    'the loss on a line or plane through the parameters: filter-normalised random, Hessian-eigenvector or interpolation directions (Li et al. 2018)',
  config: lossLandscapeConfig,
  create: (config): AnalysisInstance => {
    // One instance per run: it keeps the step-0 parameters for `initial`.
    const { run, parallel } = lossLandscapeParts(config, new LandscapeState());
    return {
      run: (target, ctx) => run(target, ctx),
      parallel,
      figures: (runs) => landscapeFigures(runs, config.scale),
    };
  },
});
