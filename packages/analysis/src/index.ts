export {
  axpy,
  dot,
  norm,
  powerIteration,
  scaled,
  type PowerIterationOptions,
  type PowerIterationResult,
} from '@tdx/tensor';
export { register } from './register.js';
export * from './top-hessian-eigenvalue.js';
export * from './spectral/tridiagonal-eigen.js';
export * from './spectral/lanczos.js';
export * from './spectral/slq.js';
export * from './spectral/jensen-shannon.js';
export * from './spectral/hutchinson.js';
export * from './spectral/top-eigenvalues.js';
export * from './curvature/operators.js';
export * from './curvature/config.js';
export * from './curvature/stored-density.js';
export * from './plugins/hessian-spectrum.js';
export * from './plugins/block-heterogeneity.js';
export * from './plugins/hessian-trace.js';
export * from './plugins/top-hessian-eigenvalues.js';
export * from './plugins/gradient-norm.js';
export * from './curvature/slq-parts.js';
export * from './curvature/hessian-diagonal.js';
export * from './plugins/robust-condition-number.js';
export * from './plugins/directional-smoothness.js';
export * from './plugins/gradient-noise.js';
export * from './plugins/accuracy.js';
export * from './spectral/symmetric-eigen.js';
export * from './spectral/singular-values.js';
export * from './spectral/gd-rate.js';
export * from './plugins/init-conditions.js';
export * from './plugins/loss-landscape.js';
export * from './landscape/random-direction.js';
export * from './landscape/filters.js';
export * from './landscape/top-eigenvectors.js';
export * from './landscape/endpoints.js';
export * from './landscape/evaluate.js';
export * from './statistics/index.js';
export * from './plugins/mean-field.js';
export * from './curvature/curvature.js';
