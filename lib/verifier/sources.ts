/**
 * verifier-lite on the other program sources: LLVM-syntax assembly text
 * (lib/isa's assembler, with source positions pointing at the text) and
 * clang-compiled ELF objects (lib/elf's collection reader: program and attach
 * type from the section name, maps from the object, GPL from the license).
 * Like `verify`, these never throw for bad input.
 *
 * @module
 */
import { assembleInsns } from '../isa/asm.js';
import { readCollectionSpec, type CollectionMapSpec, type CollectionSpec } from '../elf/index.js';
import { verify } from './verify.js';
import type { MapSpecLite, VerifyInput, VerifyOptions, VerifyResult } from './types.js';

function failed(message: string, line = 0): VerifyResult {
  return {
    verdict: 'error',
    diagnostics: [{ severity: 'error', insn: 0, message, rule: 'structure', hint: line ? `assembly text line ${line}` : 'the input could not be read' }],
    insnsProcessed: 0,
    durationUs: 0,
  };
}

/** Assembles LLVM-syntax text (`r0 = 0`, `exit`, labels) and verifies it; diagnostics carry the text's line and column. */
export function verifyText(text: string, program: Omit<VerifyInput, 'insns'>, options?: VerifyOptions & { file?: string }): VerifyResult {
  let insns;
  try {
    insns = assembleInsns(text, { file: options?.file ?? 'input.s', sourcePositions: true });
  } catch (e) {
    const line = (e as { line?: number }).line ?? 0;
    return failed(e instanceof Error ? e.message : String(e), line);
  }
  return verify({ ...program, insns }, options);
}

/** Licenses the kernel treats as GPL-compatible (`license_is_gpl_compatible`). */
export function isGplLicense(license: string): boolean {
  return ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'].includes(license);
}

/** A collection map as verifier-lite needs it. */
export function liteMap(m: CollectionMapSpec): MapSpecLite {
  return {
    name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
    inner: m.innerMap ? liteMap(m.innerMap) : undefined,
  };
}

/** The verdict on one program of an object. */
export interface ObjectProgramResult {
  program: string;
  section: string;
  /** `BPF_PROG_TYPE_*` (0 when the section name names none: then the result is an error). */
  progType: number;
  expectedAttachType: number;
  result: VerifyResult;
}

/** Verifies every program of a collection spec (from an object or from the DSL). */
export function verifyCollection(spec: CollectionSpec, options?: VerifyOptions): ObjectProgramResult[] {
  const maps = [...spec.maps.values()].map(liteMap);
  return [...spec.programs.values()].map((p) => ({
    program: p.name,
    section: p.section,
    progType: p.type,
    expectedAttachType: p.expectedAttachType,
    result: p.type
      ? verify({ insns: p.insns, progType: p.type, expectedAttachType: p.expectedAttachType, maps, gpl: isGplLicense(p.license) }, options)
      : failed(`section '${p.section}' names no program type`),
  }));
}

/** Reads a clang-compiled BPF object and verifies every program in it; an unreadable object gives one `error` entry with program ''. */
export function verifyObject(bytes: Uint8Array, options?: VerifyOptions): ObjectProgramResult[] {
  let spec: CollectionSpec;
  try {
    spec = readCollectionSpec(bytes);
  } catch (e) {
    return [{ program: '', section: '', progType: 0, expectedAttachType: 0, result: failed(e instanceof Error ? e.message : String(e)) }];
  }
  return verifyCollection(spec, options);
}
