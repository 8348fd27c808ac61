/**
 * `tsbpf disasm [--json] [--source] FILE.o...`: disassembles every executable
 * section of each object in LLVM syntax, laid out as llvm-objdump -d prints it.
 * With `--source`, the source lines recorded in the object's `.BTF.ext`
 * line_info (clang -g) are interleaved as `; file:line:column  text` comments
 * (and given as `source` in `--json`).
 */
import { readFileSync } from 'node:fs';
import { type Command, parseArgs, UsageError } from './command.js';
import { type ElfFile, type ElfSection, readElf, STT } from '../elf/index.js';
import { disassembleBytes, symbolizer, type DisasmLine } from '../isa/index.js';
import { decodeBtfDetailed, decodeBtfExt, type LineInfo } from '../btf/index.js';

/** One section in `--json` output. */
export interface DisasmJsonSection {
  name: string;
  insns: { index: number; text: string; bytes: string; source?: string }[];
}

/** One file in `--json` output (`error` instead of `sections` when the file could not be read). */
export interface DisasmJsonFile {
  file: string;
  sections?: DisasmJsonSection[];
  error?: string;
}

function hexBytes(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Symbols that name positions in a section (functions and labels; not section or file symbols). */
function sectionSymbols(elf: ElfFile, sec: ElfSection) {
  return elf.symbols
    .filter((s) => s.index !== 0 && s.shndx === sec.index && s.type !== STT.FILE)
    .map((s) => ({ name: s.name, value: Number(s.value), isSection: s.type === STT.SECTION }));
}

/** Disassembles one section; lines plus the symbol names starting at each byte offset. */
export function disassembleSection(elf: ElfFile, sec: ElfSection): { lines: DisasmLine[]; heads: Map<number, string> } {
  const syms = sectionSymbols(elf, sec);
  const lines = disassembleBytes(sec.data, { symbolize: symbolizer(syms, sec.name) });
  const heads = new Map<number, string>();
  for (const s of syms) if (!s.isSection && !heads.has(s.value)) heads.set(s.value, s.name);
  if (!heads.has(0)) heads.set(0, sec.name);
  return { lines, heads };
}

/** Source lines by section name and byte offset, from `.BTF.ext` (empty when the object has none). */
export function sourceLines(elf: ElfFile): Map<string, Map<number, LineInfo>> {
  const out = new Map<string, Map<number, LineInfo>>();
  const btf = elf.section('.BTF');
  const ext = elf.section('.BTF.ext');
  if (!btf || !ext) return out;
  const { strings } = decodeBtfDetailed(btf.data);
  for (const [sec, lines] of decodeBtfExt(ext.data, strings).lineInfo) {
    const m = new Map<number, LineInfo>();
    for (const l of lines) m.set(l.insnOff, l);
    out.set(sec, m);
  }
  return out;
}

function describeLine(l: LineInfo): string {
  return `${l.fileName}:${l.lineNumber}:${l.column}${l.line ? '  ' + l.line.trim() : ''}`;
}

function textOf(file: string, elf: ElfFile, withSource: boolean): string {
  const src = withSource ? sourceLines(elf) : undefined;
  const out: string[] = ['', `${file}:\tfile format elf64-bpf`, ''];
  for (const sec of elf.executableSections()) {
    if (sec.size === 0) continue;
    out.push(`Disassembly of section ${sec.name}:`);
    const { lines, heads } = disassembleSection(elf, sec);
    const secLines = src?.get(sec.name);
    for (const l of lines) {
      const head = heads.get(l.slot * 8);
      if (head !== undefined) out.push('', `${(l.slot * 8).toString(16).padStart(16, '0')} <${head}>:`);
      const li = secLines?.get(l.slot * 8);
      if (li) out.push(`; ${describeLine(li)}`);
      const bytes = sec.data.subarray(l.slot * 8, (l.slot + l.slots) * 8);
      const hex = Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join(' ');
      out.push(`${String(l.slot).padStart(8)}:\t${hex}\t${l.text}`);
    }
    out.push('');
  }
  return out.join('\n');
}

function jsonOf(file: string, elf: ElfFile, withSource: boolean): DisasmJsonFile {
  const sections: DisasmJsonSection[] = [];
  const src = withSource ? sourceLines(elf) : undefined;
  for (const sec of elf.executableSections()) {
    const { lines } = disassembleSection(elf, sec);
    const secLines = src?.get(sec.name);
    sections.push({
      name: sec.name,
      insns: lines.map((l) => {
        const li = secLines?.get(l.slot * 8);
        return {
          index: l.slot,
          text: l.text,
          bytes: hexBytes(sec.data.subarray(l.slot * 8, (l.slot + l.slots) * 8)),
          ...(li ? { source: describeLine(li) } : {}),
        };
      }),
    });
  }
  return { file, sections };
}

/** The `disasm` subcommand. */
export const disasmCommand: Command = {
  name: 'disasm',
  summary: 'disassemble the code sections of BPF objects (llvm-objdump syntax)',
  usage: 'usage: tsbpf disasm [--json] [--source] FILE.o...',
  async run(args, io) {
    const { flags, positional } = parseArgs(args, { flags: ['--json', '--source'] });
    const withSource = flags.has('--source');
    if (positional.length === 0) throw new UsageError('name at least one object file');
    const json = flags.has('--json');
    const docs: DisasmJsonFile[] = [];
    let status = 0;
    for (const file of positional) {
      try {
        const elf = readElf(new Uint8Array(readFileSync(file)));
        if (json) docs.push(jsonOf(file, elf, withSource));
        else io.out(textOf(file, elf, withSource));
      } catch (e) {
        status = 1;
        const msg = e instanceof Error ? e.message : String(e);
        if (json) docs.push({ file, error: msg });
        else io.err(`tsbpf disasm: ${file}: ${msg}\n`);
      }
    }
    if (json) io.out(JSON.stringify(docs, null, 2) + '\n');
    return status;
  },
};
