/**
 * Network devices: interface indexes (in the calling thread's namespace) and
 * small iproute2 helpers to build test topologies: a veth pair between two
 * namespaces, addresses, links up. The helpers only touch the interfaces and
 * namespaces they are given.
 */
import { execFileSync } from 'node:child_process';
import { TsbpfError } from '../errors.js';
import { errnoName } from './errors.js';
import { native } from './native.js';
import { withNetns, type NetNs } from './netns.js';

/** A network-device operation failed. */
export class NetdevError extends TsbpfError {}

const ifName = /^[A-Za-z0-9_.-]{1,15}$/;

function checkName(name: string): void {
  if (!ifName.test(name)) throw new NetdevError(`invalid interface name '${name}' (1 to 15 of [A-Za-z0-9_.-])`);
}

function ip(ns: NetNs | undefined, args: string[]): string {
  const full = ns ? (ns.name !== undefined ? ['-n', ns.name, ...args] : args) : args;
  const cmd = ns && ns.name === undefined ? ns.execArgs('ip', full) : ['ip', ...full];
  try {
    return execFileSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new NetdevError(`${cmd.join(' ')} failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
}

/**
 * The index of interface `name` in the calling thread's network namespace, or
 * in `ns` when given. Throws `NetdevError` when there is no such interface.
 */
export function ifIndex(name: string, ns?: NetNs): number {
  checkName(name);
  const r = ns ? withNetns(ns, () => native().ifNameToIndex(name)) : native().ifNameToIndex(name);
  if (r <= 0) throw new NetdevError(`no interface '${name}'${ns ? ` in ${ns.name ?? ns.path}` : ''}: ${errnoName(-r)}`);
  return r;
}

/** One end of a veth pair. */
export interface VethEnd {
  /** Interface name (at most 15 bytes). */
  name: string;
  /** Namespace to put it in (default: the current one). */
  ns?: NetNs;
  /** Address with prefix length to assign (`10.200.0.1/24`, `fd00::1/64`). */
  address?: string | string[];
}

/**
 * Creates a veth pair with each end in its namespace, assigns the addresses and
 * brings both ends up. Remove it with {@link deleteLink} on either end (or by
 * removing a namespace that holds one end).
 */
export function createVethPair(a: VethEnd, b: VethEnd): void {
  checkName(a.name);
  checkName(b.name);
  for (const end of [a, b]) {
    if (end.ns && end.ns.name === undefined) throw new NetdevError(`veth end ${end.name}: the namespace must be a named one (NetNs.create)`);
  }
  const nsArgs = (end: VethEnd) => (end.ns ? ['netns', end.ns.name!] : []);
  ip(undefined, ['link', 'add', a.name, ...nsArgs(a), 'type', 'veth', 'peer', 'name', b.name, ...nsArgs(b)]);
  try {
    for (const end of [a, b]) {
      for (const addr of [end.address ?? []].flat()) addAddress(end.name, addr, end.ns);
      setUp(end.name, end.ns);
    }
  } catch (e) {
    try {
      deleteLink(a.name, a.ns);
    } catch {
      // best effort
    }
    throw e;
  }
}

/** Adds an address with prefix length (`10.200.0.1/24`) to interface `dev`. IPv6 addresses skip duplicate address detection. */
export function addAddress(dev: string, address: string, ns?: NetNs): void {
  checkName(dev);
  if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(address)) throw new NetdevError(`invalid address '${address}' (want ADDR/PREFIX)`);
  ip(ns, ['addr', 'add', address, 'dev', dev, ...(address.includes(':') ? ['nodad'] : [])]);
}

/** Brings interface `dev` up. */
export function setUp(dev: string, ns?: NetNs): void {
  checkName(dev);
  ip(ns, ['link', 'set', 'dev', dev, 'up']);
}

/** Deletes interface `dev` (for a veth, both ends go). Missing interfaces are ignored. */
export function deleteLink(dev: string, ns?: NetNs): void {
  checkName(dev);
  try {
    ip(ns, ['link', 'del', 'dev', dev]);
  } catch (e) {
    if (/Cannot find device|does not exist/.test((e as Error).message)) return;
    throw e;
  }
}
