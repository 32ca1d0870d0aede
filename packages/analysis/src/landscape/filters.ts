/**
 * What a filter is in a tdx parameter block. Every tdx layer computes x·W with W of shape
 * [..., out] (dense layers [in, out]; the cnn's kernels are stored as [k·k·C_in, C_out]), so one
 * output unit (a neuron, or a convolution's output channel) is one slice along the LAST axis:
 * a column of a matrix. Li et al.'s PyTorch code slices along the first axis because PyTorch
 * stores weights as [out, in, ...]: the same units.
 *
 * Lookup tables (gpt's `embed.token` [V, D], positions [T, D]) follow the same rule here, so a
 * filter is one embedding coordinate across tokens; Li et al.'s code would take one token's row
 * of an nn.Embedding. No scale symmetry singles out either for embeddings.
 */

/** Blocks Li et al.'s code treats apart (`d.dim() <= 1`): biases, norm gains, scalars. */
export function isOneDimensional(shape: readonly number[]): boolean {
  return shape.length <= 1;
}

/**
 * The number of filters of a block and the filter of each entry of its flat (row-major) values:
 * entry i belongs to filter i mod (size of the last axis). A 1-D block has one filter per entry.
 */
export function filterLayout(shape: readonly number[]): {
  filters: number;
  filterOf: (index: number) => number;
} {
  const last = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  return { filters: last, filterOf: (i) => i % last };
}

/** The Euclidean norm of each filter of a block's flat values. */
export function filterNorms(values: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const { filters, filterOf } = filterLayout(shape);
  const squares = new Float64Array(filters);
  for (let i = 0; i < values.length; i++) squares[filterOf(i)]! += values[i]! * values[i]!;
  return squares.map(Math.sqrt);
}
