export * from './hill.js';
export * from './quantiles.js';
export * from './kurtosis.js';
export * from './gaussian-control.js';
export * from './gram-matrix.js';
export * from './tail-summary.js';
export * from './tail-comparison.js';
export * from './wasserstein.js';
