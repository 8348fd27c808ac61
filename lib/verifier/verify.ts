/**
 * verifier-lite: walks a program path by path the way the kernel's verifier
 * does (`do_check` in kernel/bpf/verifier.c, Linux 6.18, as root): the
 * fall-through of every conditional jump first, the jump target later;
 * states compared at prune points (`is_state_visited`: an explored, finished
 * state whose ranges contain the current one prunes it; an identical state
 * still being explored is an infinite loop); a budget of 1,000,000
 * processed instructions. Messages use the kernel's wording.
 *
 * Where verifier-lite cannot tell, it accepts: unmodelled helpers return an
 * opaque value every use of which is allowed, and program types without
 * tables skip the context and helper checks.
 *
 * @module
 */
import { ProgType, AttachType } from '../uapi/prog-types.js';
import { MapFlags, MapType } from '../uapi/map-types.js';
import type { SourcePos } from '../isa/insn.js';
import { tnumAdd, tnumSub, tnumConst, tnumIsConst, type Tnum } from './tnum.js';
import {
  type Reg, RT, RT_NAME, UNKNOWN, NOT_INIT, OPAQUE_REG, constReg, constRegImm, ptrReg, isConst, scalarFrom, sync, truncate, signExtend,
  zext32, scalarWithin, scalarEqual, regStr, constValue, withBounds, withFields, withId, S64_MIN, S64_MAX, S32_MIN, S32_MAX, U32_MAX,
} from './reg.js';
import { U64_MAX, s64, s32b } from './tnum.js';
import { aluScalar, endScalar, branchTaken, refine, negate, Op, J } from './scalar-ops.js';
import { ctxRules, SOCK_ADDR_ATTACH_TYPES, type CtxRules } from './context-access.js';
import { allowedHelpers, helperProto, isGplOnly, kernelHelperName, ARG_EXPECTED, type ArgKind, type HelperProto } from './helper-protos.js';
import { slotsFromBytes, slotsFromInsns, checkStatic, type Slot, isPseudoCall, jumpTarget } from './program.js';
import type { VerifyInput, VerifyOptions, VerifyResult, Diagnostic, MapSpecLite } from './types.js';

const MAX_BPF_STACK = 512;
const BPF_MAX_VAR_OFF = 1 << 29;
const BPF_MAX_VAR_SIZ = 1n << 29n;
const MAX_PACKET_OFF = 0xffff;
const COMPLEXITY_LIMIT_INSNS = 1_000_000;
const COMPLEXITY_LIMIT_JMP_SEQ = 8192;
const MAX_CALL_FRAMES = 8;

/** A rejection found while walking: thrown internally, reported as a diagnostic. */
class Reject {
  constructor(
    readonly message: string,
    readonly rule: string,
    readonly hint: string,
    readonly extra?: string,
  ) {}
}

interface StackSlot {
  /** Byte kinds in address order: 'i' invalid, 'm' misc, '0' zero, 's' spilled register. */
  readonly b: string;
  readonly spill?: Reg;
}

interface Frame {
  regs: Reg[];
  stk: (StackSlot | undefined)[];
  callsite: number;
}

interface RefEntry {
  id: number;
  insn: number;
}

interface State {
  frames: Frame[];
  refs: RefEntry[];
}

interface Checkpoint {
  st: State;
  branches: number;
  parent: Checkpoint | null;
}

interface Path {
  st: State;
  idx: number;
  cp: Checkpoint | null;
}

const INVALID_SLOT: StackSlot = Object.freeze({ b: 'iiiiiiii' });
const SPILL_BYTES = ['', 's', 'ss', 'sss', 'ssss', 'sssss', 'ssssss', 'sssssss'];

/** mark_stack_slot_misc over the rest of a partly spilled slot: spilled bytes become misc (zero and invalid stay). */
function scrubSpill(bytes: string): string {
  return bytes.indexOf('s') < 0 ? bytes : bytes.split('s').join('m');
}

/** scrub_spilled_slot over a whole slot: everything but invalid becomes misc. */
function scrubAll(bytes: string): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i] === 'i' ? 'i' : 'm';
  return out;
}

const ZERO_BYTES = '00000000';
const MISC_BYTES = 'mmmmmmmm';

function copyState(s: State): State {
  return {
    frames: s.frames.map((f) => ({ regs: f.regs.slice(), stk: f.stk.slice(), callsite: f.callsite })),
    refs: s.refs.slice(),
  };
}

const HINTS: Record<string, string> = {
  uninit: 'a register is read before anything was written to it on this path',
  structure: 'the instruction stream itself is malformed (jump target, opcode, reserved field or program end)',
  ctx: 'this context field cannot be accessed with this size or direction by this program type and attach type',
  packet: 'compare the packet pointer plus the access end against data_end before reading or writing the packet',
  map_value: 'the access must stay inside the map value: bound the index with a comparison or a mask first',
  null_check: 'check the pointer against NULL (if (p == 0) ...) before using it',
  stack: 'stack accesses must be aligned and within the 512-byte frame (r10-512 .. r10-1)',
  pointer: 'only pointer += / -= scalar is allowed, on pointer types that permit arithmetic',
  helper: 'the helper is not available to this program type, or an argument has the wrong type or size',
  return: 'the program must return a value in the range its program type and attach type allow',
  reference: 'every socket or ringbuf record acquired must be released on every path before exit',
  budget: 'the verifier explores every path; reduce loop bounds or branches',
  alu: 'the arithmetic is not allowed (bad immediate, division by zero constant, or frame pointer write)',
  map: 'the map reference or map type does not fit this use',
  loop: 'the loop can never terminate as the verifier sees it',
};

function reject(message: string, rule: string): Reject {
  return new Reject(message, rule, HINTS[rule] ?? '');
}

/** C-style `%#llx` (0 prints as `0`). */
function hex(v: bigint): string {
  return v === 0n ? '0' : '0x' + v.toString(16);
}

function tnumC(t: Tnum): string {
  if (tnumIsConst(t)) return hex(t.value);
  return `(${hex(t.value)}; ${hex(t.mask)})`;
}

const ALU_STR = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];

function typeName(r: Reg): string {
  return RT_NAME[r.t]!;
}

function isNullable(t: RT): boolean {
  return t === RT.MAP_VALUE_OR_NULL || t === RT.SOCK_OR_NULL || t === RT.SOCK_COMMON_OR_NULL || t === RT.RINGBUF_MEM_OR_NULL;
}

function nonNull(t: RT): RT {
  switch (t) {
    case RT.MAP_VALUE_OR_NULL: return RT.MAP_VALUE;
    case RT.SOCK_OR_NULL: return RT.SOCK;
    case RT.SOCK_COMMON_OR_NULL: return RT.SOCK_COMMON;
    case RT.RINGBUF_MEM_OR_NULL: return RT.RINGBUF_MEM;
    default: return t;
  }
}

/** reg_not_null: pointer types known not to be NULL (a comparison with 0 is decided). */
const NOT_NULL = new Set<RT>([RT.SOCK, RT.SOCK_COMMON, RT.MAP_VALUE, RT.RINGBUF_MEM, RT.MAP_PTR]);

function isPkt(t: RT): boolean {
  return t === RT.PKT || t === RT.PKT_META;
}

function isPointer(r: Reg): boolean {
  return r.t !== RT.SCALAR && r.t !== RT.NOT_INIT && r.t !== RT.OPAQUE;
}

/** Helper ids allowed per map type (`check_map_func_compatibility`, map side), for the map types with restrictions. */
const MAP_FUNCS: ReadonlyMap<number, ReadonlySet<number>> = new Map<number, ReadonlySet<number>>([
  [MapType.BPF_MAP_TYPE_PROG_ARRAY, new Set([12])],
  [MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, new Set([22, 25, 55, 111, 121])],
  [MapType.BPF_MAP_TYPE_RINGBUF, new Set([130, 131, 134, 198])],
  [MapType.BPF_MAP_TYPE_DEVMAP, new Set([51, 1])],
  [MapType.BPF_MAP_TYPE_DEVMAP_HASH, new Set([51, 1])],
  [MapType.BPF_MAP_TYPE_CPUMAP, new Set([51])],
  [MapType.BPF_MAP_TYPE_XSKMAP, new Set([51, 1])],
  [MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, new Set([1])],
  [MapType.BPF_MAP_TYPE_HASH_OF_MAPS, new Set([1])],
  [MapType.BPF_MAP_TYPE_STACK_TRACE, new Set([27, 67])],
  [MapType.BPF_MAP_TYPE_CGROUP_ARRAY, new Set([33, 37])],
]);
/** Map types each map-taking helper requires (`check_map_func_compatibility`, helper side). */
const FUNC_MAPS: ReadonlyMap<number, ReadonlySet<number>> = new Map<number, ReadonlySet<number>>([
  [12, new Set([MapType.BPF_MAP_TYPE_PROG_ARRAY])],
  [25, new Set([MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY])],
  [130, new Set([MapType.BPF_MAP_TYPE_RINGBUF])],
  [131, new Set([MapType.BPF_MAP_TYPE_RINGBUF])],
  [134, new Set([MapType.BPF_MAP_TYPE_RINGBUF])],
  [51, new Set<number>([MapType.BPF_MAP_TYPE_DEVMAP, MapType.BPF_MAP_TYPE_DEVMAP_HASH, MapType.BPF_MAP_TYPE_CPUMAP, MapType.BPF_MAP_TYPE_XSKMAP])],
]);
const DIRECT_VALUE_MAPS = new Set<number>([MapType.BPF_MAP_TYPE_ARRAY]);

/** Return value ranges at program exit (`check_return_code`), or undefined when unchecked. */
export function returnRange(progType: number, attach: number | undefined): [number, number] | undefined {
  switch (progType) {
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      switch (attach) {
        case AttachType.BPF_CGROUP_UDP4_RECVMSG:
        case AttachType.BPF_CGROUP_UDP6_RECVMSG:
        case AttachType.BPF_CGROUP_UNIX_RECVMSG:
        case AttachType.BPF_CGROUP_INET4_GETPEERNAME:
        case AttachType.BPF_CGROUP_INET6_GETPEERNAME:
        case AttachType.BPF_CGROUP_UNIX_GETPEERNAME:
        case AttachType.BPF_CGROUP_INET4_GETSOCKNAME:
        case AttachType.BPF_CGROUP_INET6_GETSOCKNAME:
        case AttachType.BPF_CGROUP_UNIX_GETSOCKNAME:
          return [1, 1];
        case AttachType.BPF_CGROUP_INET4_BIND:
        case AttachType.BPF_CGROUP_INET6_BIND:
          return [0, 3];
        default:
          return [0, 1];
      }
    case ProgType.BPF_PROG_TYPE_CGROUP_SKB:
      return attach === AttachType.BPF_CGROUP_INET_EGRESS ? [0, 3] : [0, 1];
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK:
    case ProgType.BPF_PROG_TYPE_SOCK_OPS:
    case ProgType.BPF_PROG_TYPE_CGROUP_DEVICE:
    case ProgType.BPF_PROG_TYPE_CGROUP_SYSCTL:
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case ProgType.BPF_PROG_TYPE_SK_LOOKUP:
    case ProgType.BPF_PROG_TYPE_NETFILTER:
      return [0, 1];
    default:
      return undefined;
  }
}

/** Program types with direct packet access (read, and write). */
function pktAccess(progType: number): { read: boolean; write: boolean } {
  switch (progType) {
    case ProgType.BPF_PROG_TYPE_SCHED_CLS:
    case ProgType.BPF_PROG_TYPE_SCHED_ACT:
    case ProgType.BPF_PROG_TYPE_XDP:
    case ProgType.BPF_PROG_TYPE_LWT_XMIT:
    case ProgType.BPF_PROG_TYPE_SK_SKB:
    case ProgType.BPF_PROG_TYPE_SK_MSG:
      return { read: true, write: true };
    case ProgType.BPF_PROG_TYPE_LWT_IN:
    case ProgType.BPF_PROG_TYPE_LWT_OUT:
    case ProgType.BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case ProgType.BPF_PROG_TYPE_SK_REUSEPORT:
    case ProgType.BPF_PROG_TYPE_FLOW_DISSECTOR:
    case ProgType.BPF_PROG_TYPE_CGROUP_SKB:
      return { read: true, write: false };
    default:
      return { read: false, write: false };
  }
}

/** Walks one program. */
class Walker {
  readonly slots: Slot[];
  readonly maps: MapSpecLite[];
  readonly mapIndex: Int32Array;
  readonly innerOf = new Map<number, number>();
  readonly ctx: CtxRules | undefined;
  readonly helpers: ReadonlySet<number> | undefined;
  readonly modelled: boolean;
  readonly pkt: { read: boolean; write: boolean };
  readonly retRange: [number, number] | undefined;
  prune!: Uint8Array;
  idGen = 0;
  processed = 0;
  insnLimit: number;
  deadline: number;
  nrCpus: number;
  visited = new Map<number, Checkpoint[]>();
  jumps = 0;
  prevJumps = 0;
  prevProcessed = 0;
  /** Instruction being executed (for diagnostics). */
  idx = 0;
  st!: State;

  constructor(
    readonly input: VerifyInput,
    slots: Slot[],
    options: VerifyOptions,
  ) {
    this.slots = slots;
    this.maps = [...(input.maps ?? [])];
    const outer = this.maps.length;
    for (let i = 0; i < outer; i++) {
      const inner = this.maps[i]!.inner;
      if (inner) {
        this.innerOf.set(i, this.maps.length);
        this.maps.push(inner);
      }
    }
    this.mapIndex = new Int32Array(slots.length).fill(-1);
    this.ctx = ctxRules(input.progType, input.expectedAttachType);
    this.helpers = allowedHelpers(input.progType, input.expectedAttachType);
    this.modelled = this.ctx !== undefined;
    this.pkt = pktAccess(input.progType);
    this.retRange = returnRange(input.progType, input.expectedAttachType);
    this.insnLimit = options.insnLimit ?? COMPLEXITY_LIMIT_INSNS;
    this.nrCpus = Number.isInteger(options.nrCpus) && options.nrCpus! > 0 ? options.nrCpus! : 8192;
    this.deadline = Date.now() + (options.timeLimitMs ?? 30_000);
  }

  mapName(i: number): string {
    return this.maps[i]?.name ?? `map${i}`;
  }

  /** Resolves an lddw map reference (by ref name or imm index); returns an error message or undefined. */
  resolveMap(s: Slot, i: number): string | undefined {
    let idx = -1;
    if (s.ref && (s.ref.kind === 'map' || s.ref.kind === 'map_value')) {
      idx = this.maps.findIndex((m) => m.name === s.ref!.name);
    } else {
      idx = s.imm;
    }
    const outer = this.input.maps?.length ?? 0;
    if (idx < 0 || idx >= outer) return `fd ${s.imm} is not pointing to valid bpf_map`;
    const m = this.maps[idx]!;
    if (!m || typeof m.valueSize !== 'number' || typeof m.keySize !== 'number' || typeof m.type !== 'number') {
      return `fd ${s.imm} is not pointing to valid bpf_map`;
    }
    if (s.src === 2 || s.src === 6) {
      if (!DIRECT_VALUE_MAPS.has(m.type) || m.maxEntries !== 1) return `direct value access on map type ${m.type} not allowed`;
      const off = (s.hi ?? 0) >>> 0;
      if (off >= m.valueSize) return `invalid access to map value pointer, value_size=${m.valueSize} off=${off}`;
    }
    this.mapIndex[i] = idx;
    return undefined;
  }

  get frame(): Frame {
    return this.st.frames[this.st.frames.length - 1]!;
  }

  get regs(): Reg[] {
    return this.frame.regs;
  }

  regsString(): string {
    const parts: string[] = [];
    this.regs.forEach((r, i) => {
      if (r.t !== RT.NOT_INIT) parts.push(`R${i}=${regStr(r, (m) => this.mapName(m))}`);
    });
    return parts.join(' ');
  }

  // ---- register access --------------------------------------------------

  /** check_reg_arg(SRC_OP). */
  readReg(r: number): Reg {
    if (r > 10) throw reject(`R${r} is invalid`, 'structure');
    const v = this.regs[r]!;
    if (v.t === RT.NOT_INIT) throw reject(`R${r} !read_ok`, 'uninit');
    return v;
  }

  /** check_reg_arg(DST_OP). */
  checkDst(r: number): void {
    if (r > 10) throw reject(`R${r} is invalid`, 'structure');
    if (r === 10) throw reject('frame pointer is read only', 'alu');
  }

  newId(): number {
    return ++this.idGen;
  }

  // ---- the walk ----------------------------------------------------------

  run(): { error?: { insn: number; r: Reject; state: string }; warning?: string } {
    const regs: Reg[] = new Array(11).fill(NOT_INIT);
    regs[1] = ptrReg(RT.CTX);
    regs[10] = ptrReg(RT.STACK, { frame: 0 });
    if (!this.modelled && this.input.progType !== ProgType.BPF_PROG_TYPE_SOCKET_FILTER) regs[1] = OPAQUE_REG;
    const init: State = { frames: [{ regs, stk: [], callsite: -1 }], refs: [] };
    const stack: Path[] = [{ st: init, idx: 0, cp: null }];
    while (stack.length) {
      const path = stack.pop()!;
      this.st = path.st;
      let idx = path.idx;
      let cp = path.cp;
      for (;;) {
        this.idx = idx;
        if (this.prune[idx]) {
          let r: Checkpoint | 'prune';
          try {
            r = this.visit(idx, cp);
          } catch (e) {
            if (e instanceof Reject) return { error: { insn: idx, r: e, state: this.regsString() } };
            throw e;
          }
          if (r === 'prune') {
            this.endPath(cp);
            break;
          }
          cp = r;
        }
        if (++this.processed > this.insnLimit) {
          return { error: { insn: idx, r: reject(`BPF program is too large. Processed ${this.processed} insn`, 'budget'), state: this.regsString() } };
        }
        if ((this.processed & 0xfff) === 0 && Date.now() > this.deadline) {
          return { warning: `verifier-lite stopped after ${this.processed} instructions (time limit); the program was not fully checked` };
        }
        let next: number | 'exit';
        try {
          next = this.step(idx, (target, st) => {
            if (stack.length >= COMPLEXITY_LIMIT_JMP_SEQ) {
              throw reject(`The sequence of ${COMPLEXITY_LIMIT_JMP_SEQ + 1} jumps is too complex.`, 'budget');
            }
            if (cp) cp.branches++;
            stack.push({ st, idx: target, cp });
          });
        } catch (e) {
          if (e instanceof Reject) return { error: { insn: idx, r: e, state: this.regsString() } };
          throw e;
        }
        if (next === 'exit') {
          this.endPath(cp);
          break;
        }
        idx = next;
      }
    }
    return {};
  }

  endPath(cp: Checkpoint | null): void {
    while (cp) {
      cp.branches--;
      if (cp.branches > 0) return;
      cp = cp.parent;
    }
  }

  /** is_state_visited: prune against a finished state that contains this one, or record a new checkpoint. */
  visit(idx: number, cp: Checkpoint | null): Checkpoint | 'prune' {
    let list = this.visited.get(idx);
    if (!list) {
      list = [];
      this.visited.set(idx, list);
    }
    for (const old of list) {
      if (old.branches === 0) {
        if (this.stateWithin(old.st, this.st)) return 'prune';
      } else if (this.stateWithin(old.st, this.st, true)) {
        throw new LoopReject(idx);
      }
    }
    // Like the kernel, record a new state only every few jumps and instructions.
    if (!(this.jumps - this.prevJumps >= 2 && this.processed - this.prevProcessed >= 8) && list.length > 0) return cp!;
    this.prevJumps = this.jumps;
    this.prevProcessed = this.processed;
    const n: Checkpoint = { st: copyState(this.st), branches: 1, parent: cp };
    // Keep the list short (the kernel evicts states that keep missing); newest last.
    if (list.length >= 16) list.splice(list.findIndex((c) => c.branches > 0) >= 0 ? list.findIndex((c) => c.branches > 0) : 0, 1);
    list.push(n);
    return n;
  }

  stateWithin(old: State, cur: State, exact = false): boolean {
    if (old.frames.length !== cur.frames.length) return false;
    if (old.refs.length !== cur.refs.length) return false;
    const ids = new Map<number, number>();
    for (let i = 0; i < old.refs.length; i++) {
      if (!mapId(ids, old.refs[i]!.id, cur.refs[i]!.id)) return false;
    }
    for (let f = 0; f < old.frames.length; f++) {
      const of = old.frames[f]!;
      const cf = cur.frames[f]!;
      if (of.callsite !== cf.callsite) return false;
      for (let r = 0; r < 11; r++) if (!regWithin(of.regs[r]!, cf.regs[r]!, ids, exact)) return false;
      const nk = exact ? Math.max(of.stk.length, cf.stk.length) : of.stk.length;
      for (let k = 0; k < nk; k++) {
        const os = of.stk[k] ?? INVALID_SLOT;
        const cs = cf.stk[k] ?? INVALID_SLOT;
        if (os === cs) continue;
        if (!slotWithin(os, cs, ids, exact)) return false;
      }
    }
    return true;
  }

  // ---- one instruction ----------------------------------------------------

  step(idx: number, fork: (target: number, st: State) => void): number | 'exit' {
    const s = this.slots[idx]!;
    const cls = s.code & 7;
    switch (cls) {
      case 4:
      case 7:
        this.alu(s, cls === 7);
        return idx + 1;
      case 1:
        this.load(s);
        return idx + 1;
      case 3:
        if ((s.code & 0xe0) === 0xc0) this.atomic(s);
        else {
          if ((s.code & 0xe0) !== 0x60 || s.imm !== 0) throw reject('BPF_STX uses reserved fields', 'structure');
          this.store(s, true);
        }
        return idx + 1;
      case 2:
        if ((s.code & 0xe0) !== 0x60 || s.src !== 0) throw reject('BPF_ST uses reserved fields', 'structure');
        this.store(s, false);
        return idx + 1;
      case 0:
        if (s.code === 0x18) {
          this.lddw(s, idx);
          return idx + 2;
        }
        this.ldAbs(s);
        return idx + 1;
      default:
        return this.jmp(s, idx, cls === 6, fork);
    }
  }

  // ---- ALU -------------------------------------------------------------------

  alu(s: Slot, is64: boolean): void {
    const op = (s.code >> 4) as Op;
    const isX = (s.code & 8) !== 0;
    const w: 32 | 64 = is64 ? 64 : 32;
    const regs = this.regs;
    if (op === Op.NEG || op === Op.END) {
      if (op === Op.NEG) {
        if (isX || s.src !== 0 || s.off !== 0 || s.imm !== 0) throw reject('BPF_NEG uses reserved fields', 'structure');
      } else if (s.src !== 0 || s.off !== 0 || (s.imm !== 16 && s.imm !== 32 && s.imm !== 64) || (is64 && isX)) {
        throw reject('BPF_END uses reserved fields', 'structure');
      }
      const d = this.readReg(s.dst);
      this.checkDst(s.dst);
      if (d.t === RT.OPAQUE) return;
      if (d.t !== RT.SCALAR) {
        regs[s.dst] = UNKNOWN;
        return;
      }
      regs[s.dst] = op === Op.NEG ? aluScalar(Op.SUB, constReg(0n), d, w) : endScalar(d, s.imm, is64 || isX);
      return;
    }
    if (op === Op.MOV) {
      if (isX) {
        if (is64) {
          if (s.imm !== 0) {
            if (s.off === 1) throw reject(s.imm !== 1 && s.imm !== 1 << 16
              ? 'addr_space_cast insn can only convert between address space 1 and 0'
              : 'addr_space_cast insn can only be used in a program that has an associated arena', 'structure');
            throw reject('BPF_MOV uses reserved fields', 'structure');
          }
          if (s.off !== 0 && s.off !== 8 && s.off !== 16 && s.off !== 32) throw reject('BPF_MOV uses reserved fields', 'structure');
        } else if ((s.off !== 0 && s.off !== 8 && s.off !== 16) || s.imm !== 0) {
          throw reject('BPF_MOV uses reserved fields', 'structure');
        }
        const src = this.readReg(s.src);
        this.checkDst(s.dst);
        if (src.t === RT.OPAQUE) {
          regs[s.dst] = OPAQUE_REG;
          return;
        }
        if (is64) {
          if (s.off === 0) {
            if (src.t === RT.SCALAR && src.id === 0 && !isConst(src)) {
              const linked = withId(src, this.newId());
              regs[s.src] = linked;
              regs[s.dst] = linked;
            } else regs[s.dst] = src;
          } else {
            regs[s.dst] = src.t === RT.SCALAR ? withId(signExtend(src, s.off / 8), 0) : UNKNOWN;
          }
        } else {
          if (src.t !== RT.SCALAR) regs[s.dst] = scalarFrom({ umax: 0xffffffffn, smin: 0n, smax: 0xffffffffn, vo: { value: 0n, mask: 0xffffffffn } });
          else if (s.off === 0) regs[s.dst] = withId(zext32(src), 0);
          else regs[s.dst] = zext32(signExtend(src, s.off / 8));
        }
        return;
      }
      if (s.src !== 0 || s.off !== 0) throw reject('BPF_MOV uses reserved fields', 'structure');
      this.checkDst(s.dst);
      regs[s.dst] = constReg(is64 ? BigInt(s.imm) : BigInt(s.imm >>> 0));
      return;
    }
    if (op > Op.END) throw reject(`invalid BPF_ALU opcode ${(op << 4).toString(16)}`, 'structure');
    let src: Reg;
    if (isX) {
      if (s.imm !== 0 || (s.off !== 0 && s.off !== 1) || (s.off === 1 && op !== Op.MOD && op !== Op.DIV)) {
        throw reject('BPF_ALU uses reserved fields', 'structure');
      }
      src = this.readReg(s.src);
    } else {
      if (s.src !== 0 || (s.off !== 0 && s.off !== 1) || (s.off === 1 && op !== Op.MOD && op !== Op.DIV)) {
        throw reject('BPF_ALU uses reserved fields', 'structure');
      }
      src = constRegImm(s.imm);
    }
    const dst = this.readReg(s.dst);
    if ((op === Op.MOD || op === Op.DIV) && !isX && s.imm === 0) throw reject('div by zero', 'alu');
    if ((op === Op.LSH || op === Op.RSH || op === Op.ARSH) && !isX && (s.imm < 0 || s.imm >= w)) {
      throw reject(`invalid shift ${s.imm}`, 'alu');
    }
    this.checkDst(s.dst);
    if (dst.t === RT.OPAQUE || src.t === RT.OPAQUE) {
      regs[s.dst] = OPAQUE_REG;
      return;
    }
    const dp = isPointer(dst);
    const sp = isPointer(src);
    if (dp && sp) {
      if (op === Op.SUB) {
        regs[s.dst] = UNKNOWN;
        return;
      }
      throw reject(`R${s.dst} pointer ${ALU_STR[op]} pointer prohibited`, 'pointer');
    }
    if (dp || sp) {
      regs[s.dst] = this.ptrArith(s, op, is64, dp ? dst : src, dp ? src : dst, !dp);
      return;
    }
    regs[s.dst] = aluScalar(op, dst, src, w, s.off === 1);
  }

  /** adjust_ptr_min_max_vals. */
  ptrArith(s: Slot, op: Op, is64: boolean, ptr: Reg, off: Reg, scalarIsDst: boolean): Reg {
    const d = s.dst;
    if (!is64) {
      if (op === Op.SUB) return UNKNOWN;
      throw reject(`R${d} 32-bit pointer arithmetic prohibited`, 'pointer');
    }
    if (isNullable(ptr.t)) throw reject(`R${d} pointer arithmetic on ${typeName(ptr)} prohibited, null-check it first`, 'null_check');
    const known = isConst(off);
    const smin = off.smin;
    switch (ptr.t) {
      case RT.CTX:
      case RT.MAP_VALUE:
      case RT.STACK:
      case RT.PKT_META:
      case RT.PKT:
      case RT.RINGBUF_MEM:
        break;
      case RT.MAP_PTR:
        if (known && smin === 0n && op === Op.ADD) break;
        throw reject(`R${d} pointer arithmetic on ${typeName(ptr)} prohibited`, 'pointer');
      default:
        throw reject(`R${d} pointer arithmetic on ${typeName(ptr)} prohibited`, 'pointer');
    }
    this.saneOffset(off, ptr.t);
    this.saneOffset(ptr, ptr.t);
    let out: Reg;
    switch (op) {
      case Op.ADD: {
        const fixed = ptr.off + Number(smin);
        if (known && fixed === (fixed | 0)) {
          out = withFields(ptr, { off: fixed });
          break;
        }
        out = this.varOffset(ptr, off, true);
        if (isPkt(ptr.t)) out = withFields(out, { id: this.newId(), range: 0 });
        break;
      }
      case Op.SUB: {
        if (scalarIsDst) throw reject(`R${d} tried to subtract pointer from scalar`, 'pointer');
        if (ptr.t === RT.STACK) throw reject(`R${d} subtraction from stack pointer prohibited`, 'pointer');
        const fixed = ptr.off - Number(smin);
        if (known && fixed === (fixed | 0)) {
          out = withFields(ptr, { off: fixed });
          break;
        }
        out = this.varOffset(ptr, off, false);
        if (isPkt(ptr.t)) out = withFields(out, { id: this.newId(), range: smin < 0n ? 0 : out.range });
        break;
      }
      case Op.AND:
      case Op.OR:
      case Op.XOR:
        throw reject(`R${d} bitwise operator ${ALU_STR[op]} on pointer prohibited`, 'pointer');
      default:
        throw reject(`R${d} pointer arithmetic with ${ALU_STR[op]} operator prohibited`, 'pointer');
    }
    this.saneOffset(out, ptr.t);
    return out;
  }

  varOffset(ptr: Reg, off: Reg, add: boolean): Reg {
    let smin: bigint, smax: bigint, umin: bigint, umax: bigint;
    if (add) {
      smin = ptr.smin + off.smin;
      smax = ptr.smax + off.smax;
      umin = ptr.umin + off.umin;
      umax = ptr.umax + off.umax;
      if (smin < S64_MIN || smax > S64_MAX) { smin = S64_MIN; smax = S64_MAX; }
      if (umax > U64_MAX) { umin = 0n; umax = U64_MAX; }
    } else {
      smin = ptr.smin - off.smax;
      smax = ptr.smax - off.smin;
      if (smin < S64_MIN || smax > S64_MAX) { smin = S64_MIN; smax = S64_MAX; }
      if (ptr.umin < off.umax) { umin = 0n; umax = U64_MAX; } else { umin = ptr.umin - off.umax; umax = ptr.umax - off.umin; }
    }
    const vo = add ? tnumAdd(ptr.vo, off.vo) : tnumSub(ptr.vo, off.vo);
    const r = sync(withBounds(ptr, vo, smin, smax, umin, umax, S32_MIN, S32_MAX, 0, U32_MAX));
    return r;
  }

  /** check_reg_sane_offset. */
  saneOffset(r: Reg, t: RT): void {
    const tn = RT_NAME[t];
    const known = isConst(r);
    const val = s64(r.vo.value);
    const lim = BigInt(BPF_MAX_VAR_OFF);
    if (known && (val >= lim || val <= -lim)) throw reject(`math between ${tn} pointer and ${val} is not allowed`, 'pointer');
    if (r.off >= BPF_MAX_VAR_OFF || r.off <= -BPF_MAX_VAR_OFF) throw reject(`${tn} pointer offset ${r.off} is not allowed`, 'pointer');
    if (r.smin === S64_MIN) throw reject(`math between ${tn} pointer and register with unbounded min value is not allowed`, 'pointer');
    if (r.smin >= lim || r.smin <= -lim) throw reject(`value ${r.smin} makes ${tn} pointer be out of bounds`, 'pointer');
  }

  // ---- loads and stores ---------------------------------------------------------

  load(s: Slot): void {
    const size = [4, 2, 1, 8][(s.code >> 3) & 3]!;
    const sx = (s.code & 0xe0) === 0x80;
    const src = this.readReg(s.src);
    this.checkDst(s.dst);
    const v = this.memAccess(s.src, src, s.off, size, false, s.dst, undefined, sx);
    this.regs[s.dst] = v;
  }

  store(s: Slot, isX: boolean): void {
    const size = [4, 2, 1, 8][(s.code >> 3) & 3]!;
    let val: Reg | undefined;
    if (isX) val = this.readReg(s.src);
    const dst = this.readReg(s.dst);
    this.memAccess(s.dst, dst, s.off, size, true, -1, isX ? val : constRegImm(s.imm), false, !isX);
  }

  atomic(s: Slot): void {
    const size = [4, 2, 1, 8][(s.code >> 3) & 3]!;
    const imm = s.imm;
    const rmw = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];
    if (imm === 0x100) {
      // load-acquire
      const src = this.readReg(s.src);
      this.checkDst(s.dst);
      this.regs[s.dst] = this.memAccess(s.src, src, s.off, size, false, s.dst, undefined, false);
      return;
    }
    if (imm === 0x110) {
      const v = this.readReg(s.src);
      const d = this.readReg(s.dst);
      this.memAccess(s.dst, d, s.off, size, true, -1, v, false);
      return;
    }
    if (!rmw.includes(imm)) throw reject(`BPF_ATOMIC uses invalid atomic opcode ${(imm & 0xff).toString(16).padStart(2, '0')}`, 'structure');
    if (size !== 4 && size !== 8) throw reject('invalid atomic operand size', 'structure');
    this.readReg(s.src);
    const d = this.readReg(s.dst);
    if (imm === 0xf1) this.readReg(0);
    if (d.t === RT.CTX || isPkt(d.t) || d.t === RT.SOCK || d.t === RT.SOCK_COMMON) {
      throw reject(`BPF_ATOMIC stores into R${s.dst} ${typeName(d)} is not allowed`, 'pointer');
    }
    const loadReg = imm & 1 ? (imm === 0xf1 ? 0 : s.src) : -1;
    if (loadReg >= 0) this.checkDst(loadReg);
    this.memAccess(s.dst, d, s.off, size, false, -1, undefined, false);
    const loaded = loadReg >= 0 ? this.memAccess(s.dst, d, s.off, size, false, loadReg, undefined, false) : undefined;
    this.memAccess(s.dst, d, s.off, size, true, -1, UNKNOWN, false);
    if (loadReg >= 0) this.regs[loadReg] = loaded && loaded.t === RT.SCALAR ? loaded : UNKNOWN;
  }

  /**
   * check_mem_access: a load (returns the loaded value) or store of `size`
   * bytes at `reg + off`.
   */
  memAccess(regno: number, reg: Reg, insnOff: number, size: number, write: boolean, dstReg: number, value: Reg | undefined, sx: boolean, isSt = false): Reg {
    if (reg.t === RT.OPAQUE) return OPAQUE_REG;
    // Alignment: only the stack is strict on this architecture.
    if (reg.t === RT.STACK) {
      if (stackMisaligned(reg, reg.off + insnOff, size)) throw reject(`misaligned stack access off ${tnumC(reg.vo)}+${reg.off}+${insnOff} size ${size}`, 'stack');
    }
    const off = insnOff + reg.off;
    let result: Reg = UNKNOWN;
    switch (reg.t) {
      case RT.MAP_VALUE: {
        const m = this.maps[reg.map];
        const vs = m?.valueSize ?? 0;
        this.mapRegion(regno, reg, off, size, vs, 'map value');
        result = UNKNOWN;
        break;
      }
      case RT.RINGBUF_MEM:
        this.mapRegion(regno, reg, off, size, reg.range, 'memory');
        break;
      case RT.CTX: {
        if (reg.off < 0) throw reject(`negative offset ctx ptr R${regno} off=${reg.off} disallowed`, 'ctx');
        if (reg.off) throw reject(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`, 'ctx');
        if (!isConst(reg) || reg.vo.value !== 0n) throw reject(`variable ctx access var_off=${tnumC(reg.vo)} disallowed`, 'ctx');
        if (!this.ctx) return write ? UNKNOWN : OPAQUE_REG;
        const r = this.ctx.check({ off, size, write, signExtend: sx });
        if (!r.ok) throw reject(`invalid bpf_context access off=${off} size=${size}`, 'ctx');
        if (!write) {
          switch (r.loadType) {
            case 'pkt': result = ptrReg(RT.PKT); break;
            case 'pkt_end': result = ptrReg(RT.PKT_END); break;
            case 'pkt_meta': result = ptrReg(RT.PKT_META); break;
            case 'sock': result = ptrReg(RT.SOCK); break;
            case 'sock_common_or_null': result = ptrReg(RT.SOCK_COMMON_OR_NULL, { id: this.newId() }); break;
            default: result = UNKNOWN;
          }
        }
        break;
      }
      case RT.STACK:
        return this.stackAccess(regno, reg, off, size, write, dstReg, value, sx, isSt);
      case RT.PKT:
      case RT.PKT_META:
        if (write && !this.pkt.write) throw reject('cannot write into packet', 'packet');
        this.pktAccess(regno, reg, off, size, false);
        break;
      case RT.SOCK:
      case RT.SOCK_COMMON:
        if (write) throw reject(`R${regno} cannot write into ${typeName(reg)}`, 'pointer');
        break;
      case RT.MAP_PTR:
        if (write) throw reject(`R${regno} invalid mem access '${typeName(reg)}'`, 'pointer');
        return OPAQUE_REG;
      default:
        throw reject(`R${regno} invalid mem access '${typeName(reg)}'`, reg.t === RT.SCALAR ? 'pointer' : isNullable(reg.t) ? 'null_check' : 'pointer');
    }
    if (write) return UNKNOWN;
    if (result.t === RT.SCALAR && size < 8) return sx ? signExtend(result, size) : truncate(result, size);
    return result;
  }

  /** check_mem_region_access / check_map_access (constant offsets take the same path). */
  mapRegion(regno: number, reg: Reg, off: number, size: number, memSize: number, what: 'map value' | 'memory'): void {
    const rule = what === 'memory' ? 'reference' : 'map_value';
    const first = (o: bigint): string | undefined =>
      o < 0n || o + BigInt(size) > BigInt(memSize)
        ? `invalid access to ${what}, ${what === 'memory' ? 'mem_size' : 'value_size'}=${memSize} off=${o} size=${size}`
        : undefined;
    const o = BigInt(off);
    if (reg.smin < 0n && (reg.smin === S64_MIN || o + reg.smin !== s32b(o + reg.smin) || reg.smin + o < 0n)) {
      throw reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, rule);
    }
    const lo = first(reg.smin + o);
    if (lo) throw new Reject(`R${regno} min value is outside of the allowed memory range`, rule, HINTS[rule]!, lo);
    if (reg.umax >= BigInt(BPF_MAX_VAR_OFF)) {
      throw reject(`R${regno} unbounded memory access, make sure to bounds check any such access`, rule);
    }
    const hi = first(reg.umax + o);
    if (hi) throw new Reject(`R${regno} max value is outside of the allowed memory range`, rule, HINTS[rule]!, hi);
  }

  /** check_packet_access. */
  pktAccess(regno: number, reg: Reg, off: number, size: number, zeroOk: boolean): void {
    if (reg.smin < 0n) throw reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, 'packet');
    if (off < 0 || (size === 0 && !zeroOk) || off + size > reg.range) {
      throw new Reject(
        `R${regno} offset is outside of the packet`,
        'packet',
        HINTS.packet!,
        `invalid access to packet, off=${off} size=${size}, R${regno}(id=${reg.id},off=${reg.off},r=${reg.range})`,
      );
    }
  }

  // ---- stack ------------------------------------------------------------------

  stackBounds(regno: number, reg: Reg, off: number, size: number, kind: string): [number, number] {
    let minOff: number, maxOff: number;
    if (isConst(reg)) {
      minOff = Number(constValue(reg)) + off;
      maxOff = minOff + size;
    } else {
      if (reg.smax >= BigInt(BPF_MAX_VAR_OFF) || reg.smin <= -BigInt(BPF_MAX_VAR_OFF)) {
        throw reject(`invalid unbounded variable-offset${kind} stack R${regno}`, 'stack');
      }
      minOff = Number(reg.smin) + off;
      maxOff = Number(reg.smax) + off + size;
    }
    if (minOff < -MAX_BPF_STACK || minOff > -1 || maxOff > 0 || size < 0) {
      if (isConst(reg)) throw reject(`invalid${kind} stack R${regno} off=${minOff} size=${size}`, 'stack');
      throw reject(`invalid variable-offset${kind} stack R${regno} var_off=${tnumC(reg.vo)} off=${off} size=${size}`, 'stack');
    }
    return [minOff, maxOff];
  }

  stackFrame(reg: Reg): Frame {
    return this.st.frames[reg.frame] ?? this.frame;
  }

  stackAccess(regno: number, reg: Reg, off: number, size: number, write: boolean, dstReg: number, value: Reg | undefined, sx: boolean, isSt: boolean): Reg {
    const [minOff, maxOff] = this.stackBounds(regno, reg, off, size, write ? ' write to' : ' read from');
    const fr = this.stackFrame(reg);
    if (!isConst(reg)) {
      // Variable offset: reads give unknown scalars; writes make every byte they may touch misc.
      if (write) this.markMisc(fr, minOff, maxOff);
      return UNKNOWN;
    }
    const k = (minOff + MAX_BPF_STACK) >> 3;
    const b = (minOff + MAX_BPF_STACK) & 7;
    const slot = fr.stk[k] ?? INVALID_SLOT;
    if (write) {
      const v = value ?? UNKNOWN;
      if (b === 0 && v.t === RT.SCALAR) {
        // Scalar spill (also BPF_ST immediates), any size, at a slot start.
        if (size === 8) {
          fr.stk[k] = { b: 'ssssssss', spill: v };
          return UNKNOWN;
        }
        const fits = v.umax < 1n << BigInt(size * 8) && v.smin >= 0n;
        fr.stk[k] = { b: SPILL_BYTES[size]! + scrubSpill(slot.b.slice(size)), spill: fits ? v : withId(truncate(v, size), 0) };
        return UNKNOWN;
      }
      if (v.t !== RT.SCALAR && v.t !== RT.NOT_INIT && !isSt) {
        if (size !== 8) throw reject('invalid size of register spill', 'stack');
        if (reg.frame !== this.st.frames.length - 1 && v.t === RT.STACK) {
          throw reject('cannot spill pointers to stack into stack frame of the caller', 'stack');
        }
        fr.stk[k] = { b: 'ssssssss', spill: v };
        return UNKNOWN;
      }
      // Plain data write: scrub a spilled slot, then mark the bytes.
      let bytes = slot.b;
      if (bytes[0] === 's') bytes = scrubAll(bytes);
      const zero = v.t === RT.SCALAR && isConst(v) && v.vo.value === 0n;
      const ch = zero ? '0' : 'm';
      bytes = size === 8 && b === 0 ? (zero ? ZERO_BYTES : MISC_BYTES) : bytes.slice(0, b) + ch.repeat(size) + bytes.slice(b + size);
      fr.stk[k] = { b: bytes };
      return UNKNOWN;
    }
    // Read.
    if (slot.b[0] === 's' && slot.spill) {
      let spillSize = 1;
      while (spillSize < 8 && slot.b[spillSize] === 's') spillSize++;
      const sp = slot.spill;
      if (size !== 8 || spillSize !== 8) {
        if (sp.t !== RT.SCALAR) throw reject('invalid size of register fill', 'stack');
        if (size <= spillSize && b === 0) {
          const r = truncate(sp, size);
          return sx ? signExtend(r, size) : r;
        }
        let spillCnt = 0;
        let zeroCnt = 0;
        for (let i = 0; i < size; i++) {
          const c = slot.b[b + i];
          if (c === 's') spillCnt++;
          else if (c === '0') zeroCnt++;
        }
        if ((spillCnt === size && isConst(sp) && sp.vo.value === 0n) || zeroCnt === size) return constReg(0n);
        return sx ? signExtend(UNKNOWN, size) : truncate(UNKNOWN, size);
      }
      if (dstReg < 0) return sp.t === RT.SCALAR ? sp : UNKNOWN;
      return sp;
    }
    let allZero = true;
    for (let i = 0; i < size; i++) if (slot.b[b + i] !== '0') allZero = false;
    if (allZero) return constReg(0n);
    return sx ? signExtend(UNKNOWN, size) : truncate(UNKNOWN, size);
  }

  markMisc(fr: Frame, minOff: number, maxOff: number): void {
    for (let o = minOff; o < maxOff; o++) {
      const k = (o + MAX_BPF_STACK) >> 3;
      const b = (o + MAX_BPF_STACK) & 7;
      const slot = fr.stk[k] ?? INVALID_SLOT;
      let bytes = slot.b;
      if (bytes[0] === 's') bytes = scrubAll(bytes);
      bytes = bytes.slice(0, b) + 'm' + bytes.slice(b + 1);
      fr.stk[k] = { b: bytes };
    }
  }

  // ---- lddw and legacy packet loads ------------------------------------------------

  lddw(s: Slot, idx: number): void {
    this.checkDst(s.dst);
    const regs = this.regs;
    if (s.src === 0) {
      regs[s.dst] = constReg((BigInt(s.hi ?? 0) << 32n) | BigInt(s.imm >>> 0));
      return;
    }
    if (s.src === 1 || s.src === 5) {
      regs[s.dst] = ptrReg(RT.MAP_PTR, { map: this.mapIndex[idx]! });
      return;
    }
    if (s.src === 2 || s.src === 6) {
      regs[s.dst] = ptrReg(RT.MAP_VALUE, { map: this.mapIndex[idx]!, off: (s.hi ?? 0) >>> 0 });
      return;
    }
    regs[s.dst] = OPAQUE_REG;
  }

  ldAbs(s: Slot): void {
    const t = this.input.progType;
    if (t !== ProgType.BPF_PROG_TYPE_SOCKET_FILTER && t !== ProgType.BPF_PROG_TYPE_SCHED_CLS && t !== ProgType.BPF_PROG_TYPE_SCHED_ACT) {
      throw reject('BPF_LD_[ABS|IND] instructions not allowed for this program type', 'structure');
    }
    const mode = s.code & 0xe0;
    if (s.dst !== 0 || s.off !== 0 || (s.code & 0x18) === 0x18 || (mode === 0x20 && s.src !== 0)) {
      throw reject('BPF_LD_[ABS|IND] uses reserved fields', 'structure');
    }
    const r6 = this.readReg(6);
    if (this.st.refs.length) throw reject('BPF_LD_[ABS|IND] would lead to reference leak', 'reference');
    if (r6.t !== RT.CTX) throw reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb', 'structure');
    if (mode === 0x40) this.readReg(s.src);
    if (r6.off) throw reject(`dereference of modified ctx ptr R6 off=${r6.off} disallowed`, 'ctx');
    const regs = this.regs;
    for (let i = 1; i <= 5; i++) regs[i] = NOT_INIT;
    regs[0] = UNKNOWN;
  }

  // ---- jumps, calls, exit ---------------------------------------------------------

  jmp(s: Slot, idx: number, is32: boolean, fork: (target: number, st: State) => void): number | 'exit' {
    const op = (s.code >> 4) as J;
    this.jumps++;
    const isX = (s.code & 8) !== 0;
    if (op === J.JA) {
      if (isX || s.src !== 0 || s.dst !== 0 || (!is32 && s.imm !== 0) || (is32 && s.off !== 0)) {
        throw reject('BPF_JA uses reserved fields', 'structure');
      }
      return jumpTarget(s, idx);
    }
    if (op === J.CALL) {
      if (isX || (s.src !== 2 && s.off !== 0) || (s.src !== 0 && s.src !== 1 && s.src !== 2) || s.dst !== 0 || is32) {
        throw reject('BPF_CALL uses reserved fields', 'structure');
      }
      if (isPseudoCall(s)) return this.callLocal(s, idx);
      if (s.src === 2) {
        const regs = this.regs;
        for (let i = 1; i <= 5; i++) regs[i] = NOT_INIT;
        regs[0] = OPAQUE_REG;
        return idx + 1;
      }
      this.callHelper(s.imm, idx);
      return idx + 1;
    }
    if (op === J.EXIT) {
      if (isX || s.imm !== 0 || s.src !== 0 || s.dst !== 0 || is32) throw reject('BPF_EXIT uses reserved fields', 'structure');
      return this.exit();
    }
    if (op === J.JCOND) {
      // may_goto: both ways.
      fork(jumpTarget(s, idx), copyState(this.st));
      return idx + 1;
    }
    if (op > J.JSLE) throw reject(`invalid BPF_JMP/JMP32 opcode ${(op << 4).toString(16)}`, 'structure');
    let src: Reg;
    if (isX) {
      if (s.imm !== 0) throw reject('BPF_JMP/JMP32 uses reserved fields', 'structure');
      src = this.readReg(s.src);
    } else {
      if (s.src !== 0) throw reject('BPF_JMP/JMP32 uses reserved fields', 'structure');
      src = constRegImm(s.imm);
    }
    const dst = this.readReg(s.dst);
    const target = jumpTarget(s, idx);
    const w: 32 | 64 = is32 ? 32 : 64;
    // Decide the branch when possible.
    let taken: 1 | 0 | -1 = -1;
    if (dst.t === RT.SCALAR && src.t === RT.SCALAR) taken = branchTaken(op, dst, src, w);
    else if (!is32 && !isX && s.imm === 0 && (op === J.JEQ || op === J.JNE) && NOT_NULL.has(dst.t)) {
      taken = op === J.JEQ ? 0 : 1;
    }
    if (taken === 1) return target;
    if (taken === 0) return idx + 1;
    const other = copyState(this.st);
    // Refinement in both states: `this.st` is the fall-through (condition false), `other` the jump.
    const okFall = this.refineBranch(this.st, s, op, is32, false);
    const okJump = this.refineBranch(other, s, op, is32, true);
    if (okJump && okFall) {
      fork(target, other);
      return idx + 1;
    }
    if (okJump) {
      this.st = other;
      return target;
    }
    if (okFall) return idx + 1;
    // Both impossible: the kernel would treat one as taken; keep the fall-through.
    return idx + 1;
  }

  /** Narrows state `st` given that the jump is taken (`taken`) or not; false when impossible. */
  refineBranch(st: State, s: Slot, op: J, is32: boolean, taken: boolean): boolean {
    const fr = st.frames[st.frames.length - 1]!;
    const regs = fr.regs;
    const isX = (s.code & 8) !== 0;
    const dst = regs[s.dst]!;
    const src = isX ? regs[s.src]! : constRegImm(s.imm);
    // Null checks.
    if (!is32 && !isX && s.imm === 0 && (op === J.JEQ || op === J.JNE) && isNullable(dst.t)) {
      const isNull = (op === J.JEQ) === taken;
      this.markNull(st, dst.id, isNull);
      return true;
    }
    // Packet pointer comparisons.
    if (!is32 && isX) {
      if (this.pktCompare(st, s, op, dst, src, taken)) return true;
    }
    if (dst.t !== RT.SCALAR || src.t !== RT.SCALAR) return true;
    const cond = taken ? op : op === J.JSET ? J.JSET : negate(op);
    const r = refine(cond, dst, src, is32 ? 32 : 64, op === J.JSET && !taken);
    if (!r) return false;
    const [nd, ns] = r;
    // Unchanged and unlinked: nothing to write.
    if (nd !== dst || dst.id) this.setLinked(st, s.dst, nd.id === dst.id ? nd : withId(nd, dst.id));
    if (isX && (ns !== src || src.id)) this.setLinked(st, s.src, ns.id === src.id ? ns : withId(ns, src.id));
    return true;
  }

  /** Writes a refined scalar to a register and to every register and spill linked to it by id. */
  setLinked(st: State, regno: number, v: Reg): void {
    const fr = st.frames[st.frames.length - 1]!;
    fr.regs[regno] = v;
    if (!v.id) return;
    for (const f of st.frames) {
      for (let i = 0; i < 11; i++) if (f.regs[i]!.t === RT.SCALAR && f.regs[i]!.id === v.id) f.regs[i] = v;
      for (let k = 0; k < f.stk.length; k++) {
        const sl = f.stk[k];
        if (sl?.spill && sl.spill.t === RT.SCALAR && sl.spill.id === v.id && sl.b === 'ssssssss') f.stk[k] = { b: sl.b, spill: v };
      }
    }
  }

  markNull(st: State, id: number, isNull: boolean): void {
    if (!id) return;
    let refId = 0;
    const upd = (r: Reg): Reg => {
      if (!isNullable(r.t) || r.id !== id) return r;
      if (isNull) {
        if (r.ref) refId = r.ref;
        return constReg(0n);
      }
      if (r.t === RT.MAP_VALUE_OR_NULL && this.innerOf.has(r.map) && r.range === -1) {
        return ptrReg(RT.MAP_PTR, { map: this.innerOf.get(r.map)! });
      }
      return withFields(r, { t: nonNull(r.t), range: r.t === RT.RINGBUF_MEM_OR_NULL ? r.range : 0 });
    };
    for (const f of st.frames) {
      for (let i = 0; i < 11; i++) f.regs[i] = upd(f.regs[i]!);
      for (let k = 0; k < f.stk.length; k++) {
        const sl = f.stk[k];
        if (sl?.spill && isNullable(sl.spill.t)) f.stk[k] = { b: sl.b, spill: upd(sl.spill) };
      }
    }
    if (isNull && refId) st.refs = st.refs.filter((r) => r.id !== refId);
  }

  /** try_match_pkt_pointers: a comparison of a packet pointer with pkt_end grants a range on one side. */
  pktCompare(st: State, s: Slot, op: J, dst: Reg, src: Reg, taken: boolean): boolean {
    let ptr: Reg;
    let ptrIsDst: boolean;
    if ((dst.t === RT.PKT && src.t === RT.PKT_END) || (dst.t === RT.PKT_META && src.t === RT.PKT)) {
      ptr = dst;
      ptrIsDst = true;
    } else if ((dst.t === RT.PKT_END && src.t === RT.PKT) || (dst.t === RT.PKT && src.t === RT.PKT_META)) {
      ptr = src;
      ptrIsDst = false;
    } else return false;
    // Normalise to "ptr OP end" holding on this branch.
    let cond: J = taken ? op : negate(op);
    if (op === J.JSET || op === J.JEQ || op === J.JNE || op >= J.JSGT && op <= J.JSGE || op >= J.JSLT) return true;
    if (!ptrIsDst) {
      cond = cond === J.JGT ? J.JLT : cond === J.JLT ? J.JGT : cond === J.JGE ? J.JLE : cond === J.JLE ? J.JGE : cond;
    }
    let range: number;
    if (cond === J.JLE) range = ptr.off; // ptr' <= end: [0, off) valid
    else if (cond === J.JLT) range = ptr.off + 1; // ptr' < end
    else return true;
    if (ptr.off < 0 || (ptr.off === 0 && cond === J.JLE)) return true;
    if (ptr.umax > BigInt(MAX_PACKET_OFF) || ptr.umax + BigInt(ptr.off) > BigInt(MAX_PACKET_OFF)) return true;
    const t = ptr.t;
    for (const f of st.frames) {
      for (let i = 0; i < 11; i++) {
        const r = f.regs[i]!;
        if (r.t === t && r.id === ptr.id && r.range < range) f.regs[i] = withFields(r, { range });
      }
      for (let k = 0; k < f.stk.length; k++) {
        const sl = f.stk[k];
        if (sl?.spill && sl.spill.t === t && sl.spill.id === ptr.id && sl.spill.range < range) {
          f.stk[k] = { b: sl.b, spill: withFields(sl.spill, { range }) };
        }
      }
    }
    return true;
  }

  callLocal(s: Slot, idx: number): number {
    if (this.st.frames.length >= MAX_CALL_FRAMES) {
      throw reject(`the call stack of ${this.st.frames.length + 1} frames is too deep !`, 'structure');
    }
    const caller = this.frame;
    const regs: Reg[] = new Array(11).fill(NOT_INIT);
    for (let i = 1; i <= 5; i++) regs[i] = caller.regs[i]!;
    regs[10] = ptrReg(RT.STACK, { frame: this.st.frames.length });
    this.st.frames.push({ regs, stk: [], callsite: idx });
    return idx + s.imm + 1;
  }

  exit(): number | 'exit' {
    const st = this.st;
    if (st.frames.length > 1) {
      const callee = st.frames.pop()!;
      const caller = this.frame;
      const r0 = callee.regs[0]!;
      if (r0.t === RT.NOT_INIT) throw reject('R0 !read_ok', 'uninit');
      caller.regs[0] = r0;
      for (let i = 1; i <= 5; i++) caller.regs[i] = NOT_INIT;
      return callee.callsite + 1;
    }
    if (st.refs.length) {
      const r = st.refs[0]!;
      throw reject(`Unreleased reference id=${r.id} alloc_insn=${r.insn}`, 'reference');
    }
    const r0 = this.readReg(0);
    const range = this.retRange;
    if (!range || r0.t === RT.OPAQUE) return 'exit';
    if (r0.t !== RT.SCALAR) throw reject(`At program exit the register R0 is not a known value (${typeName(r0)})`, 'return');
    if (r0.smin < BigInt(range[0]) || r0.smax > BigInt(range[1])) {
      let msg = 'At program exit the register R0 has';
      let unknown = true;
      if (r0.smin > S64_MIN) {
        msg += ` smin=${r0.smin}`;
        unknown = false;
      }
      if (r0.smax < S64_MAX) {
        msg += ` smax=${r0.smax}`;
        unknown = false;
      }
      if (unknown) msg += ' unknown scalar value';
      throw reject(`${msg} should have been in [${range[0]}, ${range[1]}]`, 'return');
    }
    return 'exit';
  }

  // ---- helpers ---------------------------------------------------------------------

  callHelper(id: number, idx: number): void {
    const name = kernelHelperName(id);
    if (id < 1 || id > 211) throw reject(`invalid func ${name}#${id}`, 'helper');
    if (this.helpers && !this.helpers.has(id)) throw reject(`program of this type cannot use helper ${name}#${id}`, 'helper');
    if (this.input.gpl === false && isGplOnly(id)) throw reject('cannot call GPL-restricted function from non-GPL compatible program', 'helper');
    const proto = helperProto(id);
    const regs = this.regs;
    if (!proto) {
      for (let i = 1; i <= 5; i++) regs[i] = NOT_INIT;
      regs[0] = OPAQUE_REG;
      return;
    }
    const meta = { map: -1, memReg: -1, releaseRef: 0, allocSize: 0, constKey: -1 };
    for (let a = 0; a < proto.args.length; a++) this.checkArg(proto, proto.args[a]!, a + 1, meta);
    // Map/helper compatibility.
    if (meta.map >= 0) {
      const m = this.maps[meta.map]!;
      const allowed = MAP_FUNCS.get(m.type);
      const needs = FUNC_MAPS.get(id);
      if (id === 12 && m.type !== MapType.BPF_MAP_TYPE_PROG_ARRAY) throw reject('expected prog array map for tail call', 'map');
      if ((allowed && !allowed.has(id)) || (needs && !needs.has(m.type))) {
        throw reject(`cannot pass map_type ${m.type} into func ${name}#${id}`, 'map');
      }
    }
    if (id === 12 && this.st.refs.length) throw reject('tail_call would lead to reference leak', 'reference');
    if (meta.releaseRef) this.releaseRef(meta.releaseRef);
    if (proto.changesPkt) this.clearPkt();
    for (let i = 1; i <= 5; i++) regs[i] = NOT_INIT;
    switch (proto.ret) {
      case 'integer':
        // do_refine_retval_range: the CPU id is below nr_cpu_ids.
        regs[0] = id === 8 ? scalarFrom({ umin: 0n, umax: BigInt(this.nrCpus - 1), smin: 0n, smax: BigInt(this.nrCpus - 1) }) : UNKNOWN;
        break;
      case 'void':
        regs[0] = NOT_INIT;
        break;
      case 'map_value_or_null': {
        const inner = this.innerOf.get(meta.map);
        const m = this.maps[meta.map];
        // can_elide_value_nullness: an array lookup with a constant in-range key cannot fail,
        // unless the map is BPF_F_INNER_MAP (inner maps of other sizes may replace it; the
        // kernel keeps the null check then, checked against 6.18 directly and through map-in-map).
        const elide =
          m && (m.type === MapType.BPF_MAP_TYPE_ARRAY || m.type === MapType.BPF_MAP_TYPE_PERCPU_ARRAY) &&
          ((m.flags ?? 0) & MapFlags.BPF_F_INNER_MAP) === 0 && meta.constKey >= 0 && meta.constKey < m.maxEntries;
        if (elide) {
          regs[0] = ptrReg(RT.MAP_VALUE, { map: meta.map });
          break;
        }
        regs[0] = ptrReg(RT.MAP_VALUE_OR_NULL, { map: meta.map, id: this.newId(), range: inner !== undefined ? -1 : 0 });
        break;
      }
      case 'socket_or_null':
      case 'sock_common_or_null':
      case 'ringbuf_mem_or_null': {
        const t = proto.ret === 'socket_or_null' ? RT.SOCK_OR_NULL : proto.ret === 'sock_common_or_null' ? RT.SOCK_COMMON_OR_NULL : RT.RINGBUF_MEM_OR_NULL;
        const rid = this.newId();
        this.st.refs = [...this.st.refs, { id: rid, insn: idx }];
        regs[0] = ptrReg(t, { id: rid, ref: rid, range: t === RT.RINGBUF_MEM_OR_NULL ? meta.allocSize : 0 });
        break;
      }
    }
  }

  releaseRef(ref: number): void {
    const st = this.st;
    st.refs = st.refs.filter((r) => r.id !== ref);
    for (const f of st.frames) {
      for (let i = 0; i < 11; i++) if (f.regs[i]!.ref === ref) f.regs[i] = UNKNOWN;
      for (let k = 0; k < f.stk.length; k++) {
        const sl = f.stk[k];
        if (sl?.spill && sl.spill.ref === ref) f.stk[k] = { b: sl.b, spill: UNKNOWN };
      }
    }
  }

  clearPkt(): void {
    for (const f of this.st.frames) {
      for (let i = 0; i < 11; i++) {
        const t = f.regs[i]!.t;
        if (t === RT.PKT || t === RT.PKT_META || t === RT.PKT_END) f.regs[i] = UNKNOWN;
      }
      for (let k = 0; k < f.stk.length; k++) {
        const sl = f.stk[k];
        if (sl?.spill && (sl.spill.t === RT.PKT || sl.spill.t === RT.PKT_META || sl.spill.t === RT.PKT_END)) {
          f.stk[k] = { b: sl.b, spill: UNKNOWN };
        }
      }
    }
  }

  /** check_func_arg. */
  checkArg(proto: HelperProto, kind: ArgKind, regno: number, meta: { map: number; memReg: number; releaseRef: number; allocSize: number; constKey: number }): void {
    const reg = this.readReg(regno);
    if (kind === 'anything') return;
    if (reg.t === RT.OPAQUE) {
      if (kind === 'const_map_ptr') meta.map = -1;
      return;
    }
    if (isPkt(reg.t) && !(this.pkt.read && proto.pktAccess)) throw reject('helper access to the packet is not allowed', 'helper');
    const typeErr = () => reject(`R${regno} type=${typeName(reg)} expected=${ARG_EXPECTED[kind]}`, isNullable(reg.t) ? 'null_check' : 'helper');
    const isNullConst = reg.t === RT.SCALAR && isConst(reg) && reg.vo.value === 0n;
    const memTypes = (t: RT) => t === RT.STACK || t === RT.PKT || t === RT.PKT_META || t === RT.MAP_VALUE || t === RT.RINGBUF_MEM;
    switch (kind) {
      case 'const_map_ptr':
        if (reg.t !== RT.MAP_PTR) throw typeErr();
        meta.map = reg.map;
        return;
      case 'ctx':
        if (reg.t !== RT.CTX) throw typeErr();
        if (reg.off < 0) throw reject(`negative offset ctx ptr R${regno} off=${reg.off} disallowed`, 'ctx');
        if (reg.off) throw reject(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`, 'ctx');
        if (!isConst(reg) || reg.vo.value !== 0n) throw reject(`variable ctx access var_off=${tnumC(reg.vo)} disallowed`, 'ctx');
        return;
      case 'map_key':
      case 'map_value': {
        if (!(reg.t === RT.STACK || reg.t === RT.PKT || reg.t === RT.PKT_META || reg.t === RT.MAP_VALUE)) throw typeErr();
        if (meta.map < 0) return; // opaque map
        const m = this.maps[meta.map]!;
        this.helperMem(regno, reg, kind === 'map_key' ? m.keySize : m.valueSize, false, false);
        if (kind === 'map_key') meta.constKey = this.constKey(reg, m.keySize);
        return;
      }
      case 'mem':
      case 'mem_or_null':
      case 'uninit_mem':
        if (kind === 'mem_or_null' && isNullConst) {
          meta.memReg = regno;
          return;
        }
        if (!memTypes(reg.t)) throw typeErr();
        meta.memReg = regno;
        return;
      case 'const_size':
      case 'const_size_or_zero': {
        if (reg.t !== RT.SCALAR) throw typeErr();
        const zeroOk = kind === 'const_size_or_zero';
        if (reg.smin < 0n) throw reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`, 'helper');
        if (reg.umin === 0n && !zeroOk) throw reject(`R${regno} invalid zero-sized read: u64=[${reg.umin},${reg.umax}]`, 'helper');
        if (reg.umax >= BPF_MAX_VAR_SIZ) throw reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`, 'helper');
        const memReg = regno - 1;
        const mem = this.regs[memReg]!;
        const write = proto.args[memReg - 1] === 'uninit_mem';
        if (mem.t === RT.OPAQUE) return;
        if (mem.t === RT.SCALAR) {
          if (zeroOk && reg.umax === 0n && isConst(mem) && mem.vo.value === 0n) return;
          throw reject(`R${memReg} type=${typeName(mem)} expected=fp`, 'helper');
        }
        this.helperMem(memReg, mem, Number(reg.umax), write, zeroOk);
        return;
      }
      case 'const_alloc_size_or_zero':
        if (reg.t !== RT.SCALAR) throw typeErr();
        if (!isConst(reg)) throw reject(`R${regno} is not a known constant'`, 'helper');
        meta.allocSize = Number(reg.vo.value);
        return;
      case 'sock_common_release':
        if (reg.t !== RT.SOCK && reg.t !== RT.SOCK_COMMON) throw typeErr();
        if (!reg.ref) throw reject(`R${regno} must be referenced when passed to release function`, 'reference');
        meta.releaseRef = reg.ref;
        return;
      case 'ringbuf_mem_release':
        if (reg.t !== RT.RINGBUF_MEM) throw typeErr();
        if (reg.off || !isConst(reg) || reg.vo.value !== 0n) throw reject(`R${regno} must have zero offset when passed to release func`, 'reference');
        if (!reg.ref) throw reject(`R${regno} must be referenced when passed to release function`, 'reference');
        meta.releaseRef = reg.ref;
        return;
    }
  }

  /** get_constant_map_key: the key's value when the stack holds a known constant of the key's size, else -1. */
  constKey(reg: Reg, keySize: number): number {
    if (reg.t !== RT.STACK || !isConst(reg)) return -1;
    const o = reg.off + Number(constValue(reg));
    if (o < -MAX_BPF_STACK || o >= 0) return -1;
    const slot = this.stackFrame(reg).stk[(o + MAX_BPF_STACK) >> 3] ?? INVALID_SLOT;
    const b = (o + MAX_BPF_STACK) & 7;
    let zero = 0;
    for (let i = b; i < 8 && slot.b[i] === '0'; i++) zero++;
    if (zero >= keySize) return 0;
    if (slot.b[0] !== 's' || !slot.spill || slot.spill.t !== RT.SCALAR) return -1;
    let spill = 0;
    for (let i = b; i < 8 && slot.b[i] === 's'; i++) spill++;
    if (spill !== keySize || !isConst(slot.spill)) return -1;
    const v = slot.spill.vo.value;
    return v > 0x7fffffffn ? -1 : Number(v);
  }

  /** check_helper_mem_access. */
  helperMem(regno: number, reg: Reg, size: number, write: boolean, zeroOk: boolean): void {
    switch (reg.t) {
      case RT.PKT:
      case RT.PKT_META:
        this.pktAccess(regno, reg, reg.off, size, zeroOk);
        return;
      case RT.MAP_VALUE: {
        const vs = this.maps[reg.map]?.valueSize ?? 0;
        if (size === 0 && zeroOk) return;
        this.mapRegion(regno, reg, reg.off, size, vs, 'map value');
        return;
      }
      case RT.RINGBUF_MEM:
        if (size === 0 && zeroOk) return;
        this.mapRegion(regno, reg, reg.off, size, reg.range, 'memory');
        return;
      case RT.STACK: {
        if (size === 0 && zeroOk) return;
        const [minOff, maxOff] = this.stackBounds(regno, reg, reg.off, size, write ? ' write to' : ' read from');
        const fr = this.stackFrame(reg);
        if (write) this.markMisc(fr, minOff, maxOff);
        return;
      }
      default:
        return;
    }
  }
}

/** Thrown by `visit` for an identical state still being explored. */
class LoopReject extends Reject {
  constructor(idx: number) {
    super(`infinite loop detected at insn ${idx}`, 'loop', HINTS.loop!);
  }
}

function mapId(ids: Map<number, number>, a: number, b: number): boolean {
  if (a === 0 && b === 0) return true;
  if (a === 0 || b === 0) return false;
  const m = ids.get(a);
  if (m === undefined) {
    ids.set(a, b);
    return true;
  }
  return m === b;
}

/** regsafe: `old` (explored, safe) contains `cur`. */
function regWithin(old: Reg, cur: Reg, ids: Map<number, number>, exact: boolean): boolean {
  if (old === cur) return true;
  if (!exact && old.t === RT.NOT_INIT) return true;
  if (old.t !== cur.t) return false;
  switch (old.t) {
    case RT.NOT_INIT:
    case RT.OPAQUE:
      return true;
    case RT.SCALAR:
      return exact ? scalarEqual(old, cur) : scalarWithin(old, cur);
    default:
      if (old.off !== cur.off || old.map !== cur.map || old.frame !== cur.frame) return false;
      if (old.t === RT.PKT || old.t === RT.PKT_META) {
        if (exact ? old.range !== cur.range : old.range > cur.range) return false;
      } else if (old.range !== cur.range) return false;
      if (!mapId(ids, old.id, cur.id) || !mapId(ids, old.ref, cur.ref)) return false;
      return exact ? scalarEqual(old, cur) : scalarWithin(old, cur);
  }
}

function slotWithin(old: StackSlot, cur: StackSlot, ids: Map<number, number>, exact: boolean): boolean {
  for (let i = 0; i < 8; i++) {
    const o = old.b[i]!;
    const c = cur.b[i]!;
    if (o === 'i' && !exact) continue;
    if (o === 'm' && !exact && (c === 'm' || c === '0')) continue;
    if (o !== c) return false;
  }
  if (old.b[0] === 's') {
    if (!cur.spill || !old.spill) return false;
    return regWithin(old.spill, cur.spill, ids, exact);
  }
  return true;
}

/** Whether a `size`-byte access at stack pointer `reg` plus `off` may be misaligned (fp plus a constant, the usual case, in plain numbers). */
function stackMisaligned(reg: Reg, off: number, size: number): boolean {
  if (reg.vo.mask === 0n && reg.vo.value === 0n) return (off & (size - 1)) !== 0;
  const ro = tnumAdd(reg.vo, tnumConst(BigInt(off)));
  return ((ro.value | ro.mask) & BigInt(size - 1)) !== 0n;
}

/** Checks a program without the kernel. Never throws: bad input yields an `error` diagnostic. */
export function verify(input: VerifyInput, options: VerifyOptions = {}): VerifyResult {
  const t0 = performance.now();
  const diagnostics: Diagnostic[] = [];
  let processed = 0;
  const done = (): VerifyResult => {
    const durationUs = (performance.now() - t0) * 1000;
    const verdict = diagnostics.some((d) => d.severity === 'error') ? 'error' : diagnostics.length ? 'warning' : 'ok';
    return { verdict, diagnostics, insnsProcessed: processed, durationUs };
  };
  const err = (insn: number, message: string, rule: string, hint?: string, state?: string, source?: SourcePos) => {
    diagnostics.push({ severity: 'error', insn, message, rule, hint: hint ?? HINTS[rule] ?? '', state, source });
  };
  try {
    if (!input || typeof input !== 'object') {
      err(0, 'no program given', 'structure');
      return done();
    }
    let slots: Slot[];
    const raw = input.insns as unknown;
    if (raw instanceof Uint8Array) {
      if (raw.length % 8 !== 0) {
        err(Math.floor(raw.length / 8), `program length ${raw.length} is not a multiple of 8 bytes`, 'structure');
        return done();
      }
      slots = slotsFromBytes(raw);
    } else if (Array.isArray(raw)) {
      for (const i of raw) {
        if (!i || typeof i !== 'object' || typeof (i as { code?: unknown }).code !== 'number') {
          err(0, 'instruction list holds something that is not an instruction', 'structure');
          return done();
        }
      }
      slots = slotsFromInsns(raw as Parameters<typeof slotsFromInsns>[0]);
    } else {
      err(0, 'insns must be an instruction array or bytes', 'structure');
      return done();
    }
    if (typeof input.progType !== 'number') {
      err(0, 'progType must be a BPF_PROG_TYPE_* number', 'structure');
      return done();
    }
    const sourceOf = (i: number): SourcePos | undefined => input.sourceMap?.[i] ?? slots[i]?.source;
    if (slots.length === 0) {
      err(0, 'empty program (the kernel answers EINVAL)', 'structure');
      return done();
    }
    if (slots.length > COMPLEXITY_LIMIT_INSNS) {
      err(0, `program has ${slots.length} instructions; the limit is ${COMPLEXITY_LIMIT_INSNS} (the kernel answers E2BIG)`, 'structure');
      return done();
    }
    if (input.progType === ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR && !SOCK_ADDR_ATTACH_TYPES.has(input.expectedAttachType ?? -1)) {
      err(0, `invalid expected_attach_type ${input.expectedAttachType ?? 0} for cgroup sock_addr programs (the kernel answers EINVAL)`, 'structure');
      return done();
    }
    for (const m of input.maps ?? []) {
      const bad = !m || typeof m !== 'object' || ![m.type, m.keySize, m.valueSize, m.maxEntries].every((v) => Number.isInteger(v) && v >= 0);
      if (bad) {
        err(0, 'invalid map definition (type, keySize, valueSize and maxEntries must be non-negative integers)', 'map');
        return done();
      }
    }
    const w = new Walker(input, slots, options);
    const structure = checkStatic(slots, (s, i) => w.resolveMap(s, i));
    if ('message' in structure) {
      err(structure.insn, structure.message, structure.rule, undefined, undefined, sourceOf(structure.insn));
      return done();
    }
    w.prune = structure.prunePoints;
    const r = w.run();
    processed = w.processed;
    if (r.error) {
      const e = r.error;
      diagnostics.push({
        severity: 'error', insn: e.insn, message: e.r.extra ?? e.r.message, rule: e.r.rule, hint: e.r.hint,
        state: e.state, source: sourceOf(e.insn),
        ...(e.r.extra ? { detail: e.r.message } : {}),
      });
    } else if (r.warning) {
      diagnostics.push({ severity: 'warning', insn: w.idx, message: r.warning, rule: 'budget', hint: HINTS.budget! });
    } else if (processed > COMPLEXITY_LIMIT_INSNS / 2) {
      diagnostics.push({
        severity: 'warning', insn: 0, rule: 'budget', hint: HINTS.budget!,
        message: `processed ${processed} insns: more than half of the kernel's 1000000-instruction budget`,
      });
    }
  } catch (e) {
    // Never throw: an internal failure is reported as a warning (verifier-lite does not know).
    diagnostics.push({
      severity: 'warning', insn: 0, rule: 'internal', hint: 'verifier-lite could not analyse this program; the kernel decides',
      message: `verifier-lite internal error: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  return done();
}

