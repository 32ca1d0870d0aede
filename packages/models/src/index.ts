export * from './linear-transformer.js';
export * from './layers.js';
export * from './gpt.js';
export * from './vit.js';
export * from './mlp.js';
export * from './cnn.js';
export * from './quadratic-form.js';
export { register } from './register.js';
export * from './kernels/index.js';
