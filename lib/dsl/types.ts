/**
 * Scalar types of the DSL. They are the lib/layout scalars (so one declaration
 * serves packet headers, map keys and values, and the userspace codecs),
 * re-exported with their names in the type so TypeScript can tell `u16` from
 * `be16` at compile time.
 */
import * as L from '../layout/index.js';
import type { Layout } from '../layout/index.js';
import { DslError } from './errors.js';

/** Names of the scalar types the DSL computes with. */
export type ScalarName = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'be16' | 'be32' | 'be64';
/** Network-order (big-endian) scalar names. */
export type NetName = 'be16' | 'be32' | 'be64';
/** Host-order integer names. */
export type IntName = Exclude<ScalarName, NetName>;
/** 8- to 32-bit integer names (computed with 32-bit subregister operations). */
export type Int32Name = 'u8' | 'u16' | 'u32' | 's8' | 's16' | 's32';
/** 64-bit integer names. */
export type Int64Name = 'u64' | 's64';
/** The JavaScript value type of a scalar: bigint for 64-bit ones, else number. */
export type JsOf<N extends ScalarName> = N extends 'u64' | 's64' | 'be64' ? bigint : number;

/** A lib/layout scalar whose name is part of its type. */
export type TypedScalar<N extends ScalarName> = L.Scalar<JsOf<N>> & { readonly typeName: N };

/** `__u8`. */
export const u8 = L.u8 as TypedScalar<'u8'>;
/** `__u16` (host order). */
export const u16 = L.u16 as TypedScalar<'u16'>;
/** `__u32` (host order). */
export const u32 = L.u32 as TypedScalar<'u32'>;
/** `__u64` (host order). */
export const u64 = L.u64 as TypedScalar<'u64'>;
/** `__s8`. */
export const s8 = L.s8 as TypedScalar<'s8'>;
/** `__s16`. */
export const s16 = L.s16 as TypedScalar<'s16'>;
/** `__s32`. */
export const s32 = L.s32 as TypedScalar<'s32'>;
/** `__s64`. */
export const s64 = L.s64 as TypedScalar<'s64'>;
/** `__be16` (network order). */
export const be16 = L.be16 as TypedScalar<'be16'>;
/** `__be32` (network order). */
export const be32 = L.be32 as TypedScalar<'be32'>;
/** `__be64` (network order). */
export const be64 = L.be64 as TypedScalar<'be64'>;

/** What code generation needs to know about a scalar type. */
export interface ScalarInfo {
  name: ScalarName;
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  net: boolean;
  /** 32 when values live in 32-bit subregisters, 64 otherwise. */
  w: 32 | 64;
}

const INFO: Record<ScalarName, ScalarInfo> = {
  u8: { name: 'u8', size: 1, signed: false, net: false, w: 32 },
  u16: { name: 'u16', size: 2, signed: false, net: false, w: 32 },
  u32: { name: 'u32', size: 4, signed: false, net: false, w: 32 },
  u64: { name: 'u64', size: 8, signed: false, net: false, w: 64 },
  s8: { name: 's8', size: 1, signed: true, net: false, w: 32 },
  s16: { name: 's16', size: 2, signed: true, net: false, w: 32 },
  s32: { name: 's32', size: 4, signed: true, net: false, w: 32 },
  s64: { name: 's64', size: 8, signed: true, net: false, w: 64 },
  be16: { name: 'be16', size: 2, signed: false, net: true, w: 32 },
  be32: { name: 'be32', size: 4, signed: false, net: true, w: 32 },
  be64: { name: 'be64', size: 8, signed: false, net: true, w: 64 },
};

/** Facts about scalar `name`. */
export function scalarInfo(name: ScalarName): ScalarInfo {
  return INFO[name];
}

/** True when `name` is one of the DSL's scalar names. */
export function isScalarName(name: string): name is ScalarName {
  return Object.hasOwn(INFO, name);
}

/** The DSL scalar name of a layout (`int` layouts and the `ipv4` address, which is a `be32`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function scalarOf(layout: Layout<any>): ScalarName | undefined {
  if (layout.kind === 'int' && isScalarName(layout.typeName)) return layout.typeName;
  if (layout.kind === 'addr' && layout.typeName === 'ipv4') return 'be32';
  return undefined;
}

/** Like {@link scalarOf} but throws a `DslError` for other layouts. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function requireScalar(layout: Layout<any>, what: string): ScalarName {
  const s = scalarOf(layout);
  if (!s) throw new DslError(`${what}: ${layout.typeName} is not a scalar the DSL can compute with`);
  return s;
}

/** The host-order type of a network-order one. */
export type HostOf<T extends NetName> = T extends 'be16' ? 'u16' : T extends 'be32' ? 'u32' : 'u64';
/** The network-order type of a host-order one (u16, u32, u64). */
export type NetOf<T extends IntName> = T extends 'u16' ? 'be16' : T extends 'u32' ? 'be32' : T extends 'u64' ? 'be64' : never;
/** The type of arithmetic results: C-like promotion of 8/16-bit types to 32 bits. */
export type Wide<T extends IntName> = T extends 'u64' ? 'u64' : T extends 's64' ? 's64' : T extends 's8' | 's16' | 's32' ? 's32' : 'u32';

/** The type of a result of arithmetic on `t`. */
export function wide(t: IntName): IntName {
  return t === 'u64' || t === 's64' ? t : INFO[t].signed ? 's32' : 'u32';
}
