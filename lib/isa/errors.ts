/**
 * Errors of the instruction layer. All extend {@link IsaError}, itself a
 * `TsbpfError`, so callers can catch the whole family at once.
 */
import { TsbpfError } from '../errors.js';

/** Base class of every error lib/isa throws. */
export class IsaError extends TsbpfError {}

/** Bytes that are not a sequence of eBPF instructions (length, truncated `lddw`). */
export class DecodeError extends IsaError {
  constructor(
    message: string,
    /** Byte offset of the offending instruction. */
    readonly byteOffset: number,
  ) {
    super(message);
  }
}

/** An instruction whose fields do not fit the encoding (register > 15, offset > 16 bits, ...). */
export class EncodeError extends IsaError {
  constructor(
    message: string,
    /** Index of the offending instruction in the array passed to `encode`. */
    readonly index: number,
  ) {
    super(message);
  }
}

/** A reference that cannot be resolved when linking: unknown label, duplicate label, out-of-range jump. */
export class LinkError extends IsaError {
  constructor(
    message: string,
    /** Index of the referring instruction (in the builder's list), when there is one. */
    readonly index?: number,
    /** The label or symbol involved, when there is one. */
    readonly label?: string,
  ) {
    super(message);
  }
}

/** A syntax or semantic error in assembler text, with its 1-based line and column. */
export class AsmError extends IsaError {
  constructor(
    /** What went wrong, without the position. */
    readonly reason: string,
    /** 1-based line number. */
    readonly line: number,
    /** 1-based column number. */
    readonly column: number,
    /** The file name, when known. */
    readonly file?: string,
  ) {
    super(`${file ? file + ':' : ''}${line}:${column}: ${reason}`);
  }
}
