/**
 * The connect-time service load balancer (issue 8): cgroup sock_addr
 * programs that rewrite a service destination at connect()/sendmsg() time
 * (Calico's connect-time LB, Cilium's socket LB). Datapath in the DSL
 * (datapath.ts; C twin bench/twins/sock_lb.c via twin.ts), map layouts,
 * control plane, attachment to a cgroup, and the lab/probe helpers the tests
 * and the example use.
 *
 * @module
 */
export * from './maps.js';
export * from './control-plane.js';
export * from './attach.js';
export * from './datapath.js';
export * from './twin.js';
export * from './lab.js';
export * from './probe.js';
