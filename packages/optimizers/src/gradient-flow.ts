/**
 * Following the gradient flow dw/dτ = −g(w) − λw instead of taking fixed steps: an adaptive
 * explicit integrator (Heun, order 2, with an embedded Euler error estimate) whose step size is
 * controlled against a tolerance, so that the parameters stay within the tolerance of the flow
 * and τ, the flow time reached, is the clock of the run (the mean-field studies of Gao et al.,
 * NeurIPS 2024, describe training by this flow). `method: euler` is plain gradient descent with
 * a fixed step, for comparison on the same clock.
 *
 * Each update makes one accepted step; a rejected trial is retried with a smaller step inside
 * the same update. The gradient at the trial point comes from the trainer's UpdateContext, on the
 * same batch as `grads`, scaled per block (lrScale) as `grads` are.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  mapValues,
  tf,
  zipValues,
  type GradientTransformation,
  type ParamValues,
  type Scalar,
  type Tensor,
  type UpdateContext,
} from '@tdx/tensor';

export const gradientFlowConfig = z.object({
  method: z
    .enum(['heun', 'euler'])
    .default('heun')
    .describe(
      'heun: adaptive, order 2; euler: fixed step `initialStep` (gradient descent), no control.',
    ),
  tolerance: z
    .number()
    .positive()
    .default(1e-4)
    .describe('Absolute tolerance on the local error estimate of one step, in the chosen norm.'),
  relativeTolerance: z
    .number()
    .min(0)
    .default(0)
    .describe('Relative tolerance: the bound is tolerance + relativeTolerance·max(‖w‖, ‖w_next‖).'),
  norm: z
    .enum(['rms', 'max'])
    .default('rms')
    .describe('rms: root mean square over all trainable parameters; max: the largest magnitude.'),
  initialStep: z
    .number()
    .positive()
    .default(1e-3)
    .describe('The first trial step (heun) or the fixed step (euler), in units of τ.'),
  maxStep: z
    .number()
    .positive()
    .optional()
    .describe('Upper bound on the step size (none by default).'),
  minStep: z
    .number()
    .positive()
    .default(1e-10)
    .describe(
      'The controller asking for a smaller step than this is an error: the flow is too stiff.',
    ),
  weightDecay: z
    .number()
    .min(0)
    .default(0)
    .describe(
      "λ of the flow's −λw term; not multiplied by lrScale, which acts on the gradient only.",
    ),
  until: z
    .number()
    .positive()
    .optional()
    .describe('Stop at this τ: the last step is shortened to land on it, later updates are zero.'),
  safety: z
    .number()
    .gt(0)
    .max(1)
    .default(0.9)
    .describe('Step-size controller: h ← h·min(maxGrowth, max(minShrink, safety·(1/err)^½)).'),
  maxGrowth: z.number().gt(1).default(5),
  minShrink: z.number().gt(0).lt(1).default(0.2),
  maxRejections: z
    .number()
    .int()
    .positive()
    .default(10)
    .describe('Rejected trials allowed within one update before it fails.'),
});

export type GradientFlowConfig = z.output<typeof gradientFlowConfig>;

/** Plain numbers only: checkpointed as JSON, restored bit for bit. */
export interface GradientFlowState {
  /** Flow time reached: the sum of the accepted step sizes. */
  tau: number;
  /** The step size the next update tries first. */
  step: number;
  /** The last accepted step size (0 before the first). */
  lastStep: number;
  /** Accepted steps (one per update until `until` is reached). */
  accepted: number;
  /** Rejected trial steps, over the whole run. */
  rejected: number;
  /** Gradient evaluations: the trainer's one per advancing update plus one per trial. */
  evaluations: number;
  /** Error estimate of the last accepted step, as a fraction of the tolerance (≤ 1). */
  error: number;
  /**
   * ‖k2 − k1‖ / (h‖k1‖) at the last accepted step ≈ ‖(H + λI)k1‖ / ‖k1‖: the curvature along
   * the flow, a lower bound on λmax(H + λI); explicit steps are stable for h ≲ 2 / λmax.
   */
  curvature: number;
}

/** Norm of a parameter map, as a scalar tensor: RMS over all entries, or max magnitude. */
function normOf(values: Tensor[], kind: 'rms' | 'max', size: number): Scalar {
  if (kind === 'max') {
    const maxima = values.map((v) => tf.max(tf.abs(v)));
    return (maxima.length === 1 ? maxima[0]! : tf.max(tf.stack(maxima))) as Scalar;
  }
  const squares = values.map((v) => tf.sum(tf.square(v)));
  return tf.sqrt(tf.div(squares.length === 1 ? squares[0]! : tf.addN(squares), size)) as Scalar;
}

export function gradientFlow(
  config: GradientFlowConfig,
): GradientTransformation<GradientFlowState> {
  const { weightDecay: lambda, until } = config;
  // Step sizes are rounded to float32 so that τ sums exactly the steps the tensors apply.
  const capped = (h: number): number =>
    Math.fround(config.maxStep === undefined ? h : Math.min(h, config.maxStep));
  const tol = (wNorm: number): number => config.tolerance + config.relativeTolerance * wNorm;

  /** k = −g − λw, block by block. */
  const direction = (grads: ParamValues, params: ParamValues): ParamValues =>
    zipValues([grads, params], ([g, w]) =>
      lambda === 0 ? tf.neg(g!) : tf.sub(tf.neg(g!), tf.mul(w!, lambda)),
    );

  return {
    init: () => ({
      tau: 0,
      step: capped(config.initialStep),
      lastStep: 0,
      accepted: 0,
      rejected: 0,
      evaluations: 0,
      error: 0,
      curvature: 0,
    }),

    update(grads, state, params, context?: UpdateContext) {
      if (until !== undefined && state.tau >= until)
        return { updates: mapValues(grads, (g) => tf.zerosLike(g)), state };
      // Shorten the step that would pass `until`, so runs of any size stop at the same τ.
      const clip = (h: number): { h: number; last: boolean } =>
        until !== undefined && state.tau + h >= until
          ? { h: Math.fround(until - state.tau), last: true }
          : { h, last: false };
      const k1 = direction(grads, params);

      if (config.method === 'euler') {
        const { h, last } = clip(state.step);
        return {
          updates: mapValues(k1, (k) => tf.mul(k, h)),
          state: {
            ...state,
            tau: last ? until! : state.tau + h,
            lastStep: h,
            accepted: state.accepted + 1,
            evaluations: state.evaluations + 1,
          },
        };
      }

      if (!context)
        throw new TdxError(
          'PLUGIN_CONTRACT',
          'gradient-flow needs the gradient at trial points, from the update context its caller passes to update(), and got none',
          {
            hint: "use the minibatch trainer (it passes the context), pass { gradient: values => gradient at values } as update's 4th argument, or set method: euler",
          },
        );

      const names = Object.keys(grads);
      const size = names.reduce((n, name) => n + grads[name]!.size, 0);
      const k1Values = names.map((n) => k1[n]!);
      // Norms at the current point, read back with each trial's (one sync per trial).
      const k1NormT = normOf(k1Values, config.norm, size);
      const wNormT = normOf(
        names.map((n) => params[n]!),
        config.norm,
        size,
      );
      let h = state.step;
      let rejected = 0;
      let curvature = state.curvature;
      for (;;) {
        if (h < config.minStep)
          throw new TdxError(
            'RUN_FAILED',
            `gradient-flow: at τ = ${state.tau} (update ${state.accepted}) the step-size controller needs h = ${h.toExponential(3)} < minStep = ${config.minStep} to meet the tolerance; the curvature along the flow is about ${curvature.toPrecision(3)}, so explicit steps are stable only below h ≈ ${(2 / curvature).toExponential(3)}`,
            {
              hint: 'the flow is stiff (or diverging) here: raise tolerance, lower minStep, or lower the learning-rate scale (lrScale) of the stiff blocks',
            },
          );
        const { h: step, last } = clip(h);
        let error = NaN;
        let kNorm = 0;
        // One trial in its own scope: a rejected trial's tensors are freed at once.
        const updates = tf.tidy(() => {
          const trial = zipValues([params, k1], ([w, k]) => tf.add(w!, tf.mul(k!, step)));
          const k2 = direction(context.gradient(trial), trial);
          const update = zipValues([k1, k2], ([a, b]) => tf.mul(tf.add(a!, b!), step / 2));
          const next = zipValues([params, update], ([w, u]) => tf.add(w!, u!));
          const values = (m: ParamValues) => names.map((n) => m[n]!);
          // Heun − Euler = (h/2)(k2 − k1): the estimate of the Euler step's local error.
          const difference = zipValues([k2, k1], ([b, a]) => tf.sub(b!, a!));
          const [dNorm, wNorm, nextNorm, k1Norm] = tf
            .stack([
              normOf(values(difference), config.norm, size),
              wNormT,
              normOf(values(next), config.norm, size),
              k1NormT,
            ])
            .dataSync();
          error = ((step / 2) * dNorm!) / tol(Math.max(wNorm!, nextNorm!));
          kNorm = k1Norm!;
          curvature = kNorm > 0 && Number.isFinite(dNorm!) ? dNorm! / (step * kNorm) : 0;
          return error <= 1 ? update : {};
        }) as ParamValues;
        if (!Number.isFinite(kNorm))
          throw new TdxError(
            'NOT_FINITE',
            `gradient-flow: the gradient at the current parameters is not finite (τ = ${state.tau}, update ${state.accepted})`,
            {
              hint: 'the run diverged before this update (or the loss is not finite here): lower tolerance or maxStep',
            },
          );
        // err ∝ h² (Euler's local error), hence the exponent ½.
        const factor = (growth: number): number =>
          error === 0
            ? growth
            : Math.min(growth, Math.max(config.minShrink, config.safety * error ** -0.5));

        if (error <= 1) {
          // After a rejection, do not grow at once (Hairer, Nørsett & Wanner, §II.4).
          const proposal = last ? h : capped(step * factor(rejected > 0 ? 1 : config.maxGrowth));
          return {
            updates,
            state: {
              tau: last ? until! : state.tau + step,
              step: proposal,
              lastStep: step,
              accepted: state.accepted + 1,
              rejected: state.rejected + rejected,
              evaluations: state.evaluations + 2 + rejected,
              error,
              curvature,
            },
          };
        }
        rejected++;
        if (rejected > config.maxRejections)
          throw new TdxError(
            'RUN_FAILED',
            `gradient-flow: ${rejected} trial steps in a row were rejected at τ = ${state.tau} (update ${state.accepted}); the last, h = ${step.toExponential(3)}, had an error estimate ${Number.isFinite(error) ? error.toPrecision(3) : error}× the tolerance`,
            {
              hint: 'lower initialStep or maxStep, or raise maxRejections; if the estimate does not fall with h, the loss is not smooth here or the tolerance is below float32 resolution (raise tolerance)',
            },
          );
        // A non-finite error (overflow at the trial point) shrinks as much as allowed.
        h = Math.fround(step * (Number.isFinite(error) ? factor(1) : config.minShrink));
      }
    },

    metrics: (state) => ({
      tau: state.tau,
      stepSize: state.step,
      rejected: state.rejected,
      evaluations: state.evaluations,
      ...(config.method === 'heun' ? { curvature: state.curvature } : {}),
    }),
    hyperparameters: () => ({ weightDecay: config.weightDecay }),
  };
}

export const gradientFlowPlugin = definePlugin({
  kind: 'optimizer',
  name: 'gradient-flow',
  description:
    'follows the gradient flow dw/dτ = −g − λw with an adaptive Heun integrator (error control against a tolerance), reporting the flow time τ; or Euler with a fixed step',
  config: gradientFlowConfig
    .refine((c) => c.maxStep === undefined || c.initialStep <= c.maxStep, {
      message: 'must be ≤ maxStep',
      path: ['initialStep'],
    })
    .refine((c) => c.minStep <= c.initialStep, {
      message: 'must be ≤ initialStep',
      path: ['minStep'],
    }),
  create: (config) => gradientFlow(config),
});
