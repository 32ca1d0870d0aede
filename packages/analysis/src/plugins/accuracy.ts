/**
 * Classification accuracy and loss, held out and on the training data: the test accuracy
 * (headline value) and loss on the dataset's evaluation batch (else the analysis batch), and
 * the training accuracy and loss on a fixed set of training batches, batch(0) .. batch(n − 1),
 * the same at every step so that the curves over training compare like with like. The model's
 * output must be logits [B, classes] and the targets int32 class indices [B]; the loss is the
 * model's own (the one it trains on).
 */
import {
  definePlugin,
  groupRuns,
  groupSeries,
  seedsCaption,
  TdxError,
  z,
  type AnalysisInstance,
  type AnalysisOutput,
  type FigureSpec,
} from '@tdx/core';
import { tf, type AnalysisTarget, type Batch } from '@tdx/tensor';

export const accuracyConfig = z.object({
  trainBatches: z
    .number()
    .int()
    .positive()
    .default(4)
    .describe(
      'Training batches the training metrics average over: dataset.batch(0 .. trainBatches − 1).',
    ),
});

export type AccuracyConfig = z.output<typeof accuracyConfig>;

export type AccuracyData = {
  testAccuracy: number;
  testLoss: number;
  /** Examples behind the test metrics, and where they come from. */
  testExamples: number;
  testBatch: 'evaluation' | 'analysis';
  trainAccuracy: number;
  trainLoss: number;
  trainExamples: number;
};

/** Correct predictions and the summed loss of one batch. Call inside tf.tidy. */
function evaluate(target: AnalysisTarget, batch: Batch): { correct: number; loss: number } {
  const values = target.params.values();
  const logits = target.model.predict(values, batch.inputs);
  const labels = batch.targets;
  const B = labels.shape[0];
  if (
    logits.rank !== 2 ||
    logits.shape[0] !== B ||
    logits.shape[1]! < 2 ||
    labels.rank !== 1 ||
    labels.dtype !== 'int32'
  ) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `accuracy needs a classifier: logits [batch, classes] for int32 class labels [batch], but the model gives [${logits.shape}] for ${labels.dtype} targets [${labels.shape}]`,
      {
        hint: 'use it with a classification model and dataset (text-transformer on spam-assassin, vit or mlp on mnist); for regression, track the loss instead',
      },
    );
  }
  const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
  // The model's loss is a mean over the batch: scale back to a sum to pool batches exactly.
  const loss = tf.mul(target.lossOn(batch)(values), B!);
  return { correct: hits.dataSync()[0]!, loss: loss.dataSync()[0]! };
}

export function accuracy(
  target: AnalysisTarget,
  config: AccuracyConfig,
): AnalysisOutput & { value: number; data: AccuracyData } {
  // Taken outside the tidy: these batches are owned by the dataset or the target.
  const fromDataset = target.dataset.evalBatch?.();
  const test = fromDataset ?? target.analysisBatch();
  const testExamples = test.targets.shape[0]!;
  const held = tf.tidy(() => evaluate(target, test));
  let correct = 0;
  let loss = 0;
  let trainExamples = 0;
  for (let step = 0; step < config.trainBatches; step++) {
    // One batch at a time, so that memory stays at one batch whatever trainBatches is.
    tf.tidy(() => {
      const batch = target.dataset.batch(step);
      const r = evaluate(target, batch);
      correct += r.correct;
      loss += r.loss;
      trainExamples += batch.targets.shape[0]!;
    });
  }
  const data: AccuracyData = {
    testAccuracy: held.correct / testExamples,
    testLoss: held.loss / testExamples,
    testExamples,
    testBatch: fromDataset ? 'evaluation' : 'analysis',
    trainAccuracy: correct / trainExamples,
    trainLoss: loss / trainExamples,
    trainExamples,
  };
  return { value: data.testAccuracy, data };
}

type Runs = Parameters<NonNullable<AnalysisInstance['figures']>>[0];

const MEASURES = [
  ['testAccuracy', 'trainAccuracy', 'accuracy', 'Accuracy', false],
  ['testLoss', 'trainLoss', 'loss', 'Loss', true],
] as const;

/**
 * Accuracy and loss against step, held out (solid) and on the fixed training batches: per run
 * group, the mean over seeds with a band from the lowest to the highest seed.
 */
export function accuracyFigures(runs: Runs): FigureSpec[] {
  if (runs.length === 0) return [];
  const label = runs[0]!.file.label;
  const groups = groupRuns(runs.map(({ run, file }) => ({ group: run.group, file })));
  const curve = (field: string) => (r: { file: Runs[number]['file'] }) =>
    r.file.records.flatMap((record) =>
      typeof record[field] === 'number' ? [{ x: record.step, y: record[field] }] : [],
    );
  return MEASURES.map(([test, train, id, name, log]) => ({
    kind: 'lines' as const,
    id: `${label}-${id}`,
    title: `${name}, held out and on training batches`,
    caption: `${name} on the evaluation batch (“test”) and on the fixed training batches (“train”), at each step the analysis ran. ${seedsCaption(groups)}`,
    x: { label: 'step' },
    y: { label: id, log },
    series: groups.flatMap((g) => [
      { ...groupSeries(g, curve(test)), name: `${g.name} test` },
      { ...groupSeries(g, curve(train)), name: `${g.name} train` },
    ]),
  }));
}

export const accuracyPlugin = definePlugin({
  kind: 'analysis',
  name: 'accuracy',
  title: 'test accuracy',
  description:
    'classification accuracy and loss on the evaluation batch (headline: test accuracy) and on fixed training batches',
  config: accuracyConfig,
  create: (config): AnalysisInstance => ({
    run: (target) => accuracy(target, config),
    figures: accuracyFigures,
  }),
});
