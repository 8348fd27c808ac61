import { describe, expect, it } from 'vitest';
import * as isa from '../../lib/isa/index.js';
import { LinkError, ProgramBuilder } from '../../lib/isa/index.js';

describe('ProgramBuilder and link', () => {
  it('resolves forward and backward jumps in slots (lddw counts two)', () => {
    const b = new ProgramBuilder();
    b.label('top').emit(isa.ldImm64(1, 5n), isa.jmpImm('eq', 1, 0, 'out'), isa.mov64Imm(0, 1), isa.ja('top'));
    b.label('out').emit(isa.exit());
    const { insns, labels } = b.link();
    expect(insns[1]).toEqual({ code: 0x15, dst: 1, src: 0, off: 2, imm: 0 });
    expect(insns[3]).toEqual({ code: 0x05, dst: 0, src: 0, off: -5, imm: 0 });
    expect(labels).toEqual(new Map([['top', 0], ['out', 5]]));
    // linked instructions carry no jump references and the builder's list is untouched
    expect(insns.every((i) => i.ref === undefined)).toBe(true);
    expect(b.insns[1]!.ref).toEqual({ kind: 'jump', name: 'out' });
  });

  it('resolves bpf-to-bpf calls and function pointers and lists subprograms', () => {
    const b = new ProgramBuilder();
    b.emit(isa.callLocal('f'), isa.ldFunc(2, 'f'), isa.exit());
    b.label('f').emit(isa.mov64Imm(0, 0), isa.exit());
    const { insns, functions } = b.link();
    expect(insns[0]).toMatchObject({ code: 0x85, src: 1, imm: 3 });
    expect(insns[1]).toMatchObject({ code: 0x18, src: 4, imm: 2, imm64: 2n });
    expect(functions).toEqual([4]);
  });

  it('keeps map, kfunc and BTF references for the loader', () => {
    const b = new ProgramBuilder();
    b.emit(isa.mov64Imm(0, 0), isa.ldMapFd(1, 'events'), isa.ldMapValue(2, 'cfg', 8), isa.callKfunc('bpf_obj_new_impl'));
    b.emit(isa.ldBtfId(3, 'bpf_prog_active'), isa.exit());
    const { insns, loaderRefs } = b.link();
    expect(loaderRefs).toEqual([
      { insn: 1, slot: 1, kind: 'map', name: 'events' },
      { insn: 2, slot: 3, kind: 'map_value', name: 'cfg' },
      { insn: 3, slot: 5, kind: 'kfunc', name: 'bpf_obj_new_impl' },
      { insn: 4, slot: 6, kind: 'btf_id', name: 'bpf_prog_active' },
    ]);
    expect(insns[2]!.imm64).toBe(8n << 32n);
    expect(insns[1]!.ref).toEqual({ kind: 'map', name: 'events' });
  });

  it('reports undefined and duplicate labels', () => {
    const b = new ProgramBuilder();
    b.emit(isa.ja('nowhere'));
    expect(() => b.link()).toThrow(LinkError);
    expect(() => b.link()).toThrow(/undefined label 'nowhere'/);
    b.label('x');
    expect(() => b.label('x')).toThrow(/defined twice/);
  });

  it('rejects far jumps naming both ends unless gotol is allowed', () => {
    const b = new ProgramBuilder();
    b.at({ file: 'prog.ts', line: 3, column: 5 }).emit(isa.ja('far'), isa.jmpImm('gt', 1, 7, 'far'), isa.jmpReg('set', 1, 2, 'far'));
    b.at(undefined);
    for (let k = 0; k < 40000; k++) b.emit(isa.mov64Imm(0, k));
    b.label('far').emit(isa.exit());
    let err: LinkError | undefined;
    try {
      b.link();
    } catch (e) {
      err = e as LinkError;
    }
    expect(err).toBeInstanceOf(LinkError);
    expect(err!.message).toMatch(/instruction 0 \(slot 0, prog\.ts:3:5\) jumps to label 'far' at instruction 40003 \(slot 40003\)/);
    expect(err!.message).toMatch(/gotol/);
    expect(err!.index).toBe(0);

    const { insns, labels, indexMap } = b.link({ gotol: true });
    const far = labels.get('far')!;
    // goto -> gotol
    expect(insns[0]).toMatchObject({ code: 0x06, off: 0, imm: far - 1 });
    // if r1 > 7 goto far -> if r1 <= 7 goto +1; gotol far
    expect(insns[1]).toMatchObject({ code: 0xb5, dst: 1, imm: 7, off: 1 });
    expect(insns[2]).toMatchObject({ code: 0x06, imm: far - 3 });
    // jset has no inverse: if r1 & r2 goto +1; goto +1; gotol far
    expect(insns[3]).toMatchObject({ code: 0x4d, off: 1 });
    expect(insns[4]).toMatchObject({ code: 0x05, off: 1 });
    expect(insns[5]).toMatchObject({ code: 0x06, imm: far - 6 });
    expect(Array.from(indexMap.slice(0, 4))).toEqual([0, 1, 3, 6]);
    expect(insns[insns.length - 1]).toEqual(isa.exit());
    expect(isa.decode(isa.encode(insns)).length).toBe(insns.length);
    expect(insns[1]!.source).toEqual({ file: 'prog.ts', line: 3, column: 5 });
  });

  it('rejects a far may_goto even with gotol', () => {
    const b = new ProgramBuilder();
    b.emit(isa.mayGoto('far'));
    for (let k = 0; k < 33000; k++) b.emit(isa.mov64Imm(0, k));
    b.label('far').emit(isa.exit());
    expect(() => b.link({ gotol: true })).toThrow(/no long form/);
  });

  it('accepts a jump of exactly the 16-bit limits', () => {
    const b = new ProgramBuilder();
    b.emit(isa.ja('end'));
    for (let k = 0; k < 0x7fff; k++) b.emit(isa.mov64Imm(0, 0));
    b.label('end').emit(isa.exit());
    expect(b.link().insns[0]!.off).toBe(0x7fff);
  });
});
