/**
 * The Maglev load balancer's XDP datapath in the tsbpf DSL: the same logic,
 * maps and packets as its C twin bench/twins/maglev_xdp.c (whose header
 * documents the contract); both pass test/maglev/conformance.ts and the
 * differential test checks them byte for byte on random packets.
 *
 * - Ethernet, IPv4 (any IHL; fragments pass) or IPv6 (TCP/UDP as the first
 *   next header), TCP or UDP; anything else -> XDP_PASS;
 * - service lookup in the hash-of-maps `services` by {VIP, port, protocol,
 *   family} (the {@link SvcKey} layout); no service -> XDP_PASS;
 * - inner table `[0]` = M (missing or 0 -> XDP_DROP), flow hash
 *   (MurmurHash3_x86_32 of source address, ports word and protocol with the
 *   seed of `config`; destination excluded; bit-identical to flow-hash.ts),
 *   slot `[1 + hash % M]` -> backend id -> `backends` (missing, id 0 or
 *   family not 4/6 -> XDP_DROP);
 * - `bpf_xdp_adjust_head` makes room for an outer IPv4 (protocol 4 or 41,
 *   checksum) or IPv6 (next header 4 or 41, flow label from the hash)
 *   header, the MAC addresses are swapped, XDP_TX.
 *
 * Unlike the C source, the DSL program is generated per inner family: the
 * TypeScript below emits the service path once for IPv4 and once for IPv6
 * clients (constants folded, no variables carried across the branches).
 *
 * Build options ({@link MaglevDatapathOptions}) mirror the twin's -D flags:
 * `connTable` (CONN_TABLE: the LRU table `conns`; a TCP SYN re-hashes),
 * `restore` (BENCH_RESTORE: undo the encapsulation before XDP_TX, for
 * BPF_PROG_RUN benchmarks) and `countActions` (COUNT_ACTIONS: count verdicts
 * in `actions`, for tests).
 *
 * The DSL map declarations use raw-word value layouts (so addresses move as
 * 32-bit words); their types, sizes and flags are those of maps.ts's specs,
 * so {@link MaglevControlPlane} fills them as it fills the twin's.
 *
 * @module
 */
import {
  XDP_DROP,
  XDP_PASS,
  XDP_TX,
  arrayMap,
  array,
  ethhdr,
  hashOfMaps,
  htons,
  iphdr,
  ipv6hdr,
  lruHashMap,
  packed,
  pad,
  struct,
  u8,
  u16,
  u32,
  u64,
  xdp,
  type DslProgram,
  type Val,
  type XdpBuilder,
} from '../../lib/dsl/index.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import type { BpfMap } from '../../lib/kernel/map.js';
import type { Program } from '../../lib/kernel/program.js';
import { MapFlags } from '../../lib/uapi/map-types.js';
import type { MaglevMaps } from './control-plane.js';
import { MAX_BACKENDS, MAX_CONNS, MAX_SERVICES, SvcKey } from './maps.js';
import { DEFAULT_TABLE_SIZE } from './table.js';

/** Build options of the datapath (the C twin's -D flags). */
export interface MaglevDatapathOptions {
  /** CONN_TABLE: keep established flows on their backend through the LRU map `conns`; a TCP SYN re-hashes. */
  connTable?: boolean;
  /** BENCH_RESTORE: undo the encapsulation before returning XDP_TX (every BPF_PROG_RUN iteration takes the service path). */
  restore?: boolean;
  /** COUNT_ACTIONS: count every verdict in the ARRAY map `actions` (index = XDP action, u64 count). */
  countActions?: boolean;
  /** Program name (default `maglev_xdp`). */
  name?: string;
}

// ---- map declarations (types and sizes of maps.ts's specs) ------------------------------

/** One inner Maglev table: ARRAY of u32, `[0]` = M, `[1 + slot]` = backend id (BPF_F_INNER_MAP). */
export const maglevTableMap = arrayMap('maglev_table', { value: u32, maxEntries: DEFAULT_TABLE_SIZE + 1, flags: MapFlags.BPF_F_INNER_MAP });
/** `services`: HASH_OF_MAPS keyed by {@link SvcKey}. */
export const servicesMap = hashOfMaps('services', { key: SvcKey, maxEntries: MAX_SERVICES, inner: maglevTableMap });
/** `struct backend` as 32-bit words: address words (network order as stored), family 4/6 (0: unused). */
export const BackendWords = struct({ a0: u32, a1: u32, a2: u32, a3: u32, family: u8, pad: pad(3) }, { name: 'backend' });
/** `backends`: ARRAY of {@link BackendWords} by backend id. */
export const backendsMap = arrayMap('backends', { value: BackendWords, maxEntries: MAX_BACKENDS });
/** `struct lb_config` as 32-bit words: seed, outer IPv4 source, outer IPv6 source (address words as stored). */
export const LbConfigWords = struct({ seed: u32, src4: u32, s0: u32, s1: u32, s2: u32, s3: u32 }, { name: 'lb_config' });
/** `config`: ARRAY of one {@link LbConfigWords}. */
export const configMap = arrayMap('config', { value: LbConfigWords, maxEntries: 1 });
/** `struct conn_key` (40 bytes) with raw words, as maps.ts's ConnKey. */
export const ConnKeyWords = struct(
  { s0: u32, s1: u32, s2: u32, s3: u32, v0: u32, v1: u32, v2: u32, v3: u32, ports: u32, proto: u8, family: u8, pad: u16 },
  { name: 'conn_key' },
);
/** `conns`: LRU_HASH of {@link ConnKeyWords} -> u32 backend id (connTable builds). */
export const connsMap = lruHashMap('conns', { key: ConnKeyWords, value: u32, maxEntries: MAX_CONNS });
/** `actions`: ARRAY of u64 verdict counts (countActions builds). */
export const actionsMap = arrayMap('actions', { value: u64, maxEntries: 8 });

/** `struct svc_key` as the program fills it on the stack (same 20 bytes as {@link SvcKey}). */
const SvcKeyWords = struct({ v0: u32, v1: u32, v2: u32, v3: u32, port: u16, proto: u8, family: u8 }, { name: 'svc_key' });

// ---- packet layouts (raw words: no byte swaps where none is needed) ------------------

/** The first 4 bytes of TCP/UDP: both ports as one little-endian load. */
const l4Ports = packed({ ports: u32 }, { name: 'l4' });
/** TCP up to the flags byte (CONN_TABLE needs the SYN bit). */
const tcpToFlags = packed({ ports: u32, seq: u32, ack: u32, doff: u8, flags: u8 }, { name: 'tcp' });
/** The Ethernet addresses as words: destination (4 + 2 bytes), source (2 + 4 bytes). */
const ethWords = packed({ d0: u32, d1: u16, s0: u16, s1: u32, proto: u16 }, { name: 'eth' });
/** Ethernet with swapped addresses (new destination = old source) followed by an outer IPv4 header. */
const encap4 = packed(
  { d0: u16, d1: u32, s0: u32, s1: u16, proto: u16, vtos: u16, tot_len: u16, id_frag: u32, ttl_proto: u16, check: u16, saddr: u32, daddr: u32 },
  { name: 'encap4' },
);
/** Ethernet with swapped addresses followed by an outer IPv6 header. */
const encap6 = packed(
  { d0: u16, d1: u32, s0: u32, s1: u16, proto: u16, vtc_flow: u32, plen: u16, nexthdr: u8, hop: u8, src: array(u32, 4), dst: array(u32, 4) },
  { name: 'encap6' },
);

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyB = XdpBuilder & any;
type U32 = Val<'u32'>;

function rotl(x: U32, r: number): U32 {
  return x.shl(r).or(x.shr(32 - r)) as U32;
}

/** One MurmurHash3_x86_32 block. */
function mmBlock(h: U32, k: U32): U32 {
  let x = k.mul(0xcc9e2d51) as U32;
  x = rotl(x, 15).mul(0x1b873593) as U32;
  const y = rotl(h.xor(x) as U32, 13);
  return y.mul(5).add(0xe6546b64) as U32;
}

/** MurmurHash3_x86_32 finalisation for a message of `len` bytes. */
function mmFinal(h: U32, len: number): U32 {
  let x = h.xor(len) as U32;
  x = x.xor(x.shr(16)).mul(0x85ebca6b) as U32;
  x = x.xor(x.shr(13)).mul(0xc2b2ae35) as U32;
  return x.xor(x.shr(16)) as U32;
}

/** What one inner family's parsing hands to the service path. */
interface Inner {
  family: 4 | 6;
  /** Loads the source address words (1 or 4): called where they are used, so no value lives across helper calls needlessly. */
  src: () => U32[];
  /** Destination address words (1 or 4), as loaded. */
  dst: U32[];
  /** Ports word (little-endian load of the first 4 L4 bytes). */
  ports: U32;
  /** Protocol (6 or 17). */
  proto: U32;
  /** Loads the DSCP/ECN byte (before the packet changes). */
  tos: () => U32;
  /** Loads the inner packet length, host order (before the packet changes). */
  len: () => U32;
  /** TCP SYN seen (connTable builds). */
  syn?: U32;
}

/** Builds the datapath program with the given options (the twin's -D flags). */
export function maglevDatapath(options: MaglevDatapathOptions = {}): DslProgram<never> {
  const { connTable = false, restore = false, countActions = false } = options;
  return xdp(options.name ?? 'maglev_xdp', (b: AnyB) => {
    /** Returns `action`, counting it first in countActions builds. */
    const ret = (action: number) => {
      if (countActions) b.ifNotNull(b.lookup(actionsMap, action), (c: AnyB) => c.value.atomicAdd(1n));
      b.return(action);
    };
    const pass = () => ret(XDP_PASS);
    const drop = () => ret(XDP_DROP);

    const eth = b.header(ethhdr, 0, pass);
    const cfg = b.notNull(b.lookup(configMap, 0), pass);

    /** The service path of one inner family (views of the parsed headers still valid). */
    const service = (inner: Inner) => {
      const v6 = inner.family === 6;
      const d = inner.dst;
      const key = b.stack(SvcKeyWords, {
        v0: d[0],
        v1: v6 ? d[1] : 0,
        v2: v6 ? d[2] : 0,
        v3: v6 ? d[3] : 0,
        port: inner.ports.shr(16).as(u16),
        proto: inner.proto.as(u8),
        family: inner.family,
      });
      const table = b.notNull(b.lookup(servicesMap, key), pass);
      const size = b.notNull(b.lookup(table, 0), drop);
      const m: U32 = size.value;
      b.if(m.eq(0), drop);
      let h: U32 = cfg.seed;
      const src = inner.src();
      for (const w of src) h = mmBlock(h, w);
      h = mmBlock(h, inner.ports);
      h = mmBlock(h, inner.proto);
      h = mmFinal(h, 4 * (src.length + 2));

      const emit = (be: AnyB) => {
        const fam: U32 = be.family;
        b.if(fam.ne(4).and(fam.ne(6)), drop);
        encapsulate(b, inner, be, cfg, h, restore, ret);
      };

      if (!connTable) {
        const id = b.notNull(b.lookup(table, h.mod(m).add(1)), drop);
        const bid: U32 = id.value;
        b.if(bid.eq(0), drop);
        emit(b.notNull(b.lookup(backendsMap, bid), drop));
        return;
      }
      const s = inner.src();
      const ck = b.stack(ConnKeyWords, {
        s0: s[0],
        s1: v6 ? s[1] : 0,
        s2: v6 ? s[2] : 0,
        s3: v6 ? s[3] : 0,
        v0: d[0],
        v1: v6 ? d[1] : 0,
        v2: v6 ? d[2] : 0,
        v3: v6 ? d[3] : 0,
        ports: inner.ports,
        proto: inner.proto.as(u8),
        family: inner.family,
      });
      const chosen = b.let(u32, 0);
      b.if(inner.syn!.eq(0), () => {
        b.ifNotNull(b.lookup(connsMap, ck), (cid: AnyB) => {
          const c: U32 = cid.value;
          b.ifNotNull(b.lookup(backendsMap, c), (be: AnyB) => {
            const fam: U32 = be.family;
            b.if(fam.eq(4).or(fam.eq(6)), () => chosen.set(c));
          });
        });
      });
      b.if(chosen.eq(0), () => {
        const id = b.notNull(b.lookup(table, h.mod(m).add(1)), drop);
        const bid: U32 = id.value;
        b.if(bid.eq(0), drop);
        const be = b.notNull(b.lookup(backendsMap, bid), drop);
        const fam: U32 = be.family;
        b.if(fam.ne(4).and(fam.ne(6)), drop);
        b.update(connsMap, ck, bid);
        chosen.set(bid);
      });
      emit(b.notNull(b.lookup(backendsMap, chosen), drop));
    };

    // Read before branching: the IPv4 branch's adjust_head would end the view for the IPv6 branch.
    const ethProto = eth.h_proto;
    b.if(
      ethProto.eq(htons(0x0800)),
      () => {
        const ip = b.header(iphdr, 14, pass);
        const vihl: U32 = ip.version_ihl;
        const ihl = vihl.and(0xf) as U32;
        b.if(ihl.lt(5).or(ip.frag_off.raw().and(0xff3f).ne(0)), pass);
        const proto: U32 = ip.protocol;
        b.if(proto.ne(IPPROTO_TCP).and(proto.ne(IPPROTO_UDP)), pass);
        const at = b.at(ip, ihl.shl(2));
        let ports: U32;
        let syn: U32 | undefined;
        if (connTable) {
          const l4 = b.header(l4Ports, at, pass);
          ports = l4.ports;
          const flags = b.let(u32, 0);
          b.if(proto.eq(IPPROTO_TCP), () => {
            const t = b.header(tcpToFlags, at, pass);
            flags.set(t.flags.and(0x02));
          });
          syn = flags;
        } else {
          ports = b.header(l4Ports, at, pass).ports;
        }
        service({
          family: 4,
          src: () => [ip.saddr.raw()],
          dst: [ip.daddr.raw()],
          ports,
          proto,
          tos: () => ip.tos,
          len: () => ip.tot_len.toHost(),
          ...(syn ? { syn } : {}),
        });
      },
      () => {
        b.if(ethProto.ne(htons(0x86dd)), pass);
        const ip6 = b.header(ipv6hdr, 14, pass);
        const proto: U32 = ip6.nexthdr;
        b.if(proto.ne(IPPROTO_TCP).and(proto.ne(IPPROTO_UDP)), pass);
        const at = b.after(ip6);
        let ports: U32;
        let syn: U32 | undefined;
        if (connTable) {
          ports = b.header(l4Ports, at, pass).ports;
          const flags = b.let(u32, 0);
          b.if(proto.eq(IPPROTO_TCP), () => {
            const t = b.header(tcpToFlags, at, pass);
            flags.set(t.flags.and(0x02));
          });
          syn = flags;
        } else {
          ports = b.header(l4Ports, at, pass).ports;
        }
        const words = (a: AnyB) => [0, 1, 2, 3].map((i) => a.get(i).raw() as U32);
        service({
          family: 6,
          src: () => words(ip6.saddr),
          dst: words(ip6.daddr),
          ports,
          proto,
          tos: () => {
            const pv: U32 = ip6.priority_version;
            const fl0: U32 = ip6.flow_lbl.get(0);
            return pv.and(0xf).shl(4).or(fl0.shr(4)) as U32;
          },
          len: () => ip6.payload_len.toHost().add(40) as U32,
          ...(syn ? { syn } : {}),
        });
      },
    );
  }) as DslProgram<never>;
}

/** Encapsulates for backend `be` (family 4 or 6, checked) and returns XDP_TX (or XDP_DROP when the head cannot grow). */
function encapsulate(b: AnyB, inner: Inner, be: AnyB, cfg: AnyB, h: U32, restore: boolean, ret: (a: number) => void): void {
  const drop = () => ret(XDP_DROP);
  const old = b.header(ethWords, 0, drop);
  const d0: U32 = old.d0;
  const d1: U32 = old.d1;
  const s0: U32 = old.s0;
  const s1: U32 = old.s1;
  const eproto: U32 | undefined = restore ? old.proto : undefined;
  const tos = inner.tos();
  const len = inner.len();
  const nextProto = inner.family === 4 ? 4 : 41;
  const fam: U32 = be.family;
  const finish = (hdrlen: number) => {
    if (restore) {
      const back = b.header(ethWords, hdrlen, drop);
      back.d0.set(d0);
      back.d1.set(d1);
      back.s0.set(s0);
      back.s1.set(s1);
      back.proto.set(eproto!);
      b.if(b.adjustHead(hdrlen).ne(0), drop);
    }
    ret(XDP_TX);
  };
  b.if(
    fam.eq(4),
    () => {
      b.if(b.adjustHead(-20).ne(0), drop);
      const o = b.header(encap4, 0, drop);
      o.d0.set(s0);
      o.d1.set(s1);
      o.s0.set(d0);
      o.s1.set(d1);
      o.proto.set(htons(0x0800).raw());
      // Little-endian half-words of the header as stored: the checksum sums them as the C twin does.
      const vtos = tos.shl(8).or(0x45) as U32;
      const tot = len.add(20).as(u16).toNet().raw().as(u32) as U32;
      const ttlProto = 64 | (nextProto << 8);
      const src: U32 = cfg.src4;
      const dst: U32 = be.a0;
      o.vtos.set(vtos.as(u16));
      o.tot_len.set(tot.as(u16));
      o.id_frag.set(0);
      o.ttl_proto.set(ttlProto);
      o.saddr.set(src);
      o.daddr.set(dst);
      let sum = vtos.add(tot).add(ttlProto) as U32;
      sum = sum.add(src.and(0xffff)).add(src.shr(16)).add(dst.and(0xffff)).add(dst.shr(16)) as U32;
      sum = sum.and(0xffff).add(sum.shr(16)) as U32;
      sum = sum.add(sum.shr(16)) as U32;
      o.check.set(sum.not().as(u16));
      finish(20);
    },
    () => {
      b.if(b.adjustHead(-40).ne(0), drop);
      const o = b.header(encap6, 0, drop);
      o.d0.set(s0);
      o.d1.set(s1);
      o.s0.set(d0);
      o.s1.set(d1);
      o.proto.set(htons(0x86dd).raw());
      const first = h.and(0xfffff).or(tos.shl(20)).or(6 << 28) as U32;
      o.vtc_flow.set(first.toNet().raw());
      o.plen.set(len.as(u16).toNet().raw());
      o.nexthdr.set(nextProto);
      o.hop.set(64);
      o.src.set(0, cfg.s0);
      o.src.set(1, cfg.s1);
      o.src.set(2, cfg.s2);
      o.src.set(3, cfg.s3);
      o.dst.set(0, be.a0);
      o.dst.set(1, be.a1);
      o.dst.set(2, be.a2);
      o.dst.set(3, be.a3);
      finish(40);
    },
  );
}

/** A loaded datapath: the program, its maps (for the control plane) and the DSL loader's handle. */
export interface LoadedMaglevDatapath {
  program: Program;
  maps: MaglevMaps;
  /** `actions` of countActions builds. */
  actions?: BpfMap;
  /** Instructions (8-byte slots) of the built program. */
  insns: number;
  loaded: LoadedDslProgram;
  close(): void;
}

/** Builds and loads the datapath; its maps are created for it (or taken from `maps` by name). */
export function loadMaglevDatapath(options: MaglevDatapathOptions = {}, maps?: Readonly<Record<string, BpfMap>>): LoadedMaglevDatapath {
  const built = maglevDatapath(options).build();
  const loaded = loadDslProgram(built, maps ? { maps } : {});
  const conns = loaded.maps.get('conns');
  const actions = loaded.maps.get('actions');
  return {
    program: loaded.program,
    maps: { services: loaded.map('services'), backends: loaded.map('backends'), config: loaded.map('config'), ...(conns ? { conns } : {}) },
    ...(actions ? { actions } : {}),
    insns: built.insns.reduce((n: number, i: { code: number }) => n + (i.code === 0x18 ? 2 : 1), 0),
    loaded,
    close: () => loaded.close(),
  };
}
