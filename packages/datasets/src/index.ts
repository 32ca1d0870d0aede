export * from './icl-linear-regression.js';
export * from './quadratic.js';
export * from './markov-text.js';
export * from './mnist.js';
export { register } from './register.js';
