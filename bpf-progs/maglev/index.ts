/**
 * The Maglev L4 load balancer (issue 7): Maglev table generation, map
 * layouts, the flow hash, the control plane and packet crafting. The XDP
 * datapath in the DSL joins here; its C twin is bench/twins/maglev_xdp.c.
 *
 * @module
 */
export * from './table.js';
export * from './maps.js';
export * from './flow-hash.js';
export * from './control-plane.js';
export * from './packet.js';
