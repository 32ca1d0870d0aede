import type { Registry } from '@tdx/core';
import { accuracyPlugin } from './plugins/accuracy.js';
import { initConditionsPlugin } from './plugins/init-conditions.js';
import { lossLandscapePlugin } from './plugins/loss-landscape.js';
import { meanFieldPlugin } from './plugins/mean-field.js';
import { blockHeterogeneityPlugin } from './plugins/block-heterogeneity.js';
import { directionalSmoothnessPlugin } from './plugins/directional-smoothness.js';
import { gradientNoisePlugin } from './plugins/gradient-noise.js';
import { gradientNormPlugin } from './plugins/gradient-norm.js';
import { hessianSpectrumPlugin } from './plugins/hessian-spectrum.js';
import { hessianTracePlugin } from './plugins/hessian-trace.js';
import { spectrumDistanceReporter } from './plugins/spectrum-distance.js';
import { robustConditionNumberPlugin } from './plugins/robust-condition-number.js';
import { topHessianEigenvaluesPlugin } from './plugins/top-hessian-eigenvalues.js';
import { topHessianEigenvaluePlugin } from './top-hessian-eigenvalue.js';

/** Registers the built-in analyses, and the reporter that compares spectra across models. */
export function register(registry: Registry): Registry {
  return registry.register(
    topHessianEigenvaluePlugin,
    topHessianEigenvaluesPlugin,
    hessianTracePlugin,
    hessianSpectrumPlugin,
    blockHeterogeneityPlugin,
    gradientNormPlugin,
    robustConditionNumberPlugin,
    directionalSmoothnessPlugin,
    gradientNoisePlugin,
    accuracyPlugin,
    initConditionsPlugin,
    lossLandscapePlugin,
    meanFieldPlugin,
    spectrumDistanceReporter,
  );
}
