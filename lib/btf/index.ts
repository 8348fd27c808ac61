/**
 * BTF, the BPF Type Format (pure: no kernel access).
 *
 * - {@link decodeBtf} / {@link encodeBtf}: the `.BTF` blob to and from a {@link Btf}
 *   (all kinds through ENUM64), validated: references in range, no loops, every
 *   offset checked (`BtfError` names the offset and type id).
 * - {@link decodeBtfExt} / {@link encodeBtfExt}: `.BTF.ext` func_info, line_info and
 *   CO-RE relocation records; {@link funcInfoRecords} and
 *   {@link lineInfoRecords} build the arrays `BPF_PROG_LOAD` takes so the
 *   verifier log shows source lines.
 * - {@link applyCoreRelocations}: resolve CO-RE relocations against a target BTF
 *   (the kernel's) and patch the instructions ({@link CoreRelocationError} if not possible).
 * - {@link BtfBuilder}: generate BTF for tsbpf programs and maps (including the
 *   `__uint`/`__type`/`__array` struct of BTF-defined maps).
 * - {@link formatBtf}: a dump in `bpftool btf dump format raw` layout.
 *
 * @module
 */
export { Btf, MAX_RESOLVE_DEPTH } from './btf.js';
export { BtfBuilder, type BtfMapDefinition, type BtfMemberInput } from './builder.js';
export { decodeBtf, decodeBtfDetailed, BtfStrings, BTF_MAGIC, BTF_VERSION, BTF_HEADER_SIZE, type DecodedBtf } from './decode.js';
export { encodeBtf } from './encode.js';
export { BtfError } from './error.js';
export {
  decodeBtfExt,
  encodeBtfExt,
  emptyBtfExt,
  funcInfoRecords,
  lineInfoRecords,
  FUNC_INFO_SIZE,
  LINE_INFO_SIZE,
  CORE_RELO_SIZE,
  type BtfExt,
  type FuncInfo,
  type LineInfo,
  type CoreRelo,
} from './ext.js';
export { formatBtf, formatBtfType } from './format.js';
export { BtfStringTable } from './strings.js';
export {
  BtfKind,
  BtfIntEncoding,
  BtfLinkage,
  typeRefs,
  type BtfKindName,
  type BtfType,
  type BtfTypeWithId,
  type BtfMember,
  type BtfEnumValue,
  type BtfParam,
  type BtfVarSecinfo,
} from './types.js';
export { CoreReloKind, type CoreReloKindName } from './ext.js';
export {
  applyCoreRelocations,
  resolveCoreRelocation,
  coreEssentialName,
  coreReloKindName,
  CoreRelocationError,
  CORE_POISON_HELPER,
  type CoreRelocationOptions,
  type CoreRelocationSite,
  type CoreResolution,
} from './core.js';
