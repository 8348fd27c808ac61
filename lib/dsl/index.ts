/**
 * lib/dsl: typed TypeScript that compiles to eBPF. Pure: no kernel access
 * (load with `loadDslProgram` from lib/kernel/dsl-loader.ts).
 *
 * ```ts
 * const counts = hashMap('counts', { key: u16, value: u64, maxEntries: 1024 });
 * const prog = xdp('count_udp', (b) => {
 *   const pass = () => b.return(XDP_PASS);
 *   const eth = b.header(ethhdr, 0, pass);            // bounds check; `pass` runs when too short
 *   b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
 *   const ip = b.header(iphdr, b.after(eth), pass);
 *   b.if(ip.protocol.ne(IPPROTO_UDP), pass);
 *   const udp = b.header(udphdr, b.after(ip), pass);
 *   const port = udp.dest.toHost();
 *   b.ifNotNull(b.lookup(counts, port), (v) => v.value.atomicAdd(1n), () => b.update(counts, port, 1n));
 *   return b.return(XDP_PASS);
 * });
 * prog.build();                      // { insns, maps, license, sourceMap, loaderRefs, funcs, stats }
 * prog.disasm({ source: true });     // llvm-objdump text under `; file:line:col source` lines
 * ```
 *
 * - Programs: `xdp(name, body, { attach?: 'devmap' })`, `tc(name, body, { attach?: 'tc' | 'tcx/ingress' | 'tcx/egress' })`,
 *   `sockAddr(hook, name, body)` for `connect4|6`, `sendmsg4|6`, `recvmsg4|6`, `getpeername4|6`,
 *   `getsockname4|6`, `bind4|6`; `subprog(name, { args, ret }, body)` + `b.call(sub, ...args)` for bpf-to-bpf calls.
 *   `build({ verify: true })` also runs verifier-lite.
 * - Context: `b.ctx.<field>` (typed per program and attach type; writable fields have `.set()`).
 * - Values (`Val<T>`): `add sub mul div mod and or xor shl shr neg not`, `eq ne lt le gt ge test`
 *   (a `Cond`, combined with `and/or/not`), `as(type)`, `toHost()`/`toNet()`/`raw()` for `be16/be32/be64`.
 *   Constants fold; `htons`, `htonl`, `konst(type, v)`. `b.let(type, init)` is a variable (`.set()`).
 * - Control flow: `b.if(cond, then, else?)`, `b.return(v)`, `b.for(from, to, (i, loop) => ..., { max?, step?, unroll? })`,
 *   `b.while(() => cond, (loop) => ..., { max })` (bounded: a loop without a bound is a `DslError`).
 * - Packet: `b.header(layout, offset | b.after(hdr, extra?) | b.at(hdr, offset), onFail)` returns a typed view (fields read on
 *   access, `.set()` writes); `b.pktLen()`; views die after packet-changing helpers.
 * - Maps: `hashMap`, `lruHashMap`, `arrayMap`, `percpu*`, `devMap`, `progArray`, `arrayOfMaps`, `hashOfMaps`, `mapDef(spec)`;
 *   `b.lookup(map, key)` gives a `Nullable` used through `b.ifNotNull(n, (ref) => ..., else?)` or
 *   `b.notNull(n, onNull)`; `b.update(map, key, value, flags?)`, `b.delete(map, key)`. Keys and values are
 *   values, literals, objects of fields (padding zeroed), views or `b.stack(layout, init?)` structs.
 * - Helpers: `ktimeGetNs`, `prandomU32`, `socketCookie`, `redirect`, `redirectMap`, `tailCall`, `redirectPeer`,
 *   `redirectNeigh`, `fibLookup`, `adjustHead`, `skbStoreBytes`, `l3CsumReplace`, `l4CsumReplace`,
 *   `csumDiff`, `setRetval`, `setTstamp`, and `helper(id, args, ret)` for any other.
 * - In-program checksums: `csumReplace(check, from, to)`, `csumDelta(from, to)` + `csumApply(check, delta)`,
 *   `csumFold(sum)`. `b.copy(dst, src)` copies struct views and array fields.
 * - Array fields: `arr.get(k)` for a constant index; `arr.at(i, onOutOfRange)` for a run-time index in map
 *   values and stack structs (bounds-checked, the out-of-range branch must return).
 * - Headers: `ethhdr`, `iphdr`, `ipv6hdr`, `tcphdr`, `udphdr`, `bpfFibLookup` and constants.
 * - Errors: `DslError` with the TypeScript source position.
 * - Objects: `dslCollectionSpec(programs)` (a lib/elf `CollectionSpec` with typed map BTF and TypeScript
 *   line info) and `writeDslObject(programs, path)` (an ELF object for bpftool/iproute2); load several
 *   programs together with `loadDslCollection` from lib/kernel/dsl-loader.ts.
 *
 * @module
 */
export { DslError, formatPos } from './errors.js';
export { setSourceCapture } from './source.js';
export {
  u8, u16, u32, u64, s8, s16, s32, s64, be16, be32, be64,
  type ScalarName, type TypedScalar, type IntName, type NetName, type JsOf, type HostOf, type NetOf, type Wide,
} from './types.js';
export { type Val, type IntVal, type NetVal, type ValArg, type Literal, type IntArg, Cond, htons, htonl, konst } from './value.js';
export {
  MapDef,
  hashMap,
  lruHashMap,
  percpuHashMap,
  lruPercpuHashMap,
  arrayMap,
  percpuArrayMap,
  devMap,
  devMapHash,
  progArray,
  type ProgArrayOptions,
  arrayOfMaps,
  hashOfMaps,
  mapDef,
  type MapOptions,
  type MapValueKind,
  type KeyValueOptions,
} from './maps.js';
export {
  Subprog,
  subprog,
  Nullable,
  InnerMap,
  type PktPos,
  type LoopCtl,
  type ForOptions,
  type StackStruct,
  type XdpBuilder,
  type TcBuilder,
  type SockAddrBuilder,
  type SubBuilder,
  type ProgKind,
} from './builder.js';
export type { XdpCtx, XdpDevmapCtx, TcCtx, SockAddr4Ctx, SockAddr6Ctx, SendMsg4Ctx, SendMsg6Ctx, SockAddrHook, SockAddrCtxOf } from './context.js';
export type { StructView, LayoutView, FieldOf, ArrayOf, ViewMode, ViewOf } from './refs.js';
export * from './headers.js';
export { xdp, tc, sockAddr, DslProgram, setDslVerifier, type BuiltProgram, type BuildOptions, type ProgOptions, type TcAttach, type DslVerifier } from './program.js';
export { packed, struct, array, bytes, mac, ipv4, ipv6, pad } from '../layout/index.js';
export { dslCollectionSpec, writeDslObject, checkProgramSlots, dslSectionName, dslMaps, builtProgram, type DslProgramLike, type DslSpecOptions, type DslObjectOptions } from './object.js';
export { LayoutBtf, btfIdentifier } from './btf-types.js';
