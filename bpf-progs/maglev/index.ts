/**
 * The Maglev L4 load balancer (issue 7): Maglev table generation, map
 * layouts, the flow hash, the control plane, packet crafting, the XDP
 * datapath in the DSL (its C twin is bench/twins/maglev_xdp.c) and the
 * backends' decapsulation.
 *
 * @module
 */
export * from './table.js';
export * from './maps.js';
export * from './flow-hash.js';
export * from './control-plane.js';
export * from './packet.js';
export * from './datapath.js';
export * from './decap.js';
