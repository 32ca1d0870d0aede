/** What a model needs of its data, checked with a message that says which dataset fits. */
import { TdxError } from '@tdx/core';
import type { DatasetInfo } from '@tdx/tensor';

export function imageClassificationShape(
  info: DatasetInfo,
  model: string,
): { height: number; width: number; channels: number; classes: number } {
  const classes = info.meta.classes;
  if (
    info.task !== 'image-classification' ||
    info.inputShape.length !== 3 ||
    typeof classes !== 'number'
  ) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${model} needs an image-classification dataset (images [H, W, C] and classes), but "${info.task}" gives inputs [${info.inputShape}]`,
      {
        hint: 'use it with mnist, or a dataset whose info says task: image-classification and meta.classes',
      },
    );
  }
  const [height, width, channels] = info.inputShape as [number, number, number];
  return { height, width, channels, classes };
}
