import { TsbpfError } from '../errors.js';

/**
 * A malformed or unsupported ELF object: truncated data, a wrong class or machine,
 * a section, symbol or string index out of range, a relocation to an unknown symbol.
 * `offset` is the file offset where the problem was found, when there is one;
 * `symbol` names the symbol involved, when there is one.
 */
export class ElfError extends TsbpfError {
  /** Byte offset in the file where the problem was found. */
  readonly offset: number | undefined;
  /** The symbol involved, if any. */
  readonly symbol: string | undefined;
  constructor(message: string, where: { offset?: number; symbol?: string } = {}, options?: { cause?: unknown }) {
    super(where.offset !== undefined ? `${message} (at offset ${where.offset})` : message, options);
    this.offset = where.offset;
    this.symbol = where.symbol;
  }
}
