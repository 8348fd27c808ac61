/**
 * CO-RE ("compile once, run everywhere"): resolving the relocations clang
 * records in `.BTF.ext` against a target BTF (the running kernel's vmlinux)
 * and patching the instructions they point at, with the semantics libbpf
 * documents (Documentation/bpf/llvm_reloc.rst, libbpf's relo_core).
 *
 * - The local side: the relocation's root type in the object's BTF and its
 *   access string `0:1:2...` (first number: index into the root as an array;
 *   then member indexes of structs/unions, as the local type spells them,
 *   anonymous members included, or array indexes). For enum kinds the single
 *   number is the enumerator's index; for type kinds it is `0`.
 * - Candidates: target types of the same kind (ENUM and ENUM64 count as one)
 *   whose essential name (the name without a `___flavor` suffix) equals the
 *   local one. Fields are matched by name, descending through anonymous
 *   structs/unions of the target; field types must be compatible (any ints,
 *   enums of the same essential name, pointers, floats, structs with unions,
 *   arrays of compatible elements).
 * - Several matching candidates must agree on the value, else it is an error.
 *   TYPE_MATCHES checks the shape more strictly (see `typesMatch`).
 *   With no match, `*_EXISTS` and `TYPE_MATCHES` give 0; any other kind
 *   poisons the instruction: it becomes `call 0xbad2310`, an invalid helper,
 *   so the verifier rejects the program only if that code is reachable (the
 *   usual guard is `if (bpf_core_field_exists(...))`), as libbpf does.
 * - Patching: ALU/ALU64 with an immediate (`imm`), LDX/ST/STX (`off`; a load
 *   or store of a field whose size differs in the target is resized to 1, 2,
 *   4 or 8 bytes when that is safe: pointers, or unsigned ints; otherwise it is
 *   a `CoreRelocationError`, where libbpf would poison), or `lddw` (`imm64`).
 *   The instruction must hold the local value first.
 *
 * Pure: no kernel access.
 */
import { TsbpfError } from '../errors.js';
import { CallSrc, Class, JmpOp, LDDW, Size, Src, insnIndexBySlot, slotIndices, type Insn, type SourcePos } from '../isa/index.js';
import { MAX_RESOLVE_DEPTH, type Btf } from './btf.js';
import { CoreReloKind, type CoreRelo } from './ext.js';
import { BtfIntEncoding, type BtfMember, type BtfType } from './types.js';

/** The helper id a poisoned instruction calls (libbpf's 0xbad2310): no such helper exists. */
export const CORE_POISON_HELPER = 0xbad2310;

/** Where a failed CO-RE relocation was. */
export interface CoreRelocationSite {
  /** Program name, when known. */
  program?: string;
  /** Index of the instruction in the program's `Insn[]`. */
  insnIndex: number;
  /** Its slot (8-byte) offset. */
  slot: number;
  /** The relocation kind (a {@link CoreReloKind}). */
  kind: number;
  /** The local type and access path in C-like form (`sk_buff.mark`, `bpf_map_type::BPF_MAP_TYPE_ARRAY`). */
  accessPath: string;
  /** The instruction's source position, when known. */
  source?: SourcePos;
}

/** A CO-RE relocation that cannot be applied: no such kind, an ambiguous match, an instruction that does not fit. */
export class CoreRelocationError extends TsbpfError implements CoreRelocationSite {
  readonly program: string | undefined;
  readonly insnIndex: number;
  readonly slot: number;
  readonly kind: number;
  readonly accessPath: string;
  readonly source: SourcePos | undefined;
  /** The reason alone, without the site. */
  readonly reason: string;
  constructor(reason: string, site: CoreRelocationSite, options?: { cause?: unknown }) {
    const prog = site.program !== undefined ? ` of program ${site.program}` : '';
    const src = site.source ? ` (${site.source.file}:${site.source.line})` : '';
    super(`CO-RE ${coreReloKindName(site.kind)} relocation of ${site.accessPath} at instruction ${site.insnIndex} (slot ${site.slot})${prog}${src}: ${reason}`, options);
    this.program = site.program;
    this.insnIndex = site.insnIndex;
    this.slot = site.slot;
    this.kind = site.kind;
    this.accessPath = site.accessPath;
    this.source = site.source;
    this.reason = reason;
  }
}

/** Options of {@link applyCoreRelocations}. */
export interface CoreRelocationOptions {
  /** Program name for error messages. */
  program?: string;
}

/** The name of a relocation kind (`FIELD_BYTE_OFFSET`), or `kind N` for an unknown number. */
export function coreReloKindName(kind: number): string {
  const e = Object.entries(CoreReloKind).find(([, v]) => v === kind);
  return e ? e[0] : `kind ${kind}`;
}

/**
 * Applies `relos` (with `insnOff` in slots of `insns`) to a copy of `insns`:
 * each is resolved in `local` (the object's BTF) and `target` (the kernel's) and
 * its instruction patched or poisoned. The input is not changed. Throws
 * {@link CoreRelocationError} for anything that cannot be applied.
 */
export function applyCoreRelocations(
  insns: readonly Insn[],
  relos: readonly CoreRelo[],
  local: Btf,
  target: Btf,
  options: CoreRelocationOptions = {},
): Insn[] {
  const out: Insn[][] = insns.map((i) => [i]);
  const bySlot = insnIndexBySlot(insns);
  const slots = slotIndices(insns);
  const done = new Set<number>();
  for (const relo of relos) {
    const index = bySlot[relo.insnOff] ?? -1;
    const site: CoreRelocationSite = {
      ...(options.program !== undefined ? { program: options.program } : {}),
      insnIndex: index,
      slot: relo.insnOff,
      kind: relo.kind,
      accessPath: describeAccess(local, relo),
      ...(insns[index]?.source ? { source: insns[index]!.source } : {}),
    };
    const fail = (reason: string) => new CoreRelocationError(reason, site);
    if (index < 0) throw fail(`slot ${relo.insnOff} is not the start of an instruction (program has ${slots[insns.length]} slots)`);
    if (done.has(index)) throw fail('a second relocation for the same instruction');
    done.add(index);
    out[index] = patchInsn(insns[index]!, resolveAt(site, relo, local, target), fail);
  }
  return out.flat();
}

/**
 * Resolves one relocation in `local` and `target` without patching anything
 * (see {@link CoreResolution}). Throws {@link CoreRelocationError} (its
 * `insnIndex` is -1: no program is known here).
 */
export function resolveCoreRelocation(relo: CoreRelo, local: Btf, target: Btf): CoreResolution {
  return resolveAt({ insnIndex: -1, slot: relo.insnOff, kind: relo.kind, accessPath: describeAccess(local, relo) }, relo, local, target);
}

/** Resolves, turning any other error (malformed BTF met on the way) into a {@link CoreRelocationError} for `site`. */
function resolveAt(site: CoreRelocationSite, relo: CoreRelo, local: Btf, target: Btf): CoreResolution {
  try {
    return resolve(relo, local, target, (reason) => new CoreRelocationError(reason, site));
  } catch (e) {
    if (e instanceof CoreRelocationError) throw e;
    throw new CoreRelocationError((e as Error).message, site, { cause: e });
  }
}

/**
 * What a relocation resolves to: the value clang compiled in (`local`) and the
 * value for the target, or `poison` when no target type matched. `memSize`
 * carries the field sizes of FIELD_BYTE_OFFSET, for resizing loads and stores.
 */
export interface CoreResolution {
  /** The value in the local BTF (what the instruction must hold). */
  local: bigint;
  /** The value to patch in, or `'poison'`. */
  target: bigint | 'poison';
  /** Whether the instruction's current value must equal `local` (not for most bitfield kinds). */
  validate: boolean;
  /** FIELD_BYTE_OFFSET of a non-bitfield: local and target field sizes, and whether resizing is safe. */
  memSize?: { local: number; target: number; safe: boolean };
}

type Fail = (reason: string) => Error;

/** Resolves one relocation; `fail` builds the error to throw. */
function resolve(relo: CoreRelo, local: Btf, target: Btf, fail: Fail): CoreResolution {
  const indexes = parseAccess(relo.accessStr, fail);
  if (!local.type(relo.typeId)) throw fail(`local type id ${relo.typeId} does not exist (${local.count} types)`);
  switch (relo.kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
    case CoreReloKind.FIELD_BYTE_SIZE:
    case CoreReloKind.FIELD_EXISTS:
    case CoreReloKind.FIELD_SIGNED:
    case CoreReloKind.FIELD_LSHIFT_U64:
    case CoreReloKind.FIELD_RSHIFT_U64:
      return resolveField(relo, indexes, local, target, fail);
    case CoreReloKind.TYPE_ID_LOCAL:
      if (indexes.length !== 1 || indexes[0] !== 0) throw fail(`type relocation with access string '${relo.accessStr}' (expected '0')`);
      return { local: BigInt(relo.typeId), target: BigInt(relo.typeId), validate: true };
    case CoreReloKind.TYPE_ID_TARGET:
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_SIZE:
    case CoreReloKind.TYPE_MATCHES:
      return resolveType(relo, indexes, local, target, fail);
    case CoreReloKind.ENUMVAL_EXISTS:
    case CoreReloKind.ENUMVAL_VALUE:
      return resolveEnumval(relo, indexes, local, target, fail);
    default:
      throw fail(`relocation kind ${coreReloKindName(relo.kind)} is not supported`);
  }
}

// ---- access strings and names ------------------------------------------------

function parseAccess(accessStr: string, fail: Fail): number[] {
  const parts = accessStr.split(':');
  if (!parts.every((p) => /^\d+$/.test(p))) throw fail(`malformed access string '${accessStr}'`);
  return parts.map(Number);
}

/**
 * The essential name of a type, field or enumerator: `name` without a
 * `___flavor` suffix (the last `x___y`, exactly three underscores between
 * non-underscores, starts the suffix).
 */
export function coreEssentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

/** The local root type and access path in C-like form, for messages (best effort on malformed input). */
function describeAccess(local: Btf, relo: CoreRelo): string {
  const root = local.type(relo.typeId);
  const rootName = root ? root.name || '(anon)' : `[${relo.typeId}]`;
  const indexes = relo.accessStr.split(':').map(Number);
  if (!root || indexes.some((n) => !Number.isInteger(n) || n < 0)) return `${rootName} (access ${relo.accessStr})`;
  if (relo.kind === CoreReloKind.ENUMVAL_EXISTS || relo.kind === CoreReloKind.ENUMVAL_VALUE) {
    const e = local.type(safeSkip(local, relo.typeId));
    const v = e && (e.kind === 'ENUM' || e.kind === 'ENUM64') ? e.values[indexes[0]!] : undefined;
    return v ? `${rootName}::${v.name}` : `${rootName} (access ${relo.accessStr})`;
  }
  if ((relo.kind >= CoreReloKind.TYPE_ID_LOCAL && relo.kind <= CoreReloKind.TYPE_SIZE) || relo.kind === CoreReloKind.TYPE_MATCHES) return rootName;
  try {
    const spec = walkLocal(local, relo.typeId, indexes, (r) => new Error(r));
    return rootName + (indexes[0] ? `[${indexes[0]}]` : '') + spec.steps.map((s) => (s.kind === 'member' ? `.${s.name}` : `[${s.index}]`)).join('');
  } catch {
    return `${rootName} (access ${relo.accessStr})`;
  }
}

function safeSkip(btf: Btf, id: number): number {
  try {
    return btf.skipModifiers(id);
  } catch {
    return id;
  }
}

// ---- candidates ----------------------------------------------------------------

/** Kind used to compare candidates: ENUM64 counts as ENUM. */
function coreKind(t: BtfType): string {
  return t.kind === 'ENUM64' ? 'ENUM' : t.kind;
}

const candidateIndexes = new WeakMap<Btf, { count: number; byName: Map<string, number[]> }>();

/** Target type ids whose essential name is `name`'s (cached per target BTF). */
function namedTypes(target: Btf, name: string): number[] {
  let idx = candidateIndexes.get(target);
  if (!idx || idx.count !== target.count) {
    const byName = new Map<string, number[]>();
    target.types.forEach((t, i) => {
      if (!t.name) return;
      const key = coreEssentialName(t.name);
      const list = byName.get(key);
      if (list) list.push(i + 1);
      else byName.set(key, [i + 1]);
    });
    idx = { count: target.count, byName };
    candidateIndexes.set(target, idx);
  }
  return idx.byName.get(coreEssentialName(name)) ?? [];
}

/** Candidate target types for the local root type: same kind, same essential name. */
function candidates(relo: CoreRelo, local: Btf, target: Btf, fail: Fail): number[] {
  const root = local.get(relo.typeId);
  if (!root.name) throw fail('the local root type is anonymous, so no target type can be matched by name');
  return namedTypes(target, root.name).filter((id) => coreKind(target.get(id)) === coreKind(root));
}

/**
 * Resolves against each candidate with `match` (undefined when it does not
 * match); all matches must agree. No match at all: `whenMissing`.
 */
function agree(
  ids: number[],
  match: (id: number) => CoreResolution | undefined,
  whenMissing: CoreResolution,
  fail: Fail,
): CoreResolution {
  let found: { id: number; r: CoreResolution } | undefined;
  for (const id of ids) {
    const r = match(id);
    if (!r) continue;
    if (!found) {
      found = { id, r };
      continue;
    }
    if (r.target !== found.r.target || r.memSize?.target !== found.r.memSize?.target) {
      throw fail(`ambiguous: target types [${found.id}] and [${id}] both match but give ${String(found.r.target)} and ${String(r.target)}`);
    }
  }
  return found ? found.r : whenMissing;
}

// ---- fields --------------------------------------------------------------------------

type Step = { kind: 'member'; name: string; type: number } | { kind: 'index'; index: number };

/** A field located in a BTF: absolute bit offset, its type, bitfield width (0 if none). */
interface FieldLoc {
  bitOffset: number;
  type: number;
  bitfieldSize: number;
}

function isComposite(t: BtfType | undefined): t is Extract<BtfType, { kind: 'STRUCT' | 'UNION' }> {
  return t?.kind === 'STRUCT' || t?.kind === 'UNION';
}

/** Walks the access indexes through the local type; named member and array steps are what the target must match. */
function walkLocal(local: Btf, rootId: number, indexes: number[], fail: Fail): { steps: Step[]; field: FieldLoc } {
  const field: FieldLoc = { bitOffset: 0, type: rootId, bitfieldSize: 0 };
  if (indexes[0]! !== 0) field.bitOffset = indexes[0]! * sizeOrFail(local, rootId, fail) * 8;
  const steps: Step[] = [];
  for (const index of indexes.slice(1)) {
    const t = local.get(local.skipModifiers(field.type));
    if (isComposite(t)) {
      const m = t.members[index];
      if (!m) throw fail(`member index ${index} out of range (${t.name || 'anon'} has ${t.members.length})`);
      field.bitOffset += m.bitOffset;
      field.type = m.type;
      field.bitfieldSize = m.bitfieldSize;
      if (m.name) steps.push({ kind: 'member', name: m.name, type: m.type });
    } else if (t.kind === 'ARRAY') {
      if (index >= t.nelems && !isFlexArray(t)) throw fail(`array index ${index} out of range (${t.nelems} elements)`);
      field.bitOffset += index * sizeOrFail(local, t.type, fail) * 8;
      field.type = t.type;
      field.bitfieldSize = 0;
      steps.push({ kind: 'index', index });
    } else {
      throw fail(`access index ${index} into ${t.kind} ${t.name || '(anon)'}`);
    }
  }
  return { steps, field };
}

/** A zero-length array (a flexible array member) may be indexed past its length. */
function isFlexArray(t: Extract<BtfType, { kind: 'ARRAY' }>): boolean {
  return t.nelems === 0;
}

function sizeOrFail(btf: Btf, id: number, fail: Fail): number {
  try {
    return btf.sizeOf(id);
  } catch (e) {
    throw fail(`type [${id}] has no size: ${(e as Error).message}`);
  }
}

/** Finds a member by name, descending through anonymous structs/unions; bit offset relative to `typeId`. */
function findMember(btf: Btf, typeId: number, name: string, depth = 0): { bitOffset: number; member: BtfMember } | undefined {
  if (depth > MAX_RESOLVE_DEPTH) return undefined;
  const t = btf.type(btf.skipModifiers(typeId));
  if (!isComposite(t)) return undefined;
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, member: m };
    if (!m.name) {
      const inner = findMember(btf, m.type, name, depth + 1);
      if (inner) return { bitOffset: m.bitOffset + inner.bitOffset, member: inner.member };
    }
  }
  return undefined;
}

/** Walks the local steps through a target candidate; undefined when something is missing or incompatible. */
function walkTarget(local: Btf, target: Btf, candId: number, rootIndex: number, steps: Step[]): FieldLoc | undefined {
  const field: FieldLoc = { bitOffset: 0, type: candId, bitfieldSize: 0 };
  if (rootIndex !== 0) field.bitOffset = rootIndex * target.sizeOf(candId) * 8;
  for (const step of steps) {
    if (step.kind === 'member') {
      const found = findMember(target, field.type, step.name);
      if (!found || !fieldsCompatible(local, step.type, target, found.member.type)) return undefined;
      field.bitOffset += found.bitOffset;
      field.type = found.member.type;
      field.bitfieldSize = found.member.bitfieldSize;
    } else {
      const t = target.get(target.skipModifiers(field.type));
      if (t.kind !== 'ARRAY' || (step.index >= t.nelems && !isFlexArray(t))) return undefined;
      field.bitOffset += step.index * target.sizeOf(t.type) * 8;
      field.type = t.type;
      field.bitfieldSize = 0;
    }
  }
  return field;
}

/** Whether a local field type and a target field type are compatible (libbpf's rules for fields). */
function fieldsCompatible(local: Btf, localId: number, target: Btf, targetId: number, depth = 0): boolean {
  if (depth > MAX_RESOLVE_DEPTH) return false;
  const l = local.type(local.skipModifiers(localId));
  const t = target.type(target.skipModifiers(targetId));
  if (!l || !t) return !l && !t;
  if (isComposite(l) && isComposite(t)) return true;
  if (coreKind(l) !== coreKind(t)) return false;
  switch (l.kind) {
    case 'PTR':
    case 'FLOAT':
      return true;
    case 'INT':
      return l.bitOffset === 0 && (t as { bitOffset: number }).bitOffset === 0;
    case 'FWD':
    case 'ENUM':
    case 'ENUM64':
      return namesMatch(l.name, t.name);
    case 'ARRAY':
      return fieldsCompatible(local, l.type, target, (t as { type: number }).type, depth + 1);
    default:
      return false;
  }
}

/** Essential names equal; an anonymous local type matches anything. */
function namesMatch(localName: string, targetName: string): boolean {
  return !localName || coreEssentialName(localName) === coreEssentialName(targetName);
}

/** The value of a field relocation in one BTF, plus what patching needs. */
function fieldValue(btf: Btf, f: FieldLoc, kind: number, fail: Fail): { value: bigint; size: number; type: BtfType; validate: boolean } {
  const resolved = btf.skipModifiers(f.type);
  const type = btf.get(resolved);
  const size = sizeOrFail(btf, resolved, fail);
  const bitfield = f.bitfieldSize !== 0;
  let byteSize = size;
  let byteOffset: number;
  let bitSize: number;
  if (!bitfield) {
    if (f.bitOffset % 8 !== 0) throw fail(`field at bit offset ${f.bitOffset} is not byte-aligned`);
    byteOffset = f.bitOffset / 8;
    bitSize = size * 8;
  } else {
    // The smallest naturally aligned load that covers the bitfield.
    bitSize = f.bitfieldSize;
    byteOffset = Math.floor(f.bitOffset / 8 / byteSize) * byteSize;
    while (f.bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
      if (byteSize >= 8) throw fail(`bitfield at bit ${f.bitOffset} (${bitSize} bits) does not fit a 64-bit load`);
      byteSize *= 2;
      byteOffset = Math.floor(f.bitOffset / 8 / byteSize) * byteSize;
    }
  }
  let value: number;
  let validate = !bitfield;
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      value = byteOffset;
      break;
    case CoreReloKind.FIELD_BYTE_SIZE:
      value = byteSize;
      break;
    case CoreReloKind.FIELD_EXISTS:
      value = 1;
      validate = true;
      break;
    case CoreReloKind.FIELD_SIGNED:
      value = isSigned(type) ? 1 : 0;
      validate = true;
      break;
    case CoreReloKind.FIELD_LSHIFT_U64:
      value = 64 - (f.bitOffset + bitSize - byteOffset * 8);
      break;
    default: // FIELD_RSHIFT_U64
      value = 64 - bitSize;
      validate = true;
  }
  return { value: BigInt(value), size: byteSize, type, validate };
}

function isSigned(t: BtfType): boolean {
  if (t.kind === 'ENUM' || t.kind === 'ENUM64') return t.signed;
  return t.kind === 'INT' && (t.encoding & BtfIntEncoding.SIGNED) !== 0;
}

/** Resizing a load/store is safe for pointers and for unsigned ints (zero extension keeps the value). */
function resizeSafe(l: BtfType, t: BtfType): boolean {
  if (l.kind === 'PTR' && t.kind === 'PTR') return true;
  return l.kind === 'INT' && t.kind === 'INT' && (l.encoding & BtfIntEncoding.SIGNED) === 0 && (t.encoding & BtfIntEncoding.SIGNED) === 0;
}

function resolveField(relo: CoreRelo, indexes: number[], local: Btf, target: Btf, fail: Fail): CoreResolution {
  const spec = walkLocal(local, relo.typeId, indexes, fail);
  const l = fieldValue(local, spec.field, relo.kind, fail);
  const exists = relo.kind === CoreReloKind.FIELD_EXISTS;
  const missing: CoreResolution = { local: l.value, target: exists ? 0n : 'poison', validate: l.validate };
  return agree(
    candidates(relo, local, target, fail),
    (id) => {
      const f = walkTarget(local, target, id, indexes[0]!, spec.steps);
      if (!f) return undefined;
      const t = fieldValue(target, f, relo.kind, fail);
      const r: CoreResolution = { local: l.value, target: t.value, validate: l.validate };
      if (relo.kind === CoreReloKind.FIELD_BYTE_OFFSET && spec.field.bitfieldSize === 0 && f.bitfieldSize === 0) {
        r.memSize = { local: l.size, target: t.size, safe: l.size === t.size || resizeSafe(l.type, t.type) };
      }
      return r;
    },
    missing,
    fail,
  );
}

// ---- types and enumerators -------------------------------------------------------------

/** Whether two types are compatible for type relocations (libbpf's rules: kinds, then pointees, elements, prototypes). */
function typesCompatible(local: Btf, localId: number, target: Btf, targetId: number, depth = 0): boolean {
  if (depth > MAX_RESOLVE_DEPTH) return false;
  const l = local.type(local.skipModifiers(localId));
  const t = target.type(target.skipModifiers(targetId));
  if (!l || !t) return !l && !t;
  if (coreKind(l) !== coreKind(t)) return false;
  switch (l.kind) {
    case 'STRUCT':
    case 'UNION':
    case 'ENUM':
    case 'ENUM64':
    case 'FWD':
    case 'FLOAT':
      return true;
    case 'INT':
      return l.bitOffset === 0 && (t as { bitOffset: number }).bitOffset === 0;
    case 'PTR':
      return typesCompatible(local, l.type, target, (t as { type: number }).type, depth + 1);
    case 'ARRAY':
      return typesCompatible(local, l.type, target, (t as { type: number }).type, depth + 1);
    case 'FUNC_PROTO': {
      const tp = t as Extract<BtfType, { kind: 'FUNC_PROTO' }>;
      if (l.params.length !== tp.params.length) return false;
      if (!l.params.every((p, i) => typesCompatible(local, p.type, target, tp.params[i]!.type, depth + 1))) return false;
      return typesCompatible(local, l.returnType, target, tp.returnType, depth + 1);
    }
    default:
      return false;
  }
}

/**
 * TYPE_MATCHES: a stricter, shape-level check. Names (essential) must agree at
 * every level; ints agree in bits and sign; enums in size, with every local
 * enumerator present; arrays in length; function prototypes in parameters;
 * every local struct/union member has a target member of the same name and a
 * matching type. Behind a pointer, a struct or union only has to agree in kind
 * and name (a forward declaration of the same kind does too).
 */
function typesMatch(local: Btf, localId: number, target: Btf, targetId: number, behindPtr = false, depth = 0): boolean {
  if (depth > MAX_RESOLVE_DEPTH) return false;
  const l = local.type(local.skipModifiers(localId));
  const t = target.type(target.skipModifiers(targetId));
  if (!l || !t) return !l && !t;
  if (coreEssentialName(l.name) !== coreEssentialName(t.name)) return false;
  const next = (a: number, b: number, ptr = false) => typesMatch(local, a, target, b, ptr, depth + 1);
  switch (l.kind) {
    case 'FWD':
      if (t.kind === 'FWD') return t.union === l.union;
      return behindPtr && (t.kind === (l.union ? 'UNION' : 'STRUCT'));
    case 'STRUCT':
    case 'UNION':
      if (behindPtr) return t.kind === l.kind || (t.kind === 'FWD' && t.union === (l.kind === 'UNION'));
      return t.kind === l.kind && l.members.length <= t.members.length && l.members.every((m) => t.members.some((tm) => tm.name !== '' && tm.name === m.name && next(m.type, tm.type)));
    case 'ENUM':
    case 'ENUM64': {
      if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') return false;
      if (l.size !== t.size || l.values.length > t.values.length) return false;
      const names = new Set(t.values.filter((v) => v.name !== '').map((v) => coreEssentialName(v.name)));
      return l.values.every((v) => names.has(coreEssentialName(v.name)));
    }
    case 'INT':
      return t.kind === 'INT' && l.bits === t.bits && (l.encoding & BtfIntEncoding.SIGNED) === (t.encoding & BtfIntEncoding.SIGNED);
    case 'PTR':
      return t.kind === 'PTR' && next(l.type, t.type, true);
    case 'ARRAY':
      return t.kind === 'ARRAY' && l.nelems === t.nelems && next(l.type, t.type);
    case 'FUNC_PROTO':
      return (
        t.kind === 'FUNC_PROTO' &&
        l.params.length === t.params.length &&
        l.params.every((p, i) => next(p.type, t.params[i]!.type)) &&
        next(l.returnType, t.returnType)
      );
    case 'FLOAT':
      return t.kind === 'FLOAT' && l.size === t.size;
    default:
      return false;
  }
}

function typeValue(btf: Btf, id: number, kind: number, fail: Fail): bigint {
  switch (kind) {
    case CoreReloKind.TYPE_ID_TARGET:
      return BigInt(id);
    case CoreReloKind.TYPE_SIZE:
      return BigInt(sizeOrFail(btf, id, fail));
    default: // TYPE_EXISTS, TYPE_MATCHES
      return 1n;
  }
}

function resolveType(relo: CoreRelo, indexes: number[], local: Btf, target: Btf, fail: Fail): CoreResolution {
  if (indexes.length !== 1 || indexes[0] !== 0) throw fail(`type relocation with access string '${relo.accessStr}' (expected '0')`);
  const localValue = relo.kind === CoreReloKind.TYPE_ID_TARGET ? BigInt(relo.typeId) : typeValue(local, relo.typeId, relo.kind, fail);
  const exists = relo.kind === CoreReloKind.TYPE_EXISTS || relo.kind === CoreReloKind.TYPE_MATCHES;
  const fits = relo.kind === CoreReloKind.TYPE_MATCHES ? typesMatch : typesCompatible;
  return agree(
    candidates(relo, local, target, fail),
    (id) => (fits(local, relo.typeId, target, id) ? { local: localValue, target: typeValue(target, id, relo.kind, fail), validate: true } : undefined),
    { local: localValue, target: exists ? 0n : 'poison', validate: true },
    fail,
  );
}

function resolveEnumval(relo: CoreRelo, indexes: number[], local: Btf, target: Btf, fail: Fail): CoreResolution {
  const e = local.get(local.skipModifiers(relo.typeId));
  if (e.kind !== 'ENUM' && e.kind !== 'ENUM64') throw fail(`enumerator relocation on ${e.kind}, not an enum`);
  const v = indexes.length === 1 ? e.values[indexes[0]!] : undefined;
  if (!v) throw fail(`bad enumerator access '${relo.accessStr}' (${e.name || 'anon'} has ${e.values.length} values)`);
  const valueOf = (x: bigint) => (relo.kind === CoreReloKind.ENUMVAL_EXISTS ? 1n : x);
  const want = coreEssentialName(v.name);
  return agree(
    candidates(relo, local, target, fail),
    (id) => {
      const t = target.get(target.skipModifiers(id));
      if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') return undefined;
      const tv = t.values.find((x) => coreEssentialName(x.name) === want);
      return tv ? { local: valueOf(v.value), target: valueOf(tv.value), validate: true } : undefined;
    },
    { local: valueOf(v.value), target: relo.kind === CoreReloKind.ENUMVAL_EXISTS ? 0n : 'poison', validate: true },
    fail,
  );
}

// ---- patching --------------------------------------------------------------------------

/** `call 0xbad2310`, keeping the source position. */
function poisonCall(i: Insn): Insn {
  return {
    code: Class.JMP | JmpOp.CALL,
    dst: 0,
    src: CallSrc.HELPER,
    off: 0,
    imm: CORE_POISON_HELPER,
    ...(i.source ? { source: i.source } : {}),
  };
}

// masks rather than BigInt.asUintN, which trips a V8 optimiser bug in Node 20 (see tnum.ts)
const u64 = (v: bigint) => v & 0xffffffffffffffffn;
const BYTES_TO_SIZE: Record<number, number> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };
const SIZE_TO_BYTES: Record<number, number> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };

/** The patched instruction(s) replacing `i` (an `lddw` poisoned becomes two calls, keeping the slot layout). */
function patchInsn(i: Insn, r: CoreResolution, fail: Fail): Insn[] {
  if (r.target === 'poison') return i.code === LDDW ? [poisonCall(i), poisonCall(i)] : [poisonCall(i)];
  const value = r.target;
  const cls = i.code & 0x07;
  const copy: Insn = { ...i };
  if (i.code === LDDW) {
    const current = i.imm64 ?? BigInt(i.imm);
    if (r.validate && u64(current) !== u64(r.local)) throw fail(`lddw holds ${current}, expected the local value ${r.local}`);
    const v = BigInt.asIntN(64, value);
    return [{ ...copy, imm64: v, imm: Number(BigInt.asIntN(32, v)) }];
  }
  if (cls === Class.ALU || cls === Class.ALU64) {
    if ((i.code & 0x08) !== Src.K) throw fail('ALU instruction has a register operand, not an immediate');
    if (r.validate && u64(BigInt(i.imm)) !== u64(r.local)) throw fail(`instruction holds immediate ${i.imm}, expected the local value ${r.local}`);
    if (value < -(2n ** 31n) || value >= 2n ** 32n) throw fail(`value ${value} does not fit a 32-bit immediate`);
    return [{ ...copy, imm: Number(BigInt.asIntN(32, value)) }];
  }
  if (cls === Class.LDX || cls === Class.ST || cls === Class.STX) {
    if (r.validate && BigInt(i.off) !== r.local) throw fail(`instruction has offset ${i.off}, expected the local value ${r.local}`);
    if (value > 32767n || value < -32768n) throw fail(`offset ${value} does not fit the 16-bit offset field`);
    const patched: Insn = { ...copy, off: Number(value) };
    if (r.memSize && r.memSize.local !== r.memSize.target) patched.code = resizedCode(i.code, r.memSize, fail);
    return [patched];
  }
  throw fail(`cannot patch instruction with opcode 0x${i.code.toString(16)} (not ALU with immediate, load, store or lddw)`);
}

/** The load/store opcode with its size changed from the local field size to the target one, when safe. */
function resizedCode(code: number, m: { local: number; target: number; safe: boolean }, fail: Fail): number {
  const current = SIZE_TO_BYTES[code & 0x18]!;
  if (current !== m.local) throw fail(`memory access of ${current} bytes, but the local field has ${m.local}`);
  const size = BYTES_TO_SIZE[m.target];
  if (size === undefined) throw fail(`target field has ${m.target} bytes, no load/store size`);
  if (!m.safe) throw fail(`target field has ${m.target} bytes, local ${m.local}, and resizing the access is not safe (signed or not an integer)`);
  return (code & ~0x18) | size;
}
