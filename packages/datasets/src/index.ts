export * from './icl-linear-regression.js';
export * from './quadratic.js';
export * from './markov-text.js';
export * from './mnist.js';
export * from './spam-assassin.js';
export * from './token-regression.js';
export * from './text/tokenizer.js';
export * from './text/vocabulary.js';
export { register } from './register.js';
