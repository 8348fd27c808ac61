/**
 * lib/isa: the eBPF instruction set, pure (no kernel access).
 *
 * - **Model** (`insn.ts`): an {@link Insn} is a plain object of raw fields
 *   `{ code, dst, src, off, imm }`; `lddw` (code 0x18, two 8-byte slots) also
 *   carries `imm64: bigint`. Optional `source` (`{ file, line, column }`) and
 *   `ref` (`{ kind: 'jump'|'call'|'func'|'map'|'map_value'|'kfunc'|'btf_id', name }`)
 *   for symbolic references not yet resolved.
 * - **Constructors** for every form: `mov64Imm(dst, imm)`, `mov64Reg(dst, src)`,
 *   `alu64Imm(op, dst, imm)` / `alu64Reg` / `alu32Imm` / `alu32Reg` (op: `'add'`,
 *   `'sdiv'`, `'arsh'`, ...), `movsx64`, `neg64`, `toBe`, `toLe`, `bswap`,
 *   `ja(target)`, `gotol(target)`, `jmpImm(cond, dst, imm, target)`, `jmpReg`,
 *   `jmp32Imm`, `jmp32Reg`, `jmp(cond, dst, imm | { reg }, target)`, `call(helperId)`,
 *   `callLocal(label)`, `callKfunc(idOrName)`, `exit()`, `ldImm64(dst, 64-bit bigint)`,
 *   `ldMapFd(dst, mapName)`, `ldMapValue(dst, mapName, offset)`, `ldFunc(dst, label)`,
 *   `ldx(size, dst, src, off)`, `ldxsx`, `stx(size, dst, src, off)`, `st(size, dst, off, imm)`,
 *   `atomic(size, op, dst, src, off)`, `loadAcquire`, `storeRelease`, `ldAbs`, `ldInd`.
 *   A jump `target` is a label name (string) or a raw slot offset (number).
 * - **Opcode constants** (`opcodes.ts`): `Class`, `Size`, `Mode`, `Src`, `AluOp`,
 *   `JmpOp`, `AtomicOp`, `PseudoSrc`, `CallSrc`, `LDDW`, ...
 * - **Bytes** (`encode.ts`): `encode(insns): Uint8Array`, `decode(bytes): Insn[]`;
 *   slot helpers `slotCount`, `slotIndices`, `insnIndexBySlot` (jump offsets count
 *   slots: `lddw` counts 2).
 * - **Linking** (`link.ts`): `new ProgramBuilder()`, `.label(name)`, `.emit(...insns)`,
 *   `.link({ gotol? })` -> `{ insns, labels, loaderRefs, functions }`; map, kfunc and
 *   BTF-id references stay on their instructions and are listed in `loaderRefs`
 *   for the loader to patch. Unknown labels and jumps out of range throw `LinkError`.
 * - **Text** (`asm.ts`, `disasm.ts`): `assemble(text, { file?, gotol?, sourcePositions? })`
 *   parses LLVM BPF syntax (llvm-objdump output and inline-asm style) into sections
 *   `{ name, bytes, insns, labels, relocations }` (throws `AsmError` with line, column and
 *   what was expected); `assembleInsns(text)` for a single section. `formatInsn(insn, slot?)`,
 *   `disassemble(insns)` and `disassembleBytes(bytes, { symbolize })` print exactly what
 *   llvm-objdump (LLVM 17+) prints; `symbolizer(symbols, sectionName)` names branch targets
 *   like it (`<prog+0x18>`); `listing(insns)` interleaves source positions.
 * - **Errors** (`errors.ts`): `IsaError` > `DecodeError`, `EncodeError`, `LinkError`, `AsmError`.
 */
export * from './opcodes.js';
export * from './errors.js';
export * from './insn.js';
export * from './encode.js';
export * from './link.js';
export * from './disasm.js';
export * from './asm.js';
