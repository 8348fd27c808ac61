/**
 * The Maglev load balancer (bpf-progs/maglev) end to end, as root: a client,
 * a balancer and three backends in network namespaces; TCP connections to a
 * virtual IP that only the balancer's maps know.
 *
 * ```
 * npm run example:maglev-lb [-- --connections 300]
 * ```
 *
 * Topology (every address private and inside the namespaces made here):
 *
 * ```
 *   client ns (10.77.0.1, also the router) --veth-- lb ns (10.77.0.2, XDP Maglev datapath)
 *        |  \  \
 *      veth  veth veth  (10.77.1i.1 -- 10.77.1i.2)
 *        |     |    |
 *    backend1 backend2 backend3   (VIP 10.77.100.1 on lo, XDP decapsulation)
 * ```
 *
 * The client routes the VIP to the balancer. The DSL datapath, attached to
 * the balancer's veth with an XDP link, encapsulates each packet IPv4 in
 * IPv4 towards the backend its Maglev slot names and sends it back out
 * (XDP_TX) to the client namespace, which forwards it as a router would.
 * The backend strips the outer header (bpf-progs/maglev/decap.ts; this
 * kernel has no ipip device), its stack answers from the VIP, and the reply
 * goes straight to the client: direct server return.
 *
 * Both XDP programs run in generic (SKB) mode. A veth client's TCP
 * checksums are offloaded (CHECKSUM_PARTIAL: the kernel never fills them
 * in between namespaces); generic XDP keeps that skb state through the
 * encapsulation, XDP_TX and the decapsulation. In native (driver) mode on
 * these veths, with an XDP_PASS program on the client's end for XDP_TX, the
 * encapsulated packets did reach the backends but no connection completed
 * (presumably the checksum state lost in the XDP_TX frame; turning off the
 * client's tx checksum offload needs ethtool, not installed here).
 *
 * The example makes the connections (each from its own source port), prints
 * the spread over the backends and checks it against the TypeScript table
 * and flow hash, removes one backend through the control plane, repeats the
 * same source ports and shows which flows moved. Everything is removed in
 * `finally`, also on SIGINT.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { MaglevControlPlane, type ServiceId } from '../bpf-progs/maglev/control-plane.js';
import { loadMaglevDatapath, type LoadedMaglevDatapath } from '../bpf-progs/maglev/datapath.js';
import { maglevDecap } from '../bpf-progs/maglev/decap.js';
import { flowHash } from '../bpf-progs/maglev/flow-hash.js';
import { maglevTable } from '../bpf-progs/maglev/table.js';
import { loadDslProgram, type LoadedDslProgram } from '../lib/kernel/dsl-loader.js';
import { Link } from '../lib/kernel/link.js';
import { NetNs, withNetns } from '../lib/kernel/netns.js';
import { addAddress, createVethPair, ifIndex } from '../lib/kernel/netdev.js';
import { XdpFlags } from '../lib/uapi/prog-types.js';

const run = promisify(execFile);

/** Options of {@link runMaglevLb}. */
export interface MaglevLbOptions {
  /** Prefix of every namespace and interface name (at most 11 characters; default from the pid). */
  id?: string;
  /** TCP connections per round (default 300). */
  connections?: number;
  /** Per-connection timeout (default 3000 ms). */
  timeoutMs?: number;
  /** Output (default console.log). */
  log?: (line: string) => void;
  /** Clean up and exit on SIGINT (the command line does). */
  handleSigint?: boolean;
}

/** What the example saw. */
export interface MaglevLbResult {
  /** Backend addresses. */
  backends: string[];
  /** The removed backend. */
  removed: string;
  /** Round 1: answering backend per client source port (null: the connection failed). */
  first: Map<number, string | null>;
  /** Round 2 (after the removal), same source ports. */
  second: Map<number, string | null>;
  /** Backend the control plane's table and the flow hash predict, per round and source port. */
  predicted: [Map<number, string>, Map<number, string>];
}

const VIP = '10.77.100.1';
const CLIENT = '10.77.0.1';
const LB = '10.77.0.2';
const SEED = 0x6d61676c;
const PORT = 80;
const FIRST_PORT = 20000;

/** Each backend's server: answers its name on every connection (the client resets). */
const SERVER = `const net=require('net');const name=process.argv[1];
const s=net.createServer(c=>{c.on('error',()=>{});c.setTimeout(10000,()=>c.destroy());c.write(name+'\\n');});
s.listen(${PORT},()=>console.log('ready'));`;

/** The client: connects from each given source port, reads one line, resets; prints {port: line|null}. */
const CLIENT_SCRIPT = `const net=require('net');const a=JSON.parse(process.argv[1]);const out={};let i=0;
function one(p){return new Promise(res=>{let done=false,buf='';
const fin=v=>{if(done)return;done=true;clearTimeout(t);out[p]=v;res();};
const s=net.connect({host:a.vip,port:a.port,localAddress:a.src,localPort:p});
const t=setTimeout(()=>{s.destroy();fin(null);},a.timeoutMs);
s.on('data',d=>{buf+=d;if(buf.includes('\\n')){fin(buf.trim());s.resetAndDestroy();}});
s.on('error',()=>fin(null));s.on('close',()=>fin(null));});}
async function worker(){while(i<a.ports.length){await one(a.ports[i++]);}}
Promise.all(Array.from({length:a.concurrency},worker)).then(()=>process.stdout.write(JSON.stringify(out)));`;

function sysctl(ns: NetNs, settings: Record<string, string>): void {
  const script = Object.entries(settings)
    .map(([k, v]) => `echo ${v} > /proc/sys/${k.replaceAll('.', '/')}`)
    .join(' && ');
  ns.exec('sh', ['-c', script]);
}

/** Starts a backend's server in `ns`; resolves when it listens. */
function startServer(ns: NetNs, name: string): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${ns.path}`, '--', process.execPath, '-e', SERVER, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server ${name} did not start`)), 10000);
    child.stdout!.once('data', () => {
      clearTimeout(t);
      resolve(child);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server ${name} exited with ${code}`));
    });
  });
}

/** Runs the client in `ns` over `ports`; returns the answering backend per port. */
async function connectAll(ns: NetNs, ports: number[], timeoutMs: number): Promise<Map<number, string | null>> {
  const arg = JSON.stringify({ vip: VIP, port: PORT, src: CLIENT, ports, concurrency: 32, timeoutMs });
  const { stdout } = await run('nsenter', [`--net=${ns.path}`, '--', process.execPath, '-e', CLIENT_SCRIPT, arg], {
    timeout: 60_000 + ports.length * 10,
    maxBuffer: 16 << 20,
  });
  const got = JSON.parse(stdout) as Record<string, string | null>;
  return new Map(ports.map((p) => [p, got[p] ?? null]));
}

/** The backend the control plane's current table gives the client's flow from `port`. */
function predict(lb: MaglevControlPlane, svc: ServiceId, ports: number[]): Map<number, string> {
  const s = lb.service(svc)!;
  const table = maglevTable(s.backends, s.tableSize);
  const seed = lb.config.seed;
  return new Map(ports.map((p) => [p, s.backends[table[flowHash({ src: CLIENT, srcPort: p, dstPort: PORT, proto: 6 }, seed) % s.tableSize]!]!.address]));
}

function spread(m: Map<number, string | null>, backends: string[]): string {
  const n = backends.map((b) => [...m.values()].filter((v) => v === b).length);
  const failed = [...m.values()].filter((v) => v === null).length;
  return backends.map((b, i) => `${b}=${n[i]}`).join(' ') + ` failed=${failed}`;
}

/** Builds the namespaces, runs both rounds and cleans up. */
export async function runMaglevLb(options: MaglevLbOptions = {}): Promise<MaglevLbResult> {
  const log = options.log ?? console.log;
  const id = (options.id ?? `mg${(process.pid % 100000).toString(36)}`).slice(0, 11);
  const n = options.connections ?? 300;
  const timeoutMs = options.timeoutMs ?? 3000;
  const cleanups: Array<() => void> = [];
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch {
        // keep cleaning up
      }
    }
  };
  const onSigint = () => {
    log('interrupted: cleaning up');
    cleanup();
    process.exit(130);
  };
  if (options.handleSigint) process.once('SIGINT', onSigint);
  const ns = (suffix: string) => {
    const x = NetNs.create(`${id}${suffix}`);
    cleanups.push(() => x.remove());
    return x;
  };
  try {
    const client = ns('c');
    const lbNs = ns('l');
    const backendNs = [1, 2, 3].map((i) => ns(`b${i}`));
    const backends = [1, 2, 3].map((i) => `10.77.1${i}.2`);

    createVethPair({ name: `${id}cl`, ns: client, address: `${CLIENT}/24` }, { name: `${id}lc`, ns: lbNs, address: `${LB}/24` });
    client.ip(['route', 'add', `${VIP}/32`, 'via', LB]);
    sysctl(client, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' });
    backendNs.forEach((b, k) => {
      const i = k + 1;
      createVethPair({ name: `${id}c${i}`, ns: client, address: `10.77.1${i}.1/24` }, { name: `${id}b${i}`, ns: b, address: `10.77.1${i}.2/24` });
      addAddress('lo', `${VIP}/32`, b);
      b.ip(['route', 'add', 'default', 'via', `10.77.1${i}.1`]);
      sysctl(b, { 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' });
    });
    sysctl(client, Object.fromEntries([`${id}cl`, `${id}c1`, `${id}c2`, `${id}c3`].map((d) => [`net.ipv4.conf.${d}.rp_filter`, '0'])));
    log(`namespaces: client ${client.name}, balancer ${lbNs.name}, backends ${backendNs.map((b) => b.name).join(' ')}`);

    // The balancer: the DSL datapath on its veth (XDP link, generic mode), filled by the control plane.
    const dp: LoadedMaglevDatapath = loadMaglevDatapath();
    cleanups.push(() => dp.close());
    const lb = new MaglevControlPlane(dp.maps, { seed: SEED, src4: LB });
    cleanups.push(() => lb.close());
    const svc: ServiceId = { vip: VIP, port: PORT, proto: 'tcp' };
    lb.addService(svc, backends.map((address) => ({ address })));
    const xdpFlags = XdpFlags.XDP_FLAGS_SKB_MODE;
    const lbLink = withNetns(lbNs, () => Link.xdp(dp.program, ifIndex(`${id}lc`, lbNs), { flags: xdpFlags }));
    cleanups.push(() => lbLink.close());
    log(`balancer: Maglev DSL datapath (${dp.insns} insns) on ${id}lc, service ${VIP}:${PORT}/tcp -> ${backends.join(', ')} (${lb.service(svc)!.tableSize} slots)`);

    // The backends: decapsulation on their veth, a server answering its address.
    const decap: LoadedDslProgram = loadDslProgram(maglevDecap());
    cleanups.push(() => decap.close());
    const servers: ChildProcess[] = [];
    cleanups.push(() => {
      for (const s of servers) s.kill('SIGKILL');
    });
    for (const [k, b] of backendNs.entries()) {
      const link = withNetns(b, () => Link.xdp(decap.program, ifIndex(`${id}b${k + 1}`, b), { flags: xdpFlags }));
      cleanups.push(() => link.close());
      servers.push(await startServer(b, backends[k]!));
    }

    const ports = Array.from({ length: n }, (_, k) => FIRST_PORT + k);
    const p1 = predict(lb, svc, ports);
    const t1 = Date.now();
    const first = await connectAll(client, ports, timeoutMs);
    log(`round 1: ${n} connections in ${Date.now() - t1} ms: ${spread(first, backends)}`);
    const agree1 = ports.filter((p) => first.get(p) === p1.get(p)).length;
    log(`         ${agree1} of ${n} answered by the backend the table and flow hash predict`);

    const removed = backends[1]!;
    lb.removeBackend(svc, removed);
    log(`removed backend ${removed} (control plane: new table swapped in atomically)`);
    const p2 = predict(lb, svc, ports);
    const t2 = Date.now();
    const second = await connectAll(client, ports, timeoutMs);
    log(`round 2: same ${n} source ports in ${Date.now() - t2} ms: ${spread(second, backends)}`);
    const fromRemoved = ports.filter((p) => first.get(p) === removed);
    const kept = ports.filter((p) => first.get(p) !== removed && first.get(p) !== null);
    const movedOthers = kept.filter((p) => second.get(p) !== first.get(p));
    const movedRemoved = fromRemoved.filter((p) => second.get(p) !== removed);
    log(`moved: ${movedRemoved.length} of ${fromRemoved.length} flows of ${removed}, to ${spread(new Map(fromRemoved.map((p) => [p, second.get(p)!])), backends.filter((b) => b !== removed))};`);
    log(`       ${movedOthers.length} of ${kept.length} flows of the other backends${movedOthers.length ? ` (source ports ${movedOthers.slice(0, 10).join(' ')}${movedOthers.length > 10 ? ' ...' : ''})` : ''}`);
    for (const p of ports.slice(0, 8)) log(`  source port ${p}: ${first.get(p)} -> ${second.get(p)}`);
    return { backends, removed, first, second, predicted: [p1, p2] };
  } finally {
    cleanup();
    if (options.handleSigint) process.removeListener('SIGINT', onSigint);
  }
}

/** Runs the example; `args` as on the command line. */
export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const at = args.indexOf('--connections');
  const connections = at >= 0 ? Math.max(1, Math.min(5000, Number(args[at + 1]) || 300)) : 300;
  await runMaglevLb({ connections, handleSigint: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}

