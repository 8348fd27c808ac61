/**
 * Program builders (`xdp()`, `tc()`, `sockAddr()`) and the build pipeline:
 * run the closure into IR, clean up control flow, remove dead code, allocate
 * registers, generate instructions, link subprograms. The result is an ISA
 * program with symbolic map references and a source map.
 */
import { readFileSync } from 'node:fs';
import type { Insn, SourcePos } from '../isa/insn.js';
import { type LoaderRef, ProgramBuilder } from '../isa/link.js';
import { listing } from '../isa/disasm.js';
import { AttachType, ProgType } from '../uapi/prog-types.js';
import { allowedHelpers } from '../verifier/helper-protos.js';
import type { MapSpecLite } from '../verifier/types.js';
import { verify as verifyLite } from '../verifier/verify.js';
import { Builder, type ProgKind, type ProgState, type SockAddrBuilder, type TcBuilder, type XdpBuilder } from './builder.js';
import { emitFunction } from './codegen.js';
import type { SockAddrCtxOf, SockAddrHook, XdpCtx, XdpDevmapCtx } from './context.js';
import { DslError } from './errors.js';
import { Fn } from './fn.js';
import { type IrInsn, formatIr } from './ir.js';
import type { MapDef } from './maps.js';
import { eliminateDeadCode, hoistStackStores, lowerReturns, optimizeControlFlow } from './opt.js';
import { allocate } from './regalloc.js';
import { callerPos } from './source.js';

/** Build options. */
export interface BuildOptions {
  /** Run verifier-lite on the result (through the hook set with {@link setDslVerifier}); throws on errors. */
  verify?: boolean;
}

/** A built program: instructions (jumps and calls linked; map loads still symbolic), maps and source map. */
export interface BuiltProgram {
  name: string;
  /** libbpf section name (`xdp`, `tc`, `cgroup/connect4`, ...). */
  section: string;
  progType: number;
  expectedAttachType: number | undefined;
  license: string;
  insns: Insn[];
  /** Maps the program references (by name). */
  maps: MapDef[];
  /** The source position of each instruction (also on `insns[i].source`). */
  sourceMap: (SourcePos | undefined)[];
  /** Map references the loader patches with fds. */
  loaderRefs: LoaderRef[];
  /** Slot indices where subprograms start. */
  functions: number[];
  /** Slot index of every label (branch targets, shared return blocks, subprogram entries). */
  labels: Map<string, number>;
  /** Every function (the entry first) with its start slot, for BTF func_info / ELF symbols. */
  funcs: Array<{ name: string; slot: number }>;
  stats: { buildMs: number; irInsns: number; spills: number; stackBytes: number };
}

/** A verifier to run on built programs (verifier-lite registers itself here; lib/dsl does not import it). */
export type DslVerifier = (p: BuiltProgram) => void;
let verifier: DslVerifier | undefined;

/** Installs the function `build({ verify: true })` runs. */
export function setDslVerifier(fn: DslVerifier | undefined): void {
  verifier = fn;
}

function mapLite(m: MapDef): MapSpecLite {
  const inner = m.inner as MapDef | undefined;
  return {
    name: m.name,
    type: m.type,
    keySize: m.key.size,
    valueSize: m.value.size,
    maxEntries: m.maxEntries,
    ...(m.options.flags !== undefined ? { flags: m.options.flags } : {}),
    ...(inner ? { inner: mapLite(inner) } : {}),
  };
}

/** Runs verifier-lite (lib/verifier) on a built program; throws a `DslError` at the source of the first error. */
export function defaultVerifier(p: BuiltProgram): void {
  const r = verifyLite({
    insns: p.insns,
    progType: p.progType,
    ...(p.expectedAttachType !== undefined ? { expectedAttachType: p.expectedAttachType } : {}),
    maps: p.maps.map(mapLite),
    gpl: /GPL|BSD|MIT|MPL/i.test(p.license) || p.license === 'Dual BSD/GPL',
  });
  const err = r.diagnostics.find((d) => d.severity === 'error');
  if (err) throw new DslError(`verifier-lite rejects ${p.name} at instruction ${err.insn}: ${err.message}${err.detail ? ` (${err.detail})` : ''}`, err.source);
}

/** A program written in the DSL. */
export class DslProgram<B = unknown> {
  private cached: BuiltProgram | undefined;
  /** Where the program was declared. */
  readonly declaredAt: SourcePos | undefined;

  constructor(
    readonly name: string,
    readonly section: string,
    readonly kind: ProgKind,
    readonly progType: number,
    readonly expectedAttachType: number | undefined,
    readonly body: (b: B) => void,
    readonly license: string,
  ) {
    if (!/^[A-Za-z0-9_.]{1,15}$/.test(name)) throw new DslError(`program name '${name}' must be 1-15 characters of [A-Za-z0-9_.]`, callerPos());
    this.declaredAt = callerPos();
  }

  /** The IR of the main function after control-flow clean-up (for tests and debugging). */
  ir(): string[] {
    const { fn } = this.run();
    return optimizeControlFlow(fn.ir, `${fn.name}.`).map(formatIr);
  }

  private run(): { fn: Fn; prog: ProgState } {
    const prog: ProgState = {
      name: this.name,
      kind: this.kind,
      progType: this.progType,
      attachType: this.expectedAttachType,
      section: this.section,
      allowed: allowedHelpers(this.progType, this.expectedAttachType),
      maps: new Map(),
      subs: new Map(),
      building: new Set(),
    };
    const fn = new Fn(this.name);
    fn.pos = this.declaredAt;
    const b = new Builder(fn, prog, false);
    b.enterMain();
    this.body(b as unknown as B);
    if (!fn.dead) throw new DslError(`program '${this.name}' can reach the end of its body without b.return()`, fn.pos ?? this.declaredAt);
    return { fn, prog };
  }

  /** Builds the program (cached). */
  build(options: BuildOptions = {}): BuiltProgram {
    if (!this.cached) {
      const t0 = performance.now();
      const { fn, prog } = this.run();
      const pb = new ProgramBuilder();
      let irInsns = 0;
      let spills = 0;
      let stackBytes = 0;
      const compile = (f: Fn, label?: string) => {
        let ir: IrInsn[] = optimizeControlFlow(f.ir, `${f.name}.`);
        ir = lowerReturns(ir);
        ir = eliminateDeadCode(ir);
        ir = hoistStackStores(ir);
        irInsns += ir.length;
        const a = allocate(ir, f.frame);
        spills += a.spills;
        stackBytes = Math.max(stackBytes, a.frameSize);
        if (label) pb.label(label);
        emitFunction(a.ir, a.color, pb);
      };
      compile(fn);
      for (const s of prog.subs.values()) compile(s.fn, s.label);
      const linked = pb.link();
      this.cached = {
        name: this.name,
        section: this.section,
        progType: this.progType,
        expectedAttachType: this.expectedAttachType,
        license: this.license,
        insns: linked.insns,
        maps: [...prog.maps.values()],
        sourceMap: linked.insns.map((i) => i.source),
        loaderRefs: linked.loaderRefs,
        functions: linked.functions,
        labels: linked.labels,
        funcs: [
          { name: this.name, slot: 0 },
          ...[...prog.subs.values()].map((sf) => ({ name: sf.label, slot: linked.labels.get(sf.label)! })),
        ],
        stats: { buildMs: performance.now() - t0, irInsns, spills, stackBytes },
      };
    }
    if (options.verify) (verifier ?? defaultVerifier)(this.cached);
    return this.cached;
  }

  /** Drops the cached build (the next `build()` runs the closure again). */
  rebuild(): BuiltProgram {
    this.cached = undefined;
    return this.build();
  }

  /** The disassembly (llvm-objdump syntax), with `; file:line:col source` lines when `source` is true. */
  disasm(options: { source?: boolean } = {}): string {
    const p = this.build();
    const cache = new Map<string, string[] | undefined>();
    return listing(p.insns, {
      source: options.source ?? false,
      sourceLine: (pos) => {
        if (!cache.has(pos.file)) {
          try {
            cache.set(pos.file, readFileSync(pos.file, 'utf8').split('\n'));
          } catch {
            cache.set(pos.file, undefined);
          }
        }
        return cache.get(pos.file)?.[pos.line - 1];
      },
    });
  }
}

/** Options of program declarations. */
export interface ProgOptions {
  /** License string (default `'GPL'`, which GPL-only helpers such as `fib_lookup` need). */
  license?: string;
}

/** An XDP program (`SEC("xdp")`); with `{ attach: 'devmap' }` a devmap program (`SEC("xdp/devmap")`, kernel 5.8) that may read `egress_ifindex`. */
export function xdp<A extends 'xdp' | 'devmap' = 'xdp'>(
  name: string,
  body: (b: XdpBuilder<A extends 'devmap' ? XdpDevmapCtx : XdpCtx>) => void,
  options: ProgOptions & { attach?: A } = {},
): DslProgram<XdpBuilder<A extends 'devmap' ? XdpDevmapCtx : XdpCtx>> {
  const devmap = options.attach === 'devmap';
  return new DslProgram(name, devmap ? 'xdp/devmap' : 'xdp', 'xdp', ProgType.BPF_PROG_TYPE_XDP, devmap ? AttachType.BPF_XDP_DEVMAP : undefined, body, options.license ?? 'GPL');
}

/** Where a tc program attaches: classic tc (`tc`) or tcx (kernel 6.6). */
export type TcAttach = 'tc' | 'tcx/ingress' | 'tcx/egress';

/** A tc classifier (`SEC("tc")`, `SEC("tcx/ingress")`, `SEC("tcx/egress")`): BPF_PROG_TYPE_SCHED_CLS. */
export function tc(name: string, body: (b: TcBuilder) => void, options: ProgOptions & { attach?: TcAttach } = {}): DslProgram<TcBuilder> {
  const attach = options.attach ?? 'tc';
  const at = attach === 'tcx/ingress' ? AttachType.BPF_TCX_INGRESS : attach === 'tcx/egress' ? AttachType.BPF_TCX_EGRESS : undefined;
  return new DslProgram(name, attach, 'tc', ProgType.BPF_PROG_TYPE_SCHED_CLS, at, body, options.license ?? 'GPL');
}

const SOCK_ADDR_ATTACH: Record<SockAddrHook, number> = {
  connect4: AttachType.BPF_CGROUP_INET4_CONNECT,
  connect6: AttachType.BPF_CGROUP_INET6_CONNECT,
  sendmsg4: AttachType.BPF_CGROUP_UDP4_SENDMSG,
  sendmsg6: AttachType.BPF_CGROUP_UDP6_SENDMSG,
  recvmsg4: AttachType.BPF_CGROUP_UDP4_RECVMSG,
  recvmsg6: AttachType.BPF_CGROUP_UDP6_RECVMSG,
  getpeername4: AttachType.BPF_CGROUP_INET4_GETPEERNAME,
  getpeername6: AttachType.BPF_CGROUP_INET6_GETPEERNAME,
  getsockname4: AttachType.BPF_CGROUP_INET4_GETSOCKNAME,
  getsockname6: AttachType.BPF_CGROUP_INET6_GETSOCKNAME,
  bind4: AttachType.BPF_CGROUP_INET4_BIND,
  bind6: AttachType.BPF_CGROUP_INET6_BIND,
};

/**
 * A cgroup sock_addr program (`SEC("cgroup/connect4")` and friends):
 * BPF_PROG_TYPE_CGROUP_SOCK_ADDR with the hook's expected attach type. It
 * returns 1 to allow the operation, 0 to deny it (recvmsg/getpeername/getsockname must return 1).
 */
export function sockAddr<H extends SockAddrHook>(
  hook: H,
  name: string,
  body: (b: SockAddrBuilder<SockAddrCtxOf<H>, H>) => void,
  options: ProgOptions = {},
): DslProgram<SockAddrBuilder<SockAddrCtxOf<H>, H>> {
  const at = SOCK_ADDR_ATTACH[hook];
  if (at === undefined) throw new DslError(`unknown sock_addr hook '${String(hook)}'`, callerPos());
  return new DslProgram(name, `cgroup/${hook}`, 'sock_addr', ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, at, body, options.license ?? 'GPL');
}
