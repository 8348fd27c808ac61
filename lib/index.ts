/**
 * tsbpf's public API, one namespace per layer (see DESIGN.md for the layers).
 */
export { TsbpfError } from './errors.js';
export * as uapi from './uapi/index.js';
export * as isa from './isa/index.js';
export * as btf from './btf/index.js';
export * as elf from './elf/index.js';
export * as layout from './layout/index.js';
export * as kernel from './kernel/index.js';
export * as dsl from './dsl/index.js';
export * as verifier from './verifier/index.js';
