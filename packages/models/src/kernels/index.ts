export * from './attention.js';
export * from './kernel-scale.js';
export * from './softmax-kernel.js';
export * from './gaussian-kernel.js';
export * from './linear-kernel.js';
