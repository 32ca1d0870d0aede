/**
 * @tdx/analysis: the Hessian and the statistics of training, as analysis plugins (`register`)
 * and as functions. This index is the package's API, by topic; the plugins' configs, figures
 * and parts stay in their files (import those paths only from this package's own tests).
 */
export { register } from './register.js';

// The Hessian of a model's loss as one object: top eigenvalues, trace, density, blockwise JS⁰.
export {
  curvature,
  type BlockDensity,
  type BlockwiseCurvature,
  type BlockwiseOptions,
  type Curvature,
  type CurvatureModel,
  type CurvatureOptions,
  type DensityOptions,
} from './curvature/curvature.js';

// Curvature operators v ↦ Hv (whole, per block, per sub-block) from exact Hessian-vector products.
export {
  blockOperators,
  denseMatrix,
  hessianOperator,
  subBlockCoordinates,
  type BlockSelection,
  type CurvatureOperator,
  type HessianOptions,
  type SubBlockSplit,
} from './curvature/operators.js';
export {
  exactHessianDiagonal,
  hessianDiagonal,
  hutchinsonHessianDiagonal,
  type DiagonalMethod,
  type HessianDiagonal,
  type HessianDiagonalOptions,
} from './curvature/hessian-diagonal.js';

// Algorithms on an operator: Lanczos, SLQ densities, Hutchinson, Jensen–Shannon, eigensolvers.
export {
  lanczos,
  type LanczosOptions,
  type LanczosResult,
  type StartDistribution,
} from './spectral/lanczos.js';
export { topEigenvalues, type TopEigenvalues } from './spectral/top-eigenvalues.js';
export {
  densityGrid,
  densityOnGrid,
  SLQ_PRESETS,
  slqQuadratures,
  spectralDensity,
  type Broadening,
  type GridSettings,
  type Quadrature,
  type SlqSettings,
  type SpectralDensity,
} from './spectral/slq.js';
export { slqSettings } from './curvature/config.js';
export {
  kthLargestRitzValue,
  normalizeByKth,
  type KthNormalization,
} from './spectral/kth-normalization.js';
export { slqParts, type OperatorQuadratures, type SlqPartsOptions } from './curvature/slq-parts.js';
export { hutchinsonTrace, type TraceEstimate } from './spectral/hutchinson.js';
export { jensenShannon, jensenShannonMatrix, type JsMode } from './spectral/jensen-shannon.js';
export { tridiagonalEigen, type TridiagonalEigen } from './spectral/tridiagonal-eigen.js';
export { symmetricEigen, type SymmetricEigen } from './spectral/symmetric-eigen.js';
export {
  numericalRank,
  singularPairs,
  singularValues,
  type SingularPairs,
} from './spectral/singular-values.js';
export {
  gdLearningRates,
  gdRate,
  predictedLoss,
  type GdMode,
  type GdRate,
  type LeastSquaresSpectrum,
} from './spectral/gd-rate.js';

// Host vector arithmetic, where it lives (@tdx/tensor), for algorithms written against these.
export {
  axpy,
  dot,
  norm,
  powerIteration,
  scaled,
  type PowerIterationOptions,
  type PowerIterationResult,
} from '@tdx/tensor';

// Statistics: quantiles, tails, Wasserstein distances.
export { quantile, quantileRatios, type QuantileRatios } from './statistics/quantiles.js';
export { hillEstimator, hillTailSize, type HillEstimate } from './statistics/hill.js';
export { excessKurtosis } from './statistics/kurtosis.js';
export { tailSummary, type TailSummary } from './statistics/tail-summary.js';
export { compareTails, type TailComparison } from './statistics/tail-comparison.js';
export {
  randomDirections,
  slicedWasserstein,
  slicedWassersteinFromProjections,
  sortedProjections,
  sortedWasserstein1dSquared,
  wasserstein1d,
  wasserstein1dSquared,
  type PointCloud,
  type SlicedWasserstein,
  type SlicedWassersteinOptions,
} from './statistics/wasserstein.js';

// What each analysis computes, callable on an AnalysisTarget without a run.
export { topHessianEigenvalue } from './top-hessian-eigenvalue.js';
export { topHessianEigenvalues } from './plugins/top-hessian-eigenvalues.js';
export { hessianTrace } from './plugins/hessian-trace.js';
export { hessianSpectrum, hessianSpectrumConfig } from './plugins/hessian-spectrum.js';
export { blockHeterogeneity } from './plugins/block-heterogeneity.js';
export { gradientNorm } from './plugins/gradient-norm.js';
export { gradientNoise } from './plugins/gradient-noise.js';
export { accuracy } from './plugins/accuracy.js';
export { robustConditionNumber } from './plugins/robust-condition-number.js';
export { directionalSmoothness } from './plugins/directional-smoothness.js';
export { initConditions } from './init-conditions/evaluate.js';
export { lossLandscape } from './landscape/landscape.js';
export { lossLandscapeConfig } from './landscape/config.js';
export { randomDirection } from './landscape/random-direction.js';
export { topEigenvectors, type Eigenpair } from './landscape/top-eigenvectors.js';
export { withSliceEvaluator } from './landscape/evaluate.js';
export {
  sliceCurvature,
  surfaceCurvature,
  type SurfaceCurvature,
} from './landscape/surface-curvature.js';
export { weightSpectra, type WeightSpectrum } from './init-conditions/weight-spectra.js';
export { meanField } from './mean-field/evaluate.js';
export { curveGaps, sizedGroups } from './mean-field/curves.js';
export { particleDistances, particleDrift } from './mean-field/distances.js';
