/**
 * lib/uapi: the numbers and layouts of include/uapi/linux/bpf.h (Linux 6.18) as
 * `as const` tables with reverse lookups. Pure data; never touches the kernel.
 *
 * @module
 */
export * from './layout.js';
export * from './lookup.js';
export * from './commands.js';
export * from './map-types.js';
export * from './prog-types.js';
export * from './helpers.js';
export * from './context.js';
export * from './bpf-attr.js';
