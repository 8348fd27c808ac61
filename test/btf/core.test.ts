/**
 * CO-RE relocation resolution and patching on hand-built local and target BTF
 * (pure: no kernel). Expected values follow libbpf's documented semantics.
 */
import { describe, expect, it } from 'vitest';
import {
  applyCoreRelocations,
  Btf,
  BtfBuilder,
  CORE_POISON_HELPER,
  coreEssentialName,
  CoreReloKind,
  CoreRelocationError,
  resolveCoreRelocation,
  type CoreRelo,
} from '../../lib/btf/index.js';
import { Class, JmpOp, exit, ldImm64, ldx, mov64Imm, st, stx, type Insn } from '../../lib/isa/index.js';

const K = CoreReloKind;

/** A builder with `int`, `long`, `unsigned int`, `unsigned long long`. */
function builder() {
  const b = new BtfBuilder();
  return {
    b,
    int: b.int('int', 4, { signed: true }),
    long: b.int('long', 8, { signed: true }),
    uint: b.int('unsigned int', 4),
    u64: b.int('unsigned long long', 8),
    short: b.int('short', 2, { signed: true }),
  };
}

const relo = (insnOff: number, typeId: number, accessStr: string, kind: number): CoreRelo => ({ insnOff, typeId, accessStr, kind });

const isPoison = (i: Insn) => i.code === (Class.JMP | JmpOp.CALL) && i.imm === CORE_POISON_HELPER && i.src === 0;

/** Local `s___v1 { int a; int b; }`, target `s { long x; int b; int a; }`. */
function movedField() {
  const l = builder();
  const local = l.b.struct('s___v1', [
    { name: 'a', type: l.int },
    { name: 'b', type: l.int },
  ]);
  const t = builder();
  const target = t.b.struct('s', [
    { name: 'x', type: t.long },
    { name: 'b', type: t.int },
    { name: 'a', type: t.int },
  ]);
  return { local: l.b.btf, target: t.b.btf, localId: local, targetId: target, t };
}

describe('CO-RE essential names', () => {
  it('drops the ___flavor suffix and nothing else', () => {
    expect(coreEssentialName('s___v1')).toBe('s');
    expect(coreEssentialName('__sk_buff___mine')).toBe('__sk_buff');
    expect(coreEssentialName('task_struct___a___b')).toBe('task_struct___a');
    expect(coreEssentialName('__sk_buff')).toBe('__sk_buff');
    expect(coreEssentialName('a____b')).toBe('a____b');
    expect(coreEssentialName('x___')).toBe('x___');
  });
});

describe('CO-RE field relocations', () => {
  it('moves a field offset: s___v1.a at 0 becomes s.a at 12, s___v1.b at 4 becomes 8', () => {
    const { local, target, localId } = movedField();
    const insns = [ldx('u32', 0, 1, 0), ldx('u32', 2, 1, 4), exit()];
    const out = applyCoreRelocations(insns, [relo(0, localId, '0:0', K.FIELD_BYTE_OFFSET), relo(1, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target);
    expect(out.map((i) => i.off)).toEqual([12, 8, 0]);
    expect(out[0]!.code).toBe(insns[0]!.code);
    // The input is not changed.
    expect(insns.map((i) => i.off)).toEqual([0, 4, 0]);
  });

  it('patches ALU immediates, stores and lddw alike', () => {
    const { local, target, localId } = movedField();
    const insns = [mov64Imm(1, 4), st('u32', 1, 4, 7), stx('u32', 1, 2, 4), ldImm64(3, 4n), exit()];
    const relos = [0, 1, 2, 3].map((slot) => relo(slot, localId, '0:1', K.FIELD_BYTE_OFFSET));
    const out = applyCoreRelocations(insns, relos, local, target);
    expect(out[0]!.imm).toBe(8);
    expect(out[1]!.off).toBe(8);
    expect(out[1]!.imm).toBe(7);
    expect(out[2]!.off).toBe(8);
    expect(out[3]!.imm64).toBe(8n);
    expect(out[3]!.imm).toBe(8);
  });

  it('maps slot offsets past an lddw to the right instruction', () => {
    const { local, target, localId } = movedField();
    const insns = [ldImm64(5, 123n), ldx('u32', 0, 1, 4), exit()];
    const out = applyCoreRelocations(insns, [relo(2, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target);
    expect(out[1]!.off).toBe(8);
    expect(() => applyCoreRelocations(insns, [relo(1, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(/slot 1 is not the start of an instruction/);
  });

  it('byte size, exists, signed, and shifts of plain fields', () => {
    const { local, target, localId } = movedField();
    const kinds = [K.FIELD_BYTE_SIZE, K.FIELD_EXISTS, K.FIELD_SIGNED, K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64];
    const localValues = [4, 1, 1, 32, 32];
    const insns = [...localValues.map((v) => mov64Imm(0, v)), exit()];
    const out = applyCoreRelocations(insns, kinds.map((k, i) => relo(i, localId, '0:0', k)), local, target);
    expect(out.slice(0, 5).map((i) => i.imm)).toEqual([4, 1, 1, 32, 32]);
  });

  it('bitfields: offset of the smallest covering load, size, shifts, sign', () => {
    const l = builder();
    const localId = l.b.struct('bf___l', [
      { name: 'a', type: l.uint, bitfieldSize: 3, bitOffset: 0 },
      { name: 'b', type: l.int, bitfieldSize: 5, bitOffset: 3 },
    ]);
    const t = builder();
    t.b.struct('bf', [
      { name: 'pad', type: t.u64 },
      { name: 'x', type: t.uint, bitfieldSize: 7, bitOffset: 64 },
      { name: 'a', type: t.uint, bitfieldSize: 3, bitOffset: 71 },
      { name: 'b', type: t.int, bitfieldSize: 5, bitOffset: 74 },
    ]);
    const kinds = [K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64, K.FIELD_SIGNED];
    // Local b: bits 3..8 of a 4-byte unit at 0: lshift 64-8, rshift 64-5, signed.
    const insns = [...[0, 4, 56, 59, 1].map((v) => mov64Imm(0, v)), exit()];
    const out = applyCoreRelocations(insns, kinds.map((k, i) => relo(i, localId, '0:1', k)), l.b.btf, t.b.btf);
    // Target b: bits 74..79; the 4-byte unit at byte 8 holds them (bits 10..15 of it).
    expect(out.slice(0, 5).map((i) => i.imm)).toEqual([8, 4, 64 - 15, 59, 1]);
  });

  it('finds a member through anonymous structs and unions of the target', () => {
    const l = builder();
    const lu = l.b.union('', [
      { name: 'u1', type: l.int },
      { name: 'u2', type: l.int },
    ]);
    const localId = l.b.struct('t___l', [
      { name: 'q', type: l.int },
      { name: '', type: lu },
    ]);
    const t = builder();
    const tu = t.b.union('', [
      { name: 'zz', type: t.short },
      { name: 'u2', type: t.int },
    ]);
    const ts = t.b.struct('', [
      { name: 'q', type: t.int },
      { name: '', type: tu },
    ]);
    t.b.struct('t', [
      { name: 'pad', type: t.long },
      { name: '', type: ts },
    ]);
    // Local t___l.u2: member 1 (the anonymous union), then its member 1; at byte 4.
    const insns = [ldx('u32', 0, 1, 4), ldx('u32', 0, 1, 0), exit()];
    const out = applyCoreRelocations(insns, [relo(0, localId, '0:1:1', K.FIELD_BYTE_OFFSET), relo(1, localId, '0:0', K.FIELD_BYTE_OFFSET)], l.b.btf, t.b.btf);
    // Target: pad 8 bytes, anonymous struct at 8 { q at 0, union at 4 { u2 at 0 } }.
    expect(out[0]!.off).toBe(12);
    expect(out[1]!.off).toBe(8);
  });

  it('matches nested structs of other names (composite with composite) and array indexes', () => {
    const l = builder();
    const inner = l.b.struct('inner_local', [{ name: 'v', type: l.b.array(l.int, 4) }]);
    const localId = l.b.struct('outer___l', [
      { name: 'a', type: l.int },
      { name: 'in', type: inner },
    ]);
    const t = builder();
    const tinner = t.b.struct('inner_kernel', [
      { name: 'h', type: t.long },
      { name: 'v', type: t.b.array(t.int, 8) },
    ]);
    t.b.struct('outer', [
      { name: 'z', type: t.long },
      { name: 'in', type: tinner },
      { name: 'a', type: t.int },
    ]);
    // outer___l.in.v[2]: local 4 + 0 + 2*4 = 12; target 8 + 8 + 2*4 = 24.
    // outer___l[1].a: the root as an array: local sizeof 20 + 0; target sizeof 56 + 48.
    const insns = [ldx('u32', 0, 1, 12), ldx('u32', 0, 1, 20), mov64Imm(0, 1), exit()];
    const out = applyCoreRelocations(
      insns,
      [relo(0, localId, '0:1:0:2', K.FIELD_BYTE_OFFSET), relo(1, localId, '1:0', K.FIELD_BYTE_OFFSET), relo(2, localId, '0:1:0:3', K.FIELD_EXISTS)],
      l.b.btf,
      t.b.btf,
    );
    expect(out.slice(0, 3).map((i) => [i.off, i.imm])).toEqual([
      [24, 0],
      [56 + 48, 0],
      [0, 1],
    ]);
  });

  it('an array index beyond the target array is a missing field', () => {
    const l = builder();
    const localId = l.b.struct('arr___l', [{ name: 'v', type: l.b.array(l.int, 8) }]);
    const t = builder();
    t.b.struct('arr', [{ name: 'v', type: t.b.array(t.int, 4) }]);
    const out = applyCoreRelocations([mov64Imm(0, 1), ldx('u32', 0, 1, 24), exit()], [relo(0, localId, '0:0:6', K.FIELD_EXISTS), relo(1, localId, '0:0:6', K.FIELD_BYTE_OFFSET)], l.b.btf, t.b.btf);
    expect(out[0]!.imm).toBe(0);
    expect(isPoison(out[1]!)).toBe(true);
  });

  it('a missing field: EXISTS gives 0, BYTE_OFFSET poisons the instruction (lddw: both slots)', () => {
    const l = builder();
    const localId = l.b.struct('s___l', [
      { name: 'gone', type: l.int },
      { name: 'b', type: l.int },
    ]);
    const { target } = movedField();
    const insns = [mov64Imm(0, 1), ldx('u32', 0, 1, 0), ldImm64(2, 0n), exit()];
    const src = { file: 'x.c', line: 3, column: 1 };
    insns[1]!.source = src;
    const out = applyCoreRelocations(
      insns,
      [relo(0, localId, '0:0', K.FIELD_EXISTS), relo(1, localId, '0:0', K.FIELD_BYTE_OFFSET), relo(2, localId, '0:0', K.FIELD_BYTE_SIZE)],
      l.b.btf,
      target,
    );
    expect(out[0]!.imm).toBe(0);
    expect(isPoison(out[1]!)).toBe(true);
    expect(out[1]!.source).toEqual(src);
    // The lddw becomes two poisoned calls, so the slot layout (jumps, line info) stays.
    expect(out.length).toBe(5);
    expect(isPoison(out[2]!) && isPoison(out[3]!)).toBe(true);
    expect(out[4]).toEqual(exit());
  });

  it('a field of an incompatible type does not match (int vs pointer)', () => {
    const l = builder();
    const localId = l.b.struct('p___l', [{ name: 'f', type: l.int }]);
    const t = builder();
    t.b.struct('p', [{ name: 'f', type: t.b.ptr(t.int) }]);
    const out = applyCoreRelocations([mov64Imm(0, 1), exit()], [relo(0, localId, '0:0', K.FIELD_EXISTS)], l.b.btf, t.b.btf);
    expect(out[0]!.imm).toBe(0);
  });

  it('candidates must have the same kind (a union s is no candidate for struct s___v1)', () => {
    const l = builder();
    const localId = l.b.struct('s___v1', [{ name: 'a', type: l.int }]);
    const t = builder();
    t.b.union('s', [{ name: 'a', type: t.int }]);
    const out = applyCoreRelocations([mov64Imm(0, 1), exit()], [relo(0, localId, '0:0', K.FIELD_EXISTS)], l.b.btf, t.b.btf);
    expect(out[0]!.imm).toBe(0);
  });

  it('several candidates: the same result is fine, different results are an error', () => {
    const { local, localId, t } = movedField();
    // A second flavor in the target with 'a' at 12 as well.
    t.b.struct('s___other', [
      { name: 'y', type: t.long },
      { name: 'c', type: t.int },
      { name: 'a', type: t.int },
    ]);
    const insns = [ldx('u32', 0, 1, 0), exit()];
    expect(applyCoreRelocations(insns, [relo(0, localId, '0:0', K.FIELD_BYTE_OFFSET)], local, t.b.btf)[0]!.off).toBe(12);
    // And a third with 'a' at 0.
    t.b.struct('s___v3', [{ name: 'a', type: t.int }]);
    const err = catchError(() => applyCoreRelocations(insns, [relo(0, localId, '0:0', K.FIELD_BYTE_OFFSET)], local, t.b.btf, { program: 'prog' }));
    expect(err).toBeInstanceOf(CoreRelocationError);
    expect(err.message).toMatch(/ambiguous/);
    expect(err.message).toContain('s___v1.a');
    expect(err.message).toContain('program prog');
    expect(err.message).toContain('FIELD_BYTE_OFFSET');
  });

  it('the instruction must hold the local value', () => {
    const { local, target, localId } = movedField();
    const err = catchError(() => applyCoreRelocations([mov64Imm(0, 0), ldx('u32', 0, 1, 8), exit()], [relo(1, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target, { program: 'p' }));
    expect(err).toBeInstanceOf(CoreRelocationError);
    expect(err.insnIndex).toBe(1);
    expect(err.slot).toBe(1);
    expect(err.kind).toBe(K.FIELD_BYTE_OFFSET);
    expect(err.accessPath).toBe('s___v1.b');
    expect(err.message).toMatch(/offset 8, expected the local value 4/);
    expect(() => applyCoreRelocations([mov64Imm(0, 3), exit()], [relo(0, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(/immediate 3/);
    expect(() => applyCoreRelocations([ldImm64(0, 3n), exit()], [relo(0, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(/lddw holds 3/);
  });

  it('only ALU with an immediate, loads, stores and lddw can be patched', () => {
    const { local, target, localId } = movedField();
    expect(() => applyCoreRelocations([exit()], [relo(0, localId, '0:1', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(CoreRelocationError);
  });

  it('resizes a load when the target field is wider or narrower and unsigned', () => {
    const l = builder();
    const localId = l.b.struct('w___l', [
      { name: 'f', type: l.uint },
      { name: 's', type: l.int },
      { name: 'p', type: l.b.ptr(l.int) },
    ]);
    const t = builder();
    t.b.struct('w', [
      { name: 'pad', type: t.u64 },
      { name: 'f', type: t.u64 },
      { name: 's', type: t.long },
      { name: 'p', type: t.b.ptr(t.long) },
    ]);
    const out = applyCoreRelocations([ldx('u32', 0, 1, 0), exit()], [relo(0, localId, '0:0', K.FIELD_BYTE_OFFSET)], l.b.btf, t.b.btf);
    expect(out[0]).toEqual(ldx('u64', 0, 1, 8));
    // A signed field of another size cannot be resized safely.
    expect(() => applyCoreRelocations([ldx('u32', 0, 1, 4), exit()], [relo(0, localId, '0:1', K.FIELD_BYTE_OFFSET)], l.b.btf, t.b.btf)).toThrow(/not safe/);
    // The access size must be the local field's.
    expect(() => applyCoreRelocations([ldx('u16', 0, 1, 0), exit()], [relo(0, localId, '0:0', K.FIELD_BYTE_OFFSET)], l.b.btf, t.b.btf)).toThrow(/2 bytes/);
    // Same size: the access keeps its size.
    expect(applyCoreRelocations([ldx('u64', 0, 1, 8), exit()], [relo(0, localId, '0:2', K.FIELD_BYTE_OFFSET)], l.b.btf, t.b.btf)[0]).toEqual(ldx('u64', 0, 1, 24));
  });

  it('malformed access strings and member indexes are errors', () => {
    const { local, target, localId } = movedField();
    expect(() => applyCoreRelocations([ldx('u32', 0, 1, 0), exit()], [relo(0, localId, '0:x', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(/malformed access string/);
    expect(() => applyCoreRelocations([ldx('u32', 0, 1, 0), exit()], [relo(0, localId, '0:5', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(/member index 5 out of range/);
    expect(() => applyCoreRelocations([ldx('u32', 0, 1, 0), exit()], [relo(0, 99, '0:0', K.FIELD_BYTE_OFFSET)], local, target)).toThrow(/local type id 99/);
  });
});

describe('resolveCoreRelocation', () => {
  it('gives the local and target values without patching', () => {
    const { local, target, localId } = movedField();
    expect(resolveCoreRelocation(relo(0, localId, '0:0', K.FIELD_BYTE_OFFSET), local, target)).toEqual({
      local: 0n,
      target: 12n,
      validate: true,
      memSize: { local: 4, target: 4, safe: true },
    });
    expect(resolveCoreRelocation(relo(0, localId, '0:0', K.FIELD_BYTE_SIZE), local, new Btf()).target).toBe('poison');
  });

  it('malformed BTF met on the way is a CoreRelocationError too', () => {
    const local = new Btf([{ kind: 'STRUCT', name: 's___v1', size: 4, members: [{ name: 'a', type: 99, bitOffset: 0, bitfieldSize: 0 }], kindFlag: false }]);
    const { target } = movedField();
    const err = catchError(() => applyCoreRelocations([ldx('u32', 0, 1, 0), exit()], [relo(0, 1, '0:0', K.FIELD_BYTE_OFFSET)], local, target));
    expect(err).toBeInstanceOf(CoreRelocationError);
    expect(err.message).toMatch(/unknown type id 99/);
  });
});

describe('CO-RE type relocations', () => {
  function types() {
    const l = builder();
    const localId = l.b.struct('s___v1', [{ name: 'a', type: l.int }]);
    const missing = l.b.struct('no_such_type', [{ name: 'a', type: l.int }]);
    const td = l.b.typedef('my_t___l', l.b.ptr(localId));
    const t = builder();
    t.b.struct('other', []);
    const targetId = t.b.struct('s', [
      { name: 'x', type: t.long },
      { name: 'a', type: t.int },
    ]);
    const ttd = t.b.typedef('my_t', t.b.ptr(t.int));
    return { local: l.b.btf, target: t.b.btf, localId, missing, targetId, td, ttd };
  }

  it('TYPE_ID_LOCAL keeps the local id; TYPE_ID_TARGET gives the target id', () => {
    const { local, target, localId, targetId } = types();
    const insns = [ldImm64(0, BigInt(localId)), ldImm64(1, BigInt(localId)), exit()];
    const out = applyCoreRelocations(insns, [relo(0, localId, '0', K.TYPE_ID_LOCAL), relo(2, localId, '0', K.TYPE_ID_TARGET)], local, target);
    expect(out[0]!.imm64).toBe(BigInt(localId));
    expect(out[1]!.imm64).toBe(BigInt(targetId));
  });

  it('TYPE_SIZE and TYPE_EXISTS of a type present in the target', () => {
    const { local, target, localId } = types();
    const out = applyCoreRelocations([mov64Imm(0, 4), mov64Imm(1, 1), exit()], [relo(0, localId, '0', K.TYPE_SIZE), relo(1, localId, '0', K.TYPE_EXISTS)], local, target);
    expect(out[0]!.imm).toBe(16);
    expect(out[1]!.imm).toBe(1);
  });

  it('a missing type: TYPE_EXISTS gives 0, TYPE_SIZE and TYPE_ID_TARGET are poisoned', () => {
    const { local, target, missing } = types();
    const out = applyCoreRelocations(
      [mov64Imm(0, 1), mov64Imm(1, 4), ldImm64(2, BigInt(missing)), exit()],
      [relo(0, missing, '0', K.TYPE_EXISTS), relo(1, missing, '0', K.TYPE_SIZE), relo(2, missing, '0', K.TYPE_ID_TARGET)],
      local,
      target,
    );
    expect(out[0]!.imm).toBe(0);
    expect(isPoison(out[1]!)).toBe(true);
    expect(isPoison(out[2]!) && isPoison(out[3]!)).toBe(true);
  });

  it('typedef candidates must resolve to compatible types (pointer to struct vs pointer to int)', () => {
    const { local, target, td } = types();
    const out = applyCoreRelocations([mov64Imm(0, 1), exit()], [relo(0, td, '0', K.TYPE_EXISTS)], local, target);
    expect(out[0]!.imm).toBe(0);
  });

  it('an unknown relocation kind is an error, never skipped', () => {
    const { local, target, localId } = types();
    expect(() => applyCoreRelocations([mov64Imm(0, 1), exit()], [relo(0, localId, '0', 42)], local, target)).toThrow(/kind 42 is not supported/);
  });

  it('TYPE_MATCHES: member names and int sizes must agree, not just kind and name', () => {
    const l = builder();
    const same = l.b.struct('m___same', [{ name: 'a', type: l.int }]);
    const wide = l.b.struct('m___wide', [{ name: 'a', type: l.long }]);
    const other = l.b.struct('m___other', [{ name: 'z', type: l.int }]);
    const viaPtr = l.b.struct('m___ptr', [{ name: 'next', type: l.b.ptr(l.b.struct('node', [{ name: 'x', type: l.int }])) }]);
    const t = builder();
    const node = t.b.struct('node', [{ name: 'y', type: t.long }]);
    t.b.struct('m', [
      { name: 'b', type: t.int },
      { name: 'a', type: t.int },
      { name: 'next', type: t.b.ptr(node) },
    ]);
    const run = (id: number) => applyCoreRelocations([mov64Imm(0, 1), exit()], [relo(0, id, '0', K.TYPE_MATCHES)], l.b.btf, t.b.btf)[0]!.imm;
    expect(run(same)).toBe(1);
    expect(run(wide)).toBe(0);
    expect(run(other)).toBe(0);
    // Behind a pointer only the kind and name of the struct count.
    expect(run(viaPtr)).toBe(1);
    // TYPE_EXISTS is looser: any struct m.
    expect(applyCoreRelocations([mov64Imm(0, 1), exit()], [relo(0, wide, '0', K.TYPE_EXISTS)], l.b.btf, t.b.btf)[0]!.imm).toBe(1);
  });
});

describe('CO-RE enumerator relocations', () => {
  function enums() {
    const l = new BtfBuilder();
    const localId = l.enum('e___l', [
      { name: 'A___l', value: 5n },
      { name: 'B', value: 6n },
      { name: 'GONE', value: 7n },
    ]);
    const t = new BtfBuilder();
    t.enum('e', [
      { name: 'B', value: 60n },
      { name: 'A', value: 50n },
    ]);
    return { local: l.btf, target: t.btf, localId };
  }

  it('ENUMVAL_VALUE gives the target value by enumerator name (flavors dropped)', () => {
    const { local, target, localId } = enums();
    const out = applyCoreRelocations([ldImm64(0, 5n), mov64Imm(1, 6), exit()], [relo(0, localId, '0', K.ENUMVAL_VALUE), relo(2, localId, '1', K.ENUMVAL_VALUE)], local, target);
    expect(out[0]!.imm64).toBe(50n);
    expect(out[1]!.imm).toBe(60);
  });

  it('ENUMVAL_EXISTS: 1 or 0; ENUMVAL_VALUE of a missing enumerator is poisoned', () => {
    const { local, target, localId } = enums();
    const out = applyCoreRelocations(
      [mov64Imm(0, 1), mov64Imm(1, 1), mov64Imm(2, 7), exit()],
      [relo(0, localId, '1', K.ENUMVAL_EXISTS), relo(1, localId, '2', K.ENUMVAL_EXISTS), relo(2, localId, '2', K.ENUMVAL_VALUE)],
      local,
      target,
    );
    expect(out[0]!.imm).toBe(1);
    expect(out[1]!.imm).toBe(0);
    expect(isPoison(out[2]!)).toBe(true);
  });

  it('an ENUM64 in the target matches a local ENUM', () => {
    const { local, localId } = enums();
    const target = new Btf([{ kind: 'ENUM64', name: 'e', size: 8, signed: false, values: [{ name: 'A', value: 1n << 40n }] }]);
    const out = applyCoreRelocations([ldImm64(0, 5n), exit()], [relo(0, localId, '0', K.ENUMVAL_VALUE)], local, target);
    expect(out[0]!.imm64).toBe(1n << 40n);
  });

  it('names the enumerator in errors', () => {
    const { local, target, localId } = enums();
    expect(() => applyCoreRelocations([ldImm64(0, 9n), exit()], [relo(0, localId, '0', K.ENUMVAL_VALUE)], local, target)).toThrow(/e___l::A___l/);
    expect(() => applyCoreRelocations([ldImm64(0, 9n), exit()], [relo(0, localId, '7', K.ENUMVAL_VALUE)], local, target)).toThrow(/bad enumerator access/);
  });
});

function catchError(f: () => unknown): CoreRelocationError {
  try {
    f();
  } catch (e) {
    return e as CoreRelocationError;
  }
  throw new Error('expected an error');
}
