/**
 * Kernels whose gradients and Hessian-vector products tdx tests against finite differences
 * on every backend (test/hvp-ops.test.ts keeps this list equal to what those tests run).
 * A model whose loss, gradient or HVP needs a kernel outside this list is not HVP-exact
 * until a test for that kernel is added; the model tests check their kernels against it.
 */
export const AUDITED_KERNELS: readonly string[] = [
  'Abs',
  'Add',
  'AddN',
  'BatchMatMul',
  'Cast',
  'ClipByValue',
  'Concat',
  'Elu',
  'Equal',
  'Erf',
  'Exp',
  'ExpandDims',
  'Fill',
  'GatherV2',
  'Greater',
  'GreaterEqual',
  'Identity',
  'LeakyRelu',
  'Less',
  'LessEqual',
  'Log',
  'LogicalAnd',
  'LogicalNot',
  'Max',
  'Maximum',
  'Mean',
  'Min',
  'Minimum',
  'Multiply',
  'Neg',
  'OneHot',
  'OnesLike',
  'Pack',
  'PadV2',
  'Pow',
  'RealDiv',
  'Reciprocal',
  'Relu',
  'Reshape',
  'Rsqrt',
  'Select',
  'Sigmoid',
  'Slice',
  'Softmax',
  'Softplus',
  'SplitV',
  'Sqrt',
  'Square',
  'SquaredDifference',
  'Step',
  'Sub',
  'Sum',
  'Tanh',
  'Tile',
  'Transpose',
  'Unpack',
  'UnsortedSegmentSum',
  'ZerosLike',
];

/**
 * Kernels a backend runs inside its own implementation of an audited kernel: they run with the
 * tape off, so they are never differentiated, but tf.profile lists them with the rest.
 * tfjs-node implements Step (the gradient of Relu and others) with IsNan, Greater and Select.
 */
export const BACKEND_INTERNAL_KERNELS: Readonly<Record<string, readonly string[]>> = {
  tensorflow: ['IsNan'],
};

/** Whether a kernel seen by tf.profile on `backend` is covered by the audit. */
export function isAuditedKernel(name: string, backend: string): boolean {
  return (
    name === 'unnamed scope' ||
    AUDITED_KERNELS.includes(name) ||
    (BACKEND_INTERNAL_KERNELS[backend]?.includes(name) ?? false)
  );
}
