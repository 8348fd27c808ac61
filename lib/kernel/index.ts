/**
 * lib/kernel: BPF objects in the running kernel (maps, programs, links, pins,
 * test runs) over the native bpf(2) addon, plus the network-namespace, device
 * and cgroup helpers that attach points need. Needs Linux and, mostly, root.
 *
 * @module
 */
export * from './errors.js';
export * from './fd.js';
export { Attr, bpf, bpfAsync, bpfRaw, commandName, ATTR_SIZE } from './syscall.js';
export * from './verifier-log.js';
export * from './test-run.js';
export * from './program.js';
export * from './link.js';
export * from './netns.js';
export * from './netdev.js';
export * from './cgroup.js';
export * from './bpffs.js';
export * from './info.js';
export * from './pin.js';
export * from './cpus.js';
export * from './map.js';
export { FastAttr } from './syscall.js';
export { type MapSpec, type MapTypeLike, type MapTypeName, type MapEntrySpec, checkMapSpec, resolveMapType } from '../layout/map-spec.js';
export * from './btf.js';
export * from './vmlinux.js';
export * from './collection.js';
export * from './ringbuf.js';
export * from './dsl-loader.js';
