/**
 * `tsbpf asm FILE.s... -o OUT`: assembles LLVM-syntax text. OUT ending in
 * `.o` is an ELF relocatable object (one executable section per assembled
 * section, symbols for labels, relocations for calls and 64-bit loads of
 * symbols the text does not define); anything else gets the raw instruction
 * bytes of all sections, in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type Command, parseArgs, UsageError } from './command.js';
import { assemble, type AsmResult, type AsmSection } from '../isa/index.js';
import { R_BPF, SHF, SHT, STB, STT, writeElf, type ElfRelocationSpec, type ElfSymbolSpec } from '../elf/index.js';

/** Merges the results of several files: sections with one name are concatenated in order. */
function merge(results: AsmResult[]): AsmResult {
  if (results.length === 1) return results[0]!;
  const sections = new Map<string, AsmSection>();
  const globals = new Set<string>();
  const functions = new Set<string>();
  for (const r of results) {
    r.globals.forEach((g) => globals.add(g));
    r.functions.forEach((f) => functions.add(f));
    for (const s of r.sections) {
      const cur = sections.get(s.name);
      if (!cur) {
        sections.set(s.name, { name: s.name, bytes: s.bytes, insns: [], labels: new Map(s.labels), relocations: [...s.relocations] });
        continue;
      }
      const base = cur.bytes.length / 8;
      for (const [k, v] of s.labels) cur.labels.set(k, v + base);
      for (const rel of s.relocations) cur.relocations.push({ ...rel, slot: rel.slot + base });
      const bytes = new Uint8Array(cur.bytes.length + s.bytes.length);
      bytes.set(cur.bytes);
      bytes.set(s.bytes, cur.bytes.length);
      sections.set(s.name, { ...cur, bytes });
    }
  }
  return { sections: [...sections.values()], globals, functions };
}

/** Builds an ELF relocatable object from assembled sections. */
export function objectOf(r: AsmResult): Uint8Array {
  const symbols: ElfSymbolSpec[] = [];
  const defined = new Set<string>();
  for (const s of r.sections) {
    for (const [name, slot] of s.labels) {
      if (name.startsWith('.L') || defined.has(name)) continue;
      defined.add(name);
      symbols.push({
        name,
        section: s.name,
        value: BigInt(slot * 8),
        bind: r.globals.has(name) ? STB.GLOBAL : STB.LOCAL,
        type: r.functions.has(name) ? STT.FUNC : STT.NOTYPE,
      });
    }
  }
  const relocations: ElfRelocationSpec[] = [];
  for (const s of r.sections) {
    for (const rel of s.relocations) {
      if (!defined.has(rel.symbol)) {
        defined.add(rel.symbol);
        symbols.push({ name: rel.symbol, bind: STB.GLOBAL, type: STT.NOTYPE });
      }
      relocations.push({
        section: s.name,
        offset: rel.slot * 8,
        symbol: rel.symbol,
        type: rel.kind === 'call' ? R_BPF.R_BPF_64_32 : R_BPF.R_BPF_64_64,
      });
    }
  }
  return writeElf({
    sections: r.sections.map((s) => ({
      name: s.name,
      type: SHT.PROGBITS,
      flags: SHF.ALLOC | SHF.EXECINSTR,
      data: s.bytes,
      addralign: 8,
    })),
    symbols,
    relocations,
  });
}

/** The `asm` subcommand. */
export const asmCommand: Command = {
  name: 'asm',
  summary: 'assemble LLVM-syntax BPF text into raw bytes or an ELF object (.o)',
  usage: 'usage: tsbpf asm FILE.s... -o OUT   (OUT ending in .o: ELF object; otherwise raw instruction bytes)',
  async run(args, io) {
    const { options, positional } = parseArgs(args, { options: ['-o'] });
    const out = options.get('-o');
    if (!out) throw new UsageError('name the output with -o OUT');
    if (positional.length === 0) throw new UsageError('name at least one assembler file');
    const results: AsmResult[] = [];
    let failed = false;
    for (const file of positional) {
      try {
        results.push(assemble(readFileSync(file, 'utf8'), { file }));
      } catch (e) {
        failed = true;
        io.err(`tsbpf asm: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    if (failed) return 1;
    const r = merge(results);
    if (out.endsWith('.o')) {
      writeFileSync(out, objectOf(r));
    } else {
      if (r.sections.length > 1) io.err(`tsbpf asm: writing ${r.sections.length} sections (${r.sections.map((s) => s.name).join(', ')}) one after the other\n`);
      const unresolved = r.sections.reduce((n, s) => n + s.relocations.length, 0);
      if (unresolved > 0) io.err(`tsbpf asm: ${unresolved} reference(s) to undefined symbols stay unresolved in raw output\n`);
      const all = new Uint8Array(r.sections.reduce((n, s) => n + s.bytes.length, 0));
      let at = 0;
      for (const s of r.sections) {
        all.set(s.bytes, at);
        at += s.bytes.length;
      }
      writeFileSync(out, all);
    }
    return 0;
  },
};
