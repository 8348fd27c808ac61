/**
 * The verifier-lite pre-check of `Program.load` (`verify: true`): before
 * BPF_PROG_LOAD, lib/isa programs are checked by lib/verifier with the specs
 * of the maps they use, and a predicted rejection throws `VerifierLiteError`
 * (kernel wording, TypeScript source position) without asking the kernel.
 */
import type { Insn } from '../isa/insn.js';
import { assertVerified, isGplLicense, type MapSpecLite, type VerifyOptions, type VerifyResult } from '../verifier/index.js';
import { possibleCpus } from './cpus.js';
import { mapInfoByFd } from './map.js';

/** A map as `ProgramSpec.maps` holds it: a descriptor, or an object with an fd (a `BpfMap` also carries its shape). */
export type PrecheckMap =
  | number
  | {
      readonly fd: number;
      readonly type?: number;
      readonly keySize?: number;
      readonly valueSize?: number;
      readonly maxEntries?: number;
      readonly flags?: number;
    };

/** The specs verifier-lite needs, from the map object itself or from the kernel (BPF_OBJ_GET_INFO_BY_FD). */
function liteSpec(name: string | undefined, m: PrecheckMap): MapSpecLite {
  if (typeof m !== 'number' && m.type !== undefined && m.keySize !== undefined && m.valueSize !== undefined && m.maxEntries !== undefined) {
    return { ...(name !== undefined ? { name } : {}), type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags ?? 0 };
  }
  const info = mapInfoByFd(typeof m === 'number' ? m : m.fd);
  return { ...(name !== undefined ? { name } : {}), type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags };
}

/**
 * Runs verifier-lite on `insns` (`assertVerified`): throws `VerifierLiteError`
 * when it predicts a rejection; warnings never block. Map references by name
 * (`ref`) are described from `maps`; raw descriptors in `lddw` immediates are
 * looked up in the kernel. Returns undefined (no check) when a map cannot be
 * described; the kernel then decides alone.
 */
export function precheckProgram(
  input: { insns: readonly Insn[]; type: number; expectedAttachType?: number; license?: string; maps?: Readonly<Record<string, PrecheckMap>> },
  options: VerifyOptions = {},
): VerifyResult | undefined {
  const specs: MapSpecLite[] = [];
  let insns = input.insns;
  try {
    for (const [name, m] of Object.entries(input.maps ?? {})) specs.push(liteSpec(name, m));
    // lddw with a raw map fd (BPF_PSEUDO_MAP_FD / _VALUE, no symbolic ref): verifier-lite reads imm as an index into `maps`.
    const byFd = new Map<number, number>();
    insns = insns.map((i) => {
      if (i.code !== 0x18 || i.ref || (i.src !== 1 && i.src !== 2)) return i;
      const fd = i.imm | 0;
      let idx = byFd.get(fd);
      if (idx === undefined) {
        idx = specs.push(liteSpec(undefined, fd)) - 1;
        byFd.set(fd, idx);
      }
      const high = i.imm64 !== undefined ? BigInt.asUintN(64, i.imm64) & ~0xffffffffn : 0n;
      return { ...i, imm: idx, imm64: high | BigInt(idx) };
    });
  } catch {
    return undefined;
  }
  const gpl = isGplLicense(input.license ?? 'GPL');
  return assertVerified(
    {
      insns,
      progType: input.type,
      ...(input.expectedAttachType !== undefined ? { expectedAttachType: input.expectedAttachType } : {}),
      maps: specs,
      gpl,
    },
    { nrCpus: possibleCpus(), ...options },
  );
}

