/**
 * The BTF type model: one plain object per type record, referring to other
 * types by id (as the kernel does; id 0 is `void`). Names are strings here;
 * the encoder rebuilds the string table.
 */

/** BTF kind numbers (`BTF_KIND_*` in include/uapi/linux/btf.h). */
export const BtfKind = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  /** Kernel 5.13. */
  FLOAT: 16,
  /** Kernel 5.16. */
  DECL_TAG: 17,
  /** Kernel 5.17. */
  TYPE_TAG: 18,
  /** Kernel 6.0. */
  ENUM64: 19,
} as const;

/** The name of a BTF kind (`'INT'`, `'STRUCT'`, ...). */
export type BtfKindName = keyof typeof BtfKind;

/** `BTF_INT_*` encoding bits of an INT type. */
export const BtfIntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;

/** Linkage of a FUNC (`BTF_FUNC_*`) or VAR (`BTF_VAR_*`). */
export const BtfLinkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;

/** A struct or union member. `bitOffset` is in bits; `bitfieldSize` is 0 for non-bitfields. */
export interface BtfMember {
  name: string;
  type: number;
  bitOffset: number;
  bitfieldSize: number;
}

/** An enum value (ENUM values are 32-bit, ENUM64 values 64-bit; both held as bigint). */
export interface BtfEnumValue {
  name: string;
  value: bigint;
}

/** A function prototype parameter (an unnamed `void` last parameter means varargs). */
export interface BtfParam {
  name: string;
  type: number;
}

/** A variable in a DATASEC: its VAR type id, byte offset and size. */
export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

/** One BTF type record. */
export type BtfType =
  | { kind: 'INT'; name: string; size: number; encoding: number; bitOffset: number; bits: number }
  | { kind: 'PTR'; name: string; type: number }
  | { kind: 'ARRAY'; name: string; type: number; indexType: number; nelems: number }
  | { kind: 'STRUCT' | 'UNION'; name: string; size: number; members: BtfMember[]; kindFlag: boolean }
  | { kind: 'ENUM'; name: string; size: number; signed: boolean; values: BtfEnumValue[] }
  | { kind: 'ENUM64'; name: string; size: number; signed: boolean; values: BtfEnumValue[] }
  | { kind: 'FWD'; name: string; union: boolean }
  | { kind: 'TYPEDEF' | 'VOLATILE' | 'CONST' | 'RESTRICT' | 'TYPE_TAG'; name: string; type: number }
  | { kind: 'FUNC'; name: string; type: number; linkage: number }
  | { kind: 'FUNC_PROTO'; name: string; returnType: number; params: BtfParam[] }
  | { kind: 'VAR'; name: string; type: number; linkage: number }
  | { kind: 'DATASEC'; name: string; size: number; vars: BtfVarSecinfo[] }
  | { kind: 'FLOAT'; name: string; size: number }
  | { kind: 'DECL_TAG'; name: string; type: number; componentIdx: number };

/** A type with its id. */
export type BtfTypeWithId = BtfType & { id: number };

/** The types every record kind refers to (by id), for graph walks. */
export function typeRefs(t: BtfType): number[] {
  switch (t.kind) {
    case 'INT':
    case 'ENUM':
    case 'ENUM64':
    case 'FWD':
    case 'FLOAT':
      return [];
    case 'ARRAY':
      return [t.type, t.indexType];
    case 'STRUCT':
    case 'UNION':
      return t.members.map((m) => m.type);
    case 'FUNC_PROTO':
      return [t.returnType, ...t.params.map((p) => p.type)];
    case 'DATASEC':
      return t.vars.map((v) => v.type);
    default:
      return [t.type];
  }
}
